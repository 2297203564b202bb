package workflows_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/mock"
	"go.temporal.io/sdk/testsuite"

	"github.com/granaryml/granary/activities"
	"github.com/granaryml/granary/internal/lake"
	"github.com/granaryml/granary/internal/objstore"
	"github.com/granaryml/granary/workflows"
)

// registerModel stores a one-file model version with metrics, the way
// `granary model register` does.
func registerModel(t *testing.T, store objstore.Store, name, content string, metrics map[string]float64) string {
	t.Helper()
	l := lake.New(store)
	d, n, _ := lake.HashReader(strings.NewReader(content))
	if _, err := l.PutBlob(t.Context(), d, strings.NewReader(content), n); err != nil {
		t.Fatal(err)
	}
	files := []lake.File{{Digest: d, Rows: 0, Bytes: n, Partition: "model.bin"}}
	id, _, err := l.CommitManifest(t.Context(), &lake.Manifest{Kind: lake.KindModel, Name: name, Files: files,
		Artifact: &lake.Artifact{Digest: activities.ArtifactDigest(files), Bytes: n, Files: 1, Metrics: metrics}})
	if err != nil {
		t.Fatal(err)
	}
	return id
}

func promoteEnv(t *testing.T, store objstore.Store) *testsuite.TestWorkflowEnvironment {
	env, _ := newEnvOn(t, store)
	return env
}

func runPromotion(t *testing.T, env *testsuite.TestWorkflowEnvironment, reqs ...activities.PromoteRequest) []workflows.PromoteOutcome {
	t.Helper()
	env.ExecuteWorkflow(workflows.PromoteModel, workflows.PromoteInput{Model: reqs[0].Model, Alias: reqs[0].Alias, Queue: reqs})
	if err := env.GetWorkflowError(); err != nil {
		t.Fatal(err)
	}
	var out []workflows.PromoteOutcome
	if err := env.GetWorkflowResult(&out); err != nil {
		t.Fatal(err)
	}
	return out
}

func aliasOf(t *testing.T, store objstore.Store, model, alias string) string {
	t.Helper()
	r, _, err := lake.New(store).GetRef(context.Background(), lake.KindModel, model, alias)
	if errors.Is(err, lake.ErrNotFound) {
		return ""
	}
	if err != nil {
		t.Fatal(err)
	}
	return r.Version
}

func steps(t *testing.T, store objstore.Store, model string) string {
	t.Helper()
	events, err := lake.New(store).Audit(context.Background(), model)
	if err != nil {
		t.Fatal(err)
	}
	var s []string
	for _, e := range events {
		s = append(s, e.Step+":"+e.Outcome)
	}
	return strings.Join(s, " ")
}

func TestPromoteWithApproval(t *testing.T) {
	store := newStore(t)
	champ := registerModel(t, store, "churn", "v1", map[string]float64{"auc": 0.80})
	cand := registerModel(t, store, "churn", "v2", map[string]float64{"auc": 0.83})
	env := promoteEnv(t, store)
	// Seed the champion with an ungated first promotion, then the gated,
	// approved one; approval arrives an hour into the wait.
	env.RegisterDelayedCallback(func() {
		env.SignalWorkflow(workflows.ApproveSignal, workflows.Decision{Version: cand[:12], By: "ana", Comment: "looks good"})
	}, time.Hour)
	out := runPromotion(t, env,
		activities.PromoteRequest{ID: "r1", Model: "churn", Version: champ, Alias: "prod", By: "ci"},
		activities.PromoteRequest{ID: "r2", Model: "churn", Version: cand, Alias: "prod", By: "bo", Gates: []string{"auc >= 0.8", "auc >= champion.auc - 0.01"}, RequireApproval: true, ApprovalTimeout: 72 * time.Hour},
	)
	if len(out) != 2 || out[0].Outcome != "promoted" || out[1].Outcome != "promoted" || out[1].From != champ {
		t.Fatalf("unexpected outcomes %+v", out)
	}
	if out[1].Decision == nil || out[1].Decision.By != "ana" {
		t.Fatalf("decision not recorded: %+v", out[1].Decision)
	}
	if got := aliasOf(t, store, "churn", "prod"); got != cand {
		t.Fatalf("prod -> %s, want %s", got, cand)
	}
	trail := steps(t, store, "churn")
	for _, want := range []string{"requested:ok verify:ok alias:ok notify:ok done:promoted", "gates:ok approval:waiting approval:approved alias:ok notify:ok done:promoted"} {
		if !strings.Contains(trail, want) {
			t.Fatalf("audit trail %q lacks %q", trail, want)
		}
	}
}

