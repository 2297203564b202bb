package workflows_test

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/stretchr/testify/mock"
	"go.temporal.io/sdk/temporal"

	"github.com/granaryml/granary/activities"
	"github.com/granaryml/granary/features"
	"github.com/granaryml/granary/internal/lake"
	"github.com/granaryml/granary/internal/objstore"
	"github.com/granaryml/granary/internal/tabular"
	"github.com/granaryml/granary/workflows"
)

const extractSpec = `project: shop
entities:
  - {name: user, join_keys: [user_id]}
sources:
  - {name: orders, dataset: orders, timestamp: event_time, filter: "amount > 0"}
feature_views:
  - name: user_orders
    entity: user
    source: orders
    features:
      - {name: n, agg: count, window: 168h}
      - {name: spend, agg: sum, column: amount, window: 720h}
`

// applySpec stores a spec version the way `granary features apply` does.
func applySpec(t *testing.T, store objstore.Store, yaml string) (string, *features.Spec) {
	t.Helper()
	spec, err := features.Parse("spec.yaml", []byte(yaml))
	if err != nil {
		t.Fatal(err)
	}
	l := lake.New(store)
	d, n, _ := lake.HashReader(strings.NewReader(yaml))
	if _, err := l.PutBlob(t.Context(), d, strings.NewReader(yaml), n); err != nil {
		t.Fatal(err)
	}
	id, _, err := l.CommitManifest(t.Context(), &lake.Manifest{Kind: lake.KindSpec, Name: spec.Project, Artifact: &lake.Artifact{Digest: d, Bytes: n, Files: 1}, Params: map[string]string{"file": "spec.yaml"}})
	if err != nil {
		t.Fatal(err)
	}
	return id, spec
}

// ordersCSVRandom makes n orders over users; some amounts are null or
// negative (filtered out), some keys null (dropped), timestamps collide.
func ordersCSVRandom(n, users int, seed uint64) string {
	rng := rand.New(rand.NewPCG(seed, 1))
	var b strings.Builder
	b.WriteString("order_id,user_id,event_time,amount\n")
	for i := range n {
		user := fmt.Sprint(1 + rng.IntN(users))
		if i%101 == 0 {
			user = ""
		}
		amount := fmt.Sprintf("%.2f", rng.Float64()*100-10)
		if i%37 == 0 {
			amount = ""
		}
		fmt.Fprintf(&b, "%d,%s,2024-01-%02dT%02d:00:00Z,%s\n", i, user, 1+rng.IntN(28), rng.IntN(3), amount)
	}
	return b.String()
}

func extractInput(t *testing.T, store objstore.Store, specID string, spec *features.Spec, sourceVersion string, shards int) workflows.ExtractInput {
	t.Helper()
	view, src, ent, err := spec.View("user_orders")
	if err != nil {
		t.Fatal(err)
	}
	cols, err := spec.ViewColumns("user_orders")
	if err != nil {
		t.Fatal(err)
	}
	return workflows.ExtractInput{Project: spec.Project, SpecVersion: specID, View: "user_orders", SourceVersion: sourceVersion, Shards: shards,
		Params: activities.ExtractParams(view, src, ent, cols, shards)}
}

