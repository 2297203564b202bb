// Command crash measures what worker crashes cost an import, against the
// real Temporal dev server and MinIO (started from bin/, as the tests do):
//
//  1. uninterrupted: one `granary worker` process, one import of a
//     generated CSV, on a fresh Temporal server and its own lake prefix;
//  2. with kills: the same import on another fresh server and prefix,
//     while the worker process is SIGKILLed -kills times at random moments
//     and restarted after each kill (internal/crashtest, the same driver
//     as cli/crash_test.go).
//
// A reader polls each lake throughout and must never see a partial
// version, and both runs must produce the same version id. The summary
// (times, rows/s, each kill and the step it hit) goes to stderr, one JSON
// object to stdout; the exit code is 1 if any check failed.
//
//	GRANARY_BIN_DIR=$PWD/bin go run ./bench/crash -rows 2000000 -kills 5
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
	dataset = "crashy"
	bucket  = "crash"
)

type runReport struct {
	Version          string   `json:"version"`
	Created          bool     `json:"created"` // what the workflow reported (false would say the version pre-existed)
	Seconds          float64  `json:"seconds"`          // launch of the import to its result
	WorkflowSeconds  float64  `json:"workflow_seconds"` // the server's start-to-close
	RowsPerS         float64  `json:"rows_per_s"`
	Kills            []string `json:"kills,omitempty"`
	Workers          int      `json:"workers"`
	ReaderBefore     int      `json:"reader_before"`
	ReaderAfter      int      `json:"reader_after"`
	ReaderViolations []string `json:"reader_violations,omitempty"`
	Error            string   `json:"error,omitempty"`
}

