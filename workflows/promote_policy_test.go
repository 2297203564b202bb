package workflows_test

import (
	"strings"
	"testing"
	"time"

	"github.com/granaryml/granary/activities"
	"github.com/granaryml/granary/internal/lake"
	"github.com/granaryml/granary/internal/objstore"
	"github.com/granaryml/granary/workflows"
)

// applyPolicy applies a spec holding only a promotion policy, moving the
// project's latest ref as `granary features apply` does.
func applyPolicy(t *testing.T, store objstore.Store, models string) {
	t.Helper()
	id, spec := applySpec(t, store, "project: ml\nmodels:\n"+models)
	if _, err := lake.New(store).MoveRef(t.Context(), lake.MoveOptions{Kind: lake.KindSpec, Name: spec.Project, Ref: "latest", To: id, By: "test"}); err != nil {
		t.Fatal(err)
	}
}

// The case end to end: the first promotion of an alias, gated on
// an absolute bar and on the champion, with a candidate far below the bar.
func TestFirstPromotionStillEvaluatesChampionFreeGates(t *testing.T) {
	store := newStore(t)
	bad := registerModel(t, store, "m", "bad", map[string]float64{"auc": 0.10})
	good := registerModel(t, store, "m", "good", map[string]float64{"auc": 0.85})
	gate := []string{"auc >= 0.8 && auc >= champion.auc - 0.01"}
	out := runPromotion(t, promoteEnv(t, store),
		activities.PromoteRequest{ID: "bad", Model: "m", Version: bad, Alias: "prod", Gates: gate},
		activities.PromoteRequest{ID: "good", Model: "m", Version: good, Alias: "prod", Gates: gate},
	)
	if out[0].Outcome != "gates_failed" {
		t.Fatalf("auc 0.10 on an alias with no champion: %+v, want gates_failed", out[0])
	}
	if out[1].Outcome != "promoted" || len(out[1].Gates) != 1 || !out[1].Gates[0].Skipped {
		t.Fatalf("auc 0.85 with no champion: %+v, want promoted with the champion part skipped", out[1])
	}
	if got := aliasOf(t, store, "m", "prod"); got != good {
		t.Fatalf("prod -> %s, want %s", got, good)
	}
}

// TestPolicyCannotBeOptedOutOf: a request with no gates and no approval
// still gets the policy's, because the workflow reads them from the spec
// applied to the lake, not from the request.
func TestPolicyCannotBeOptedOutOf(t *testing.T) {
	store := newStore(t)
	weak := registerModel(t, store, "churn", "weak", map[string]float64{"auc": 0.5})
	strong := registerModel(t, store, "churn", "strong", map[string]float64{"auc": 0.9})
	applyPolicy(t, store, `  - name: churn
    aliases:
      - name: prod
        require_approval: true
        approval_timeout: 2h
        gates: ["auc >= 0.8"]
        no_champion: fail
`)
	env := promoteEnv(t, store)
	env.RegisterDelayedCallback(func() {
		env.SignalWorkflow(workflows.ApproveSignal, workflows.Decision{Version: strong, By: "ana", Identity: "7@laptop"})
	}, time.Hour)
	out := runPromotion(t, env,
		activities.PromoteRequest{ID: "weak", Model: "churn", Version: weak, Alias: "prod", By: "bo"},
		activities.PromoteRequest{ID: "strong", Model: "churn", Version: strong, Alias: "prod", By: "bo", RequireApproval: false, ApprovalTimeout: 10 * time.Minute},
	)
	if out[0].Outcome != "gates_failed" || out[0].Policy == nil || len(out[0].Policy.Sources) != 1 {
		t.Fatalf("a request without gates must get the policy's: %+v", out[0])
	}
	// The policy's 2h timeout replaced the request's 10 minutes: the
	// approval an hour in still counts.
	if out[1].Outcome != "promoted" || out[1].Decision == nil || out[1].Decision.By != "ana" {
		t.Fatalf("a request without --require-approval must still wait for one: %+v", out[1])
	}
	trail := steps(t, store, "churn")
	if !strings.Contains(trail, "policy:ok gates:ok approval:waiting approval:approved alias:ok") {
		t.Fatalf("audit trail %q does not show the policy's checks", trail)
	}
	events, _ := lake.New(store).Audit(t.Context(), "churn")
	found := false
	for _, e := range events {
		if e.Step == "approval" && e.Outcome == "approved" {
			found = e.By == "ana" && e.Detail["identity"] == "7@laptop"
		}
	}
	if !found {
		t.Fatalf("the approval must record the decider and their Temporal identity: %+v", events)
	}
}

