package cli_test

import (
	"encoding/json"
	"flag"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/granaryml/granary/internal/lake"
	"github.com/granaryml/granary/internal/objstore/storeurl"
)

// Version ids are granary's promise: the same inputs give the same id, on
// every machine and in every release until a deliberate format bump. These
// tests run the shop example end to end through the CLI on fixed inputs
// under testdata/golden (a CSV, a JSONL file, a parquet file written by
// DuckDB, the example spec, a model file) and compare every id and blob
// digest produced with testdata/golden/ids.json.
//
// A failure here means something changed the bytes of a version. If that
// is intended, it is a format bump: rerun with -update-golden, and say in
// the README's compatibility section which release changes ids and why.
var updateGolden = flag.Bool("update-golden", false, "rewrite testdata/golden/ids.json (a deliberate format bump)")

// recordPreviousLake writes the lake of this release into
// testdata/golden/lake-<name>, to be kept as "a lake written by an earlier
// release" that later releases must still read. Done once per release
// that changes the lake's bytes; never overwrite an existing one.
var recordPreviousLake = flag.String("record-previous-lake", "", "copy the golden run's lake into testdata/golden/lake-NAME")

const goldenDir = "testdata/golden"

// goldenVersion is one pinned version: its id and its blobs' digests in
// manifest order.
type goldenVersion struct {
	Version string   `json:"version"`
	Blobs   []string `json:"blobs"`
}

type goldenIDs struct {
	// Datasets by name: orders (CSV), churn_labels (JSONL), orders_duckdb
	// (DuckDB's parquet).
	Datasets    map[string]goldenVersion `json:"datasets"`
	Spec        goldenVersion            `json:"spec"`
	View        goldenVersion            `json:"view"`
	TrainingSet goldenVersion            `json:"training_set"`
	Index       goldenVersion            `json:"index"`
	Model       goldenVersion            `json:"model"`
}

func TestVersionIDsArePinned(t *testing.T) {
	st := startStack(t)
	got := runGolden(t, st)

	path := filepath.Join(goldenDir, "ids.json")
	if *updateGolden {
		b, _ := json.MarshalIndent(got, "", "  ")
		if err := os.WriteFile(path, append(b, '\n'), 0o644); err != nil {
			t.Fatal(err)
		}
		t.Logf("rewrote %s", path)
	}
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var want goldenIDs
	if err := json.Unmarshal(b, &want); err != nil {
		t.Fatal(err)
	}
	compare := func(what string, got, want goldenVersion) {
		t.Helper()
		if got.Version != want.Version {
			t.Errorf("%s: version id %s, pinned %s", what, got.Version, want.Version)
		}
		if !slices.Equal(got.Blobs, want.Blobs) {
			t.Errorf("%s: blobs %v, pinned %v", what, got.Blobs, want.Blobs)
		}
	}
	for name, w := range want.Datasets {
		compare("dataset "+name, got.Datasets[name], w)
	}
	if len(got.Datasets) != len(want.Datasets) {
		t.Errorf("datasets %d, pinned %d", len(got.Datasets), len(want.Datasets))
	}
	compare("spec", got.Spec, want.Spec)
	compare("feature view user_orders", got.View, want.View)
	compare("training set churn", got.TrainingSet, want.TrainingSet)
	compare("index user_orders", got.Index, want.Index)
	compare("model churn", got.Model, want.Model)
	if t.Failed() {
		t.Log("a version id changed: if intended, this is a format bump (see the comment at the top of this file)")
	}

	if *recordPreviousLake != "" {
		dst := filepath.Join(goldenDir, "lake-"+*recordPreviousLake)
		if _, err := os.Stat(dst); err == nil {
			t.Fatalf("%s exists: a recorded lake is never overwritten", dst)
		}
		copyLake(t, strings.TrimPrefix(st.lake, "file://"), dst)
		t.Logf("recorded this release's lake in %s", dst)
	}
}

// runGolden runs the example pipeline on the golden inputs and collects
// every id it produced.
func runGolden(t *testing.T, st stack) goldenIDs {
	t.Helper()
	run := func(args ...string) string {
		t.Helper()
		code, out, errOut := runCLI(t, t.Context(), append(append(append([]string{}, st.flags...), "--output", "json"), args...)...)
		if code != 0 {
			t.Fatalf("granary %v: exit %d: %s", args, code, errOut)
		}
		return out
	}
	abs := func(name string) string {
		p, err := filepath.Abs(filepath.Join(goldenDir, name))
		if err != nil {
			t.Fatal(err)
		}
		return p
	}
	store, err := storeurl.Open(t.Context(), st.lake)
	if err != nil {
		t.Fatal(err)
	}
	l := lake.New(store)
	pinned := func(kind lake.Kind, name, id string) goldenVersion {
		t.Helper()
		m, err := l.GetManifest(t.Context(), kind, name, id)
		if err != nil {
			t.Fatalf("%s %s@%s: %v", kind, name, id, err)
		}
		g := goldenVersion{Version: id, Blobs: []string{}}
		for _, f := range m.Files {
			g.Blobs = append(g.Blobs, string(f.Digest))
		}
		if m.Artifact != nil {
			g.Blobs = append(g.Blobs, string(m.Artifact.Digest))
		}
		return g
	}

	var ids goldenIDs
	ids.Datasets = map[string]goldenVersion{}
	for _, in := range []struct{ name, file string }{
		{"orders", "orders.csv"},
		{"churn_labels", "churn_labels.jsonl"},
		{"orders_duckdb", "orders_duckdb.parquet"},
	} {
		id := version(t, run("dataset", "import", in.name, abs(in.file), "--wait"))
		ids.Datasets[in.name] = pinned(lake.KindDataset, in.name, id)
	}
	ids.Spec = pinned(lake.KindSpec, "shop", version(t, run("features", "apply", abs("features.yaml"))))
	ids.View = pinned(lake.KindDataset, "view.user_orders", version(t, run("extract", "user_orders", "--shards", "3", "--wait")))
	ids.TrainingSet = pinned(lake.KindDataset, "training.churn", version(t, run("build", "churn", "--wait")))
	ids.Index = pinned(lake.KindIndex, "user_orders", version(t, run("materialize", "user_orders", "--alias", "prod", "--wait")))
	ids.Model = pinned(lake.KindModel, "churn", version(t, run("model", "register", "churn", abs("model.bin"),
		"--metrics", abs("metrics.json"), "--dataset", "training.churn", "--framework", "golden")))
	return ids
}

