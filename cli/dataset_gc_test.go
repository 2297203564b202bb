package cli_test

import (
	"bytes"
	"encoding/json"
	"errors"
	"strings"
	"testing"

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
	flags := []string{"--lake", "file://" + dir, "--output", "json", "dataset", "gc"}

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

	code, out, errOut = runCLI(t, t.Context(), append(flags, "--grace", "0s", "--force")...)
	if code != 0 || json.Unmarshal([]byte(out), &res) != nil || res.Deleted != 1 || stillThere() {
		t.Fatalf("--grace 0s --force: exit %d, %q, %q; want the orphan deleted", code, out, errOut)
	}
}
