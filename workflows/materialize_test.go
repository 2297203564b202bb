package workflows_test

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/mock"

	"github.com/granaryml/granary/activities"
	"github.com/granaryml/granary/internal/lake"
	"github.com/granaryml/granary/internal/serving"
	"github.com/granaryml/granary/internal/tabular"
	"github.com/granaryml/granary/workflows"
)

// servedValue renders an index value the way readTrainingSet renders a
// training set's cells, so the two can be compared as text.
func servedValue(v any) string {
	switch x := v.(type) {
	case nil:
		return "null"
	case float64:
		return strconv.FormatFloat(x, 'g', -1, 64)
	default:
		return fmt.Sprint(x)
	}
}

// The values an index serves are exactly what a training build computes
// for the same entities at the index's time, and what the naive
// definition says; entities with no events are not in the index.
func TestMaterializeServesWhatATrainingBuildComputes(t *testing.T) {
	for _, shards := range []int{1, 3} {
		t.Run(fmt.Sprint(shards, "-shards"), func(t *testing.T) { testMaterializeMatchesBuild(t, shards) })
	}
}

func testMaterializeMatchesBuild(t *testing.T, shards int) {
	store, build, orders, _ := buildFixture(t, 21, shards)
	in := workflows.MaterializeInput{Project: "shop", SpecVersion: build.SpecVersion, View: "uo", ViewVersion: build.ViewVersions["uo"], Definition: "test", Alias: "prod", User: "tester"}
	env, _ := newEnvOn(t, store)
	env.ExecuteWorkflow(workflows.Materialize, in)
	if err := env.GetWorkflowError(); err != nil {
		t.Fatal(err)
	}
	var res workflows.MaterializeResult
	if err := env.GetWorkflowResult(&res); err != nil {
		t.Fatal(err)
	}
	// The newest order with amount > 0 is the index's time.
	var asOf time.Time
	users := map[int]bool{}
	for _, o := range orders {
		if o.amount > 0 {
			users[o.user] = true
			if o.ts.After(asOf) {
				asOf = o.ts
			}
		}
	}
	if res.Shards != shards || res.Entities != int64(len(users)) || res.Features != 5 || res.AsOf != asOf.Format(time.RFC3339Nano) {
		t.Fatalf("result %+v; want %d shards, %d entities, 5 features, as of %s", res, shards, len(users), asOf)
	}
	l := lake.New(store)
	for _, alias := range []string{"latest", "prod"} {
		if id, err := l.Resolve(t.Context(), lake.KindIndex, "uo", alias); err != nil || id != res.Version {
			t.Fatalf("alias %s -> %s, %v; want %s", alias, id, err, res.Version)
		}
	}
	ix, err := serving.LoadIndex(t.Context(), l, "uo", res.Version)
	if err != nil {
		t.Fatal(err)
	}

	// A training build on a spine of every user 1..14 at the index's time.
	var lb strings.Builder
	lb.WriteString("label_id,user_id,ts,churned\n")
	for u := 1; u <= 14; u++ {
		fmt.Fprintf(&lb, "%d,%d,%s,false\n", u, u, asOf.Format(time.RFC3339Nano))
	}
	spineSchema := &tabular.Schema{Columns: []tabular.Column{{Name: "label_id", Type: tabular.Int64}, {Name: "user_id", Type: tabular.Int64, Nullable: true}, {Name: "ts", Type: tabular.Timestamp}, {Name: "churned", Type: tabular.Bool}}}
	spine, err := runImport(t, store, workflows.CommitDatasetInput{Name: "labels", Schema: spineSchema, Sources: []activities.Source{stage(t, store, "now.csv", []byte(lb.String()))}})
	if err != nil {
		t.Fatal(err)
	}
	build.SpineVersion = spine.Version
	benv, _ := newEnvOn(t, store)
	benv.ExecuteWorkflow(workflows.BuildTrainingData, build)
	var built workflows.BuildResult
	if err := benv.GetWorkflowResult(&built); err != nil {
		t.Fatal(err)
	}
	rows := readTrainingSet(t, store, built)
	if len(rows) != 14 {
		t.Fatalf("build has %d rows, want 14", len(rows))
	}
	compared := 0
	for _, r := range rows {
		user := atoi(r["user_id"])
		key, err := ix.EncodeKey(nil, []string{r["user_id"]})
		if err != nil {
			t.Fatal(err)
		}
		sh, row, found := ix.Lookup(key)
		if found != users[user] {
			t.Errorf("user %d: in index %v, has events %v", user, found, users[user])
			continue
		}
		want := naive(orders, label{user: r["user_id"], ts: asOf})
		for c, col := range ix.Header.Columns {
			built := r["uo__"+col.Name]
			if built != want["uo__"+col.Name] {
				t.Fatalf("user %d %s: build %s, naive %s", user, col.Name, built, want["uo__"+col.Name])
			}
			if !found {
				continue
			}
			served := servedValue(sh.Value(c, row))
			if served != built {
				t.Errorf("user %d %s: served %s, training build %s", user, col.Name, served, built)
			}
			compared++
		}
	}
	if compared != 5*len(users) {
		t.Fatalf("compared %d values, want %d", compared, 5*len(users))
	}

	// Again with the same input: same version, nothing new created.
	env2, _ := newEnvOn(t, store)
	env2.ExecuteWorkflow(workflows.Materialize, in)
	var again workflows.MaterializeResult
	if err := env2.GetWorkflowResult(&again); err != nil {
		t.Fatal(err)
	}
	if again.Version != res.Version || again.Created {
		t.Fatalf("rerun gave %s (created %v), want %s unchanged", again.Version, again.Created, res.Version)
	}
}