// copyLake copies a file lake's committed content (blobs, manifests, refs,
// logs) and nothing transient.
func copyLake(t *testing.T, src, dst string) {
	t.Helper()
	err := filepath.WalkDir(src, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(src, p)
		if d.IsDir() && d.Name() == ".objstore" {
			return filepath.SkipDir // the file store's lock: local state
		}
		if d.IsDir() {
			return os.MkdirAll(filepath.Join(dst, rel), 0o755)
		}
		if !d.Type().IsRegular() {
			return fmt.Errorf("%s: not a regular file", p)
		}
		b, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		return os.WriteFile(filepath.Join(dst, rel), b, 0o644)
	})
	if err != nil {
		t.Fatal(err)
	}
}

// TestLakeOfAnEarlierReleaseStillWorks opens every lake recorded by an
// earlier release (testdata/golden/lake-*) with this one and uses it the
// way a user would after an upgrade: list, resolve, export, build from it
// and serve from it.
func TestLakeOfAnEarlierReleaseStillWorks(t *testing.T) {
	dirs, _ := filepath.Glob(filepath.Join(goldenDir, "lake-*"))
	if len(dirs) == 0 {
		t.Fatal("no recorded lake under testdata/golden")
	}
	for _, dir := range dirs {
		t.Run(filepath.Base(dir), func(t *testing.T) { testEarlierLake(t, dir) })
	}
}

func testEarlierLake(t *testing.T, recorded string) {
	lakeDir := t.TempDir()
	copyLake(t, recorded, lakeDir)
	st := startStackOn(t, "file://"+lakeDir)
	run := func(args ...string) string {
		t.Helper()
		code, out, errOut := runCLI(t, t.Context(), append(append(append([]string{}, st.flags...), "--output", "json"), args...)...)
		if code != 0 {
			t.Fatalf("granary %v: exit %d: %s", args, code, errOut)
		}
		return out
	}

	list := run("dataset", "list")
	for _, name := range []string{"orders", "churn_labels", "orders_duckdb", "view.user_orders", "training.churn"} {
		if !strings.Contains(list, `"`+name+`"`) {
			t.Errorf("dataset list does not name %s: %s", name, list)
		}
	}
	type shown struct {
		Version  string `json:"version"`
		Manifest struct {
			Rows int64 `json:"rows"`
		} `json:"manifest"`
	}
	orders := mustJSON[shown](t, run("dataset", "show", "orders@latest"))
	if orders.Manifest.Rows != 1500 {
		t.Errorf("orders@latest: %d rows, want 1500", orders.Manifest.Rows)
	}
	old := mustJSON[shown](t, run("dataset", "show", "training.churn@latest"))

	exportRows := func(ref string) []string {
		t.Helper()
		out := t.TempDir()
		run("dataset", "export", ref, "--out", out, "--format", "csv")
		parts, _ := filepath.Glob(filepath.Join(out, "*.csv"))
		var rows []string
		for _, p := range parts {
			b, err := os.ReadFile(p)
			if err != nil {
				t.Fatal(err)
			}
			lines := strings.Split(strings.TrimSpace(string(b)), "\n")
			rows = append(rows, lines[1:]...)
		}
		slices.Sort(rows)
		return rows
	}
	before := exportRows("training.churn@" + old.Version)
	if int64(len(before)) != old.Manifest.Rows || old.Manifest.Rows == 0 {
		t.Fatalf("export of the recorded training set: %d rows, manifest says %d", len(before), old.Manifest.Rows)
	}

	// A build with this release on the recorded inputs gives the same rows.
	rebuilt := version(t, run("build", "churn", "--wait"))
	after := exportRows("training.churn@" + rebuilt)
	if !slices.Equal(before, after) {
		t.Fatalf("a rebuild from the recorded lake differs: %d rows before, %d after", len(before), len(after))
	}

	// Serve the recorded index.
	const token = "golden-test-token-0123456789abcdef0123456789"
	t.Setenv("GRANARY_SERVE_TOKENS", "golden:"+token)
	url := startServe(t, st.lake, "--poll", "200ms")
	status, body := get(t, url+"/v1/features/user_orders?user_id=42&version=prod", token)
	var resp struct {
		Version  string                     `json:"version"`
		Features map[string]json.RawMessage `json:"features"`
	}
	if err := json.Unmarshal(body, &resp); status != 200 || err != nil || len(resp.Features) != 5 {
		t.Fatalf("lookup on the recorded index: %d %v %s", status, err, body)
	}
}

func version(t *testing.T, out string) string {
	t.Helper()
	v := mustJSON[struct {
		Version string `json:"version"`
	}](t, out).Version
	if v == "" {
		t.Fatalf("no version in %s", out)
	}
	return v
}
