package workflows_test

import (
	"errors"
	"fmt"
	"strings"
	"testing"

	"go.temporal.io/sdk/temporal"

	"github.com/granaryml/granary/activities"
	"github.com/granaryml/granary/internal/devstack/devtest"
	"github.com/granaryml/granary/internal/lake"
	"github.com/granaryml/granary/workflows"
)

// TestImportRefusesEndpointsNotAllowed: a worker reads s3:// sources with
// its own credentials, so an endpoint off its allowlist (here: none is
// allowed, as for a directory lake) fails non-retryably before a single
// connection is made — to a local service or a metadata address alike.
func TestImportRefusesEndpointsNotAllowed(t *testing.T) {
	addr, connections := devtest.CountingListener(t)
	for _, endpoint := range []string{addr, "169.254.169.254"} {
		t.Run(endpoint, func(t *testing.T) {
			store := newStore(t)
			url := fmt.Sprintf("s3://internal/secrets.csv?endpoint=%s&secure=false", endpoint)
			_, err := runImport(t, store, workflows.CommitDatasetInput{Name: "d", Sources: []activities.Source{{Name: url, URL: url}}})
			var app *temporal.ApplicationError
			if !errors.As(err, &app) || app.Type() != activities.ErrTypeNotAllowed || !app.NonRetryable() {
				t.Fatalf("want a non-retryable %s error, got %v", activities.ErrTypeNotAllowed, err)
			}
			if !strings.Contains(app.Message(), endpoint) || !strings.Contains(app.Message(), "--allow-endpoint") {
				t.Errorf("error should name the endpoint and how to allow it: %s", app.Message())
			}
			if n := countKeys(t, store, "objects/"); n != 0 {
				t.Errorf("a refused import stored %d objects", n)
			}
		})
	}
	if n := connections(); n != 0 {
		t.Fatalf("the worker connected %d times to an endpoint it does not allow", n)
	}
}

// TestImportOfAnOverwrittenObjectIsRefused: the CLI pins a lake:KEY
// source to the object's ETag and size (they make the workflow id); if
// the object is replaced before a worker stages it, the import fails
// instead of committing other bytes under that id, and a launch pinned to
// the new object imports the new content.
func TestImportOfAnOverwrittenObjectIsRefused(t *testing.T) {
	store := newStore(t)
	put := func(content string) activities.Source {
		t.Helper()
		info, err := store.Put(t.Context(), "drop/events.csv", strings.NewReader(content), int64(len(content)))
		if err != nil {
			t.Fatal(err)
		}
		return activities.Source{Name: "lake:drop/events.csv", URL: "lake:drop/events.csv", ETag: info.ETag, Bytes: info.Size}
	}
	old := put("id,v\n1,a\n")
	fresh := put("id,v\n1,a\n2,b\n")
	if old.ETag == fresh.ETag {
		t.Fatal("the store gave an overwritten object the same ETag")
	}
	_, err := runImport(t, store, workflows.CommitDatasetInput{Name: "d", Sources: []activities.Source{old}})
	var app *temporal.ApplicationError
	if !errors.As(err, &app) || app.Type() != activities.ErrTypeConflict || !app.NonRetryable() || !strings.Contains(app.Message(), "import it again") {
		t.Fatalf("want a non-retryable conflict asking to import again, got %v", err)
	}
	if workflows.CommitDatasetID(workflows.CommitDatasetInput{Name: "d", Sources: []activities.Source{old}}) ==
		workflows.CommitDatasetID(workflows.CommitDatasetInput{Name: "d", Sources: []activities.Source{fresh}}) {
		t.Fatal("two versions of one object must not share an import id")
	}
	res, err := runImport(t, store, workflows.CommitDatasetInput{Name: "d", Sources: []activities.Source{fresh}})
	if err != nil {
		t.Fatal(err)
	}
	if res.Rows != 2 {
		t.Fatalf("imported %d rows, want the new object's 2", res.Rows)
	}
	if id, err := lake.New(store).Resolve(t.Context(), lake.KindDataset, "d", "latest"); err != nil || id != res.Version {
		t.Fatalf("latest = %s, %v; want %s", id, err, res.Version)
	}
}
