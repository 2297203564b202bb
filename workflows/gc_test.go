package workflows_test

import (
	"errors"
	"slices"
	"testing"
	"time"

	"go.temporal.io/sdk/temporal"

	"github.com/granaryml/granary/activities"
	"github.com/granaryml/granary/internal/lake"
	"github.com/granaryml/granary/workflows"
)

// TestGCDeletesOrphansOnly: the run deletes a blob no manifest names and
// keeps the blobs of a committed version; a grace shorter than an
// activity may rely on a blob is refused non-retryably unless forced.
func TestGCDeletesOrphansOnly(t *testing.T) {
	store := newStore(t)
	raw := stage(t, store, "a.csv", []byte("id\n1\n"))
	v, err := runImport(t, store, workflows.CommitDatasetInput{Name: "d", Sources: []activities.Source{raw}})
	if err != nil {
		t.Fatal(err)
	}
	orphan := stage(t, store, "orphan.bin", []byte("nobody names me"))
	exists := func(d lake.Digest) bool {
		_, err := store.Stat(t.Context(), lake.BlobKey(d))
		return err == nil
	}
	gc := func(in workflows.GCInput) (activities.GCResult, error) {
		env, _ := newEnvOn(t, store)
		env.ExecuteWorkflow(workflows.GC, in)
		var res activities.GCResult
		if err := env.GetWorkflowError(); err != nil {
			return res, err
		}
		return res, env.GetWorkflowResult(&res)
	}

	_, err = gc(workflows.GCInput{GCInput: activities.GCInput{Grace: time.Hour}, User: "ana"})
	var app *temporal.ApplicationError
	if !errors.As(err, &app) || app.Type() != activities.ErrTypeInvalidInput || !app.NonRetryable() || !exists(orphan.Digest) {
		t.Fatalf("an unforced short grace must be refused non-retryably before deleting anything, got %v", err)
	}

	res, err := gc(workflows.GCInput{GCInput: activities.GCInput{Grace: 0, Force: true}, User: "ana"})
	if err != nil {
		t.Fatal(err)
	}
	// Collected: the orphan and the import's raw upload (its parquet is
	// what the version names).
	if res.Deleted != 2 || len(res.Candidates) != 2 || !slices.Contains(res.Candidates, orphan.Digest) || !slices.Contains(res.Candidates, raw.Digest) || exists(orphan.Digest) {
		t.Fatalf("want the orphan and the raw upload deleted: %+v", res)
	}
	m, err := lake.New(store).GetManifest(t.Context(), lake.KindDataset, "d", v.Version)
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range m.Files {
		if !exists(f.Digest) {
			t.Fatalf("gc deleted %s, a blob of d@%s", f.Digest, v.Version)
		}
	}
}

// The activity itself refuses a short unforced grace non-retryably (a
// retry cannot make it longer), whoever calls it.
func TestGCActivityShortGraceIsNotRetried(t *testing.T) {
	store := newStore(t)
	_, err := activities.New(store, "test").GC(t.Context(), activities.GCInput{Grace: time.Minute})
	var app *temporal.ApplicationError
	if !errors.As(err, &app) || !app.NonRetryable() || !errors.Is(err, lake.ErrGraceTooShort) {
		t.Fatalf("want a non-retryable ErrGraceTooShort, got %v", err)
	}
}

func TestGCIDNamesTheRequest(t *testing.T) {
	at := time.Date(2026, 12, 2, 16, 0, 0, 0, time.UTC)
	in := workflows.GCInput{GCInput: activities.GCInput{Grace: 24 * time.Hour}, RequestedAt: at, User: "ana"}
	same := in
	same.User, same.RequestedAt = "bo", at.Add(300*time.Millisecond)
	if workflows.GCID(same) != workflows.GCID(in) {
		t.Fatal("a relaunch of the same request must attach")
	}
	later := in
	later.RequestedAt = at.Add(time.Minute)
	if workflows.GCID(later) == workflows.GCID(in) {
		t.Fatal("a later gc is new work")
	}
}
