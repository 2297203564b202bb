package cli_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/granaryml/granary/internal/lake"
	"github.com/granaryml/granary/internal/objstore/storeurl"
)

func TestFeaturesValidateReportsEveryProblemWithPosition(t *testing.T) {
	spec := writeFile(t, "bad.yaml", `project: shop
entities:
  - {name: user, join_keys: [user_id]}
sources:
  - {name: orders, dataset: orders, timestamp: event_time}
feature_views:
  - name: v
    entity: user
    source: order
    features:
      - {name: a, agg: avg, column: amount}
      - {name: w, agg: count, window: 7 days}
`)
	code, _, errOut := runCLI(t, t.Context(), "features", "validate", spec, "--offline")
	if code != 1 {
		t.Fatalf("exit %d, want 1: %s", code, errOut)
	}
	for _, want := range []string{
		"bad.yaml:9:", "unknown source 'order'", "did you mean 'orders'",
		"bad.yaml:11:", "unknown aggregation 'avg'", "did you mean 'mean'",
		"bad.yaml:12:", "7 days",
	} {
		if !strings.Contains(errOut, want) {
			t.Errorf("stderr lacks %q:\n%s", want, errOut)
		}
	}
	for _, line := range strings.Split(strings.TrimSpace(errOut), "\n") {
		if !strings.HasPrefix(line, "granary: ") {
			t.Errorf("every problem is one 'granary: ' line, got %q", line)
		}
	}
}

