// Command extract measures granary's feature extraction engine
// (bench/extract.sh), running what the ExtractFeatures activities run, in
// process and without Temporal or a lake:
//
//  1. partition (activity PartitionSourceFile, one per source file):
//     shard.Partition over the source parquet with the view's columns, the
//     source filter compiled as activities/filter.go compiles it, rows with
//     a null key or timestamp dropped, FNV-1a key hash into -shards part
//     files;
//  2. sort (activity SortShard, one per shard, -jobs at a time as a worker
//     runs activities concurrently): shard.SortShard loads the shard's
//     parts, sorts by (user_id, ts) stably and writes the shard's zstd
//     parquet file (OUT/shard-NNNNN.parquet).
//
// Part and shard files are local files; the lake uploads the activities do
// (PutBlobFile of every part and shard) are not included.
//
//	extract gen -rows 10000000 -entities 1000000 -out src.parquet
//	extract run -in src.parquet -shards 5 -out DIR
//
// gen writes a deterministic source (same flags, same bytes) with the
// canonical parquet writer (tabular.BatchWriter): user_id int64 (0.1%
// null), ts timestamp (one year, second precision), amount float64 (two
// decimals, ~10% <= 0, 2% null), category string (24 labels).
//
// run prints one JSON object: row counts, per-phase wall time and peak RSS
// (VmHWM, reset between phases through /proc/self/clear_refs), overall
// VmHWM.
package main

import (
	"bufio"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"github.com/granaryml/granary/bench/internal/harness"
	"math/rand/v2"
	"os"
	"path/filepath"
	"runtime"
	"runtime/debug"
	"runtime/pprof"
	"sync"
	"time"

	"github.com/granaryml/granary/internal/shard"
	"github.com/granaryml/granary/internal/tabular"
)

var categories = []string{
	"books", "electronics", "garden", "toys", "grocery", "beauty", "sports",
	"automotive", "music", "movies", "office", "pets", "baby", "health",
	"jewelry", "shoes", "tools", "kitchen", "outdoor", "software", "games",
	"crafts", "travel", "home",
}

var sourceSchema = tabular.Schema{Columns: []tabular.Column{
	{Name: "user_id", Type: tabular.Int64, Nullable: true},
	{Name: "ts", Type: tabular.Timestamp},
	{Name: "amount", Type: tabular.Float64, Nullable: true},
	{Name: "category", Type: tabular.String},
}}

func main() {
	if len(os.Args) < 2 {
		fmt.Fprintln(os.Stderr, "usage: extract gen|run [flags]")
		os.Exit(2)
	}
	switch os.Args[1] {
	case "gen":
		fs := flag.NewFlagSet("gen", flag.ExitOnError)
		rows := fs.Int64("rows", 10_000_000, "source rows")
		entities := fs.Int64("entities", 1_000_000, "distinct user_id values")
		seed := fs.Uint64("seed", 1, "random seed")
		out := fs.String("out", "", "output parquet file")
		check(fs.Parse(os.Args[2:]))
		if *out == "" {
			fail("gen: -out is required")
		}
		check(generate(*out, *rows, *entities, *seed))
	case "run":
		fs := flag.NewFlagSet("run", flag.ExitOnError)
		in := fs.String("in", "", "source parquet file")
		out := fs.String("out", "", "output directory for shard files (emptied first)")
		shards := fs.Int("shards", 0, "shards (default: one per 2M source rows, as granary extract does)")
		jobs := fs.Int("jobs", 2, "sort activities at once (a worker runs up to --max-activities, default 4)")
		filter := fs.String("filter", "amount > 0", "source filter (expr-lang, as in a feature spec)")
		cpuprofile := fs.String("cpuprofile", "", "write a CPU profile of both phases to `FILE`")
		check(fs.Parse(os.Args[2:]))
		if *in == "" || *out == "" {
			fail("run: -in and -out are required")
		}
		var stop func()
		if *cpuprofile != "" {
			f, err := os.Create(*cpuprofile)
			check(err)
			check(pprof.StartCPUProfile(f))
			stop = func() { pprof.StopCPUProfile(); f.Close() }
		}
		rep, err := run(context.Background(), *in, *out, *shards, *jobs, *filter)
		if stop != nil {
			stop()
		}
		check(err)
		enc := json.NewEncoder(os.Stdout)
		enc.SetIndent("", "  ")
		check(enc.Encode(rep))
	default:
		fail("unknown command " + os.Args[1])
	}
}

