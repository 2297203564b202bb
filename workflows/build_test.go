package workflows_test

import (
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/granaryml/granary/activities"
	"github.com/granaryml/granary/internal/lake"
	"github.com/granaryml/granary/internal/objstore"
	"github.com/granaryml/granary/internal/tabular"
	"github.com/granaryml/granary/workflows"
)

const buildSpec = `project: shop
entities:
  - {name: user, join_keys: [user_id]}
sources:
  - {name: orders, dataset: orders, timestamp: event_time, filter: "amount > 0"}
feature_views:
  - name: uo
    entity: user
    source: orders
    ttl: 72h
    features:
      - {name: n_2d, agg: count, window: 48h}
      - {name: spend_3d, agg: sum, column: amount, window: 72h}
      - {name: max_3d, agg: max, column: amount, window: 72h}
      - {name: last_amount, agg: last, column: amount}
      - {name: avg_2d, expr: "spend_3d / max(n_2d, 1)"}
training_sets:
  - name: churn
    spine: {dataset: labels, timestamp: ts}
    features: [uo]
    split: {by: user_id, train: 0.6, valid: 0.2, test: 0.2, seed: 7}
`

type order struct {
	user   int
	ts     time.Time
	amount float64
}

type label struct {
	user  string // "" = null key
	ts    time.Time
	label bool
}

// buildFixture imports orders and labels, applies the spec and extracts
// the view; it returns everything a build needs plus the raw data for the
// naive reference.
func buildFixture(t *testing.T, seed uint64, shards int) (objstore.Store, workflows.BuildInput, []order, []label) {
	t.Helper()
	store := newStore(t)
	rng := rand.New(rand.NewPCG(seed, 3))
	base := time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC)
	var orders []order
	var ob strings.Builder
	ob.WriteString("user_id,event_time,amount\n")
	for range 400 {
		o := order{user: 1 + rng.IntN(12), ts: base.Add(time.Duration(rng.IntN(20*24)) * time.Hour), amount: float64(rng.IntN(200)-20) / 4}
		orders = append(orders, o)
		fmt.Fprintf(&ob, "%d,%s,%s\n", o.user, o.ts.Format(time.RFC3339), strconv.FormatFloat(o.amount, 'g', -1, 64))
	}
	var labels []label
	var lb strings.Builder
	lb.WriteString("label_id,user_id,ts,churned\n")
	for i := range 150 {
		l := label{user: fmt.Sprint(1 + rng.IntN(14)), ts: base.Add(time.Duration(rng.IntN(22*24)) * time.Hour), label: rng.IntN(2) == 0}
		if i%40 == 0 {
			l.user = ""
		}
		labels = append(labels, l)
		fmt.Fprintf(&lb, "%d,%s,%s,%t\n", i, l.user, l.ts.Format(time.RFC3339), l.label)
	}
	imp, err := runImport(t, store, workflows.CommitDatasetInput{Name: "orders", Sources: []activities.Source{stage(t, store, "orders.csv", []byte(ob.String()))}})
	if err != nil {
		t.Fatal(err)
	}
	spineSchema := &tabular.Schema{Columns: []tabular.Column{{Name: "label_id", Type: tabular.Int64}, {Name: "user_id", Type: tabular.Int64, Nullable: true}, {Name: "ts", Type: tabular.Timestamp}, {Name: "churned", Type: tabular.Bool}}}
	spine, err := runImport(t, store, workflows.CommitDatasetInput{Name: "labels", Schema: spineSchema, Sources: []activities.Source{stage(t, store, "labels.csv", []byte(lb.String()))}})
	if err != nil {
		t.Fatal(err)
	}
	specID, spec := applySpec(t, store, buildSpec)
	view, src, ent, _ := spec.View("uo")
	cols, _ := spec.ViewColumns("uo")
	env, _ := newEnvOn(t, store)
	env.ExecuteWorkflow(workflows.ExtractFeatures, workflows.ExtractInput{Project: "shop", SpecVersion: specID, View: "uo", SourceVersion: imp.Version, Shards: shards, Params: activities.ExtractParams(view, src, ent, cols, shards)})
	var ex workflows.ExtractResult
	if err := env.GetWorkflowResult(&ex); err != nil {
		t.Fatal(err)
	}
	return store, workflows.BuildInput{Project: "shop", SpecVersion: specID, Set: "churn", SpineVersion: spine.Version, ViewVersions: map[string]string{"uo": ex.Version}}, orders, labels
}

// naive computes the view's features for one spine row by scanning every
// order: the definition, written as plainly as possible.
func naive(orders []order, l label) map[string]string {
	out := map[string]string{"uo__n_2d": "0", "uo__spend_3d": "null", "uo__max_3d": "null", "uo__last_amount": "null", "uo__avg_2d": "null"}
	if l.user == "" {
		return out
	}
	user, _ := strconv.Atoi(l.user)
	var n int
	var sum, mx float64
	var have3 bool
	var last *order
	for i := range orders {
		o := &orders[i]
		if o.user != user || o.ts.After(l.ts) || !(o.amount > 0) {
			continue
		}
		if last == nil || !o.ts.Before(last.ts) {
			last = o // equal timestamps: the later row in source order wins
		}
		age := l.ts.Sub(o.ts)
		if age < 48*time.Hour {
			n++
		}
		if age < 72*time.Hour {
			sum += o.amount
			if !have3 || o.amount > mx {
				mx = o.amount
			}
			have3 = true
		}
	}
	if last != nil && l.ts.Sub(last.ts) > 72*time.Hour {
		// TTL: the newest contributing row is too old; every feature of the
		// view is empty.
		return out
	}
	out["uo__n_2d"] = fmt.Sprint(n)
	if have3 {
		out["uo__spend_3d"] = strconv.FormatFloat(sum, 'g', -1, 64)
		out["uo__max_3d"] = strconv.FormatFloat(mx, 'g', -1, 64)
		avg := sum / math.Max(float64(n), 1)
		out["uo__avg_2d"] = strconv.FormatFloat(avg, 'g', -1, 64)
	}
	if last != nil {
		out["uo__last_amount"] = strconv.FormatFloat(last.amount, 'g', -1, 64)
	}
	return out
}