// TestFeaturesApplyAndExtract is the feature workflow end to end on a real
// Temporal dev server: import, apply the example spec, extract a view,
// extract again (attaches), list and show.
func TestFeaturesApplyAndExtract(t *testing.T) {
	st := startStack(t)
	run := func(args ...string) string {
		t.Helper()
		code, out, errOut := runCLI(t, t.Context(), append(append([]string{}, st.flags...), args...)...)
		if code != 0 {
			t.Fatalf("granary %v: exit %d: %s", args, code, errOut)
		}
		return out
	}
	orders := writeFile(t, "orders.csv", "order_id,user_id,event_time,amount,category\n"+
		"1,1,2024-01-01T10:00:00Z,10,books\n2,2,2024-01-02T10:00:00Z,-5,toys\n3,1,2024-01-01T09:00:00Z,7,toys\n4,,2024-01-03T10:00:00Z,3,books\n5,3,2024-01-04T10:00:00Z,,books\n")
	run("dataset", "import", "orders", orders, "--wait")
	specPath, err := filepath.Abs(filepath.Join("..", "examples", "shop", "features.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	applied := mustJSON[struct {
		Project, Version string
		Changed          bool
		Changes          struct {
			ViewsAdded []string `json:"views_added"`
		}
	}](t, run("--output", "json", "features", "apply", specPath))
	if applied.Project != "shop" || !applied.Changed || len(applied.Changes.ViewsAdded) != 1 || applied.Changes.ViewsAdded[0] != "user_orders" {
		t.Fatalf("unexpected apply result %+v", applied)
	}
	type applyJSON struct {
		Version        string
		Changed        bool
		Attached       bool
		WorkflowID     string `json:"workflow_id"`
		RefsWorkflowID string `json:"refs_workflow_id"`
	}
	again := mustJSON[applyJSON](t, run("--output", "json", "features", "apply", specPath))
	if again.Changed || !again.Attached || again.Version != applied.Version || !strings.HasPrefix(again.WorkflowID, "spec/shop/") || again.RefsWorkflowID != "" {
		t.Fatalf("re-applying the same spec must attach to its run and report no change: %+v", again)
	}
	// A, B, A: the last apply attaches to A's run and moves latest back.
	specBytes, err := os.ReadFile(specPath)
	if err != nil {
		t.Fatal(err)
	}
	b := mustJSON[applyJSON](t, run("--output", "json", "features", "apply", writeFile(t, "features.yaml", string(specBytes)+"# another file, the same spec\n")))
	if b.Version == applied.Version || b.Attached {
		t.Fatalf("other bytes must be another spec version and run: %+v", b)
	}
	backToA := mustJSON[applyJSON](t, run("--output", "json", "features", "apply", specPath))
	if backToA.Version != applied.Version || !backToA.Attached || !strings.HasPrefix(backToA.RefsWorkflowID, "refs/specs/shop/") {
		t.Fatalf("re-applying A after B must move latest back by a RepointRefs run: %+v", backToA)
	}
	store, err := storeurl.Open(t.Context(), st.lake)
	if err != nil {
		t.Fatal(err)
	}
	if latest, err := lake.New(store).Resolve(t.Context(), lake.KindSpec, "shop", "latest"); err != nil || latest != applied.Version {
		t.Fatalf("latest = %s, %v; want A %s", latest, err, applied.Version)
	}
	// The applies are runs, listed like any other commit.
	for deadline := time.Now().Add(20 * time.Second); ; time.Sleep(300 * time.Millisecond) { // visibility is eventually consistent
		runs := mustJSON[[]struct {
			WorkflowID string `json:"workflow_id"`
			Status     string
			Version    string
		}](t, run("--output", "json", "runs", "list", "--kind", "spec", "--name", "shop"))
		done := map[string]bool{}
		for _, r := range runs {
			done[r.Version] = r.Status == "completed"
		}
		if len(runs) == 2 && done[applied.Version] && done[b.Version] {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("runs list --kind spec should show the two applies: %+v", runs)
		}
	}

	type extractJSON struct {
		Dataset, Version string
		Rows, RowsIn     int64
		Filtered         int64
		DroppedNulls     int64 `json:"dropped_nulls"`
		Attached         bool
		WorkflowID       string `json:"workflow_id"`
	}
	first := mustJSON[extractJSON](t, run("--output", "json", "extract", "user_orders", "--shards", "2", "--wait"))
	// Kept: rows 1 and 3 (user 1) ; row 2 filtered (amount -5), row 5
	// filtered (null amount), row 4 dropped (no user).
	if first.Dataset != "view.user_orders" || first.Rows != 2 || first.Filtered != 2 || first.DroppedNulls != 1 || first.Attached {
		t.Fatalf("unexpected extraction %+v", first)
	}
	second := mustJSON[extractJSON](t, run("--output", "json", "extract", "user_orders", "--shards", "2", "--wait"))
	if !second.Attached || second.WorkflowID != first.WorkflowID || second.Version != first.Version {
		t.Fatalf("an identical extraction must attach to the first: %+v vs %+v", second, first)
	}
	list := run("features", "list")
	if !strings.Contains(list, "user_orders") || !strings.Contains(list, first.Version[:12]) {
		t.Fatalf("features list should show the extracted version:\n%s", list)
	}
	show := run("features", "show", "user_orders")
	if !strings.Contains(show, "sum(amount) over 30d") || !strings.Contains(show, "(2 rows)") {
		t.Fatalf("features show:\n%s", show)
	}
	// The view's version is a dataset like any other, with lineage.
	ds := run("dataset", "show", "view.user_orders")
	if !strings.Contains(ds, "source: dataset orders@") {
		t.Fatalf("dataset show of the view should name its source:\n%s", ds)
	}
	if _, err := os.Stat(specPath); err != nil {
		t.Fatal(err)
	}
}

