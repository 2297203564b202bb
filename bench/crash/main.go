// Command crash measures what worker crashes cost one of granary's long
// workflows, against the real Temporal dev server and MinIO (started from
// bin/, as the tests do):
//
//  1. uninterrupted: one `granary worker` process runs the workflow on a
//     fresh Temporal server and its own lake prefix;
//  2. with kills: the same workflow on another fresh server and prefix,
//     while the worker process is SIGKILLed -kills times and restarted
//     after each kill (internal/crashtest, the same driver as the
//     cli/crash_*_test.go tests).
//
// -workflow picks the workflow:
//
//   - import (CommitDataset): one generated CSV of -rows rows; kills at
//     random moments, the last before the ref move.
//   - extract (ExtractFeatures of the example spec's user_orders view):
//     -rows orders in -files CSV files imported as dataset orders, the
//     spec applied, then the extraction into -shards shards is measured.
//   - build (BuildTrainingData of the example spec's churn set): the
//     same orders extracted, -spine-rows labels in -spine-files files
//     imported as churn_labels, then the build is measured.
//
// For extract and build each kill is aimed at one phase of the workflow
// (partitioning, sorting or joining, assembling, stats, the commit; with
// fewer kills than phases a random subset that keeps the commit), at a
// random moment of its first half: the phases' durations are taken from
// the uninterrupted run (unless -min-delay/-max-delay are given). Preparing
// the inputs (imports, the extraction a build reads) is uninterrupted and
// not measured.
//
// A reader polls each lake throughout and must never see a partial
// version, and both runs must produce the same version id. The summary
// (times, rows/s, the steps' times, each kill and where it landed) goes
// to stderr, one JSON object to stdout; the exit code is 1 if any check
// failed.
//
//	GRANARY_BIN_DIR=$PWD/bin go run ./bench/crash -rows 2000000 -kills 5
//	GRANARY_BIN_DIR=$PWD/bin go run ./bench/crash -workflow extract -rows 4000000 -files 4 -shards 16 -kills 4
//	GRANARY_BIN_DIR=$PWD/bin go run ./bench/crash -workflow build -rows 2000000 -spine-rows 1000000 -kills 5
package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"log"
	"log/slog"
	"math/rand/v2"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"github.com/minio/minio-go/v7/pkg/credentials"
	"go.temporal.io/sdk/client"
	tlog "go.temporal.io/sdk/log"

	"github.com/granaryml/granary/cli"
	"github.com/granaryml/granary/internal/crashtest"
	"github.com/granaryml/granary/internal/devstack"
	"github.com/granaryml/granary/internal/lake"
	"github.com/granaryml/granary/internal/objstore/s3store"
	"github.com/granaryml/granary/workflows"
)

const (
	dataset = "crashy" // the import workload's dataset
	bucket  = "crash"
)

type runReport struct {
	Version          string   `json:"version"`
	Created          bool     `json:"created"`          // what the workflow reported (false would say the version pre-existed)
	Rows             int64    `json:"rows"`             // of the committed version
	Seconds          float64  `json:"seconds"`          // launch of the workflow to its result
	WorkflowSeconds  float64  `json:"workflow_seconds"` // the server's start-to-close
	RowsPerS         float64  `json:"rows_per_s"`       // input rows (orders, or labels for a build) per second
	PrepareSeconds   float64  `json:"prepare_seconds,omitempty"`
	Steps            []string `json:"steps,omitempty"` // from the workflow's history
	Kills            []string `json:"kills,omitempty"`
	KilledIn         []string `json:"killed_in,omitempty"` // target -> where each kill landed
	Workers          int      `json:"workers"`
	ReaderBefore     int      `json:"reader_before"`
	ReaderAfter      int      `json:"reader_after"`
	ReaderViolations []string `json:"reader_violations,omitempty"`
	Error            string   `json:"error,omitempty"`
}

type report struct {
	Workflow      string    `json:"workflow"`
	Rows          int       `json:"rows"`                 // the CSV's (import) or the orders' (extract, build)
	Files         int       `json:"files,omitempty"`      // orders files
	SpineRows     int       `json:"spine_rows,omitempty"` // labels (build)
	Shards        int       `json:"shards,omitempty"`
	CSVBytes      int64     `json:"csv_bytes"`
	Seed          uint64    `json:"seed"`
	Uninterrupted runReport `json:"uninterrupted"`
	WithKills     runReport `json:"with_kills"`
	SameVersion   bool      `json:"same_version"`
	Overhead      float64   `json:"overhead_seconds"` // with kills minus uninterrupted
	OK            bool      `json:"ok"`
	Failures      []string  `json:"failures,omitempty"`
	started       time.Time
}