func TestBuildTrainingDataMatchesNaiveReference(t *testing.T) {
	for _, seed := range []uint64{11, 12, 13, 14} {
		t.Run(fmt.Sprint("seed-", seed), func(t *testing.T) { testBuildMatchesNaive(t, seed) })
	}
}

func testBuildMatchesNaive(t *testing.T, seed uint64) {
	store, in, orders, labels := buildFixture(t, seed, 1+int(seed%4))
	env, _ := newEnvOn(t, store)
	env.ExecuteWorkflow(workflows.BuildTrainingData, in)
	if err := env.GetWorkflowError(); err != nil {
		t.Fatal(err)
	}
	var res workflows.BuildResult
	if err := env.GetWorkflowResult(&res); err != nil {
		t.Fatal(err)
	}
	if res.Rows != int64(len(labels)) || res.Dataset != "training.churn" {
		t.Fatalf("unexpected result %+v", res)
	}
	rows := readTrainingSet(t, store, res)
	if len(rows) != len(labels) {
		t.Fatalf("%d rows, want %d", len(rows), len(labels))
	}
	// Spine order within each split, every spine row exactly once.
	bySplit := map[string][]int{}
	for _, r := range rows {
		bySplit[r["split"]] = append(bySplit[r["split"]], atoi(r["label_id"]))
	}
	for s, pos := range bySplit {
		if !slices.IsSorted(pos) {
			t.Errorf("split %s is not in spine order", s)
		}
	}
	mismatches := 0
	for _, r := range rows {
		want := naive(orders, labels[atoi(r["label_id"])])
		for k, v := range want {
			if r[k] != v {
				mismatches++
				if mismatches < 10 {
					t.Errorf("spine row %s (user %q at %s): %s = %s, want %s", r["label_id"], r["user_id"], r["ts"], k, r[k], v)
				}
			}
		}
	}
	if mismatches > 0 {
		t.Fatalf("%d mismatches against the naive reference", mismatches)
	}
	// Guard against a vacuous comparison: the data must exercise windows,
	// nulls and expiry.
	var withSpend, withLast, empty int
	for _, r := range rows {
		if r["uo__spend_3d"] != "null" {
			withSpend++
		}
		if r["uo__last_amount"] != "null" {
			withLast++
		}
		if r["uo__n_2d"] == "0" {
			empty++
		}
	}
	if withSpend < 10 || withLast < 10 || empty < 10 {
		t.Fatalf("fixture too thin: %d rows with spend, %d with last, %d empty", withSpend, withLast, empty)
	}
	t.Logf("%d rows: %d with a 3d spend, %d with a last amount, %d with no order in 2d", len(rows), withSpend, withLast, empty)

	// Same pins, same version, same files.
	env2, _ := newEnvOn(t, store)
	env2.ExecuteWorkflow(workflows.BuildTrainingData, in)
	var again workflows.BuildResult
	if err := env2.GetWorkflowResult(&again); err != nil {
		t.Fatal(err)
	}
	if again.Version != res.Version || again.Created {
		t.Fatalf("rebuild gave %s (created %v), want %s", again.Version, again.Created, res.Version)
	}
	m, _ := lake.New(store).GetManifest(t.Context(), lake.KindDataset, res.Dataset, res.Version)
	roles := map[string]bool{}
	for _, input := range m.Inputs {
		roles[input.Role] = true
	}
	if !roles["spine"] || !roles["view"] || !roles["spec"] {
		t.Fatalf("lineage must name spine, views and spec: %+v", m.Inputs)
	}
}

func atoi(s string) int { n, _ := strconv.Atoi(s); return n }

// readTrainingSet reads every file of a built version into string maps
// (null as "null"); the spine's label_id column is its row position.
func readTrainingSet(t *testing.T, store objstore.Store, res workflows.BuildResult) []map[string]string {
	t.Helper()
	l := lake.New(store)
	m, err := l.GetManifest(t.Context(), lake.KindDataset, res.Dataset, res.Version)
	if err != nil {
		t.Fatal(err)
	}
	var out []map[string]string
	for _, f := range m.Files {
		var buf strings.Builder
		rr, err := l.BlobReaderAt(t.Context(), f.Digest)
		if err != nil {
			t.Fatal(err)
		}
		if err := tabular.ExportCSV(t.Context(), rr, rr.Size(), &buf); err != nil {
			t.Fatal(err)
		}
		lines := strings.Split(strings.TrimSpace(buf.String()), "\n")
		header := strings.Split(lines[0], ",")
		for _, line := range lines[1:] {
			vals := strings.Split(line, ",")
			r := map[string]string{}
			for i, h := range header {
				v := vals[i]
				if v == "" {
					v = "null"
				}
				r[h] = v
			}
			if r["split"] != f.Partition {
				t.Fatalf("row in file %s says split %s", f.Partition, r["split"])
			}
			out = append(out, r)
		}
	}
	return out
}