// generate writes the source parquet. Every row's values come from one
// PCG stream, so the file depends on the flags only.
func generate(out string, rows, entities int64, seed uint64) error {
	f, err := os.Create(out + ".tmp")
	if err != nil {
		return err
	}
	defer os.Remove(out + ".tmp")
	bw := bufio.NewWriterSize(f, 1<<20)
	w := tabular.NewBatchWriter(bw, sourceSchema, tabular.WriterOptions{})
	rng := rand.New(rand.NewPCG(seed, 0x5eed))
	base := time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC).UnixMicro()
	const span = 365 * 24 * 3600
	const batch = 4096
	b := &tabular.Batch{Vectors: []tabular.Vector{
		{Type: tabular.Int64, Nulls: make([]bool, 0, batch), Ints: make([]int64, 0, batch)},
		{Type: tabular.Timestamp, Ints: make([]int64, 0, batch)},
		{Type: tabular.Float64, Nulls: make([]bool, 0, batch), Floats: make([]float64, 0, batch)},
		{Type: tabular.String, Offsets: make([]uint32, 1, batch+1)},
	}}
	for done := int64(0); done < rows; {
		n := int(min(batch, rows-done))
		v := b.Vectors
		v[0].Nulls, v[0].Ints = v[0].Nulls[:0], v[0].Ints[:0]
		v[1].Ints = v[1].Ints[:0]
		v[2].Nulls, v[2].Floats = v[2].Nulls[:0], v[2].Floats[:0]
		v[3].Bytes, v[3].Offsets = v[3].Bytes[:0], v[3].Offsets[:1]
		for range n {
			null := rng.IntN(1000) == 0
			v[0].Nulls = append(v[0].Nulls, null)
			u := 1 + rng.Int64N(entities)
			if null {
				u = 0
			}
			v[0].Ints = append(v[0].Ints, u)
			v[1].Ints = append(v[1].Ints, base+rng.Int64N(span)*1_000_000)
			null = rng.IntN(50) == 0
			amt := float64(rng.Int64N(100_000)-10_000) / 100 // cents, ~10% <= 0
			if null {
				amt = 0
			}
			v[2].Nulls = append(v[2].Nulls, null)
			v[2].Floats = append(v[2].Floats, amt)
			v[3].Bytes = append(v[3].Bytes, categories[rng.IntN(len(categories))]...)
			v[3].Offsets = append(v[3].Offsets, uint32(len(v[3].Bytes)))
		}
		b.Len = n
		if err := w.Write(b); err != nil {
			f.Close()
			return err
		}
		done += int64(n)
	}
	if _, _, err := w.Close(); err != nil {
		f.Close()
		return err
	}
	if err := bw.Flush(); err != nil {
		f.Close()
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}
	return os.Rename(out+".tmp", out)
}

type phase struct {
	Seconds    float64 `json:"seconds"`
	RowsPerS   float64 `json:"rows_per_s"` // source rows per second
	PeakRSSMiB float64 `json:"peak_rss_mib"`
}

type report struct {
	Engine       string           `json:"engine"`
	File         string           `json:"file"`
	InputBytes   int64            `json:"input_bytes"`
	Filter       string           `json:"filter"`
	Shards       int              `json:"shards"`
	Jobs         int              `json:"jobs"`
	RowsIn       int64            `json:"rows_in"`
	RowsOut      int64            `json:"rows_out"`
	DroppedNulls int64            `json:"dropped_nulls"`
	Filtered     int64            `json:"filtered"`
	MaxShardRows int64            `json:"max_shard_rows"`
	OutputBytes  int64            `json:"output_bytes"`
	Phases       map[string]phase `json:"phases"`
	PhaseOrder   []string         `json:"phase_order"`
	Seconds      float64          `json:"seconds"` // partition + sort
	RowsPerS     float64          `json:"rows_per_s"`
	PeakRSSMiB   float64          `json:"peak_rss_mib"` // the larger phase peak (VmHWM is reset between phases)
	GOMAXPROCS   int              `json:"gomaxprocs"`
	GoVersion    string           `json:"go_version"`
	GOGC         string           `json:"gogc,omitempty"`
	GOMEMLIMIT   string           `json:"gomemlimit,omitempty"`
}

