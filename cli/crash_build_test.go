package cli_test

import (
	"context"
	"encoding/json"
	"maps"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/granaryml/granary/internal/crashtest"
	"github.com/granaryml/granary/internal/devstack/devtest"
	"github.com/granaryml/granary/internal/lake"
	"github.com/granaryml/granary/workflows"
)

const (
	buildCrashOrderFiles = 2
	buildCrashOrderRows  = 150_000 // per file
	buildCrashSpineFiles = 3       // one spine partition activity each
	buildCrashSpineRows  = 200_000 // per file
	buildCrashShards     = 8       // of the view: one join activity each
	buildCrashKills      = 3
)

// buildTypical are the build's steps' durations, uninterrupted, on the
// 2-core reference machine (go run ./bench/crash -workflow build -rows
// 300000 -files 2 -spine-rows 600000 -spine-files 3 -shards 8 -kills 0
// prints them): each targeted kill comes 5% to 50% into its step.
var buildTypical = map[string]time.Duration{
	"PartitionSpine": 350 * time.Millisecond,
	"JoinShard":      2000 * time.Millisecond,
	"Assemble":       1200 * time.Millisecond,
	"ComputeStats":   750 * time.Millisecond,
}

// TestBuildSurvivesWorkerKills is the crash-safety test of training-set
// builds: against the real Temporal dev server and MinIO, with the example
// spec applied, 300k orders extracted into the user_orders view (8 shards)
// and 600k churn labels in 3 files imported, the worker process is
// SIGKILLed and restarted while BuildTrainingData builds training set
// churn. Each kill is aimed at one of the build's phases, picked at random
// from partitioning the spine, joining, assembling, statistics and the
// commit (the commit always), and lands at a random moment of it. The
// build must commit exactly once the version an uninterrupted build of
// the same pins commits, one row per label, and no reader polling
// training.churn@latest meanwhile may ever see a partial version.
//
// Each kill of a running activity costs its heartbeat timeout (20s), so
// the test takes about a minute and a half. GRANARY_CRASH_SEED=<seed from
// the log> replays a kill schedule (as far as timing allows).
func TestBuildSurvivesWorkerKills(t *testing.T) {
	devtest.RequireIntegration(t, "temporal", "minio")
	began := time.Now()
	seed := crashSeed(t)
	rng := rand.New(rand.NewPCG(seed, seed>>1|1))
	targets := crashtest.Spread(requiredThenCommit(rng, crashtest.Build.Phases(), buildCrashKills), buildTypical)
	t.Logf("kill schedule seed %d (GRANARY_CRASH_SEED=%d replays it)", seed, seed)

	data, err := crashtest.WriteFeatureData(t.TempDir(), buildCrashOrderFiles, buildCrashOrderRows, buildCrashSpineFiles, buildCrashSpineRows)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(t.Context(), 6*time.Minute)
	defer cancel()
	fc := startFeatureCrash(t, ctx, crashtest.Build, data, buildCrashShards)
	w, st, ref, prep, prepTook := fc.w, fc.st, fc.ref, fc.prep, fc.prepTook
	labels := data.SpineRows()
	if prep != ref.Prepared {
		t.Fatalf("the crash run's pins differ from the reference's: %+v vs %+v", prep, ref.Prepared)
	}
	if ref.Build.Rows != labels {
		t.Fatalf("reference build has %d rows, want one per label: %d", ref.Build.Rows, labels)
	}
	t.Logf("reference: %d labels over %d orders (%.1f MB CSV), view in %d shards -> %s %v, in %v in-process on a directory lake (imports, extraction, build); preparing the same on the stack took %v",
		labels, data.Totals().Rows, float64(data.Bytes())/1e6, ref.Extract.Shards, lake.ShortID(ref.Build.Version), ref.Build.Splits, ref.Took.Round(time.Millisecond), prepTook.Round(time.Millisecond))

	out := runFeatureScenario(t, ctx, fc, buildCrashKills, targets, rng, w.Rows())

	// The crashed build produced exactly the uninterrupted build's
	// version, one row per label, split alike.
	var res workflows.BuildResult
	if err := json.Unmarshal(out.Result, &res); err != nil {
		t.Fatal(err)
	}
	var splitRows int64
	for _, n := range res.Splits {
		splitRows += n
	}
	if res.Version != ref.Build.Version || res.Rows != labels || splitRows != labels || !maps.Equal(res.Splits, ref.Build.Splits) ||
		res.Files != ref.Build.Files || res.Bytes != ref.Build.Bytes || len(res.Inputs) != len(ref.Build.Inputs) {
		t.Fatalf("crashed build gave %+v, uninterrupted %+v", res, ref.Build)
	}
	for i, in := range res.Inputs {
		if in != ref.Build.Inputs[i] {
			t.Errorf("lineage input %d: %+v, the reference's %+v", i, in, ref.Build.Inputs[i])
		}
	}
	blobs := checkCommittedOnce(t, fc, out, res.Created, ref.Build.Version)
	if ids, err := st.lake.ListVersions(t.Context(), lake.KindDataset, crashtest.ViewDataset); err != nil || len(ids) != 1 || ids[0] != prep.View {
		t.Errorf("the build must leave the view it read alone: versions %v, %v", ids, err)
	}
	checkRelaunchAttaches(t, fc, out, res.Version)
	t.Logf("%d kills (target -> phase: %s), %d worker processes; build took %v from launch (workflow %v); %d blobs, as in the reference; temp files crashed workers left: %v; test took %v",
		len(out.Kills), killPhases(out.Kills), st.workers.Count(), out.Elapsed.Round(time.Millisecond), out.Workflow.Round(time.Millisecond),
		blobs, leftoverTempFiles(t, st.workerTmp), time.Since(began).Round(time.Second))
}
