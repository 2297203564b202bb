package cli_test

import (
	"flag"
	"maps"
	"os"
	"os/user"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"
)

// The human (default) output is what users read, so its wording is held
// to golden files too: "approvd" and "rejectd" shipped once because only
// the JSON form was tested. Each subtest runs one command on the golden
// inputs and compares its normalised stdout and stderr with
// testdata/golden/output/<name>.txt. Rerun with -update-output after a
// deliberate wording change and read the diff.
var updateOutput = flag.Bool("update-output", false, "rewrite testdata/golden/output/*.txt")

// outputMasks hide only what legitimately differs between two runs on the
// same inputs. Version ids are NOT masked: they are pinned (ids.json), so a
// changed id in this output is a real change.
var outputMasks = []struct {
	re   *regexp.Regexp
	with string
}{
	// Run and workflow ids are UUIDs minted per run.
	{regexp.MustCompile(`[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}`), "<run-id>"},
	// Wall-clock times, RFC 3339 or "2006-01-02 15:04:05" style.
	{regexp.MustCompile(`\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:?\d{2})?( UTC)?`), "<time>"},
	// Promotion request ids: a compact time and random hex.
	{regexp.MustCompile(`\b\d{8}T\d{6}-[0-9a-f]{12}\b`), "<request-id>"},
	// Workflow and report ids that embed a compact time (lakecheck/...,
	// lakeverify_...).
	// No \b: in a UI link the id follows "%2F".
	{regexp.MustCompile(`\d{8}T\d{6}(\.\d+)?Z?`), "<time>"},
	// The pid in worker and CLI identities (user@host:pid).
	{regexp.MustCompile(`@<host>:\d+`), "@<host>:<pid>"},
	// Probe timings printed with a space ("write 2.80 ms").
	{regexp.MustCompile(`\b\d+(\.\d+)? (ns|µs|ms|s)\b`), "<dur>"},
	// Durations and timings (1.2s, 340ms, 1m2.5s, 12µs) and rates.
	{regexp.MustCompile(`\b(\d+h)?(\d+m)?\d+(\.\d+)?(ns|µs|us|ms|s)\b`), "<dur>"},
	{regexp.MustCompile(`\b\d+(\.\d+)? ?(MB|KB|kB|MiB|KiB|B)/s\b`), "<rate>"},
	// Dev-server and worker ports.
	{regexp.MustCompile(`(127\.0\.0\.1|localhost|\[::1\]):\d+`), "<host:port>"},
}

// normaliseOutput replaces the run's own paths, host and user (longest
// first, so the lake's directory wins over the temp dir holding it), then
// applies outputMasks.
//
// Polled progress lines on stderr ("extract: refs, 1.2s", "promotion:
// requested") depend on how far the run got between two polls, so they
// are dropped; the lines around them are kept.
func normaliseOutput(s string, paths map[string]string) string {
	keys := slices.Collect(maps.Keys(paths))
	slices.SortFunc(keys, func(a, b string) int { return len(b) - len(a) })
	for _, p := range keys {
		if p != "" {
			s = strings.ReplaceAll(s, p, paths[p])
		}
	}
	for _, m := range outputMasks {
		s = m.re.ReplaceAllString(s, m.with)
	}
	return progressLine.ReplaceAllString(s, "")
}

var progressLine = regexp.MustCompile(`(?m)^(build|extract|materialize|import|promotion): [a-z_ ]+(, <dur>)?\n`)

