package cli_test

import (
	"context"
	"math/rand/v2"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/granaryml/granary/internal/crashtest"
	"github.com/granaryml/granary/internal/devstack/devtest"
	"github.com/granaryml/granary/internal/lake"
	"github.com/granaryml/granary/workflows"
)

const (
	crashRows    = 200_000
	crashKills   = 3
	crashDataset = "crashy"
)

// TestImportSurvivesWorkerKills is the crash-safety test: against the real
// Temporal dev server and MinIO, the worker process is SIGKILLed at random
// moments of a 200k-row import and restarted each time. The workflow must
// complete with the version id of an uninterrupted import, commit it
// exactly once, and no reader polling the lake meanwhile may ever see a
// partial version.
//
// Each kill in the middle of an activity costs the activity's heartbeat
// timeout (20s) before the retry runs (a minute for the commit and the ref
// move, which do not heartbeat), so the test takes one to two and a half
// minutes. GRANARY_CRASH_SEED=<seed from the log> replays a kill schedule
// (as far as timing allows).
func TestImportSurvivesWorkerKills(t *testing.T) {
	devtest.RequireIntegration(t, "temporal", "minio")
	began := time.Now()
	seed := crashSeed(t)
	t.Logf("kill schedule seed %d (GRANARY_CRASH_SEED=%d replays it)", seed, seed)

	csvPath := filepath.Join(t.TempDir(), "rows.csv")
	size, err := crashtest.WriteCSV(csvPath, crashRows)
	if err != nil {
		t.Fatal(err)
	}
	ref, refTook := referenceVersion(t, crashDataset, csvPath)
	if ref.Rows != crashRows {
		t.Fatalf("reference import has %d rows, want %d", ref.Rows, crashRows)
	}
	t.Logf("reference: %d rows (%.1f MB CSV) -> %s in %v, uninterrupted, in-process on a directory lake",
		ref.Rows, float64(size)/1e6, lake.ShortID(ref.Version), refTook.Round(time.Millisecond))

	st := startCrashStack(t)
	tc, workers, readerLake, flags, workerTmp, store := st.tc, st.workers, st.lake, st.flags, st.workerTmp, st.store
	ctx, cancel := context.WithTimeout(t.Context(), 6*time.Minute)
	defer cancel()
	out, err := crashtest.Scenario{
		Client: tc, Workers: workers, Lake: readerLake, Dataset: crashDataset, Rows: crashRows,
		Start: func(ctx context.Context) (string, error) {
			res, err := runImportCLI(ctx, flags, crashDataset, csvPath) // no --wait: returns once started
			return res.WorkflowID, err
		},
		Kills: crashKills,
		// Counted from the moment a (re)started worker has work. The whole
		// import takes under a second uninterrupted on the 2-core reference
		// machine (conversion 0.5s, commit and ref move under 0.1s each; a
		// one-file import infers its schema and takes its statistics while
		// converting, so it never schedules InferSchema or ComputeStats), so delays up to
		// 0.7s spread the kills over every step. They are cut short so
		// that the workflow cannot finish before the last kill: the first
		// kills land by the start of the stats, here the commit (or one
		// step further), the last by the start of the ref move.
		MinDelay:      20 * time.Millisecond,
		MaxDelay:      700 * time.Millisecond,
		Steps:         crashtest.Import.Steps(), // StageSource only runs for remote inputs
		Before:        "ComputeStats",
		LastBefore:    "MoveRefs",
		Rand:          rand.New(rand.NewPCG(seed, seed>>1|1)),
		ProgressQuery: workflows.ProgressQuery,
		Timeout:       4 * time.Minute,
		Logf:          t.Logf,
	}.Run(ctx)
	rep := out.Reader
	t.Logf("reader: %d observations before the ref existed, %d of the complete version after; %d blobs re-hashed; %d violations",
		rep.Before, rep.After, rep.Verified, len(rep.Violations))
	for _, v := range rep.Violations {
		t.Errorf("reader saw a partial or inconsistent version: %s", v)
	}
	if err != nil {
		t.Fatalf("after %d kills: %v", len(out.Kills), err)
	}
	if len(out.Kills) < crashKills {
		t.Fatalf("only %d kills landed while the workflow ran, want %d", len(out.Kills), crashKills)
	}

	// The crashed run produced exactly the uninterrupted run's version.
	if out.Version != ref.Version || out.Rows != crashRows {
		t.Fatalf("crashed import gave %s with %d rows, uninterrupted import %s with %d", out.Version, out.Rows, ref.Version, ref.Rows)
	}
	if rep.After == 0 || len(rep.Versions) != 1 || rep.Versions[0] != ref.Version {
		t.Errorf("reader should have seen exactly the reference version, saw %v (%d complete observations)", rep.Versions, rep.After)
	}
	l := readerLake
	if id, err := l.Resolve(t.Context(), lake.KindDataset, crashDataset, "latest"); err != nil || id != ref.Version {
		t.Errorf("latest -> %s, %v; want %s", id, err, ref.Version)
	}
	if ids, err := l.ListVersions(t.Context(), lake.KindDataset, crashDataset); err != nil || len(ids) != 1 {
		t.Errorf("want exactly one version, got %v, %v", ids, err)
	}
	moves, err := l.Log(t.Context(), lake.KindDataset, crashDataset)
	if err != nil {
		t.Fatal(err)
	}
	if len(moves) != 1 || moves[0].Ref != "latest" || moves[0].Seq != 1 || moves[0].From != "" || moves[0].To != ref.Version || moves[0].Workflow != out.WorkflowID {
		t.Errorf("want one move of latest (seq 1, nothing -> %s by %s), got %+v", lake.ShortID(ref.Version), out.WorkflowID, moves)
	}
	provs, err := l.Provenances(t.Context(), lake.KindDataset, crashDataset, ref.Version)
	if err != nil || len(provs) != 1 || provs[0].WorkflowID != out.WorkflowID {
		t.Errorf("want one provenance record, by %s: %+v, %v", out.WorkflowID, provs, err)
	}
	// Conversion is deterministic, so retried conversions re-derive the
	// same parquet blob: the raw CSV and one parquet file, nothing else.
	if n := countObjects(t, store, lake.BlobsPrefix); n != 2 {
		t.Errorf("want 2 blobs (raw CSV, parquet), got %d: a retried step wrote different bytes", n)
	}

	// Launching the same import again attaches to the finished run.
	again, err := runImportCLI(t.Context(), flags, crashDataset, csvPath, "--wait")
	if err != nil {
		t.Fatal(err)
	}
	if !again.Attached || again.Version != ref.Version || again.WorkflowID != out.WorkflowID {
		t.Errorf("re-running the import should attach to %s and report %s, got %+v", out.WorkflowID, lake.ShortID(ref.Version), again)
	}

	var phases []string
	for _, k := range out.Kills {
		phases = append(phases, k.Where())
	}
	t.Logf("%d kills (phases: %s), %d worker processes; import took %v from launch (workflow %v), created=%v; temp files crashed workers left: %v; test took %v",
		len(out.Kills), strings.Join(phases, "; "), workers.Count(), out.Elapsed.Round(time.Millisecond), out.Workflow.Round(time.Millisecond),
		out.Created, leftoverTempFiles(t, workerTmp), time.Since(began).Round(time.Second))
}
