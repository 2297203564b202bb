package workflows_test

import (
	"os"
	"path/filepath"
	"testing"

	sdkworker "go.temporal.io/sdk/worker"

	"github.com/granaryml/granary/worker"
)

// TestReplayRecordedHistories replays histories recorded from a real
// Temporal dev server (make record-histories) against the current code.
// A change that alters the commands a workflow issues for an existing
// history — reordering activities, adding a timer without versioning —
// fails here instead of breaking runs in flight.
func TestReplayRecordedHistories(t *testing.T) {
	files, err := filepath.Glob(filepath.Join("testdata", "histories", "*.json"))
	if err != nil {
		t.Fatal(err)
	}
	if len(files) == 0 {
		t.Fatal("no recorded histories in testdata/histories; run make record-histories")
	}
	for _, f := range files {
		t.Run(filepath.Base(f), func(t *testing.T) {
			r := sdkworker.NewWorkflowReplayer()
			worker.RegisterWorkflows(r)
			if err := r.ReplayWorkflowHistoryFromJSONFile(quietLogger(), f); err != nil {
				t.Fatalf("replaying %s: %v", f, err)
			}
		})
	}
}

func TestReplayDetectsNonDeterminism(t *testing.T) {
	// Guard against a replayer that passes everything: a history in which
	// the workflow scheduled another activity than today's code would must
	// fail to replay.
	src := filepath.Join("testdata", "histories", "commitdataset-two-files.json")
	b, err := os.ReadFile(src)
	if err != nil {
		t.Fatal(err)
	}
	r := sdkworker.NewWorkflowReplayer()
	worker.RegisterWorkflows(r)
	bad := filepath.Join(t.TempDir(), "mismatch.json")
	if err := os.WriteFile(bad, replaceName(b, "InferSchema", "ComputeStats"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := r.ReplayWorkflowHistoryFromJSONFile(quietLogger(), bad); err == nil {
		t.Fatal("a history with a different activity replayed without error")
	}
}