func TestHumanOutputIsGolden(t *testing.T) {
	st := startStack(t)
	abs := func(name string) string {
		p, err := filepath.Abs(filepath.Join(goldenDir, name))
		if err != nil {
			t.Fatal(err)
		}
		return p
	}
	tmp := t.TempDir()
	paths := map[string]string{
		strings.TrimPrefix(st.lake, "file://"): "<lake>",
		tmp:                                    "<tmp>",
		abs("."):                               "<golden>",
		st.address:                             "<temporal>",
		os.TempDir():                           "<tmp>",
	}
	if h, err := os.Hostname(); err == nil {
		paths[h] = "<host>"
	}
	if u, err := user.Current(); err == nil {
		paths[u.Username] = "<user>"
	}

	// raw runs a command for its effect or to read an id.
	raw := func(args ...string) (int, string, string) {
		t.Helper()
		return runCLI(t, t.Context(), append(append([]string{}, st.flags...), args...)...)
	}
	golden := func(name string, args ...string) {
		t.Helper()
		t.Run(name, func(t *testing.T) {
			code, out, errOut := raw(args...)
			if code != 0 {
				t.Fatalf("granary %v: exit %d\n%s%s", args, code, out, errOut)
			}
			got := "$ granary " + normaliseOutput(strings.Join(args, " "), paths) + "\n" +
				normaliseOutput(out, paths)
			if e := normaliseOutput(errOut, paths); e != "" {
				got += "--- stderr\n" + e
			}
			path := filepath.Join(goldenDir, "output", name+".txt")
			if *updateOutput {
				if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
					t.Fatal(err)
				}
				if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			want, err := os.ReadFile(path)
			if err != nil {
				t.Fatalf("%v (rerun with -update-output to create it)", err)
			}
			if got != string(want) {
				t.Errorf("output of granary %v differs from %s (rerun with -update-output if intended)\n--- got\n%s\n--- want\n%s", args, path, got, want)
			}
		})
	}
	waitUntil := func(what string, ok func() bool) {
		t.Helper()
		for deadline := time.Now().Add(30 * time.Second); !ok(); time.Sleep(200 * time.Millisecond) {
			if time.Now().After(deadline) {
				t.Fatalf("timed out waiting for %s", what)
			}
		}
	}
	modelID := func(metrics string) string {
		t.Helper()
		code, out, errOut := raw("--output", "json", "model", "register", "churn", abs("model.bin"),
			"--metrics", abs(metrics), "--dataset", "training.churn", "--framework", "golden")
		if code != 0 {
			t.Fatalf("model register: %s", errOut)
		}
		return version(t, out)
	}

	golden("dataset_import", "dataset", "import", "orders", abs("orders.csv"), "--wait")
	if code, _, errOut := raw("dataset", "import", "churn_labels", abs("churn_labels.jsonl"), "--wait"); code != 0 {
		t.Fatal(errOut)
	}
	golden("dataset_import_parquet", "dataset", "import", "orders_duckdb", abs("orders_duckdb.parquet"), "--wait")
	golden("dataset_list", "dataset", "list")
	golden("dataset_show", "dataset", "show", "orders")
	golden("dataset_tag", "dataset", "tag", "orders@latest", "prod", "--reason", "golden")
	golden("dataset_log", "dataset", "log", "orders")
	golden("dataset_export", "dataset", "export", "orders", "--out", filepath.Join(tmp, "orders"), "--format", "csv")
	golden("features_validate", "features", "validate", abs("features.yaml"))
	golden("features_apply", "features", "apply", abs("features.yaml"))
	golden("features_show", "features", "show", "user_orders")
	golden("extract", "extract", "user_orders", "--shards", "3", "--wait")
	golden("build", "build", "churn", "--wait")
	golden("model_register", "model", "register", "churn", abs("model.bin"),
		"--metrics", abs("metrics.json"), "--dataset", "training.churn", "--framework", "golden")
	golden("model_register_second", "model", "register", "churn", abs("model.bin"),
		"--metrics", abs("metrics_v2.json"), "--dataset", "training.churn", "--framework", "golden")
	v1, v2 := modelID("metrics.json"), modelID("metrics_v2.json")
	golden("model_promote_wait", "model", "promote", "churn@"+v1[:12], "--to", "prod", "--gate", "auc >= 0.8", "--wait")
	golden("model_promote_require_approval", "model", "promote", "churn@"+v2[:12], "--to", "staging", "--require-approval", "--approval-timeout", "1h")
	awaiting := func(alias string) func() bool {
		return func() bool {
			_, out, _ := raw("model", "status", "churn", "--alias", alias)
			return strings.Contains(out, "step approval")
		}
	}
	waitUntil("staging approval", awaiting("staging"))
	golden("model_status", "model", "status", "churn", "--alias", "staging")
	golden("model_approve", "model", "approve", "churn@"+v2[:12], "--alias", "staging", "--by", "ana", "--comment", "offline eval ok")
	waitUntil("staging promoted", func() bool {
		_, out, _ := raw("model", "history", "churn", "--alias", "staging")
		return strings.Contains(out, "promoted")
	})
	if code, _, errOut := raw("model", "promote", "churn@"+v1[:12], "--to", "canary", "--require-approval", "--approval-timeout", "1h"); code != 0 {
		t.Fatal(errOut)
	}
	waitUntil("canary approval", awaiting("canary"))
	golden("model_reject", "model", "reject", "churn@"+v1[:12], "--alias", "canary", "--by", "ana", "--comment", "not for canary")
	waitUntil("canary rejected", func() bool {
		_, out, _ := raw("model", "history", "churn", "--alias", "canary")
		return strings.Contains(out, "reject")
	})
	golden("model_list", "model", "list")
	golden("model_show", "model", "show", "churn@"+v2[:12])
	golden("model_history", "model", "history", "churn")
	golden("materialize", "materialize", "user_orders", "--alias", "prod", "--wait")
	// Visibility is updated after the run closes: wait for it to settle.
	waitUntil("runs visible as closed", func() bool {
		_, out, _ := raw("runs", "list", "--kind", "promote")
		return strings.Count(out, "completed") == 3
	})
	golden("runs_list", "runs", "list", "--kind", "promote")
	golden("lake_check", "lake", "check", "--bytes", "65536")
	golden("lake_verify", "lake", "verify")
	golden("dataset_gc_dry_run", "dataset", "gc", "--grace", "0s", "--dry-run")
}
