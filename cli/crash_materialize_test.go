package cli_test

import (
	"context"
	"encoding/json"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/granaryml/granary/internal/crashtest"
	"github.com/granaryml/granary/internal/devstack/devtest"
	"github.com/granaryml/granary/internal/lake"
	"github.com/granaryml/granary/workflows"
)

const (
	materializeCrashFiles  = 2
	materializeCrashRows   = 300_000 // per file
	materializeCrashShards = 8       // one MaterializeShard activity each
	materializeCrashKills  = 2
)

// materializeTypical is MaterializeShard's duration, uninterrupted, on the
// 2-core reference machine for this data (the test logs the crashed run's
// steps): each targeted kill comes 5% to 50% into it.
var materializeTypical = map[string]time.Duration{
	"MaterializeShard": 400 * time.Millisecond,
}

// TestMaterializeSurvivesWorkerKills is the crash-safety test of serving
// indexes: against the real Temporal dev server and MinIO, with 600k
// orders extracted into the user_orders view (8 shards), the worker
// process is SIGKILLed and restarted while Materialize writes the index
// files, and once more aimed at the commit. The materialization must
// commit exactly once the version an uninterrupted run commits, with the
// same blobs, and no reader polling the index's latest alias may ever see
// a partial version.
func TestMaterializeSurvivesWorkerKills(t *testing.T) {
	devtest.RequireIntegration(t, "temporal", "minio")
	began := time.Now()
	seed := crashSeed(t)
	rng := rand.New(rand.NewPCG(seed, seed>>1|1))
	targets := crashtest.Spread(requiredThenCommit(rng, crashtest.Materialize.Phases(), materializeCrashKills), materializeTypical)
	t.Logf("kill schedule seed %d (GRANARY_CRASH_SEED=%d replays it)", seed, seed)

	data, err := crashtest.WriteFeatureData(t.TempDir(), materializeCrashFiles, materializeCrashRows, 0, 0)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(t.Context(), 6*time.Minute)
	defer cancel()
	fc := startFeatureCrash(t, ctx, crashtest.Materialize, data, materializeCrashShards)
	st, ref, prep := fc.st, fc.ref, fc.prep
	if prep.Orders != ref.Prepared.Orders || prep.Spec != ref.Prepared.Spec || prep.View != ref.Prepared.View {
		t.Fatalf("the crash run's inputs differ from the reference's: %+v vs %+v", prep, ref.Prepared)
	}
	if ref.Materialize.Entities == 0 || ref.Materialize.Shards != materializeCrashShards {
		t.Fatalf("reference materialization %+v", ref.Materialize)
	}
	t.Logf("reference: view %s -> %d entities x %d features in %d shards, %s",
		lake.ShortID(ref.Extract.Version), ref.Materialize.Entities, ref.Materialize.Features, ref.Materialize.Shards, lake.ShortID(ref.Materialize.Version))

	out := runFeatureScenario(t, ctx, fc, materializeCrashKills, targets, rng, ref.Materialize.Entities)

	var res workflows.MaterializeResult
	if err := json.Unmarshal(out.Result, &res); err != nil {
		t.Fatal(err)
	}
	if res.Version != ref.Materialize.Version || res.Entities != ref.Materialize.Entities || res.AsOf != ref.Materialize.AsOf || res.ViewVersion != prep.View {
		t.Fatalf("crashed materialization gave %+v, uninterrupted %+v", res, ref.Materialize)
	}
	blobs := checkCommittedOnce(t, fc, out, res.Created, ref.Materialize.Version)
	checkRelaunchAttaches(t, fc, out, res.Version)
	t.Logf("%d kills (target -> phase: %s), %d worker processes; materialization took %v from launch (workflow %v); %d blobs, as in the reference; test took %v",
		len(out.Kills), killPhases(out.Kills), st.workers.Count(), out.Elapsed.Round(time.Millisecond), out.Workflow.Round(time.Millisecond),
		blobs, time.Since(began).Round(time.Second))
}