// TestBuildEndToEnd builds the example training set on a real Temporal dev
// server, exports it with --out, rebuilds from the printed pins and checks
// the same version comes back.
func TestBuildEndToEnd(t *testing.T) {
	st := startStack(t)
	run := func(args ...string) string {
		t.Helper()
		code, out, errOut := runCLI(t, t.Context(), append(append([]string{}, st.flags...), args...)...)
		if code != 0 {
			t.Fatalf("granary %v: exit %d: %s", args, code, errOut)
		}
		return out
	}
	orders := writeFile(t, "orders.csv", "order_id,user_id,event_time,amount,category\n"+
		"1,1,2024-01-01T10:00:00Z,10,books\n2,1,2024-01-05T10:00:00Z,20,toys\n3,2,2024-01-02T10:00:00Z,7,toys\n")
	labels := writeFile(t, "labels.csv", "user_id,event_timestamp,churned\n1,2024-01-03T00:00:00Z,false\n1,2024-01-06T00:00:00Z,true\n2,2024-01-01T00:00:00Z,false\n3,2024-01-09T00:00:00Z,true\n")
	run("dataset", "import", "orders", orders, "--wait")
	run("dataset", "import", "churn_labels", labels, "--wait")
	specPath, _ := filepath.Abs(filepath.Join("..", "examples", "shop", "features.yaml"))
	run("features", "apply", specPath)

	code, _, errOut := runCLI(t, t.Context(), append(append([]string{}, st.flags...), "build", "churn", "--wait")...)
	if code != 1 || !strings.Contains(errOut, "granary extract user_orders") {
		t.Fatalf("building before extracting must say what to run: exit %d, %s", code, errOut)
	}
	run("extract", "user_orders", "--shards", "2", "--wait")

	out := t.TempDir()
	type buildJSON struct {
		Dataset, Version string
		Rows             int64
		Pins             struct {
			Spec, Spine string
			Views       map[string]string
		}
	}
	first := mustJSON[buildJSON](t, run("--output", "json", "build", "churn", "--wait", "--out", out))
	if first.Dataset != "training.churn" || first.Rows != 4 || first.Pins.Views["user_orders"] == "" {
		t.Fatalf("unexpected build %+v", first)
	}
	var files []string
	for _, split := range []string{"train", "valid", "test"} {
		matches, _ := filepath.Glob(filepath.Join(out, split, "*.parquet"))
		files = append(files, matches...)
	}
	if len(files) == 0 {
		t.Fatal("--out wrote no parquet files")
	}
	manifest, err := os.ReadFile(filepath.Join(out, "manifest.json"))
	if err != nil || !strings.Contains(string(manifest), first.Version) {
		t.Fatalf("manifest.json should name the version: %v", err)
	}

	// The pins reproduce the build exactly.
	pins := filepath.Join(t.TempDir(), "pins.json")
	b, _ := os.ReadFile(filepath.Join(out, "manifest.json"))
	if err := os.WriteFile(pins, b, 0o644); err != nil {
		t.Fatal(err)
	}
	again := mustJSON[buildJSON](t, run("--output", "json", "build", "churn", "--pin", pins, "--wait"))
	if again.Version != first.Version {
		t.Fatalf("rebuild from pins gave %s, want %s", again.Version, first.Version)
	}

	// Feature values at the spine times, exported as CSV.
	csvDir := t.TempDir()
	run("dataset", "export", "training.churn", "--out", csvDir, "--format", "csv")
	var all []string
	parts, _ := filepath.Glob(filepath.Join(csvDir, "*.csv"))
	for _, p := range parts {
		c, _ := os.ReadFile(p)
		all = append(all, strings.Split(strings.TrimSpace(string(c)), "\n")[1:]...)
	}
	want := map[string]string{
		// user 1 on Jan 3: one order (Jan 1, 10) within 7d and 30d.
		"1,2024-01-03T00:00:00Z,false": "1,10,10,books,10",
		// user 1 on Jan 6: both orders; last is toys.
		"1,2024-01-06T00:00:00Z,true": "2,30,20,toys,15",
		// user 2 on Jan 1: the Jan 2 order is in the future: nothing leaks.
		"2,2024-01-01T00:00:00Z,false": "0,,,,",
		// user 3 has no orders at all.
		"3,2024-01-09T00:00:00Z,true": "0,,,,",
	}
	found := 0
	for _, line := range all {
		for prefix, feats := range want {
			if strings.HasPrefix(line, prefix+",") {
				found++
				if got := strings.TrimPrefix(line, prefix+","); !strings.HasPrefix(got, feats+",") {
					t.Errorf("spine row %s: features %q, want %q then the split", prefix, got, feats)
				}
			}
		}
	}
	if found != 4 {
		t.Fatalf("found %d of 4 spine rows in the export:\n%s", found, strings.Join(all, "\n"))
	}
}
