package workflows_test

import (
	"errors"
	"testing"

	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/testsuite"

	"github.com/granaryml/granary/activities"
	"github.com/granaryml/granary/internal/lake"
	"github.com/granaryml/granary/internal/objstore"
	"github.com/granaryml/granary/workflows"
)

func runRepoint(t *testing.T, env *testsuite.TestWorkflowEnvironment, in workflows.RepointRefsInput) (workflows.RepointRefsResult, error) {
	t.Helper()
	env.ExecuteWorkflow(workflows.RepointRefs, in)
	if !env.IsWorkflowCompleted() {
		t.Fatal("workflow did not complete")
	}
	var res workflows.RepointRefsResult
	if err := env.GetWorkflowError(); err != nil {
		return res, err
	}
	return res, env.GetWorkflowResult(&res)
}

// importAThenB imports version A of dataset d tagged prod, then version B
// (which moves latest only).
func importAThenB(t *testing.T) (objstore.Store, workflows.CommitDatasetResult, workflows.CommitDatasetResult) {
	t.Helper()
	store := newStore(t)
	a, err := runImport(t, store, workflows.CommitDatasetInput{Name: "d", Tags: []string{"prod"}, Sources: []activities.Source{stage(t, store, "a.csv", []byte("id\n1\n"))}})
	if err != nil {
		t.Fatal(err)
	}
	b, err := runImport(t, store, workflows.CommitDatasetInput{Name: "d", Sources: []activities.Source{stage(t, store, "b.csv", []byte("id\n2\n"))}})
	if err != nil {
		t.Fatal(err)
	}
	return store, a, b
}

// TestRepointRefsMovesBackAndLogs: A, then B, then RepointRefs to A leaves
// latest and the tag on A, logs the move, and reports every ref's move.
func TestRepointRefsMovesBackAndLogs(t *testing.T) {
	store, a, b := importAThenB(t)
	l := lake.New(store)
	latest, _, err := l.GetRef(t.Context(), lake.KindDataset, "d", "latest")
	if err != nil || latest.Version != b.Version {
		t.Fatalf("latest = %+v, %v; want B", latest, err)
	}
	prod, _, _ := l.GetRef(t.Context(), lake.KindDataset, "d", "prod")
	env, _ := newEnvOn(t, store)
	res, err := runRepoint(t, env, workflows.RepointRefsInput{Kind: lake.KindDataset, Name: "d", Version: a.Version, Reason: "import (again)", User: "ana",
		Refs: []workflows.RefState{{Ref: "latest", Seq: latest.Seq, Version: latest.Version}, {Ref: "prod", Seq: prod.Seq, Version: prod.Version}}})
	if err != nil {
		t.Fatal(err)
	}
	for _, ref := range []string{"latest", "prod"} {
		if id, err := l.Resolve(t.Context(), lake.KindDataset, "d", ref); err != nil || id != a.Version {
			t.Fatalf("%s = %s, %v; want A %s", ref, id, err, a.Version)
		}
	}
	if len(res.Moves) != 2 || res.Moves[0].Ref != "latest" || res.Moves[0].From != b.Version || res.Moves[0].To != a.Version || res.Moves[1].Ref != "prod" || res.Moves[1].To != a.Version {
		t.Fatalf("unexpected moves %+v", res.Moves)
	}
	log, err := l.Log(t.Context(), lake.KindDataset, "d")
	if err != nil {
		t.Fatal(err)
	}
	last := log[len(log)-1]
	if len(log) != 4 || last.To != a.Version || last.By != "ana" || last.Reason != "import (again)" {
		t.Fatalf("the move back must be logged once, with who and why: %+v", log)
	}
}

