package cli_test

import (
	"bytes"
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/granaryml/granary/internal/lake"
	"github.com/granaryml/granary/internal/objstore"
	"github.com/granaryml/granary/internal/objstore/filestore"
)

// A grace period shorter than an activity may rely on an uncommitted blob
// is refused unless forced, before anything is deleted; a dry run, which
// deletes nothing, is always allowed.
func TestDatasetGCRefusesAGraceShorterThanAnActivity(t *testing.T) {
	dir := t.TempDir()
	s, err := filestore.New(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	orphan := []byte("uploaded by an import that is still running")
	d, _, err := lake.HashReader(bytes.NewReader(orphan))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := lake.New(s).PutBlob(t.Context(), d, bytes.NewReader(orphan), int64(len(orphan))); err != nil {
		t.Fatal(err)
	}
	stillThere := func() bool {
		_, err := s.Stat(t.Context(), lake.BlobKey(d))
		if err != nil && !errors.Is(err, objstore.ErrNotFound) {
			t.Fatal(err)
		}
		return err == nil
	}
	st := startStackOn(t, "file://"+dir)
	flags := append(append([]string{}, st.flags...), "--output", "json", "dataset", "gc")

	code, _, errOut := runCLI(t, t.Context(), append(flags, "--grace", "1h")...)
	if code == 0 || !strings.Contains(errOut, "--grace 1h0m0s is shorter than "+lake.MinGCGrace.String()) || !strings.Contains(errOut, "--force") {
		t.Fatalf("--grace 1h: exit %d, stderr %q; want a refusal naming the minimum and --force", code, errOut)
	}
	if !stillThere() {
		t.Fatal("a refused gc deleted the blob")
	}

	code, out, errOut := runCLI(t, t.Context(), append(flags, "--grace", "0s", "--dry-run")...)
	var res lake.GCResult
	if code != 0 || json.Unmarshal([]byte(out), &res) != nil || len(res.Candidates) != 1 || res.Candidates[0] != d || !stillThere() {
		t.Fatalf("dry run with --grace 0s: exit %d, %q, %q", code, out, errOut)
	}

	// The deletion is a GC run, with who asked, found like any other run.
	var ran struct {
		lake.GCResult
		WorkflowID string `json:"workflow_id"`
	}
	code, out, errOut = runCLI(t, t.Context(), append(flags, "--grace", "0s", "--force")...)
	if code != 0 || json.Unmarshal([]byte(out), &ran) != nil || ran.Deleted != 1 || stillThere() || !strings.HasPrefix(ran.WorkflowID, "gc/") {
		t.Fatalf("--grace 0s --force: exit %d, %q, %q; want the orphan deleted by a gc run", code, out, errOut)
	}
	for deadline := time.Now().Add(20 * time.Second); ; time.Sleep(300 * time.Millisecond) { // visibility is eventually consistent
		code, out, errOut := runCLI(t, t.Context(), append(append([]string{}, st.flags...), "--output", "json", "runs", "list", "--kind", "gc")...)
		var runs []struct {
			WorkflowID string `json:"workflow_id"`
			Status     string
		}
		if code != 0 || json.Unmarshal([]byte(out), &runs) != nil {
			t.Fatalf("runs list: exit %d, %q, %q", code, out, errOut)
		}
		if len(runs) == 1 && runs[0].WorkflowID == ran.WorkflowID && runs[0].Status == "completed" {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("runs list --kind gc should show the gc run %s: %+v", ran.WorkflowID, runs)
		}
	}
}