func TestExtractFeaturesPartitionsFiltersAndSorts(t *testing.T) {
	store := newStore(t)
	csv := ordersCSVRandom(3000, 40, 3)
	imp, err := runImport(t, store, workflows.CommitDatasetInput{Name: "orders", Sources: []activities.Source{stage(t, store, "orders.csv", []byte(csv))}})
	if err != nil {
		t.Fatal(err)
	}
	specID, spec := applySpec(t, store, extractSpec)
	in := extractInput(t, store, specID, spec, imp.Version, 4)

	env, _ := newEnvOn(t, store)
	env.ExecuteWorkflow(workflows.ExtractFeatures, in)
	if err := env.GetWorkflowError(); err != nil {
		t.Fatal(err)
	}
	var res workflows.ExtractResult
	if err := env.GetWorkflowResult(&res); err != nil {
		t.Fatal(err)
	}

	// Expected counts, computed from the CSV independently.
	var kept, nullKey, filtered int64
	for _, line := range strings.Split(strings.TrimSpace(csv), "\n")[1:] {
		f := strings.Split(line, ",")
		switch {
		case f[1] == "":
			nullKey++
		case f[3] == "" || strings.HasPrefix(f[3], "-") || f[3] == "0.00":
			filtered++
		default:
			kept++
		}
	}
	if res.RowsIn != 3000 || res.Rows != kept || res.DroppedNulls != nullKey || res.Filtered != filtered {
		t.Fatalf("result %+v; want kept %d, null keys %d, filtered %d", res, kept, nullKey, filtered)
	}
	if res.Dataset != "view.user_orders" || res.Shards != 4 || res.Files != 4 {
		t.Fatalf("unexpected result %+v", res)
	}

	l := lake.New(store)
	m, err := l.GetManifest(t.Context(), lake.KindDataset, res.Dataset, res.Version)
	if err != nil {
		t.Fatal(err)
	}
	if len(m.Inputs) != 1 || m.Inputs[0].Version != imp.Version || m.Params["shards"] != "4" {
		t.Fatalf("lineage must name the pinned source: %+v %+v", m.Inputs, m.Params)
	}
	userShard := map[int64]string{}
	for _, f := range m.Files {
		rr, err := l.BlobReaderAt(t.Context(), f.Digest)
		if err != nil {
			t.Fatal(err)
		}
		r, err := tabular.NewReader(rr, rr.Size())
		if err != nil {
			t.Fatal(err)
		}
		ui, ti := r.Schema().Index("user_id"), r.Schema().Index("event_time")
		var prevUser, prevTS int64 = -1, -1
		for {
			b, err := r.Next()
			if err != nil {
				break
			}
			for i := 0; i < b.Len; i++ {
				u, ts := b.Vectors[ui].Ints[i], b.Vectors[ti].Ints[i]
				if u < prevUser || (u == prevUser && ts < prevTS) {
					t.Fatalf("%s not sorted by (user, time) at user %d", f.Partition, u)
				}
				if s, ok := userShard[u]; ok && s != f.Partition {
					t.Fatalf("user %d in %s and %s", u, s, f.Partition)
				}
				userShard[u] = f.Partition
				prevUser, prevTS = u, ts
			}
		}
	}

	// Same inputs, same version: a second run commits nothing new.
	env2, _ := newEnvOn(t, store)
	env2.ExecuteWorkflow(workflows.ExtractFeatures, in)
	var again workflows.ExtractResult
	if err := env2.GetWorkflowResult(&again); err != nil {
		t.Fatal(err)
	}
	if again.Version != res.Version || again.Created {
		t.Fatalf("re-extraction gave %s (created %v), want %s", again.Version, again.Created, res.Version)
	}
	if workflows.ExtractID(in) != workflows.ExtractID(extractInput(t, store, specID, spec, imp.Version, 4)) {
		t.Fatal("extraction ids must be deterministic")
	}
}

func TestExtractFeaturesRetriesATransientPartitionFailure(t *testing.T) {
	store := newStore(t)
	imp, err := runImport(t, store, workflows.CommitDatasetInput{Name: "orders", Sources: []activities.Source{stage(t, store, "orders.csv", []byte(ordersCSVRandom(200, 5, 9)))}})
	if err != nil {
		t.Fatal(err)
	}
	specID, spec := applySpec(t, store, extractSpec)
	env, _ := newEnvOn(t, store)
	real := activities.New(store, "test")
	calls := 0
	var a *activities.Activities
	env.OnActivity(a.PartitionSourceFile, mock.Anything, mock.Anything).Return(
		func(ctx context.Context, in activities.PartitionInput) (activities.PartitionResult, error) {
			calls++
			if calls == 1 {
				return activities.PartitionResult{}, errors.New("lake unreachable: connection reset")
			}
			return real.PartitionSourceFile(ctx, in)
		})
	env.ExecuteWorkflow(workflows.ExtractFeatures, extractInput(t, store, specID, spec, imp.Version, 2))
	if err := env.GetWorkflowError(); err != nil {
		t.Fatalf("a transient failure must be retried: %v", err)
	}
	if calls != 2 {
		t.Fatalf("partition ran %d times, want 2", calls)
	}
}

func TestExtractFeaturesRejectsSpecThatDoesNotFitTheSource(t *testing.T) {
	store := newStore(t)
	// The source has no amount column: the spec's sum(amount) cannot work.
	imp, err := runImport(t, store, workflows.CommitDatasetInput{Name: "orders", Sources: []activities.Source{stage(t, store, "orders.csv", []byte("order_id,user_id,event_time\n1,2,2024-01-01T00:00:00Z\n"))}})
	if err != nil {
		t.Fatal(err)
	}
	specID, spec := applySpec(t, store, extractSpec)
	env, _ := newEnvOn(t, store)
	env.ExecuteWorkflow(workflows.ExtractFeatures, extractInput(t, store, specID, spec, imp.Version, 2))
	var app *temporal.ApplicationError
	err = env.GetWorkflowError()
	if !errors.As(err, &app) || !app.NonRetryable() || !strings.Contains(app.Message(), "amount") {
		t.Fatalf("want a non-retryable error naming the missing column, got %v", err)
	}
	if app.Type() != activities.ErrTypeSchemaMismatch && app.Type() != activities.ErrTypeInvalidSpec {
		t.Fatalf("unexpected error type %s", app.Type())
	}
	if _, err := lake.New(store).Resolve(t.Context(), lake.KindDataset, "view.user_orders", "latest"); !errors.Is(err, lake.ErrNotFound) {
		t.Fatalf("a failed extraction must not commit: %v", err)
	}
}