func run(ctx context.Context, in, out string, shards, jobs int, filterExpr string) (*report, error) {
	st, err := os.Stat(in)
	if err != nil {
		return nil, err
	}
	src, err := os.Open(in)
	if err != nil {
		return nil, err
	}
	defer src.Close()
	if shards <= 0 {
		r, err := tabular.NewReader(src, st.Size())
		if err != nil {
			return nil, err
		}
		// cli/extract.go: one shard per 2M source rows.
		shards = int(max(1, (r.NumRows()+2_000_000-1)/2_000_000))
		r.Close()
	}
	jobs = max(1, jobs)
	rep := &report{
		Engine: "granary", File: in, InputBytes: st.Size(), Filter: filterExpr, Shards: shards, Jobs: jobs,
		Phases: map[string]phase{}, PhaseOrder: []string{"partition", "sort"}, GOMAXPROCS: runtime.GOMAXPROCS(0), GoVersion: runtime.Version(),
		GOGC: os.Getenv("GOGC"), GOMEMLIMIT: os.Getenv("GOMEMLIMIT"),
	}
	if err := os.RemoveAll(out); err != nil {
		return nil, err
	}
	if err := os.MkdirAll(out, 0o755); err != nil {
		return nil, err
	}
	tmp, err := os.MkdirTemp(filepath.Dir(filepath.Clean(out)), "granary-extract-parts-*")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(tmp)

	// The plan PlanExtract makes for a view with columns (user_id, ts,
	// amount, category), key user_id, timestamp ts: key and time columns
	// are non-nullable in the output.
	columns := sourceSchema.Names()
	keyCols, timeCol := []int{0}, 1
	viewSchema := tabular.Schema{Columns: append([]tabular.Column(nil), sourceSchema.Columns...)}
	viewSchema.Columns[0].Nullable = false
	viewSchema.Columns[1].Nullable = false

	var filter shard.FilterMaker
	if filterExpr != "" {
		if filter, err = shard.CompileFilter(filterExpr, viewSchema); err != nil {
			return nil, err
		}
	}

	// Phase 1: PartitionSourceFile (one source file).
	harness.ResetPeak()
	t0 := time.Now()
	parts, pst, err := shard.Partition(ctx, src, st.Size(), shard.PartitionOptions{
		Columns: columns, KeyCols: keyCols, TimeCol: timeCol, Filter: filter, Shards: shards, Dir: tmp,
	}, nil)
	if err != nil {
		return nil, err
	}
	d := time.Since(t0).Seconds()
	rep.Phases["partition"] = phase{Seconds: d, RowsPerS: float64(pst.RowsIn) / d, PeakRSSMiB: harness.PeakRSSMiB()}
	rep.RowsIn, rep.RowsOut, rep.DroppedNulls, rep.Filtered = pst.RowsIn, pst.RowsOut, pst.DroppedNulls, pst.Filtered

	// Phase 2: SortShard for every shard, jobs at a time. The workflow
	// hands each shard its parts in source-file order.
	byShard := map[int][]shard.Part{}
	for _, p := range parts {
		byShard[p.Shard] = append(byShard[p.Shard], p)
		rep.MaxShardRows = max(rep.MaxShardRows, p.Rows)
	}
	freeMemory()
	harness.ResetPeak()
	t0 = time.Now()
	var (
		mu       sync.Mutex
		firstErr error
		outBytes int64
		wg       sync.WaitGroup
	)
	sem := make(chan struct{}, jobs)
	for s := 0; s < shards; s++ {
		ps := byShard[s]
		if len(ps) == 0 {
			continue
		}
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer wg.Done()
			defer func() { <-sem }()
			_, n, err := harness.SortShardFile(ctx, viewSchema, ps, keyCols, timeCol, filepath.Join(out, fmt.Sprintf("shard-%05d.parquet", s)))
			mu.Lock()
			defer mu.Unlock()
			if err != nil && firstErr == nil {
				firstErr = err
			}
			outBytes += n
		}()
	}
	wg.Wait()
	if firstErr != nil {
		return nil, firstErr
	}
	d = time.Since(t0).Seconds()
	rep.Phases["sort"] = phase{Seconds: d, RowsPerS: float64(pst.RowsIn) / d, PeakRSSMiB: harness.PeakRSSMiB()}
	rep.OutputBytes = outBytes
	for _, p := range rep.Phases {
		rep.Seconds += p.Seconds
		rep.PeakRSSMiB = max(rep.PeakRSSMiB, p.PeakRSSMiB)
	}
	rep.RowsPerS = float64(rep.RowsIn) / rep.Seconds
	return rep, nil
}

// freeMemory returns the previous phase's garbage to the OS, so that the
// next phase's peak is its own.
func freeMemory() { runtime.GC(); debug.FreeOSMemory() }

func check(err error) {
	if err != nil {
		fail(err.Error())
	}
}

func fail(msg string) {
	fmt.Fprintln(os.Stderr, "extract:", msg)
	os.Exit(1)
}
