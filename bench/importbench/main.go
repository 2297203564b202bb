// Command importbench measures granary's import engine on one CSV file,
// running what the CommitDataset activities run for a one-file import, in
// the same order (-pass one, the default):
//
//  1. infer: tabular.InferCSVPrefix over the first 100,000 rows (activity
//     ConvertSource, which infers while converting);
//  2. convert: tabular.Convert with that schema and its NullOnly columns
//     into a local temp parquet file, then fsync (ConvertSource, before it
//     uploads the blob); statistics come from the conversion. Should a
//     later value not fit, the full inference and a second conversion run
//     and are timed too ("infer_full", "convert_again").
//
// With -pass two it runs the earlier flow instead: InferSchema over the
// whole input, the conversion, then "stats": NewStatsAccumulator +
// AddParquet over the written parquet (activity ComputeStats, which
// imports of several files still run). In both modes the stats pass also
// runs as a check that it equals the conversion's statistics; in one-pass
// mode it is not counted in the total.
//
// By default the input and output are local files, so the figures are the
// engine's alone. With -lake DIR it also does the lake I/O the product path
// does around the engine, on a fresh file:// lake under DIR (removed at
// exit): the CLI's upload of the CSV (lake.PutBlobFile), reading the source
// back from the lake (OpenBlob) for infer and convert, the upload of the
// parquet blob (PutBlobFile), and stats through lake.BlobReaderAt (one
// ranged Get per ReadAt, as ComputeStats does). Only Temporal is missing.
//
// It prints one JSON object on stdout. peak_rss_mib is this process's
// VmHWM at exit (Linux), i.e. the peak over all phases.
//
//	go run ./bench/importbench -in bench/out/x.csv -out bench/out/granary.parquet
package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"github.com/granaryml/granary/bench/internal/harness"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"runtime/pprof"
	"sync/atomic"
	"time"

	"github.com/granaryml/granary/internal/lake"
	"github.com/granaryml/granary/internal/objstore/filestore"
	"github.com/granaryml/granary/internal/tabular"
)

type phase struct {
	Seconds  float64 `json:"seconds"`
	RowsPerS float64 `json:"rows_per_s"`
	MBPerS   float64 `json:"mb_per_s"` // MB = 10^6 bytes of the phase's input
}

type report struct {
	Engine       string           `json:"engine"`
	Mode         string           `json:"mode"` // "local" or "lake"
	File         string           `json:"file"`
	Rows         int64            `json:"rows"`
	InputBytes   int64            `json:"input_bytes"`
	ParquetBytes int64            `json:"parquet_bytes"`
	RowGroups    int              `json:"row_groups"`
	Columns      []tabular.Column `json:"columns"`
	Phases       map[string]phase `json:"phases"`
	SyncSeconds  float64          `json:"sync_seconds"` // fsync of the parquet, part of convert (the activity does it too)
	Seconds      float64          `json:"seconds"`      // sum of the phases
	RowsPerS     float64          `json:"rows_per_s"`
	MBPerS       float64          `json:"mb_per_s"` // CSV MB (10^6 bytes) per second over all phases
	StatsReadAt  readAtCount      `json:"stats_readat"`
	PeakRSSMiB   float64          `json:"peak_rss_mib"`
	GOMAXPROCS   int              `json:"gomaxprocs"`
	GoVersion    string           `json:"go_version"`
	GOGC         string           `json:"gogc,omitempty"`
	GOMEMLIMIT   string           `json:"gomemlimit,omitempty"`
	// StatsMatch: ComputeStats over the parquet gave exactly the stats
	// Convert computed while converting.
	StatsMatch bool `json:"stats_match"`
	// Pass is "one" (infer from the first rows while converting) or "two".
	Pass string `json:"pass"`
}

type readAtCount struct {
	Calls int64 `json:"calls"`
	Bytes int64 `json:"bytes"`
}

var profDir string