// TestRollbackChecks: a rollback to a version that held the alias skips the
// policy's gates and approval; a "rollback" to any other version goes
// through them like the promotion it is.
func TestRollbackChecks(t *testing.T) {
	store := newStore(t)
	v1 := registerModel(t, store, "m", "v1", map[string]float64{"auc": 0.5})
	v2 := registerModel(t, store, "m", "v2", map[string]float64{"auc": 0.6})
	never := registerModel(t, store, "m", "never", map[string]float64{"auc": 0.4})
	neverGood := registerModel(t, store, "m", "never-good", map[string]float64{"auc": 0.95})
	runPromotion(t, promoteEnv(t, store),
		activities.PromoteRequest{ID: "s1", Model: "m", Version: v1, Alias: "prod"},
		activities.PromoteRequest{ID: "s2", Model: "m", Version: v2, Alias: "prod"},
	)
	applyPolicy(t, store, `  - name: m
    aliases: [{name: prod, require_approval: true, approval_timeout: 1h, gates: ["auc >= 0.9"]}]
`)
	out := runPromotion(t, promoteEnv(t, store),
		activities.PromoteRequest{ID: "back", Model: "m", Version: v1, Alias: "prod", Rollback: true},
		activities.PromoteRequest{ID: "never", Model: "m", Version: never, Alias: "prod", Rollback: true},
		activities.PromoteRequest{ID: "never-good", Model: "m", Version: neverGood, Alias: "prod", Rollback: true},
	)
	if out[0].Outcome != "promoted" || out[0].Policy == nil || !out[0].Policy.HeldBefore || len(out[0].Gates) != 0 {
		t.Fatalf("rollback to a previous holder: %+v", out[0])
	}
	if out[1].Outcome != "gates_failed" {
		t.Fatalf("rollback to a version that never held the alias must pass its gates: %+v", out[1])
	}
	if out[2].Outcome != "timeout" || len(out[2].Gates) != 1 || !out[2].Gates[0].Passed {
		t.Fatalf("rollback to a never-held version must wait for approval: %+v", out[2])
	}
	if got := aliasOf(t, store, "m", "prod"); got != v1 {
		t.Fatalf("prod -> %s, want the rolled-back %s", got, v1)
	}
	events, _ := lake.New(store).Audit(t.Context(), "m")
	var checks []string
	for _, e := range events {
		if e.Step == "policy" {
			checks = append(checks, e.Detail["checks"])
		}
	}
	if len(checks) != 3 || !strings.HasPrefix(checks[0], "skipped") || !strings.HasPrefix(checks[1], "applied") {
		t.Fatalf("the audit trail must say why checks were skipped or applied: %q", checks)
	}
}

// TestUnreadablePolicyFailsClosed: a spec that cannot be read might hold
// a policy, so the promotion stops instead of going ahead without it.
func TestUnreadablePolicyFailsClosed(t *testing.T) {
	store := newStore(t)
	v := registerModel(t, store, "m", "v", map[string]float64{"auc": 0.9})
	applyPolicy(t, store, "  - name: m\n    aliases: [{name: prod, require_approval: true}]\n")
	l := lake.New(store)
	id, err := l.Resolve(t.Context(), lake.KindSpec, "ml", "latest")
	if err != nil {
		t.Fatal(err)
	}
	m, err := l.GetManifest(t.Context(), lake.KindSpec, "ml", id)
	if err != nil {
		t.Fatal(err)
	}
	if err := store.Delete(t.Context(), lake.BlobKey(m.Artifact.Digest)); err != nil {
		t.Fatal(err)
	}
	out := runPromotion(t, promoteEnv(t, store), activities.PromoteRequest{ID: "x", Model: "m", Version: v, Alias: "prod"})
	if out[0].Outcome != "failed" || !strings.Contains(out[0].Detail, "promotion policy") {
		t.Fatalf("an unreadable spec must stop the promotion: %+v", out[0])
	}
	if aliasOf(t, store, "m", "prod") != "" {
		t.Fatal("the alias moved without its policy being read")
	}
}
