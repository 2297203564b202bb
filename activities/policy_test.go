package activities_test

import (
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/granaryml/granary/activities"
	"github.com/granaryml/granary/internal/lake"
	"github.com/granaryml/granary/internal/objstore/filestore"
)

// apply stores a spec and, if latest, points the project's latest ref at
// it, as `granary features apply` does.
func apply(t *testing.T, l *lake.Lake, project, models string, latest bool) {
	t.Helper()
	yaml := "project: " + project + "\n" + models
	d, n, _ := lake.HashReader(strings.NewReader(yaml))
	if _, err := l.PutBlob(t.Context(), d, strings.NewReader(yaml), n); err != nil {
		t.Fatal(err)
	}
	id, _, err := l.CommitManifest(t.Context(), &lake.Manifest{Kind: lake.KindSpec, Name: project, Artifact: &lake.Artifact{Digest: d, Bytes: n, Files: 1}, Params: map[string]string{"file": project + ".yaml"}})
	if err != nil {
		t.Fatal(err)
	}
	if latest {
		if _, err := l.MoveRef(t.Context(), lake.MoveOptions{Kind: lake.KindSpec, Name: project, Ref: "latest", To: id}); err != nil {
			t.Fatal(err)
		}
	}
}

// TestPromotionPolicyMergesProjectsStrictly: when several projects set a
// policy for one alias, every demand of each holds.
func TestPromotionPolicyMergesProjectsStrictly(t *testing.T) {
	store, err := filestore.New(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	l := lake.New(store)
	apply(t, l, "a", `models:
  - name: churn
    aliases:
      - {name: prod, require_approval: true, approval_timeout: 72h, gates: ["auc >= 0.8"]}
      - {name: staging, gates: ["auc >= 0.5"]}
`, true)
	apply(t, l, "b", `models:
  - name: churn
    aliases: [{name: prod, gates: ["auc >= 0.8", "loss < 1"], no_champion: fail}]
`, true)
	apply(t, l, "c", "models: [{name: other, aliases: [{name: prod, require_approval: true}]}]\n", true)
	// Stored but never applied: not a current spec, so not a policy.
	apply(t, l, "d", "models: [{name: churn, aliases: [{name: prod, gates: [\"auc > 2\"]}]}]\n", false)

	got, err := activities.PromotionPolicy(t.Context(), l, "churn", "prod")
	if err != nil {
		t.Fatal(err)
	}
	if len(got.Sources) != 2 || !strings.HasPrefix(got.Sources[0], "a@") || !strings.HasPrefix(got.Sources[1], "b@") {
		t.Errorf("sources %q, want projects a and b", got.Sources)
	}
	if !got.RequireApproval || got.ApprovalTimeout != 72*time.Hour || got.NoChampion != "fail" || !slices.Equal(got.Gates, []string{"auc >= 0.8", "loss < 1"}) {
		t.Errorf("merged policy %+v", got)
	}
	none, err := activities.PromotionPolicy(t.Context(), l, "churn", "canary")
	if err != nil || len(none.Sources) != 0 || none.RequireApproval || len(none.Gates) != 0 {
		t.Errorf("an alias without a policy: %+v, %v", none, err)
	}
}

func TestHeldAlias(t *testing.T) {
	store, err := filestore.New(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	l := lake.New(store)
	var v1, v2 string
	for i, v := range []*string{&v1, &v2} {
		if *v, _, err = l.CommitManifest(t.Context(), &lake.Manifest{Kind: lake.KindModel, Name: "m", Params: map[string]string{"n": string(rune('1' + i))}}); err != nil {
			t.Fatal(err)
		}
	}
	for _, mv := range []lake.MoveOptions{
		{Kind: lake.KindModel, Name: "m", Ref: "prod", To: v1, ExpectAbsent: true},
		{Kind: lake.KindModel, Name: "m", Ref: "staging", To: v2, ExpectAbsent: true},
	} {
		if _, err := l.MoveRef(t.Context(), mv); err != nil {
			t.Fatal(err)
		}
	}
	for _, c := range []struct {
		alias, version string
		want           bool
	}{{"prod", v1, true}, {"prod", v2, false}, {"staging", v2, true}, {"canary", v1, false}} {
		if got, err := activities.HeldAlias(t.Context(), l, "m", c.alias, c.version); err != nil || got != c.want {
			t.Errorf("HeldAlias(%s, %s…) = %v, %v; want %v", c.alias, c.version[:4], got, err, c.want)
		}
	}
}
