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
	extractCrashFiles  = 4       // source files: one partition activity each
	extractCrashRows   = 250_000 // per file
	extractCrashShards = 8       // one sort activity each
	extractCrashKills  = 3
)

// extractTypical are the extraction's steps' durations, uninterrupted, on
// the 2-core reference machine (go run ./bench/crash -workflow extract
// -rows 1000000 -files 4 -shards 8 -kills 0 prints them): each targeted
// kill comes 5% to 50% into its step. Slower machines only move the kills
// earlier in their steps.
var extractTypical = map[string]time.Duration{
	"PartitionSourceFile": 900 * time.Millisecond,
	"SortShard":           800 * time.Millisecond,
	"ComputeStats":        500 * time.Millisecond,
}

// TestExtractSurvivesWorkerKills is the crash-safety test of feature
// extraction: against the real Temporal dev server and MinIO, the worker
// process is SIGKILLed and restarted while ExtractFeatures turns 1M
// orders in 4 source files into the user_orders view in 8 shards. Each
// kill is aimed at one of the workflow's phases, picked at random from
// partitioning, sorting, statistics and the commit (the commit always),
// and lands at a random moment of it. The extraction must commit exactly
// once the version an uninterrupted run commits, with the counts the
// generated data says, and no reader polling view.user_orders@latest
// meanwhile may ever see a partial version.
//
// Each kill of a running activity costs its heartbeat timeout (20s), so
// the test takes about a minute and a half. GRANARY_CRASH_SEED=<seed from
// the log> replays a kill schedule (as far as timing allows).
func TestExtractSurvivesWorkerKills(t *testing.T) {
	devtest.RequireIntegration(t, "temporal", "minio")
	began := time.Now()
	seed := crashSeed(t)
	rng := rand.New(rand.NewPCG(seed, seed>>1|1))
	targets := crashtest.Spread(requiredThenCommit(rng, crashtest.Extract.Phases(), extractCrashKills), extractTypical)
	t.Logf("kill schedule seed %d (GRANARY_CRASH_SEED=%d replays it)", seed, seed)

	data, err := crashtest.WriteFeatureData(t.TempDir(), extractCrashFiles, extractCrashRows, 0, 0)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(t.Context(), 6*time.Minute)
	defer cancel()
	fc := startFeatureCrash(t, ctx, crashtest.Extract, data, extractCrashShards)
	w, st, ref, prep, prepTook := fc.w, fc.st, fc.ref, fc.prep, fc.prepTook
	want := data.Totals()
	if prep.Orders != ref.Prepared.Orders || prep.Spec != ref.Prepared.Spec {
		t.Fatalf("the crash run's inputs differ from the reference's: orders %s vs %s, spec %s vs %s",
			lake.ShortID(prep.Orders), lake.ShortID(ref.Prepared.Orders), lake.ShortID(prep.Spec), lake.ShortID(ref.Prepared.Spec))
	}
	if ref.Extract.Rows != want.Kept || ref.Extract.RowsIn != want.Rows || ref.Extract.Filtered != want.Filtered || ref.Extract.DroppedNulls != want.Dropped {
		t.Fatalf("reference extraction %+v; the generated data says %d rows in, %d kept, %d filtered, %d without time", ref.Extract, want.Rows, want.Kept, want.Filtered, want.Dropped)
	}
	t.Logf("reference: %d orders (%.1f MB CSV in %d files) -> %d rows in %d shards, %s, in %v in-process on a directory lake (import and extraction); the same import on the stack took %v",
		want.Rows, float64(want.Bytes)/1e6, len(data.Orders), ref.Extract.Rows, ref.Extract.Shards, lake.ShortID(ref.Extract.Version), ref.Took.Round(time.Millisecond), prepTook.Round(time.Millisecond))

	out := runFeatureScenario(t, ctx, fc, extractCrashKills, targets, rng, w.Rows())

	// The crashed run produced exactly the uninterrupted run's version,
	// with the counts the generated data says.
	var res workflows.ExtractResult
	if err := json.Unmarshal(out.Result, &res); err != nil {
		t.Fatal(err)
	}
	if res.Version != ref.Extract.Version || res.Rows != want.Kept || res.RowsIn != want.Rows || res.Filtered != want.Filtered ||
		res.DroppedNulls != want.Dropped || res.Shards != extractCrashShards || res.Files != ref.Extract.Files || res.SourceVersion != prep.Orders {
		t.Fatalf("crashed extraction gave %+v, uninterrupted %+v", res, ref.Extract)
	}
	blobs := checkCommittedOnce(t, fc, out, res.Created, ref.Extract.Version)
	checkRelaunchAttaches(t, fc, out, res.Version)
	t.Logf("%d kills (target -> phase: %s), %d worker processes; extraction took %v from launch (workflow %v); %d blobs, as in the reference; temp files crashed workers left: %v; test took %v",
		len(out.Kills), killPhases(out.Kills), st.workers.Count(), out.Elapsed.Round(time.Millisecond), out.Workflow.Round(time.Millisecond),
		blobs, leftoverTempFiles(t, st.workerTmp), time.Since(began).Round(time.Second))
}