func TestPromoteRejectedTimedOutOrGated(t *testing.T) {
	cases := []struct {
		name    string
		signal  string
		gates   []string
		want    string
		trailed string
	}{
		{name: "rejected", signal: workflows.RejectSignal, want: "rejected", trailed: "approval:rejected"},
		{name: "timeout", want: "timeout", trailed: "approval:timeout"},
		{name: "gate fails", gates: []string{"auc >= champion.auc + 0.1"}, want: "gates_failed", trailed: "gates:failed"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			store := newStore(t)
			champ := registerModel(t, store, "m", "v1", map[string]float64{"auc": 0.8})
			cand := registerModel(t, store, "m", "v2", map[string]float64{"auc": 0.81})
			env := promoteEnv(t, store)
			if c.signal != "" {
				env.RegisterDelayedCallback(func() {
					env.SignalWorkflow(c.signal, workflows.Decision{Version: cand, By: "ana", Comment: "not yet"})
				}, 2*time.Hour)
			}
			out := runPromotion(t, env,
				activities.PromoteRequest{ID: "seed", Model: "m", Version: champ, Alias: "prod"},
				activities.PromoteRequest{ID: "cand", Model: "m", Version: cand, Alias: "prod", Gates: c.gates, RequireApproval: c.gates == nil, ApprovalTimeout: 24 * time.Hour},
			)
			if out[1].Outcome != c.want {
				t.Fatalf("outcome %s, want %s (%+v)", out[1].Outcome, c.want, out[1])
			}
			if got := aliasOf(t, store, "m", "prod"); got != champ {
				t.Fatalf("alias moved to %s; it must stay on the champion", got)
			}
			if trail := steps(t, store, "m"); !strings.Contains(trail, c.trailed) {
				t.Fatalf("audit trail %q lacks %q", trail, c.trailed)
			}
		})
	}
}

func TestPromoteCompensatesWhenNotifyFails(t *testing.T) {
	store := newStore(t)
	champ := registerModel(t, store, "m", "v1", nil)
	cand := registerModel(t, store, "m", "v2", nil)
	env := promoteEnv(t, store)
	calls := 0
	var a *activities.Activities
	env.OnActivity(a.NotifyServing, mock.Anything, mock.Anything).Return(func(ctx context.Context, in activities.NotifyInput) (activities.NotifyResult, error) {
		calls++
		if in.Version == cand {
			return activities.NotifyResult{}, errors.New("serving unreachable")
		}
		return activities.NotifyResult{}, nil
	})
	out := runPromotion(t, env,
		activities.PromoteRequest{ID: "seed", Model: "m", Version: champ, Alias: "prod"},
		activities.PromoteRequest{ID: "cand", Model: "m", Version: cand, Alias: "prod"},
	)
	if out[1].Outcome != "compensated" {
		t.Fatalf("outcome %+v, want compensated", out[1])
	}
	if got := aliasOf(t, store, "m", "prod"); got != champ {
		t.Fatalf("alias must be moved back to %s, is %s", champ, got)
	}
	trail := steps(t, store, "m")
	if !strings.Contains(trail, "alias:ok notify:failed compensate:compensated") {
		t.Fatalf("audit trail %q does not record the compensation", trail)
	}
	if calls < 2 {
		t.Fatalf("notify should be retried before compensating; %d calls", calls)
	}
	log, _ := lake.New(store).Log(context.Background(), lake.KindModel, "m")
	if len(log) != 3 || log[2].To != champ {
		t.Fatalf("ref log should show seed, promotion and compensation: %+v", log)
	}
}

func TestPromoteRefusesATamperedArtifact(t *testing.T) {
	store := newStore(t)
	cand := registerModel(t, store, "m", "weights", nil)
	m, _ := lake.New(store).GetManifest(t.Context(), lake.KindModel, "m", cand)
	key := lake.BlobKey(m.Files[0].Digest)
	if _, err := store.Put(t.Context(), key, strings.NewReader("evil!!!"), 7); err != nil {
		t.Fatal(err)
	}
	env := promoteEnv(t, store)
	out := runPromotion(t, env, activities.PromoteRequest{ID: "x", Model: "m", Version: cand, Alias: "prod"})
	if out[0].Outcome != "failed" || !strings.Contains(out[0].Detail, "hashes to") {
		t.Fatalf("a tampered artifact must be refused: %+v", out[0])
	}
	if aliasOf(t, store, "m", "prod") != "" {
		t.Fatal("alias moved to a tampered artifact")
	}
}