// A view the spec does not define fails the plan, and nothing is
// committed.
func TestMaterializeUnknownViewFailsNonRetryably(t *testing.T) {
	store, build, _, _ := buildFixture(t, 22, 2)
	env, _ := newEnvOn(t, store)
	env.ExecuteWorkflow(workflows.Materialize, workflows.MaterializeInput{Project: "shop", SpecVersion: build.SpecVersion, View: "nope", ViewVersion: build.ViewVersions["uo"], Definition: "x"})
	err := env.GetWorkflowError()
	if err == nil || !strings.Contains(err.Error(), "nope") {
		t.Fatalf("materializing an unknown view: %v", err)
	}
	if ids, _ := lake.New(store).ListVersions(t.Context(), lake.KindIndex, "nope"); len(ids) != 0 {
		t.Fatalf("a failed materialization committed %v", ids)
	}
}

// A shard activity that dies after writing its index file (as a worker
// killed between the upload and the report would) is retried; the retry
// finds its file in place and the workflow commits the same version an
// uninterrupted run commits, once, with no second manifest.
func TestMaterializeRetryAfterAShardDiedCommitsTheSameVersion(t *testing.T) {
	store, build, _, _ := buildFixture(t, 23, 3)
	in := workflows.MaterializeInput{Project: "shop", SpecVersion: build.SpecVersion, View: "uo", ViewVersion: build.ViewVersions["uo"], Definition: "test"}

	// The uninterrupted version, on a copy of the inputs in another lake.
	clean, cleanBuild, _, _ := buildFixture(t, 23, 3)
	cin := in
	cin.SpecVersion, cin.ViewVersion = cleanBuild.SpecVersion, cleanBuild.ViewVersions["uo"]
	cenv, _ := newEnvOn(t, clean)
	cenv.ExecuteWorkflow(workflows.Materialize, cin)
	var want workflows.MaterializeResult
	if err := cenv.GetWorkflowResult(&want); err != nil {
		t.Fatal(err)
	}

	env, _ := newEnvOn(t, store)
	real := activities.New(store, "test")
	var a *activities.Activities
	died := map[int]bool{}
	env.OnActivity(a.MaterializeShard, mock.Anything, mock.Anything).Return(
		func(ctx context.Context, in activities.MaterializeShardInput) (activities.MaterializeShardResult, error) {
			res, err := real.MaterializeShard(ctx, in)
			if err == nil && !died[in.Shard] {
				died[in.Shard] = true
				return activities.MaterializeShardResult{}, errors.New("worker lost after the upload")
			}
			return res, err
		})
	env.ExecuteWorkflow(workflows.Materialize, in)
	var got workflows.MaterializeResult
	if err := env.GetWorkflowResult(&got); err != nil {
		t.Fatalf("shard failures must be retried: %v", err)
	}
	if len(died) != 3 {
		t.Fatalf("%d shards died once, want all 3", len(died))
	}
	if got.Version != want.Version || got.Entities != want.Entities || !got.Created {
		t.Fatalf("after retries: %+v; uninterrupted: %+v", got, want)
	}
	ids, err := lake.New(store).ListVersions(t.Context(), lake.KindIndex, "uo")
	if err != nil || len(ids) != 1 {
		t.Fatalf("index versions %v (%v), want exactly one", ids, err)
	}
}