func main() {
	in := flag.String("in", "", "CSV input file")
	out := flag.String("out", "", "parquet output file (default: a temp file, removed at exit)")
	pass := flag.String("pass", "one", "`one`: infer from the first rows while converting (the product's one-file import); two: infer over the whole input, convert, stats pass")
	lakeDir := flag.String("lake", "", "also do the product path's lake I/O, on a fresh file:// lake created under `DIR`")
	cpuprofile := flag.String("cpuprofile", "", "write a CPU profile of all phases to `FILE`")
	phaseProfiles := flag.String("phaseprofiles", "", "write one CPU profile per phase (infer.prof, convert.prof, stats.prof, ...) into `DIR`")
	memprofile := flag.String("memprofile", "", "write an allocation profile at exit to `FILE`")
	flag.Parse()
	if *in == "" {
		fmt.Fprintln(os.Stderr, "importbench: -in is required")
		os.Exit(2)
	}
	if *cpuprofile != "" && *phaseProfiles != "" {
		fmt.Fprintln(os.Stderr, "importbench: -cpuprofile and -phaseprofiles are exclusive (one CPU profile at a time)")
		os.Exit(2)
	}
	profDir = *phaseProfiles
	onePass = *pass != "two"
	if *cpuprofile != "" {
		f, err := os.Create(*cpuprofile)
		check(err)
		check(pprof.StartCPUProfile(f))
	}
	rep, err := run(context.Background(), *in, *out, *lakeDir)
	if *cpuprofile != "" {
		pprof.StopCPUProfile()
	}
	check(err)
	if *memprofile != "" {
		f, err := os.Create(*memprofile)
		check(err)
		check(pprof.Lookup("allocs").WriteTo(f, 0))
		check(f.Close())
	}
	rep.PeakRSSMiB = harness.PeakRSSMiB()
	enc := json.NewEncoder(os.Stdout)
	enc.SetIndent("", "  ")
	check(enc.Encode(rep))
}

func check(err error) {
	if err != nil {
		fmt.Fprintln(os.Stderr, "importbench:", err)
		os.Exit(1)
	}
}

// profile starts a per-phase CPU profile when -phaseprofiles is set and
// returns the function that stops it.
func profile(name string) func() {
	if profDir == "" {
		return func() {}
	}
	f, err := os.Create(filepath.Join(profDir, name+".prof"))
	check(err)
	check(pprof.StartCPUProfile(f))
	return func() {
		pprof.StopCPUProfile()
		check(f.Close())
	}
}

// stream hides everything but Read, as the activity's heartbeatReader does:
// the engine only gets a forward stream, so nothing can seek or map it.
type stream struct{ r io.Reader }

func (s stream) Read(p []byte) (int, error) { return s.r.Read(p) }

// countingReaderAt counts the ReadAt calls the parquet reader makes, which
// is what a ranged-Get ReaderAt (lake.RangeReader) pays for per call.
type countingReaderAt struct {
	r     io.ReaderAt
	calls atomic.Int64
	bytes atomic.Int64
}

func (c *countingReaderAt) ReadAt(p []byte, off int64) (int, error) {
	c.calls.Add(1)
	n, err := c.r.ReadAt(p, off)
	c.bytes.Add(int64(n))
	return n, err
}

// timer runs the phases and records their durations.
type timer struct {
	rep *report
	dur map[string]float64
}

func (t *timer) phase(name string, f func() error) error {
	stop := profile(name)
	t0 := time.Now()
	err := f()
	t.dur[name] = time.Since(t0).Seconds()
	stop()
	return err
}

// onePass selects the flow (see the package comment).
var onePass = true

