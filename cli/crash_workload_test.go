package cli_test

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/minio/minio-go/v7/pkg/credentials"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/log"
	"go.temporal.io/sdk/testsuite"

	"github.com/granaryml/granary/activities"
	"github.com/granaryml/granary/cli"
	"github.com/granaryml/granary/features"
	"github.com/granaryml/granary/internal/crashtest"
	"github.com/granaryml/granary/internal/devstack"
	"github.com/granaryml/granary/internal/devstack/devtest"
	"github.com/granaryml/granary/internal/lake"
	"github.com/granaryml/granary/internal/objstore"
	"github.com/granaryml/granary/internal/objstore/filestore"
	"github.com/granaryml/granary/internal/objstore/s3store"
	"github.com/granaryml/granary/worker"
	"github.com/granaryml/granary/workflows"
)

// The crash tests of the feature workflows (extraction, build) share this
// setup: the real Temporal dev server and MinIO, the granary binary for
// worker processes, a reference run of the same pipeline in-process, and
// a crash run of the workflow under test.

// exampleSpec is the example feature spec the feature crash tests apply.
func exampleSpec(t *testing.T) string {
	t.Helper()
	p, err := filepath.Abs(filepath.Join("..", "examples", "shop", "features.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// crashStack is what a crash test runs against: real servers, worker
// processes of the real binary, and the test's own handles on the lake.
type crashStack struct {
	tc        client.Client
	flags     []string // global flags of the in-process CLI
	store     objstore.Store
	lake      *lake.Lake // the reader's: not the workers' handle, nor the CLI's
	workers   *crashtest.Workers
	workerTmp string
}

// startCrashStack builds the granary binary while Temporal and MinIO
// start, and prepares worker processes against a lake in MinIO.
func startCrashStack(t *testing.T) *crashStack {
	t.Helper()
	binDir := t.TempDir()
	type built struct {
		path string
		err  error
	}
	binary := make(chan built, 1)
	buildCtx, cancelBuild := context.WithCancel(context.Background())
	buildDone := make(chan struct{})
	go func() {
		defer close(buildDone)
		p, err := crashtest.BuildGranary(buildCtx, binDir)
		binary <- built{p, err}
	}()
	t.Cleanup(func() { cancelBuild(); <-buildDone }) // before binDir goes, if a setup step fails
	srv := devtest.Temporal(t, devstack.TemporalOptions{SearchAttributes: workflows.SearchAttributeNames()})
	minio := devtest.Minio(t)
	if err := minio.EnsureBucket(t.Context(), "crash"); err != nil {
		t.Fatal(err)
	}
	// The in-process CLI uploads files with these; workers get them too.
	t.Setenv("AWS_ACCESS_KEY_ID", minio.AccessKey())
	t.Setenv("AWS_SECRET_ACCESS_KEY", minio.SecretKey())
	lakeURL := fmt.Sprintf("s3://crash/lake?endpoint=%s&secure=false", minio.Endpoint())

	tc, err := client.Dial(client.Options{HostPort: srv.Address(), Namespace: srv.Namespace(), Logger: quietSDKLogger()})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(tc.Close)
	store, err := s3store.New(t.Context(), s3store.Options{
		Endpoint: minio.Endpoint(), Bucket: "crash", Prefix: "lake",
		Credentials: credentials.NewStaticV4(minio.AccessKey(), minio.SecretKey(), ""),
	})
	if err != nil {
		t.Fatal(err)
	}
	b := <-binary
	if b.err != nil {
		t.Fatal(b.err)
	}
	st := &crashStack{
		tc:        tc,
		flags:     []string{"--temporal-address", srv.Address(), "--namespace", srv.Namespace(), "--lake", lakeURL},
		store:     store,
		lake:      lake.New(store),
		workerTmp: t.TempDir(),
	}
	st.workers = crashtest.NewWorkers(crashtest.WorkerOptions{
		Binary: b.path, TemporalAddress: srv.Address(), Namespace: srv.Namespace(), Lake: lakeURL,
		Env: []string{
			"AWS_ACCESS_KEY_ID=" + minio.AccessKey(), "AWS_SECRET_ACCESS_KEY=" + minio.SecretKey(),
			"TMPDIR=" + st.workerTmp, // so what crashed workers leave behind is visible
		},
		LogDir: t.TempDir(),
	})
	t.Cleanup(func() {
		st.workers.Close(5 * time.Second)
		if left := st.workers.Leftovers(); len(left) > 0 {
			t.Errorf("worker process groups still alive after cleanup: %v", left)
		}
	})
	return st
}

// cli runs granary commands in-process against the stack, with JSON output.
func (st *crashStack) cli() crashtest.CLI {
	return func(ctx context.Context, args ...string) ([]byte, error) {
		return runGranaryJSON(ctx, st.flags, args...)
	}
}

// runGranaryJSON runs `granary FLAGS --output json ARGS` in-process and
// returns its stdout.
func runGranaryJSON(ctx context.Context, flags []string, args ...string) ([]byte, error) {
	var out, errb bytes.Buffer
	all := append(append(append([]string{"granary"}, flags...), "--output", "json"), args...)
	if code := cli.Run(ctx, all, cli.Options{Stdin: strings.NewReader(""), Stdout: &out, Stderr: &errb}); code != 0 {
		return nil, fmt.Errorf("granary %s: exit %d: %s", strings.Join(args, " "), code, strings.TrimSpace(errb.String()))
	}
	return out.Bytes(), nil
}

// featureReference is an uninterrupted run of a workload's whole pipeline.
type featureReference struct {
	Prepared crashtest.Prepared
	Extract  workflows.ExtractResult // the view: Extract's result under test, Build's input
	Build    workflows.BuildResult
	// Materialize: the serving index of the extracted view.
	Materialize workflows.MaterializeResult
	Store       objstore.Store
	Took        time.Duration
}

// runFeatureReference runs w's pipeline uninterrupted, in-process with the
// SDK's test environment on a directory lake: no Temporal server, no
// MinIO, no worker process. Inputs are what the CLI sends (each file's
// base name and digest, the applied spec, the pins), and version ids
// depend only on content, so its versions are what the crash run on
// MinIO must produce. It returns errors rather than failing the test:
// it runs on its own goroutine while the servers start.
func runFeatureReference(ctx context.Context, dir string, w crashtest.Workload) (ref featureReference, err error) {
	start := time.Now()
	defer func() { ref.Took = time.Since(start) }()
	store, err := filestore.New(dir)
	if err != nil {
		return ref, err
	}
	ref.Store = store
	l := lake.New(store)
	run := func(wf any, in any, out any) error {
		var suite testsuite.WorkflowTestSuite
		suite.SetLogger(log.NewStructuredLogger(slog.New(slog.NewTextHandler(io.Discard, nil))))
		env := suite.NewTestWorkflowEnvironment()
		env.SetTestTimeout(5 * time.Minute) // the default 3s idle limit is shorter than one activity
		worker.Register(env, activities.New(store, "reference"))
		env.ExecuteWorkflow(wf, in)
		if !env.IsWorkflowCompleted() {
			return fmt.Errorf("reference %T did not complete", in)
		}
		if err := env.GetWorkflowError(); err != nil {
			return fmt.Errorf("reference %T: %w", in, err)
		}
		return env.GetWorkflowResult(out)
	}
	importFiles := func(name string, paths []string) (string, error) {
		in := workflows.CommitDatasetInput{Name: name, Format: "auto"}
		for _, p := range paths {
			d, size, _, err := l.PutBlobFile(ctx, p)
			if err != nil {
				return "", err
			}
			in.Sources = append(in.Sources, activities.Source{Name: filepath.Base(p), Digest: d, Bytes: size})
		}
		var res workflows.CommitDatasetResult
		err := run(workflows.CommitDataset, in, &res)
		return res.Version, err
	}
	if ref.Prepared.Orders, err = importFiles(crashtest.OrdersDataset, w.Data.OrderPaths()); err != nil {
		return ref, err
	}
	if w.Kind == crashtest.Build {
		if ref.Prepared.Spine, err = importFiles(crashtest.SpineDataset, w.Data.SpinePaths()); err != nil {
			return ref, err
		}
	}
	// As `features apply` does: the CLI uploads the spec, ApplySpec commits it.
	specBytes, err := os.ReadFile(w.Spec)
	if err != nil {
		return ref, err
	}
	parsed, err := features.Parse(filepath.Base(w.Spec), specBytes)
	if err != nil {
		return ref, err
	}
	specDigest, _, _, err := l.PutBlobFile(ctx, w.Spec)
	if err != nil {
		return ref, err
	}
	var applied workflows.ApplySpecResult
	if err := run(workflows.ApplySpec, workflows.ApplySpecInput{CommitSpecInput: activities.CommitSpecInput{
		Project: parsed.Project, Spec: specDigest, File: filepath.Base(w.Spec)}}, &applied); err != nil {
		return ref, err
	}
	ref.Prepared.Spec = applied.Version
	spec, err := activities.LoadSpec(ctx, l, applied.Project, applied.Version)
	if err != nil {
		return ref, err
	}
	// As `granary extract VIEW --shards N` builds its input.
	view, src, ent, err := spec.View(crashtest.View)
	if err != nil {
		return ref, err
	}
	cols, err := spec.ViewColumns(view.Name)
	if err != nil {
		return ref, err
	}
	if err := run(workflows.ExtractFeatures, workflows.ExtractInput{
		Project: spec.Project, SpecVersion: applied.Version, View: view.Name, SourceVersion: ref.Prepared.Orders, Shards: w.Shards,
		Params: activities.ExtractParams(view, src, ent, cols, w.Shards),
	}, &ref.Extract); err != nil {
		return ref, err
	}
	if w.Kind == crashtest.Materialize {
		ref.Prepared.View = ref.Extract.Version
		// As `granary materialize VIEW` asks for it.
		err = run(workflows.Materialize, workflows.MaterializeInput{
			Project: spec.Project, SpecVersion: applied.Version, View: view.Name, ViewVersion: ref.Extract.Version,
			Definition: workflows.ViewDefinition(view, ent, src),
		}, &ref.Materialize)
		return ref, err
	}
	if w.Kind != crashtest.Build {
		return ref, nil
	}
	ref.Prepared.View = ref.Extract.Version
	// As `granary build SET` pins it: the spine and every view @latest.
	err = run(workflows.BuildTrainingData, workflows.BuildInput{
		Project: spec.Project, SpecVersion: applied.Version, Set: crashtest.TrainingSet,
		SpineVersion: ref.Prepared.Spine, ViewVersions: map[string]string{crashtest.View: ref.Extract.Version},
	}, &ref.Build)
	return ref, err
}

// blobDigests lists the blobs of a lake, sorted.
func blobDigests(t *testing.T, store objstore.Store) []string {
	t.Helper()
	var keys []string
	for info, err := range objstore.All(t.Context(), store, lake.BlobsPrefix) {
		if err != nil {
			t.Fatal(err)
		}
		keys = append(keys, info.Key)
	}
	slices.Sort(keys)
	return keys
}

// compareBlobs checks that the crash run's lake holds exactly the blobs of
// the reference run's: every step wrote the same bytes however often it
// was retried, and nothing a killed attempt uploaded differs.
func compareBlobs(t *testing.T, got, want objstore.Store) int {
	t.Helper()
	g, w := blobDigests(t, got), blobDigests(t, want)
	var extra, missing []string
	for _, k := range g {
		if _, ok := slices.BinarySearch(w, k); !ok {
			extra = append(extra, k)
		}
	}
	for _, k := range w {
		if _, ok := slices.BinarySearch(g, k); !ok {
			missing = append(missing, k)
		}
	}
	if len(extra) > 0 || len(missing) > 0 {
		t.Errorf("the crash run's lake has %d blobs, the reference's %d: %d not in the reference (a retried step wrote different bytes) %v, %d missing %v",
			len(g), len(w), len(extra), extra, len(missing), missing)
	}
	return len(g)
}

// checkSingleCommit checks that dataset (of kind) has exactly one version,
// version, with latest moved once, by workflowID, and one provenance
// record.
func checkSingleCommit(t *testing.T, l *lake.Lake, kind lake.Kind, dataset, version, workflowID string) {
	t.Helper()
	ctx := t.Context()
	if id, err := l.Resolve(ctx, kind, dataset, "latest"); err != nil || id != version {
		t.Errorf("%s@latest -> %s, %v; want %s", dataset, id, err, version)
	}
	if ids, err := l.ListVersions(ctx, kind, dataset); err != nil || len(ids) != 1 {
		t.Errorf("%s: want exactly one version, got %v, %v", dataset, ids, err)
	}
	moves, err := l.Log(ctx, kind, dataset)
	if err != nil {
		t.Fatal(err)
	}
	if len(moves) != 1 || moves[0].Ref != "latest" || moves[0].Seq != 1 || moves[0].From != "" || moves[0].To != version || moves[0].Workflow != workflowID {
		t.Errorf("%s: want one move of latest (seq 1, nothing -> %s by %s), got %+v", dataset, lake.ShortID(version), workflowID, moves)
	}
	provs, err := l.Provenances(ctx, kind, dataset, version)
	if err != nil || len(provs) != 1 || provs[0].WorkflowID != workflowID {
		t.Errorf("%s: want one provenance record, by %s: %+v, %v", dataset, workflowID, provs, err)
	}
}

// killPhases says where each kill aimed and landed.
func killPhases(kills []crashtest.Kill) string {
	var phases []string
	for _, k := range kills {
		phases = append(phases, fmt.Sprintf("%s -> %s", k.Target, k.Where()))
	}
	return strings.Join(phases, "; ")
}

// featureCrash is the part of the extraction and build crash tests that
// is the same: the uninterrupted reference runs in-process while the
// stack starts, one worker prepares the inputs on the stack, and both
// must agree before any kill.
type featureCrash struct {
	w        crashtest.Workload
	st       *crashStack
	ref      featureReference
	prep     crashtest.Prepared
	prepTook time.Duration
	setup    *crashtest.Worker
}

func startFeatureCrash(t *testing.T, ctx context.Context, kind crashtest.Kind, data crashtest.FeatureData, shards int) featureCrash {
	t.Helper()
	fc := featureCrash{w: crashtest.Workload{Kind: kind, Data: data, Spec: exampleSpec(t), Shards: shards}}
	refDir := t.TempDir()
	refDone := make(chan struct{})
	var refErr error
	go func() {
		defer close(refDone)
		fc.ref, refErr = runFeatureReference(context.Background(), refDir, fc.w)
	}()
	t.Cleanup(func() { <-refDone })
	fc.st = startCrashStack(t)
	fc.w.Run = fc.st.cli()
	var err error
	if fc.setup, err = fc.st.workers.Start(); err != nil {
		t.Fatal(err)
	}
	prepStart := time.Now()
	if fc.prep, err = fc.w.Prepare(ctx); err != nil {
		t.Fatalf("preparing the %s: %v (worker log:\n%s)", kind, err, fc.setup.Tail(4000))
	}
	fc.prepTook = time.Since(prepStart)
	<-refDone
	if refErr != nil {
		t.Fatal(refErr)
	}
	return fc
}

// requiredThenCommit picks the required kills among a workflow's long
// phases and adds one best-effort kill aimed at its last phase, the
// commit, which takes milliseconds and may finish before a poll sees it.
func requiredThenCommit(rng *rand.Rand, phases []crashtest.Target, kills int) []crashtest.Target {
	return append(crashtest.PickTargets(rng, phases[:len(phases)-1], kills), phases[len(phases)-1])
}

// runFeatureScenario runs the crash scenario every feature crash test
// shares: the workload's workflow is launched on the stack while its
// worker is killed at targets (the last one best-effort), a reader watches
// what it commits (which must have rows rows), and any partial version
// the reader saw, or fewer than kills landed kills, fails the test.
func runFeatureScenario(t *testing.T, ctx context.Context, fc featureCrash, kills int, targets []crashtest.Target, rng *rand.Rand, rows int64) crashtest.Outcome {
	t.Helper()
	w, st := fc.w, fc.st
	out, err := crashtest.Scenario{
		Client: st.tc, Workers: st.workers, Worker: fc.setup, Lake: st.lake,
		Kind: w.LakeKind(), Dataset: w.Dataset(), Rows: rows,
		Start: func(ctx context.Context) (string, error) {
			id, _, _, err := w.Launch(ctx, false) // returns once started
			return id, err
		},
		// Each kill's delay counts from the moment a (re)started worker
		// has work in its target step (see the tests' typical durations;
		// the commit's are a few milliseconds), and is cut short when the
		// next step is scheduled, so a kill never lands past that boundary.
		Kills: kills + 1, BestEffort: 1, Targets: targets, Steps: w.Kind.Steps(),
		Rand:          rng,
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
	if len(out.Kills) < kills {
		t.Fatalf("only %d kills landed while the workflow ran, want %d", len(out.Kills), kills)
	}
	return out
}

// checkCommittedOnce checks what every feature crash test checks after
// the workflow's own result: it created the reference's version, the
// reader saw exactly that version, it was committed once, and the lake
// holds exactly the reference's blobs. It returns the blob count.
func checkCommittedOnce(t *testing.T, fc featureCrash, out crashtest.Outcome, created bool, want string) int {
	t.Helper()
	w, st, rep := fc.w, fc.st, out.Reader
	if !created {
		t.Errorf("the crashed %s reports created=false: the version existed before its commit", w.Kind)
	}
	if rep.After == 0 || len(rep.Versions) != 1 || rep.Versions[0] != want {
		t.Errorf("reader should have seen exactly the reference version, saw %v (%d complete observations)", rep.Versions, rep.After)
	}
	checkSingleCommit(t, st.lake, w.LakeKind(), w.Dataset(), want, out.WorkflowID)
	return compareBlobs(t, st.store, fc.ref.Store)
}

// checkRelaunchAttaches launches the workload's workflow again and checks
// it attaches to the finished run, then logs the crashed run's steps.
func checkRelaunchAttaches(t *testing.T, fc featureCrash, out crashtest.Outcome, version string) {
	t.Helper()
	id, got, attached, err := fc.w.Launch(t.Context(), true)
	if err != nil {
		t.Fatal(err)
	}
	if !attached || got != version || id != out.WorkflowID {
		t.Errorf("re-running the %s should attach to %s and report %s, got %s %s attached=%v", fc.w.Kind, out.WorkflowID, lake.ShortID(version), id, got, attached)
	}
	if steps, err := crashtest.Timeline(t.Context(), fc.st.tc, out.WorkflowID); err == nil {
		t.Logf("the crashed %s's steps:\n%s", fc.w.Kind, crashtest.FormatTimeline(steps))
	}
}