type options struct {
	kind                  crashtest.Kind
	rows, files           int
	spineRows, spineFiles int
	shards, kills         int
	seed                  uint64
	minDelay, maxDelay    time.Duration
	granary, spec         string
	keep                  bool
}

func main() {
	var o options
	workflow := flag.String("workflow", "import", "workflow to crash: import, extract or build")
	flag.IntVar(&o.rows, "rows", 0, "rows of the generated CSV (import) or orders over all -files (extract, build) (default 2000000)")
	flag.IntVar(&o.files, "files", 4, "orders CSV files, imported together: one partition activity each (extract, build)")
	flag.IntVar(&o.spineRows, "spine-rows", 500_000, "churn labels over all -spine-files (build)")
	flag.IntVar(&o.spineFiles, "spine-files", 2, "label CSV files (build)")
	flag.IntVar(&o.shards, "shards", 16, "shards of the extraction (extract, build)")
	flag.IntVar(&o.kills, "kills", 0, "SIGKILLs of the worker during the second run (default 5 for import, one per phase otherwise)")
	flag.Uint64Var(&o.seed, "seed", 0, "kill schedule seed (0: time-based; printed either way)")
	flag.DurationVar(&o.minDelay, "min-delay", 20*time.Millisecond, "shortest wait between a worker getting work (in its target phase) and its kill (for extract and build, unless a delay flag is given: 5% of the target phase's uninterrupted duration)")
	flag.DurationVar(&o.maxDelay, "max-delay", 0, "longest such wait (default: 0.7s per 200k rows for import; for extract and build half of the target phase's uninterrupted duration)")
	flag.StringVar(&o.granary, "granary", "", "granary binary for the workers (default: built from this module into a temp dir)")
	flag.StringVar(&o.spec, "spec", filepath.Join("examples", "shop", "features.yaml"), "feature spec (extract, build): the example's datasets, view and set")
	flag.BoolVar(&o.keep, "keep", false, "keep the temp dir (CSVs, worker logs, MinIO data) and print its path")
	flag.Parse()
	o.kind = crashtest.Kind(*workflow)
	if o.kind.Steps() == nil {
		fmt.Fprintf(os.Stderr, "crash: -workflow %q: use import, extract or build\n", *workflow)
		os.Exit(2)
	}
	if o.rows == 0 {
		o.rows = 2_000_000
	}
	if !flagSet("kills") {
		o.kills = 5
		if o.kind != crashtest.Import {
			o.kills = len(o.kind.Phases())
		}
	}
	if o.rows <= 0 || o.kills < 0 || o.files <= 0 || o.shards <= 0 || (o.kind == crashtest.Build && (o.spineRows <= 0 || o.spineFiles <= 0)) {
		fmt.Fprintln(os.Stderr, "crash: -rows, -files, -shards, -spine-rows and -spine-files must be positive and -kills not negative")
		os.Exit(2)
	}
	if o.seed == 0 {
		o.seed = uint64(time.Now().UnixNano())
	}
	if o.maxDelay == 0 {
		if o.kind == crashtest.Import {
			o.maxDelay = time.Duration(float64(700*time.Millisecond) * float64(o.rows) / 200_000)
		} else {
			o.maxDelay = time.Duration(float64(time.Second) * float64(o.rows) / 500_000)
		}
	}
	if o.kind != crashtest.Import {
		abs, err := filepath.Abs(o.spec)
		if err != nil {
			log.Fatal(err)
		}
		o.spec = abs
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	rep, err := run(ctx, o)
	if err != nil {
		log.Printf("crash: %v", err)
		rep.Failures = append(rep.Failures, err.Error())
	}
	rep.OK = len(rep.Failures) == 0
	enc := json.NewEncoder(os.Stdout)
	enc.SetIndent("", "  ")
	_ = enc.Encode(rep)
	if !rep.OK {
		os.Exit(1)
	}
}

func flagSet(name string) bool {
	set := false
	flag.Visit(func(f *flag.Flag) { set = set || f.Name == name })
	return set
}

func run(ctx context.Context, o options) (*report, error) {
	rep := &report{Workflow: string(o.kind), Rows: o.rows, Seed: o.seed, started: time.Now()}
	if o.kind != crashtest.Import {
		rep.Files, rep.Shards = o.files, o.shards
		if o.kind == crashtest.Build {
			rep.SpineRows = o.spineRows
		}
	}
	log.SetFlags(log.Ltime | log.Lmicroseconds)
	log.Printf("crash: %s, %d rows, %d kills, seed %d (-seed %d replays the schedule), delays %v..%v", o.kind, o.rows, o.kills, o.seed, o.seed, o.minDelay, o.maxDelay)
	dir, err := os.MkdirTemp("", "granary-crash-bench-")
	if err != nil {
		return rep, err
	}
	if o.keep {
		log.Printf("crash: keeping %s", dir)
	} else {
		defer os.RemoveAll(dir)
	}
	for _, d := range []string{"bin", "data", "minio", "logs-uninterrupted", "logs-kills", "tmp"} {
		if err := os.MkdirAll(filepath.Join(dir, d), 0o755); err != nil {
			return rep, err
		}
	}

	if o.granary == "" {
		log.Printf("crash: building granary")
		if o.granary, err = crashtest.BuildGranary(ctx, filepath.Join(dir, "bin")); err != nil {
			return rep, err
		}
	}
	b := &bench{o: o, dir: dir, rng: rand.New(rand.NewPCG(o.seed, o.seed>>1|1))}
	if o.kind == crashtest.Import {
		b.csv = filepath.Join(dir, "data", "rows.csv")
		if rep.CSVBytes, err = crashtest.WriteCSV(b.csv, o.rows); err != nil {
			return rep, err
		}
		log.Printf("crash: wrote %s (%.1f MB)", b.csv, float64(rep.CSVBytes)/1e6)
	} else {
		spineFiles, spineRows := 0, 0
		if o.kind == crashtest.Build {
			spineFiles, spineRows = o.spineFiles, o.spineRows/o.spineFiles
		}
		if b.data, err = crashtest.WriteFeatureData(filepath.Join(dir, "data"), o.files, o.rows/o.files, spineFiles, spineRows); err != nil {
			return rep, err
		}
		rep.CSVBytes = b.data.Bytes()
		t := b.data.Totals()
		rep.Rows = int(t.Rows)
		log.Printf("crash: wrote %d orders (%d kept by the view's filter) in %d files and %d labels in %d files (%.1f MB)",
			t.Rows, t.Kept, len(b.data.Orders), b.data.SpineRows(), len(b.data.Spine), float64(rep.CSVBytes)/1e6)
	}

	mlog, err := os.Create(filepath.Join(dir, "minio.log"))
	if err != nil {
		return rep, err
	}
	defer mlog.Close()
	if b.minio, err = devstack.StartMinio(ctx, devstack.MinioOptions{DataDir: filepath.Join(dir, "minio"), Log: mlog}); err != nil {
		return rep, err
	}
	defer b.minio.Stop()
	if err := b.minio.EnsureBucket(ctx, bucket); err != nil {
		return rep, err
	}
	// The in-process CLI uploads the CSVs with these.
	os.Setenv("AWS_ACCESS_KEY_ID", b.minio.AccessKey())
	os.Setenv("AWS_SECRET_ACCESS_KEY", b.minio.SecretKey())

	log.Printf("crash: uninterrupted %s", o.kind)
	var errs []string
	if rep.Uninterrupted, err = b.run(ctx, "uninterrupted", 0); err != nil {
		errs = append(errs, "uninterrupted: "+err.Error())
	}
	log.Printf("crash: %s with %d kills", o.kind, o.kills)
	if rep.WithKills, err = b.run(ctx, "kills", o.kills); err != nil {
		errs = append(errs, "with kills: "+err.Error())
	}
	rep.SameVersion = rep.Uninterrupted.Version != "" && rep.Uninterrupted.Version == rep.WithKills.Version
	if !rep.SameVersion {
		errs = append(errs, fmt.Sprintf("version ids differ: uninterrupted %q, with kills %q", rep.Uninterrupted.Version, rep.WithKills.Version))
	}
	for _, r := range []runReport{rep.Uninterrupted, rep.WithKills} {
		for _, v := range r.ReaderViolations {
			errs = append(errs, "reader: "+v)
		}
	}
	rep.Overhead = rep.WithKills.Seconds - rep.Uninterrupted.Seconds
	rep.Failures = append(rep.Failures, errs...)
	printSummary(rep)
	return rep, nil
}

type bench struct {
	o     options
	minio *devstack.Minio
	dir   string
	csv   string                // import
	data  crashtest.FeatureData // extract, build
	rng   *rand.Rand
	// typical are the steps' durations in the uninterrupted run: targeted
	// kills spread over them (unless -max-delay is given).
	typical map[string]time.Duration
}

// run runs the workflow on a fresh Temporal server (so the second run
// does not attach to the first: workflow ids derive from the input) into
// the lake prefix name, preparing its inputs first for extract and build.
func (b *bench) run(ctx context.Context, name string, kills int) (runReport, error) {
	var rr runReport
	serverLog, err := os.Create(filepath.Join(b.dir, "logs-"+name, "temporal.log"))
	if err != nil {
		return rr, err
	}
	defer serverLog.Close()
	srv, err := devstack.StartTemporal(ctx, devstack.TemporalOptions{SearchAttributes: workflows.SearchAttributeNames(), Log: serverLog})
	if err != nil {
		return rr, err
	}
	defer srv.Stop()
	tc, err := client.Dial(client.Options{HostPort: srv.Address(), Namespace: srv.Namespace(), Logger: tlog.NewStructuredLogger(slog.New(slog.DiscardHandler))})
	if err != nil {
		return rr, err
	}
	defer tc.Close()
	lakeURL := fmt.Sprintf("s3://%s/%s?endpoint=%s&secure=false", bucket, name, b.minio.Endpoint())
	store, err := s3store.New(ctx, s3store.Options{
		Endpoint: b.minio.Endpoint(), Bucket: bucket, Prefix: name,
		Credentials: credentials.NewStaticV4(b.minio.AccessKey(), b.minio.SecretKey(), ""),
	})
	if err != nil {
		return rr, err
	}
	workers := crashtest.NewWorkers(crashtest.WorkerOptions{
		Binary: b.o.granary, TemporalAddress: srv.Address(), Namespace: srv.Namespace(), Lake: lakeURL,
		Env: []string{
			"AWS_ACCESS_KEY_ID=" + b.minio.AccessKey(), "AWS_SECRET_ACCESS_KEY=" + b.minio.SecretKey(),
			"TMPDIR=" + filepath.Join(b.dir, "tmp"),
		},
		LogDir: filepath.Join(b.dir, "logs-"+name),
	})
	defer workers.Close(5 * time.Second)
	flags := []string{"granary", "--temporal-address", srv.Address(), "--namespace", srv.Namespace(), "--lake", lakeURL, "--output", "json"}
	granary := func(ctx context.Context, args ...string) ([]byte, error) {
		var stdout, stderr strings.Builder
		if code := cli.Run(ctx, append(flags, args...), cli.Options{Stdin: strings.NewReader(""), Stdout: &stdout, Stderr: &stderr}); code != 0 {
			return nil, fmt.Errorf("granary %s: exit %d: %s", strings.Join(args, " "), code, strings.TrimSpace(stderr.String()))
		}
		return []byte(stdout.String()), nil
	}

	sc := crashtest.Scenario{
		Client: tc, Workers: workers, Lake: lake.New(store),
		Kills: kills, MinDelay: b.o.minDelay, MaxDelay: b.o.maxDelay, Rand: b.rng,
		Steps:         b.o.kind.Steps(),
		ProgressQuery: workflows.ProgressQuery,
		Timeout:       30 * time.Minute,
		Logf:          log.Printf,
	}
	inputRows := int64(b.o.rows)
	if b.o.kind == crashtest.Import {
		sc.Dataset, sc.Rows = dataset, int64(b.o.rows)
		sc.Before, sc.LastBefore = "ComputeStats", "MoveRefs"
		sc.Start = func(ctx context.Context) (string, error) {
			out, err := granary(ctx, "dataset", "import", dataset, b.csv)
			if err != nil {
				return "", err
			}
			var res struct {
				WorkflowID string `json:"workflow_id"`
			}
			if err := json.Unmarshal(out, &res); err != nil {
				return "", fmt.Errorf("import output: %v: %s", err, out)
			}
			return res.WorkflowID, nil
		}
	} else {
		w := crashtest.Workload{Kind: b.o.kind, Data: b.data, Spec: b.o.spec, Shards: b.o.shards, Run: granary}
		if sc.Worker, err = workers.Start(); err != nil {
			return rr, err
		}
		log.Printf("crash: %s: preparing the inputs (uninterrupted)", name)
		began := time.Now()
		if _, err := w.Prepare(ctx); err != nil {
			return rr, fmt.Errorf("prepare: %w", err)
		}
		rr.PrepareSeconds = time.Since(began).Seconds()
		sc.Dataset, sc.Rows = w.Dataset(), w.Rows()
		sc.Targets = crashtest.PickTargets(b.rng, b.o.kind.Phases(), kills)
		if b.typical != nil && !flagSet("max-delay") && !flagSet("min-delay") {
			sc.Targets = crashtest.Spread(sc.Targets, b.typical)
		}
		sc.Start = func(ctx context.Context) (string, error) {
			id, _, _, err := w.Launch(ctx, false)
			return id, err
		}
		if b.o.kind == crashtest.Build {
			inputRows = b.data.SpineRows()
		}
	}
	out, err := sc.Run(ctx)
	rr.Version, rr.Created, rr.Rows = out.Version, out.Created, out.Rows
	rr.Seconds = out.Elapsed.Seconds()
	rr.WorkflowSeconds = out.Workflow.Seconds()
	if rr.Seconds > 0 {
		rr.RowsPerS = float64(inputRows) / rr.Seconds
	}
	for _, k := range out.Kills {
		rr.Kills = append(rr.Kills, k.String())
		target := k.Target
		if target == "" {
			target = "random"
		}
		rr.KilledIn = append(rr.KilledIn, target+" -> "+k.Where())
	}
	rr.Workers = workers.Count()
	rr.ReaderBefore, rr.ReaderAfter, rr.ReaderViolations = out.Reader.Before, out.Reader.After, out.Reader.Violations
	if out.WorkflowID != "" {
		if steps, err := crashtest.Timeline(ctx, tc, out.WorkflowID); err == nil {
			for _, s := range steps {
				rr.Steps = append(rr.Steps, s.String())
			}
			if kills == 0 {
				b.typical = crashtest.Typical(steps)
			}
		}
	}
	if err != nil {
		rr.Error = err.Error()
		return rr, err
	}
	if out.Rows != sc.Rows {
		return rr, fmt.Errorf("committed %d rows, want %d", out.Rows, sc.Rows)
	}
	return rr, nil
}

func printSummary(rep *report) {
	w := os.Stderr
	what := fmt.Sprintf("%d rows (%.1f MB CSV)", rep.Rows, float64(rep.CSVBytes)/1e6)
	switch rep.Workflow {
	case string(crashtest.Extract):
		what = fmt.Sprintf("%d orders in %d files (%.1f MB CSV), %d shards", rep.Rows, rep.Files, float64(rep.CSVBytes)/1e6, rep.Shards)
	case string(crashtest.Build):
		what = fmt.Sprintf("%d labels over %d orders in %d files (%.1f MB CSV), %d shards", rep.SpineRows, rep.Rows, rep.Files, float64(rep.CSVBytes)/1e6, rep.Shards)
	}
	fmt.Fprintf(w, "\ncrash-safety bench, %s: %s, seed %d\n", rep.Workflow, what, rep.Seed)
	for _, r := range []struct {
		name string
		r    runReport
	}{{"uninterrupted", rep.Uninterrupted}, {fmt.Sprintf("%d kills", len(rep.WithKills.Kills)), rep.WithKills}} {
		fmt.Fprintf(w, "  %-14s %8.1fs  (workflow %6.1fs)  %9.0f rows/s  version %s (created %v, %d rows)  workers %d  reader %d before / %d after, %d violations\n",
			r.name, r.r.Seconds, r.r.WorkflowSeconds, r.r.RowsPerS, lake.ShortID(r.r.Version), r.r.Created, r.r.Rows, r.r.Workers, r.r.ReaderBefore, r.r.ReaderAfter, len(r.r.ReaderViolations))
		for _, s := range r.r.Steps {
			fmt.Fprintf(w, "      %s\n", s)
		}
	}
	for _, k := range rep.WithKills.Kills {
		fmt.Fprintf(w, "    %s\n", k)
	}
	if len(rep.WithKills.KilledIn) > 0 {
		fmt.Fprintf(w, "  kills landed: %s\n", strings.Join(rep.WithKills.KilledIn, "; "))
	}
	fmt.Fprintf(w, "  kills cost %.1fs; same version: %v; total %v\n", rep.Overhead, rep.SameVersion, time.Since(rep.started).Round(time.Second))
	for _, f := range rep.Failures {
		fmt.Fprintf(w, "  FAIL: %s\n", f)
	}
}