func run(ctx context.Context, in, out, lakeDir string) (*report, error) {
	st, err := os.Stat(in)
	if err != nil {
		return nil, err
	}
	rep := &report{
		Engine: "granary", Mode: "local", File: in, InputBytes: st.Size(), Phases: map[string]phase{},
		GOMAXPROCS: runtime.GOMAXPROCS(0), GoVersion: runtime.Version(),
		GOGC: os.Getenv("GOGC"), GOMEMLIMIT: os.Getenv("GOMEMLIMIT"),
	}
	t := &timer{rep: rep, dur: map[string]float64{}}
	name := filepath.Base(in)

	// Where the CSV is read from: the local file, or its blob in the lake.
	openSource := func() (io.ReadCloser, error) { return os.Open(in) }
	var l *lake.Lake
	if lakeDir != "" {
		rep.Mode = "lake"
		if err := os.MkdirAll(lakeDir, 0o755); err != nil {
			return nil, err
		}
		root, err := os.MkdirTemp(lakeDir, "lake-*")
		if err != nil {
			return nil, err
		}
		if root, err = filepath.Abs(root); err != nil {
			return nil, err
		}
		defer os.RemoveAll(root)
		store, err := filestore.New(root)
		if err != nil {
			return nil, err
		}
		l = lake.New(store)
		var digest lake.Digest
		// The CLI's upload (cli.uploadSources).
		if err := t.phase("upload", func() error {
			d, _, _, err := l.PutBlobFile(ctx, in)
			digest = d
			return err
		}); err != nil {
			return nil, err
		}
		openSource = func() (io.ReadCloser, error) {
			rc, _, err := l.OpenBlob(ctx, digest)
			return rc, err
		}
	}

	// Format detection as activities.openSource does it: the first 4 KiB.
	src, err := openSource()
	if err != nil {
		return nil, err
	}
	head := make([]byte, 4096)
	n, _ := io.ReadFull(src, head)
	src.Close()
	format, err := tabular.DetectFormat(name, head[:n])
	if err != nil {
		return nil, err
	}

	// 1. infer
	var schema tabular.Schema
	var nullOnly []bool
	inferFull := func(phaseName string) error {
		return t.phase(phaseName, func() error {
			src, err := openSource()
			if err != nil {
				return err
			}
			defer src.Close()
			schema, err = tabular.InferSchema(ctx, stream{src}, tabular.ReadOptions{File: name, Format: format})
			return err
		})
	}
	if onePass && format == tabular.CSV {
		if err := t.phase("infer", func() error {
			src, err := openSource()
			if err != nil {
				return err
			}
			defer src.Close()
			p, err := tabular.InferCSVPrefix(ctx, stream{src}, name, 100_000)
			if err != nil {
				return err
			}
			schema = p.Schema
			if !p.Complete {
				nullOnly = p.NullOnly
			}
			return nil
		}); err != nil {
			return nil, err
		}
	} else if err := inferFull("infer"); err != nil {
		return nil, err
	}

	// 2. convert, into a temp file (or -out), fsynced as ConvertSource does.
	var pq *os.File
	if out == "" {
		pq, err = os.CreateTemp("", "importbench-*.parquet")
		if err != nil {
			return nil, err
		}
		defer os.Remove(pq.Name())
	} else if pq, err = os.Create(out); err != nil {
		return nil, err
	}
	defer pq.Close()
	var res tabular.Result
	convert := func(phaseName string) error {
		return t.phase(phaseName, func() error {
			src, err := openSource()
			if err != nil {
				return err
			}
			defer src.Close()
			if _, err := pq.Seek(0, io.SeekStart); err != nil {
				return err
			}
			if err := pq.Truncate(0); err != nil {
				return err
			}
			res, err = tabular.Convert(ctx, stream{src}, pq, tabular.ConvertOptions{
				File: name, Format: format, Schema: schema, NullOnly: nullOnly,
				Progress: func(int64) {},
			})
			if err != nil {
				return err
			}
			ts := time.Now()
			err = pq.Sync()
			rep.SyncSeconds = time.Since(ts).Seconds()
			return err
		})
	}
	if err := convert("convert"); err != nil {
		if nullOnly == nil || !(errors.Is(err, tabular.ErrSpeculation) || errors.Is(err, tabular.ErrBadInput)) {
			return nil, err
		}
		// The first rows' schema did not hold: what ConvertSource does next.
		nullOnly = nil
		if err := inferFull("infer_full"); err != nil {
			return nil, err
		}
		if err := convert("convert_again"); err != nil {
			return nil, err
		}
	}
	rep.Columns = schema.Columns
	rep.Rows, rep.ParquetBytes, rep.RowGroups = res.Rows, res.Bytes, res.RowGroups

	// The parquet blob's upload (ConvertSource's PutBlobFile).
	var blob lake.Digest
	if l != nil {
		if err := t.phase("put_blob", func() error {
			d, _, _, err := l.PutBlobFile(ctx, pq.Name())
			blob = d
			return err
		}); err != nil {
			return nil, err
		}
	}

	// 3. stats over the written parquet, as ComputeStats does: a fresh
	// ReaderAt on the blob (the local file, or lake.BlobReaderAt).
	acc := tabular.NewStatsAccumulator(schema)
	var cr *countingReaderAt
	if err := t.phase("stats", func() error {
		var ra io.ReaderAt
		var size int64
		if l != nil {
			rr, err := l.BlobReaderAt(ctx, blob)
			if err != nil {
				return err
			}
			ra, size = rr, rr.Size()
		} else {
			f, err := os.Open(pq.Name())
			if err != nil {
				return err
			}
			defer f.Close()
			fi, err := f.Stat()
			if err != nil {
				return err
			}
			ra, size = f, fi.Size()
		}
		cr = &countingReaderAt{r: ra}
		return acc.AddParquet(ctx, cr, size)
	}); err != nil {
		return nil, err
	}
	rep.StatsReadAt = readAtCount{Calls: cr.calls.Load(), Bytes: cr.bytes.Load()}
	a, _ := json.Marshal(acc.Stats())
	b, _ := json.Marshal(res.Stats)
	rep.StatsMatch = string(a) == string(b)

	rows := float64(rep.Rows)
	mb := float64(rep.InputBytes) / 1e6
	pqmb := float64(rep.ParquetBytes) / 1e6
	for name, s := range t.dur {
		in := mb
		if name == "stats" || name == "put_blob" {
			in = pqmb
		}
		rep.Phases[name] = phase{s, rows / s, in / s}
		if onePass && name == "stats" {
			continue // a check here: the one-file import takes the conversion's stats
		}
		rep.Seconds += s
	}
	rep.Pass = map[bool]string{true: "one", false: "two"}[onePass]
	rep.RowsPerS = rows / rep.Seconds
	rep.MBPerS = mb / rep.Seconds
	return rep, nil
}
