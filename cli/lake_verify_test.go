package cli_test

import (
	"bytes"
	"encoding/json"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/granaryml/granary/internal/devstack"
	"github.com/granaryml/granary/internal/lake"
	"github.com/granaryml/granary/internal/objstore"
	"github.com/granaryml/granary/internal/objstore/storeurl"
)

type verifyJSON struct {
	Damaged      bool   `json:"damaged"`
	Blobs        int    `json:"blobs"`
	Report       string `json:"report"`
	WorkflowID   string `json:"workflow_id"`
	BlobProblems []struct {
		Digest        string `json:"digest"`
		Problem       string `json:"problem"`
		QuarantinedTo string `json:"quarantined_to"`
		UsedBy        []struct {
			Name    string   `json:"name"`
			Version string   `json:"version"`
			Refs    []string `json:"refs"`
		} `json:"used_by"`
	} `json:"blob_problems"`
	Regenerate []struct {
		Version  string   `json:"version"`
		Commands []string `json:"commands"`
	} `json:"regenerate"`
}

func verifyLake(t *testing.T, st stack, extra ...string) (int, verifyJSON, string) {
	t.Helper()
	args := append(append([]string{}, st.flags...), append([]string{"--output", "json", "lake", "verify"}, extra...)...)
	code, out, errOut := runCLI(t, t.Context(), args...)
	var v verifyJSON
	if err := json.Unmarshal([]byte(out), &v); err != nil {
		t.Fatalf("exit %d; stdout is not one JSON document: %v\n%s\nstderr: %s", code, err, out, errOut)
	}
	return code, v, errOut
}

// The operator's loop through a real Temporal server: verify a whole
// lake, find a rotted blob (exit 3), quarantine it with --repair, run the
// regenerate command verify printed (a reset of the import's run with the
// pinned temporal CLI), and verify the lake whole again.
func TestLakeVerifyRepairAndRegenerateThroughRealTemporal(t *testing.T) {
	st := startStack(t)
	src := filepath.Join(t.TempDir(), "orders.csv")
	if err := os.WriteFile(src, []byte("id,amount\n1,2.5\n2,3\n3,-1\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	code, out, errOut := runCLI(t, t.Context(), append(append([]string{}, st.flags...), "--output", "json", "dataset", "import", "orders", src, "--wait")...)
	if code != 0 {
		t.Fatalf("import: exit %d: %s", code, errOut)
	}
	var imp struct{ Version string }
	if err := json.Unmarshal([]byte(out), &imp); err != nil || imp.Version == "" {
		t.Fatalf("import output %q: %v", out, err)
	}

	if code, v, errOut := verifyLake(t, st); code != 0 || v.Damaged || v.Blobs != 1 || !strings.HasPrefix(v.WorkflowID, "lakeverify/") {
		t.Fatalf("verify of a whole lake: exit %d, %+v, %s", code, v, errOut)
	}

	store, err := storeurl.Open(t.Context(), st.lake)
	if err != nil {
		t.Fatal(err)
	}
	m, err := lake.New(store).GetManifest(t.Context(), lake.KindDataset, "orders", imp.Version)
	if err != nil {
		t.Fatal(err)
	}
	key := lake.BlobKey(m.Files[0].Digest)
	rc, _, err := store.Get(t.Context(), key, objstore.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	good, _ := io.ReadAll(rc)
	rc.Close()
	bad := bytes.Clone(good)
	bad[len(bad)/2] ^= 0x01
	if _, err := store.Put(t.Context(), key, bytes.NewReader(bad), int64(len(bad))); err != nil {
		t.Fatal(err)
	}

	code, v, errOut := verifyLake(t, st)
	if code != 3 || !v.Damaged || len(v.BlobProblems) != 1 || v.BlobProblems[0].Problem != "corrupt" ||
		v.BlobProblems[0].UsedBy[0].Version != imp.Version || strings.Join(v.BlobProblems[0].UsedBy[0].Refs, ",") != "latest" {
		t.Fatalf("verify of a damaged lake: exit %d, %+v", code, v)
	}
	if !strings.Contains(errOut, "found damage") {
		t.Fatalf("stderr should say damage was found: %q", errOut)
	}

	// The human report names the blob, the version and what to run.
	code, text, _ := runCLI(t, t.Context(), append(append([]string{}, st.flags...), "lake", "verify", "--repair")...)
	if code != 3 || !strings.Contains(text, "corrupt blob "+string(m.Files[0].Digest)) || !strings.Contains(text, "quarantined to _granary/quarantine/") ||
		!strings.Contains(text, "dataset orders@"+lake.ShortID(imp.Version)) || !strings.Contains(text, "temporal workflow reset") {
		t.Fatalf("verify --repair: exit %d\n%s", code, text)
	}
	if _, err := store.Stat(t.Context(), key); err == nil {
		t.Fatal("the corrupt blob is still in place after --repair")
	}

	code, v, _ = verifyLake(t, st)
	if code != 3 || len(v.Regenerate) != 1 || v.BlobProblems[0].Problem != "missing" {
		t.Fatalf("after repair: exit %d, %+v", code, v)
	}
	var reset string
	for _, c := range v.Regenerate[0].Commands {
		if strings.HasPrefix(c, "temporal workflow reset ") {
			reset = c
		}
	}
	temporalBin, err := devstack.FindBinary("temporal")
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.CommandContext(t.Context(), "sh", "-c", strings.Replace(reset, "temporal ", temporalBin+" ", 1)+" --address "+st.address+" --namespace "+st.namespace)
	if b, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("%s: %v\n%s", reset, err, b)
	}
	deadline := time.Now().Add(time.Minute)
	for {
		if _, err := store.Stat(t.Context(), key); err == nil {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the reset import did not write the blob back within a minute")
		}
		time.Sleep(200 * time.Millisecond)
	}
	if code, v, errOut := verifyLake(t, st); code != 0 || v.Damaged {
		t.Fatalf("after regenerating: exit %d, %+v, %s", code, v, errOut)
	}
}