func TestRepointRefsRefusesModelsAndBadInput(t *testing.T) {
	for name, in := range map[string]workflows.RepointRefsInput{
		"model alias": {Kind: lake.KindModel, Name: "churn", Version: "abc", Refs: []workflows.RefState{{Ref: "prod"}}},
		"no refs":     {Kind: lake.KindDataset, Name: "d", Version: "abc"},
		"bad ref":     {Kind: lake.KindDataset, Name: "d", Version: "abc", Refs: []workflows.RefState{{Ref: "../x"}}},
	} {
		t.Run(name, func(t *testing.T) {
			env, _ := newEnv(t)
			_, err := runRepoint(t, env, in)
			var app *temporal.ApplicationError
			if !errors.As(err, &app) || app.Type() != activities.ErrTypeInvalidInput || !app.NonRetryable() {
				t.Fatalf("want a non-retryable InvalidInput error, got %v", err)
			}
		})
	}
}

// The ref state is the id's "generation": the same view of the refs is
// one run, any later move of a ref makes it new work.
func TestRepointRefsIDFollowsRefGeneration(t *testing.T) {
	in := workflows.RepointRefsInput{Kind: lake.KindDataset, Name: "d", Version: "v1", Refs: []workflows.RefState{{Ref: "latest", Seq: 2, Version: "v2"}}, User: "ana"}
	same := in
	same.User, same.Reason, same.Repeats = "bo", "other words", "dataset/d/x"
	if workflows.RepointRefsID(in) != workflows.RepointRefsID(same) {
		t.Fatal("who asks and why must not change the id")
	}
	later := in
	later.Refs = []workflows.RefState{{Ref: "latest", Seq: 4, Version: "v2"}}
	if workflows.RepointRefsID(later) == workflows.RepointRefsID(in) {
		t.Fatal("a ref that moved since must give a new id")
	}
}

// `dataset tag --expect/--new` go through RepointRefs: the expectation is
// checked at the move (a stale one fails as a non-retryable Conflict and
// moves nothing), the right one moves the tag, and it changes the id so a
// failing expectation never attaches to a run that moved under another.
func TestRepointRefsTagHonoursExpectation(t *testing.T) {
	store, a, b := importAThenB(t)
	l := lake.New(store)
	prod, _, _ := l.GetRef(t.Context(), lake.KindDataset, "d", "prod")
	tag := workflows.RepointRefsInput{Kind: lake.KindDataset, Name: "d", Version: b.Version, User: "ana", Reason: "new column",
		Refs: []workflows.RefState{{Ref: "prod", Seq: prod.Seq, Version: prod.Version}}}

	for name, stale := range map[string]workflows.RepointRefsInput{
		"expect":        func() workflows.RepointRefsInput { in := tag; in.Expect = b.Version; return in }(),
		"expect absent": func() workflows.RepointRefsInput { in := tag; in.ExpectAbsent = true; return in }(),
	} {
		env, _ := newEnvOn(t, store)
		_, err := runRepoint(t, env, stale)
		var app *temporal.ApplicationError
		if !errors.As(err, &app) || app.Type() != activities.ErrTypeConflict || !app.NonRetryable() {
			t.Fatalf("%s: a stale expectation must fail as a non-retryable Conflict, got %v", name, err)
		}
		if id, _ := l.Resolve(t.Context(), lake.KindDataset, "d", "prod"); id != a.Version {
			t.Fatalf("%s: a refused tag moved prod to %s", name, id)
		}
		if workflows.RepointRefsID(stale) == workflows.RepointRefsID(tag) {
			t.Fatalf("%s: the expectation must be part of the id", name)
		}
	}

	right := tag
	right.Expect = a.Version
	env, _ := newEnvOn(t, store)
	res, err := runRepoint(t, env, right)
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Moves) != 1 || res.Moves[0].From != a.Version || res.Moves[0].To != b.Version || res.Moves[0].By != "ana" || res.Moves[0].Reason != "new column" {
		t.Fatalf("unexpected move %+v", res.Moves)
	}
	if id, _ := l.Resolve(t.Context(), lake.KindDataset, "d", "prod"); id != b.Version {
		t.Fatalf("prod = %s, want B", id)
	}
}