// A view whose extraction kept no rows (every order filtered out) is
// materialized as an empty index: it loads, and every lookup misses.
func TestMaterializeOfAnEmptyViewServesNothing(t *testing.T) {
	store := newStore(t)
	imp, err := runImport(t, store, workflows.CommitDatasetInput{Name: "orders", Sources: []activities.Source{stage(t, store, "orders.csv",
		[]byte("order_id,user_id,event_time,amount,category\n1,1,2024-01-01T00:00:00Z,-5,books\n2,2,2024-01-02T00:00:00Z,0,toys\n"))}})
	if err != nil {
		t.Fatal(err)
	}
	specID, spec := applySpec(t, store, extractSpec)
	env, _ := newEnvOn(t, store)
	env.ExecuteWorkflow(workflows.ExtractFeatures, extractInput(t, store, specID, spec, imp.Version, 2))
	var ex workflows.ExtractResult
	if err := env.GetWorkflowResult(&ex); err != nil || ex.Rows != 0 {
		t.Fatalf("extraction: %+v, %v; want 0 rows", ex, err)
	}
	view, src, ent, _ := spec.View("user_orders")
	menv, _ := newEnvOn(t, store)
	menv.ExecuteWorkflow(workflows.Materialize, workflows.MaterializeInput{Project: "shop", SpecVersion: specID, View: "user_orders", ViewVersion: ex.Version, Definition: workflows.ViewDefinition(view, ent, src)})
	var res workflows.MaterializeResult
	if err := menv.GetWorkflowResult(&res); err != nil {
		t.Fatal(err)
	}
	if res.Entities != 0 || res.Shards != 2 || res.Version == "" {
		t.Fatalf("materialized %+v; want an empty index of 2 shards", res)
	}
	ix, err := serving.LoadIndex(t.Context(), lake.New(store), "user_orders", res.Version)
	if err != nil {
		t.Fatal(err)
	}
	key, _ := ix.EncodeKey(nil, []string{"1"})
	if _, _, found := ix.Lookup(key); found || ix.Rows() != 0 {
		t.Fatalf("empty index has %d rows, found user 1: %v", ix.Rows(), found)
	}
}

const twoKeySpec = `project: shop
entities:
  - {name: user_region, join_keys: [user_id, region]}
sources:
  - {name: orders, dataset: orders, timestamp: event_time}
feature_views:
  - name: ur
    entity: user_region
    source: orders
    features:
      - {name: n, agg: count}
      - {name: last_amount, agg: last, column: amount}
`

// Entities with two join keys (an int and a string) materialize and are
// found by both keys; the same user in another region is another entity.
func TestMaterializeEntitiesWithTwoKeys(t *testing.T) {
	store := newStore(t)
	csv := "user_id,region,event_time,amount\n" +
		"1,eu,2024-01-01T00:00:00Z,5\n1,eu,2024-01-02T00:00:00Z,7\n1,us,2024-01-03T00:00:00Z,9\n2,eu,2024-01-04T00:00:00Z,1.5\n"
	imp, err := runImport(t, store, workflows.CommitDatasetInput{Name: "orders", Sources: []activities.Source{stage(t, store, "orders.csv", []byte(csv))}})
	if err != nil {
		t.Fatal(err)
	}
	specID, spec := applySpec(t, store, twoKeySpec)
	view, src, ent, err := spec.View("ur")
	if err != nil {
		t.Fatal(err)
	}
	cols, _ := spec.ViewColumns("ur")
	env, _ := newEnvOn(t, store)
	env.ExecuteWorkflow(workflows.ExtractFeatures, workflows.ExtractInput{Project: "shop", SpecVersion: specID, View: "ur", SourceVersion: imp.Version, Shards: 3, Params: activities.ExtractParams(view, src, ent, cols, 3)})
	var ex workflows.ExtractResult
	if err := env.GetWorkflowResult(&ex); err != nil {
		t.Fatal(err)
	}
	menv, _ := newEnvOn(t, store)
	menv.ExecuteWorkflow(workflows.Materialize, workflows.MaterializeInput{Project: "shop", SpecVersion: specID, View: "ur", ViewVersion: ex.Version, Definition: workflows.ViewDefinition(view, ent, src)})
	var res workflows.MaterializeResult
	if err := menv.GetWorkflowResult(&res); err != nil {
		t.Fatal(err)
	}
	if res.Entities != 3 {
		t.Fatalf("%d entities, want 3 ((1,eu), (1,us), (2,eu))", res.Entities)
	}
	ix, err := serving.LoadIndex(t.Context(), lake.New(store), "ur", res.Version)
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		user, region string
		n            int64
		last         float64
	}{{"1", "eu", 2, 7}, {"1", "us", 1, 9}, {"2", "eu", 1, 1.5}} {
		key, err := ix.EncodeKey(nil, []string{c.user, c.region})
		if err != nil {
			t.Fatal(err)
		}
		sh, row, found := ix.Lookup(key)
		if !found {
			t.Errorf("(%s, %s) not found", c.user, c.region)
			continue
		}
		if sh.Value(0, row) != c.n || sh.Value(1, row) != c.last {
			t.Errorf("(%s, %s): values %v %v; want %d %g", c.user, c.region, sh.Value(0, row), sh.Value(1, row), c.n, c.last)
		}
	}
	key, _ := ix.EncodeKey(nil, []string{"2", "us"})
	if _, _, found := ix.Lookup(key); found {
		t.Error("(2, us) has no orders but was found")
	}
}
