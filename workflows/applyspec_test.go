package workflows_test

import (
	"errors"
	"testing"

	"go.temporal.io/sdk/temporal"

	"github.com/granaryml/granary/activities"
	"github.com/granaryml/granary/features"
	"github.com/granaryml/granary/internal/lake"
	"github.com/granaryml/granary/workflows"
)

const applySpecYAML = `project: shop
entities:
  - {name: user, join_keys: [user_id]}
sources:
  - {name: events, dataset: events, timestamp: ts}
feature_views:
  - name: user_events
    entity: user
    source: events
    features:
      - {name: n, agg: count, window: 168h}
`

// TestApplySpecCommitsAndMovesLatest: the run commits the uploaded spec
// as the manifest the CLI used to write (same version id) and moves latest
// with who and why; a second spec moves it on, and a run of the first
// again (a retry, a relaunch after a failure) moves it back.
func TestApplySpecCommitsAndMovesLatest(t *testing.T) {
	store := newStore(t)
	l := lake.New(store)
	apply := func(in workflows.ApplySpecInput) (workflows.ApplySpecResult, error) {
		t.Helper()
		env, _ := newEnvOn(t, store)
		env.ExecuteWorkflow(workflows.ApplySpec, in)
		if !env.IsWorkflowCompleted() {
			t.Fatal("workflow did not complete")
		}
		var res workflows.ApplySpecResult
		if err := env.GetWorkflowError(); err != nil {
			return res, err
		}
		return res, env.GetWorkflowResult(&res)
	}
	v1 := stage(t, store, "features.yaml", []byte(applySpecYAML))
	in1 := workflows.ApplySpecInput{CommitSpecInput: activities.CommitSpecInput{Project: "shop", Spec: v1.Digest, File: "features.yaml"}, User: "ana"}
	spec, err := features.Parse("features.yaml", []byte(applySpecYAML))
	if err != nil {
		t.Fatal(err)
	}
	want, _ := (&lake.Manifest{Kind: lake.KindSpec, Name: "shop",
		Artifact: &lake.Artifact{Digest: v1.Digest, Bytes: v1.Bytes, Files: 1, Framework: "granary-spec"},
		Params:   map[string]string{"file": "features.yaml", "spec_digest": spec.Digest()}}).ID()
	r1, err := apply(in1)
	if err != nil {
		t.Fatal(err)
	}
	if r1.Version != want || !r1.Created || r1.Move.To != want || r1.Move.By != "ana" || r1.Move.Reason != "apply features.yaml" {
		t.Fatalf("unexpected result %+v (want version %s)", r1, want)
	}
	if _, err := activities.LoadSpec(t.Context(), l, "shop", r1.Version); err != nil {
		t.Fatalf("the committed spec must load as extract loads it: %v", err)
	}

	v2 := stage(t, store, "features.yaml", []byte(applySpecYAML+"      - {name: m, agg: count, window: 24h}\n"))
	in2 := workflows.ApplySpecInput{CommitSpecInput: activities.CommitSpecInput{Project: "shop", Spec: v2.Digest, File: "features.yaml"}, User: "ana"}
	if _, err := apply(in2); err != nil {
		t.Fatal(err)
	}
	if workflows.ApplySpecID(in2) == workflows.ApplySpecID(in1) {
		t.Fatal("another spec must be another run")
	}
	r3, err := apply(in1)
	if err != nil {
		t.Fatal(err)
	}
	if r3.Version != r1.Version || r3.Created || r3.Move.To != r1.Version {
		t.Fatalf("re-applying must move latest back to the existing version: %+v", r3)
	}
	who := in1
	who.User, who.Host = "bo", "elsewhere"
	if workflows.ApplySpecID(who) != workflows.ApplySpecID(in1) {
		t.Fatal("who asks must not change the id")
	}
}

// A blob that is not a valid spec, or whose project differs from the
// one asked for, fails non-retryably as InvalidSpec and commits nothing.
func TestApplySpecRefusesWhatExtractCouldNotLoad(t *testing.T) {
	store := newStore(t)
	bad := stage(t, store, "bad.yaml", []byte("project: shop\nfeature_views: [{name: v, entity: nobody}]\n"))
	good := stage(t, store, "features.yaml", []byte(applySpecYAML))
	for name, in := range map[string]activities.CommitSpecInput{
		"invalid":       {Project: "shop", Spec: bad.Digest, File: "bad.yaml"},
		"other project": {Project: "other", Spec: good.Digest, File: "features.yaml"},
	} {
		env, _ := newEnvOn(t, store)
		env.ExecuteWorkflow(workflows.ApplySpec, workflows.ApplySpecInput{CommitSpecInput: in})
		var app *temporal.ApplicationError
		if err := env.GetWorkflowError(); !errors.As(err, &app) || app.Type() != activities.ErrTypeInvalidSpec || !app.NonRetryable() {
			t.Fatalf("%s: want a non-retryable InvalidSpec, got %v", name, err)
		}
	}
	for _, project := range []string{"shop", "other"} {
		if vs, err := lake.New(store).ListVersions(t.Context(), lake.KindSpec, project); err == nil && len(vs) != 0 {
			t.Fatalf("a refused apply committed %v", vs)
		}
	}
}