type report struct {
	Rows          int       `json:"rows"`
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

func main() {
	rows := flag.Int("rows", 2_000_000, "rows of the generated CSV")
	kills := flag.Int("kills", 5, "SIGKILLs of the worker during the second import")
	seed := flag.Uint64("seed", 0, "kill schedule seed (0: time-based; printed either way)")
	minDelay := flag.Duration("min-delay", 20*time.Millisecond, "shortest wait between a worker getting work and its kill")
	maxDelay := flag.Duration("max-delay", 0, "longest such wait (default: 0.7s per 200k rows, about half the whole import)")
	granary := flag.String("granary", "", "granary binary for the workers (default: built from this module into a temp dir)")
	keep := flag.Bool("keep", false, "keep the temp dir (CSV, worker logs, MinIO data) and print its path")
	flag.Parse()
	if *rows <= 0 || *kills < 0 {
		fmt.Fprintln(os.Stderr, "crash: -rows must be positive and -kills not negative")
		os.Exit(2)
	}
	if *seed == 0 {
		*seed = uint64(time.Now().UnixNano())
	}
	if *maxDelay == 0 {
		*maxDelay = time.Duration(float64(700*time.Millisecond) * float64(*rows) / 200_000)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	rep, err := run(ctx, *rows, *kills, *seed, *minDelay, *maxDelay, *granary, *keep)
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

func run(ctx context.Context, rows, kills int, seed uint64, minDelay, maxDelay time.Duration, granary string, keep bool) (*report, error) {
	rep := &report{Rows: rows, Seed: seed, started: time.Now()}
	log.SetFlags(log.Ltime | log.Lmicroseconds)
	log.Printf("crash: %d rows, %d kills, seed %d (-seed %d replays the schedule), delays %v..%v", rows, kills, seed, seed, minDelay, maxDelay)
	dir, err := os.MkdirTemp("", "granary-crash-bench-")
	if err != nil {
		return rep, err
	}
	if keep {
		log.Printf("crash: keeping %s", dir)
	} else {
		defer os.RemoveAll(dir)
	}
	for _, d := range []string{"bin", "minio", "logs-uninterrupted", "logs-kills", "tmp"} {
		if err := os.MkdirAll(filepath.Join(dir, d), 0o755); err != nil {
			return rep, err
		}
	}

	if granary == "" {
		log.Printf("crash: building granary")
		if granary, err = crashtest.BuildGranary(ctx, filepath.Join(dir, "bin")); err != nil {
			return rep, err
		}
	}
	csvPath := filepath.Join(dir, "rows.csv")
	if rep.CSVBytes, err = crashtest.WriteCSV(csvPath, rows); err != nil {
		return rep, err
	}
	log.Printf("crash: wrote %s (%.1f MB)", csvPath, float64(rep.CSVBytes)/1e6)

	mlog, err := os.Create(filepath.Join(dir, "minio.log"))
	if err != nil {
		return rep, err
	}
	defer mlog.Close()
	minio, err := devstack.StartMinio(ctx, devstack.MinioOptions{DataDir: filepath.Join(dir, "minio"), Log: mlog})
	if err != nil {
		return rep, err
	}
	defer minio.Stop()
	if err := minio.EnsureBucket(ctx, bucket); err != nil {
		return rep, err
	}
	// The in-process CLI uploads the CSV with these.
	os.Setenv("AWS_ACCESS_KEY_ID", minio.AccessKey())
	os.Setenv("AWS_SECRET_ACCESS_KEY", minio.SecretKey())

	b := bench{
		minio: minio, granary: granary, csv: csvPath, rows: rows, dir: dir,
		minDelay: minDelay, maxDelay: maxDelay,
		rng: rand.New(rand.NewPCG(seed, seed>>1|1)),
	}
	log.Printf("crash: uninterrupted import")
	var errs []string
	if rep.Uninterrupted, err = b.run(ctx, "uninterrupted", 0); err != nil {
		errs = append(errs, "uninterrupted: "+err.Error())
	}
	log.Printf("crash: import with %d kills", kills)
	if rep.WithKills, err = b.run(ctx, "kills", kills); err != nil {
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
	minio              *devstack.Minio
	granary, csv, dir  string
	rows               int
	minDelay, maxDelay time.Duration
	rng                *rand.Rand
}

// run imports the CSV on a fresh Temporal server (so the second run does
// not attach to the first: workflow ids derive from the input) into the
// lake prefix name.
func (b bench) run(ctx context.Context, name string, kills int) (runReport, error) {
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
		Binary: b.granary, TemporalAddress: srv.Address(), Namespace: srv.Namespace(), Lake: lakeURL,
		Env: []string{
			"AWS_ACCESS_KEY_ID=" + b.minio.AccessKey(), "AWS_SECRET_ACCESS_KEY=" + b.minio.SecretKey(),
			"TMPDIR=" + filepath.Join(b.dir, "tmp"),
		},
		LogDir: filepath.Join(b.dir, "logs-"+name),
	})
	defer workers.Close(5 * time.Second)
	flags := []string{"granary", "--temporal-address", srv.Address(), "--namespace", srv.Namespace(), "--lake", lakeURL, "--output", "json"}
	out, err := crashtest.Scenario{
		Client: tc, Workers: workers, Lake: lake.New(store), Dataset: dataset, Rows: int64(b.rows),
		Start: func(ctx context.Context) (string, error) {
			var stdout, stderr strings.Builder
			if code := cli.Run(ctx, append(flags, "dataset", "import", dataset, b.csv), cli.Options{Stdin: strings.NewReader(""), Stdout: &stdout, Stderr: &stderr}); code != 0 {
				return "", fmt.Errorf("granary dataset import: exit %d: %s", code, strings.TrimSpace(stderr.String()))
			}
			var res struct {
				WorkflowID string `json:"workflow_id"`
			}
			if err := json.Unmarshal([]byte(stdout.String()), &res); err != nil {
				return "", fmt.Errorf("import output: %v: %s", err, stdout.String())
			}
			return res.WorkflowID, nil
		},
		Kills: kills, MinDelay: b.minDelay, MaxDelay: b.maxDelay, Rand: b.rng,
		Steps:  []string{"InferSchema", "ConvertSource", "ComputeStats", "CommitVersion", "MoveRefs"},
		Before: "ComputeStats", LastBefore: "MoveRefs",
		ProgressQuery: workflows.ProgressQuery,
		Timeout:       30 * time.Minute,
		Logf:          log.Printf,
	}.Run(ctx)
	rr.Version, rr.Created = out.Version, out.Created
	rr.Seconds = out.Elapsed.Seconds()
	rr.WorkflowSeconds = out.Workflow.Seconds()
	if rr.Seconds > 0 {
		rr.RowsPerS = float64(b.rows) / rr.Seconds
	}
	for _, k := range out.Kills {
		rr.Kills = append(rr.Kills, k.String())
	}
	rr.Workers = workers.Count()
	rr.ReaderBefore, rr.ReaderAfter, rr.ReaderViolations = out.Reader.Before, out.Reader.After, out.Reader.Violations
	if err != nil {
		rr.Error = err.Error()
		return rr, err
	}
	if out.Rows != int64(b.rows) {
		return rr, fmt.Errorf("imported %d rows, want %d", out.Rows, b.rows)
	}
	return rr, nil
}

func printSummary(rep *report) {
	w := os.Stderr
	fmt.Fprintf(w, "\ncrash-safety bench: %d rows (%.1f MB CSV), seed %d\n", rep.Rows, float64(rep.CSVBytes)/1e6, rep.Seed)
	for _, r := range []struct {
		name string
		r    runReport
	}{{"uninterrupted", rep.Uninterrupted}, {fmt.Sprintf("%d kills", len(rep.WithKills.Kills)), rep.WithKills}} {
		fmt.Fprintf(w, "  %-14s %8.1fs  (workflow %6.1fs)  %9.0f rows/s  version %s (created %v)  workers %d  reader %d before / %d after, %d violations\n",
			r.name, r.r.Seconds, r.r.WorkflowSeconds, r.r.RowsPerS, lake.ShortID(r.r.Version), r.r.Created, r.r.Workers, r.r.ReaderBefore, r.r.ReaderAfter, len(r.r.ReaderViolations))
	}
	for _, k := range rep.WithKills.Kills {
		fmt.Fprintf(w, "    %s\n", k)
	}
	fmt.Fprintf(w, "  kills cost %.1fs; same version: %v; total %v\n", rep.Overhead, rep.SameVersion, time.Since(rep.started).Round(time.Second))
	for _, f := range rep.Failures {
		fmt.Fprintf(w, "  FAIL: %s\n", f)
	}
}
