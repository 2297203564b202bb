package cli_test

import (
	"encoding/csv"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/granaryml/granary/internal/devstack/devtest"
)

// backends returns the --lake URLs to run CLI tests against: a local
// directory and a bucket on a real MinIO server.
func backends(t *testing.T) map[string]string {
	t.Helper()
	m := devtest.Minio(t)
	if err := m.EnsureBucket(t.Context(), "cli-test"); err != nil {
		t.Fatal(err)
	}
	t.Setenv("AWS_ACCESS_KEY_ID", m.AccessKey())
	t.Setenv("AWS_SECRET_ACCESS_KEY", m.SecretKey())
	return map[string]string{
		"file": "file://" + t.TempDir(),
		"s3":   fmt.Sprintf("s3://cli-test/%d?endpoint=%s&secure=false", time.Now().UnixNano(), m.Endpoint()),
	}
}

func writeFile(t *testing.T, name, content string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

type importJSON struct {
	Name    string `json:"name"`
	Version string `json:"version"`
	Rows    int64  `json:"rows"`
	Bytes   int64  `json:"bytes"`
	Files   int    `json:"files"`
}

func mustJSON[T any](t *testing.T, out string) T {
	t.Helper()
	var v T
	if err := json.Unmarshal([]byte(out), &v); err != nil {
		t.Fatalf("stdout is not one JSON document: %v\n%s", err, out)
	}
	return v
}

// roundTripCSV holds every kind of value the round trip must keep.
const roundTripCSV = `id,score,name,active,seen_at,note
-9223372036854775808,0.1,"comma, inside",true,2024-03-01T10:00:00+02:00,
9223372036854775807,1e+300,"quote ""inside""",false,2024-03-01T08:00:00.123456Z,""
0,-0,"new
line",TRUE,2024-12-31 23:59:59,x
42,,ünïcødé 🌾,,,"also, ""both""
here"
`

func TestDatasetImportExportRoundTrip(t *testing.T) {
	for backend, lakeURL := range backends(t) {
		t.Run(backend, func(t *testing.T) {
			flags := startStackOn(t, lakeURL).flags
			src := writeFile(t, "values.csv", roundTripCSV)
			code, out, errOut := runCLI(t, t.Context(), append(flags, "--output", "json", "dataset", "import", "values", src, "--wait")...)
			if code != 0 {
				t.Fatalf("import: exit %d: %s", code, errOut)
			}
			imp := mustJSON[importJSON](t, out)
			if imp.Rows != 4 || imp.Files != 1 || imp.Name != "values" || len(imp.Version) != 64 {
				t.Fatalf("unexpected import result %+v", imp)
			}

			dir := t.TempDir()
			code, _, errOut = runCLI(t, t.Context(), append(flags, "dataset", "export", "values@"+imp.Version[:10], "--out", dir, "--format", "csv")...)
			if code != 0 {
				t.Fatalf("export: exit %d: %s", code, errOut)
			}
			got := readCSV(t, filepath.Join(dir, "part-00000.csv"))
			want := [][]string{
				{"id", "score", "name", "active", "seen_at", "note"},
				{"-9223372036854775808", "0.1", "comma, inside", "true", "2024-03-01T08:00:00Z", ""},
				{"9223372036854775807", "1e+300", `quote "inside"`, "false", "2024-03-01T08:00:00.123456Z", ""},
				{"0", "-0", "new\nline", "true", "2024-12-31T23:59:59Z", "x"},
				{"42", "", "ünïcødé 🌾", "", "", "also, \"both\"\nhere"},
			}
			if fmt.Sprint(got) != fmt.Sprint(want) {
				t.Fatalf("exported values differ\n got %q\nwant %q", got, want)
			}
			// Null and the empty string stay distinct: null is an empty
			// unquoted field, the empty string is "".
			raw, _ := os.ReadFile(filepath.Join(dir, "part-00000.csv"))
			lines := strings.Split(string(raw), "\n")
			if !strings.HasSuffix(lines[1], ",") || !strings.HasSuffix(lines[2], `,""`) {
				t.Fatalf("null and empty string must export differently:\n%s", raw)
			}

			// Exported parquet re-imports to the same version id.
			pq := t.TempDir()
			if code, _, errOut := runCLI(t, t.Context(), append(flags, "dataset", "export", "values", "--out", pq)...); code != 0 {
				t.Fatalf("export parquet: %s", errOut)
			}
			code, out, errOut = runCLI(t, t.Context(), append(flags, "--output", "json", "dataset", "import", "values", filepath.Join(pq, "part-00000.parquet"), "--wait")...)
			if code != 0 {
				t.Fatalf("re-import: %s", errOut)
			}
			if again := mustJSON[importJSON](t, out); again.Version != imp.Version {
				t.Fatalf("re-imported export got version %s, want %s", again.Version, imp.Version)
			}
		})
	}
}

func readCSV(t *testing.T, path string) [][]string {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	rows, err := csv.NewReader(f).ReadAll()
	if err != nil {
		t.Fatalf("%s is not valid CSV: %v", path, err)
	}
	return rows
}

// TestDatasetRacingImports starts two different imports of one dataset at
// once: both versions must exist, latest must end on one of them, and the
// log must record both moves.
func TestDatasetRacingImports(t *testing.T) {
	flags := startStack(t).flags
	a := writeFile(t, "a.csv", "id,v\n1,a\n")
	b := writeFile(t, "b.csv", "id,v\n2,b\n")
	versions := make([]string, 2)
	var wg sync.WaitGroup
	for i, path := range []string{a, b} {
		wg.Add(1)
		go func() {
			defer wg.Done()
			code, out, errOut := runCLI(t, t.Context(), append(append([]string{}, flags...), "--output", "json", "dataset", "import", "race", path, "--wait")...)
			if code != 0 {
				t.Errorf("import %s: exit %d: %s", path, code, errOut)
				return
			}
			versions[i] = mustJSON[importJSON](t, out).Version
		}()
	}
	wg.Wait()
	if t.Failed() {
		return
	}
	code, out, _ := runCLI(t, t.Context(), append(append([]string{}, flags...), "--output", "json", "dataset", "log", "race")...)
	if code != 0 {
		t.Fatal("dataset log failed")
	}
	moves := mustJSON[[]struct{ Ref, From, To string }](t, out)
	if len(moves) != 2 {
		t.Fatalf("want 2 moves of latest, got %+v", moves)
	}
	targets := map[string]bool{moves[0].To: true, moves[1].To: true}
	if !targets[versions[0]] || !targets[versions[1]] {
		t.Fatalf("log %+v does not record both versions %v", moves, versions)
	}
	code, out, _ = runCLI(t, t.Context(), append(append([]string{}, flags...), "--output", "json", "dataset", "show", "race")...)
	if code != 0 {
		t.Fatal("dataset show failed")
	}
	shown := mustJSON[struct{ Version string }](t, out)
	if shown.Version != versions[0] && shown.Version != versions[1] {
		t.Fatalf("latest points at %s, which neither import produced", shown.Version)
	}
	for _, v := range versions {
		if code, _, errOut := runCLI(t, t.Context(), append(append([]string{}, flags...), "dataset", "show", "race@"+v)...); code != 0 {
			t.Fatalf("version %s lost: %s", v, errOut)
		}
	}
}

// TestDatasetCommandsTellTheStory drives show, diff, tag, log and gc the
// way a user would after two imports.
func TestDatasetCommandsTellTheStory(t *testing.T) {
	stack := startStack(t)
	run := func(args ...string) (string, string) {
		t.Helper()
		code, out, errOut := runCLI(t, t.Context(), append(append([]string{}, stack.flags...), args...)...)
		if code != 0 {
			t.Fatalf("granary %v: exit %d: %s", args, code, errOut)
		}
		return out, errOut
	}
	v1 := mustJSON[importJSON](t, first(run("--output", "json", "dataset", "import", "orders", writeFile(t, "o1.csv", "id,amount\n1,10\n2,20\n"), "--tag", "prod", "--wait"))).Version
	v2 := mustJSON[importJSON](t, first(run("--output", "json", "dataset", "import", "orders", writeFile(t, "o2.csv", "id,amount,country\n1,10.5,fr\n2,20,de\n3,,us\n"), "--wait"))).Version

	show, _ := run("dataset", "show", "orders@prod")
	for _, want := range []string{"orders@" + v1, "prod", "amount", "int64", "runs:", "/workflows/dataset%2Forders%2F"} {
		if !strings.Contains(show, want) {
			t.Errorf("dataset show lacks %q:\n%s", want, show)
		}
	}
	diff := mustJSON[struct {
		RowsFrom     int64                     `json:"rows_from"`
		RowsTo       int64                     `json:"rows_to"`
		ColumnsAdded []struct{ Name string }   `json:"columns_added"`
		TypeChanges  []struct{ Column string } `json:"type_changes"`
		FilesAdded   []any                     `json:"files_added"`
	}](t, first(run("--output", "json", "dataset", "diff", "orders@prod", "orders@latest")))
	if diff.RowsFrom != 2 || diff.RowsTo != 3 || len(diff.ColumnsAdded) != 1 || diff.ColumnsAdded[0].Name != "country" || len(diff.TypeChanges) != 1 || diff.TypeChanges[0].Column != "amount" || len(diff.FilesAdded) != 1 {
		t.Fatalf("unexpected diff %+v", diff)
	}

	// A stale expectation is refused; the right one moves the alias.
	code, _, errOut := runCLI(t, t.Context(), append(append([]string{}, stack.flags...), "dataset", "tag", "orders@"+v2[:12], "prod", "--expect", v2[:12])...)
	if code == 0 || !strings.Contains(errOut, "conflict") {
		t.Fatalf("stale --expect must fail with a conflict, got exit %d: %s", code, errOut)
	}
	tagged := mustJSON[struct {
		Version    string `json:"version"`
		WorkflowID string `json:"workflow_id"`
	}](t, first(run("--output", "json", "dataset", "tag", "orders@"+v2[:12], "prod", "--expect", v1[:12], "--reason", "country column")))
	if tagged.Version != v2 || !strings.HasPrefix(tagged.WorkflowID, "refs/datasets/orders/") {
		t.Fatalf("tag must report the version and the run that moved the alias: %+v", tagged)
	}
	// The move is a run, found the way an operator finds any commit.
	for deadline := time.Now().Add(20 * time.Second); ; time.Sleep(300 * time.Millisecond) { // visibility is eventually consistent
		runs := mustJSON[[]struct {
			WorkflowID string `json:"workflow_id"`
			Status     string
			Version    string
		}](t, first(run("--output", "json", "runs", "list", "--kind", "refs", "--name", "orders")))
		found := false
		for _, r := range runs {
			found = found || (r.WorkflowID == tagged.WorkflowID && r.Status == "completed" && r.Version == v2)
		}
		if found {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("runs list --kind refs lacks the tag's run %s: %+v", tagged.WorkflowID, runs)
		}
	}
	log, _ := run("dataset", "log", "orders")
	if !strings.Contains(log, "country column") || strings.Count(log, "prod") != 2 {
		t.Fatalf("log should show both moves of prod and the reason:\n%s", log)
	}

	// Unknown names and refs are one clear line.
	code, _, errOut = runCLI(t, t.Context(), append(append([]string{}, stack.flags...), "dataset", "show", "orders@nosuch")...)
	if code != 1 || !strings.Contains(errOut, `no alias "nosuch"`) || strings.Count(strings.TrimSpace(errOut), "\n") != 0 {
		t.Fatalf("unknown alias: exit %d, stderr %q", code, errOut)
	}

	gc := mustJSON[struct {
		Scanned, Referenced, Deleted int
		DryRun                       bool `json:"dry_run"`
	}](t, first(run("--output", "json", "dataset", "gc", "--grace", "0s", "--dry-run")))
	if !gc.DryRun || gc.Scanned < 4 || gc.Deleted != 0 {
		t.Fatalf("unexpected gc report %+v", gc)
	}
}

func first(a, _ string) string { return a }

// TestRunsListAndShow finds imports the way an operator would: by kind,
// name and status, then shows the failure of the one that failed.
func TestRunsListAndShow(t *testing.T) {
	st := startStack(t)
	cliRun := func(args ...string) (int, string, string) {
		return runCLI(t, t.Context(), append(append([]string{}, st.flags...), args...)...)
	}
	if code, _, errOut := cliRun("dataset", "import", "orders", writeFile(t, "ok.csv", "id,v\n1,2\n"), "--wait"); code != 0 {
		t.Fatal(errOut)
	}
	code, _, errOut := cliRun("dataset", "import", "orders", writeFile(t, "bad.csv", "id,v\n1,2\n3\n"), "--wait")
	if code != 1 || !strings.Contains(errOut, "bad.csv:3") || !strings.Contains(errOut, "[InvalidInput]") {
		t.Fatalf("bad import: exit %d, stderr %q", code, errOut)
	}

	type run struct {
		WorkflowID string `json:"workflow_id"`
		Kind       string
		Name       string
		Status     string
		Version    string
	}
	var failed []run
	deadline := time.Now().Add(20 * time.Second) // visibility is eventually consistent
	for time.Now().Before(deadline) {
		code, out, errOut := cliRun("--output", "json", "runs", "list", "--kind", "dataset", "--name", "orders", "--status", "failed")
		if code != 0 {
			t.Fatalf("runs list: %s", errOut)
		}
		if failed = mustJSON[[]run](t, out); len(failed) == 1 {
			break
		}
		time.Sleep(300 * time.Millisecond)
	}
	if len(failed) != 1 || failed[0].Kind != "dataset" || failed[0].Name != "orders" || failed[0].Status != "failed" {
		t.Fatalf("want the one failed import, got %+v", failed)
	}
	code, out, errOut := cliRun("runs", "show", failed[0].WorkflowID)
	if code != 0 || !strings.Contains(out, "status   failed") || !strings.Contains(out, "bad.csv:3") {
		t.Fatalf("runs show: exit %d\n%s%s", code, out, errOut)
	}

	var all []run
	for time.Now().Before(deadline) {
		_, out, _ := cliRun("--output", "json", "runs", "list", "--kind", "dataset")
		if all = mustJSON[[]run](t, out); len(all) == 2 {
			break
		}
		time.Sleep(300 * time.Millisecond)
	}
	completed := 0
	for _, r := range all {
		if r.Status == "completed" && len(r.Version) == 64 {
			completed++
		}
	}
	if len(all) != 2 || completed != 1 {
		t.Fatalf("want one completed import carrying its version and one failed, got %+v", all)
	}
}
