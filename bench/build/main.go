// Command build measures granary's training-set build engine
// (bench/build.sh), running what the ExtractFeatures and BuildTrainingData
// activities run, in process and without Temporal or a lake, on local
// files:
//
//  1. extract (PartitionSourceFile + SortShard): the raw events are
//     partitioned by the FNV-1a hash of user_id into -shards parts and each
//     shard is sorted by (user_id, ts) into a view shard file, -jobs shards
//     at a time. A product build reads views extracted earlier; this phase
//     is here because DuckDB starts from the same raw events;
//  2. partition_spine (PartitionSpine): the spine's (user_id, ts) are
//     partitioned with the same hash into the same shards, each row tagged
//     with its spine row id;
//  3. join (JoinShard, -jobs shards at a time): both sides of a shard are
//     loaded into tables, pitjoin.Join computes the features exactly at
//     each spine row's timestamp, and (row id, features) are written in row
//     id order;
//  4. assemble (Assemble): the spine is streamed in its own order and each
//     row takes its features from a k-way merge of the shard results; the
//     training set is written as one zstd parquet file.
//
// The lake uploads the activities do (PutBlobFile of parts, shards, join
// results, the output) are not included.
//
//	build gen -case full -spine 5000000 -events 20000000 -entities 100000 -dir DIR
//	build run -case full -dir DIR -out OUT.parquet
//
// Cases (feature view "f" over the events, no ttl):
//
//	full: count_7d (count, 7d), sum_30d (sum amount, 30d),
//	      max_30d (max amount, 30d), last_cat (last category)
//	asof: last_amount (last amount): an as-of join alone
//
// gen writes DIR/spine.parquet (row_id int64 0..n-1, user_id int64 with
// 0.1% null, ts timestamp) and DIR/events.parquet (user_id int64: event i
// belongs to entity 1 + i % entities, so every entity has events/entities
// rows; ts timestamp; amount float64, two decimals, 2% null; category
// string, 1% null). Timestamps fall on whole minutes of 2024, so events
// of one entity share timestamps (ties: the later source row wins
// `last`), spine rows meet events at exactly their time (included) and at
// exactly t - window (excluded).
package main

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"github.com/granaryml/granary/bench/internal/harness"
	"io"
	"math/rand/v2"
	"os"
	"path/filepath"
	"runtime"
	"runtime/debug"
	"runtime/pprof"
	"sync"
	"time"

	"github.com/granaryml/granary/features"
	"github.com/granaryml/granary/internal/pitjoin"
	"github.com/granaryml/granary/internal/shard"
	"github.com/granaryml/granary/internal/tabular"
)

var categories = []string{
	"books", "electronics", "garden", "toys", "grocery", "beauty", "sports",
	"automotive", "music", "movies", "office", "pets", "baby", "health",
	"jewelry", "shoes", "tools", "kitchen", "outdoor", "software", "games",
	"crafts", "travel", "home",
}

var spineSchema = tabular.Schema{Columns: []tabular.Column{
	{Name: "row_id", Type: tabular.Int64},
	{Name: "user_id", Type: tabular.Int64, Nullable: true},
	{Name: "ts", Type: tabular.Timestamp},
}}

var eventSchema = tabular.Schema{Columns: []tabular.Column{
	{Name: "user_id", Type: tabular.Int64},
	{Name: "ts", Type: tabular.Timestamp},
	{Name: "amount", Type: tabular.Float64, Nullable: true},
	{Name: "category", Type: tabular.String, Nullable: true},
}}

const viewName = "f"

func caseFeatures(c string) ([]features.Feature, error) {
	const day = 24 * time.Hour
	switch c {
	case "full":
		return []features.Feature{
			{Name: "count_7d", Agg: features.Count, Window: 7 * day},
			{Name: "sum_30d", Agg: features.Sum, Column: "amount", Window: 30 * day},
			{Name: "max_30d", Agg: features.Max, Column: "amount", Window: 30 * day},
			{Name: "last_cat", Agg: features.Last, Column: "category"},
		}, nil
	case "asof":
		return []features.Feature{{Name: "last_amount", Agg: features.Last, Column: "amount"}}, nil
	}
	return nil, fmt.Errorf("unknown case %q (full or asof)", c)
}

func main() {
	if len(os.Args) < 2 {
		fmt.Fprintln(os.Stderr, "usage: build gen|run [flags]")
		os.Exit(2)
	}
	switch os.Args[1] {
	case "gen":
		fs := flag.NewFlagSet("gen", flag.ExitOnError)
		spine := fs.Int64("spine", 5_000_000, "spine rows")
		events := fs.Int64("events", 20_000_000, "event rows")
		entities := fs.Int64("entities", 100_000, "entities (user_id 1..N)")
		seed := fs.Uint64("seed", 1, "random seed")
		dir := fs.String("dir", "", "output directory")
		check(fs.Parse(os.Args[2:]))
		if *dir == "" {
			fail("gen: -dir is required")
		}
		check(os.MkdirAll(*dir, 0o755))
		check(genEvents(filepath.Join(*dir, "events.parquet"), *events, *entities, *seed))
		check(genSpine(filepath.Join(*dir, "spine.parquet"), *spine, *entities, *seed))
	case "run":
		fs := flag.NewFlagSet("run", flag.ExitOnError)
		kase := fs.String("case", "full", "feature set: full or asof")
		dir := fs.String("dir", "", "directory with spine.parquet and events.parquet")
		out := fs.String("out", "", "output parquet file")
		shards := fs.Int("shards", 0, "shards (default: one per 2M events, as granary extract does)")
		jobs := fs.Int("jobs", 2, "sort and join activities at once (a worker runs up to --max-activities, default 4)")
		cpuprofile := fs.String("cpuprofile", "", "write one CPU profile per phase to `PREFIX`-PHASE.prof")
		check(fs.Parse(os.Args[2:]))
		if *dir == "" || *out == "" {
			fail("run: -dir and -out are required")
		}
		feats, err := caseFeatures(*kase)
		check(err)
		profPrefix = *cpuprofile
		rep, err := run(context.Background(), *kase, feats, *dir, *out, *shards, *jobs)
		check(err)
		enc := json.NewEncoder(os.Stdout)
		enc.SetIndent("", "  ")
		check(enc.Encode(rep))
	default:
		fail("unknown command " + os.Args[1])
	}
}

var base = time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC).UnixMicro()

const spanMinutes = 366 * 24 * 60

// writer streams generated rows into a canonical parquet file.
type writer struct {
	f  *os.File
	bw *bufio.Writer
	w  *tabular.BatchWriter
	b  *tabular.Batch
}

func newWriter(path string, s tabular.Schema) (*writer, error) {
	f, err := os.Create(path + ".tmp")
	if err != nil {
		return nil, err
	}
	bw := bufio.NewWriterSize(f, 1<<20)
	return &writer{f: f, bw: bw, w: tabular.NewBatchWriter(bw, s, tabular.WriterOptions{}), b: tabular.NewBatch(s)}, nil
}

func (w *writer) endRow() error {
	w.b.EndRow()
	if w.b.Full() {
		if err := w.w.Write(w.b); err != nil {
			return err
		}
		w.b.Reset()
	}
	return nil
}

func (w *writer) close(path string) error {
	defer os.Remove(path + ".tmp")
	if w.b.Len > 0 {
		if err := w.w.Write(w.b); err != nil {
			return err
		}
	}
	if _, _, err := w.w.Close(); err != nil {
		return err
	}
	if err := w.bw.Flush(); err != nil {
		return err
	}
	if err := w.f.Close(); err != nil {
		return err
	}
	return os.Rename(path+".tmp", path)
}

// cell is a one-value vector for Batch.AppendCell.
func intCell(x int64) *tabular.Vector { return &tabular.Vector{Type: tabular.Int64, Ints: []int64{x}} }
func floatCell(x float64) *tabular.Vector {
	return &tabular.Vector{Type: tabular.Float64, Floats: []float64{x}}
}

func genEvents(path string, n, entities int64, seed uint64) error {
	w, err := newWriter(path, eventSchema)
	if err != nil {
		return err
	}
	rng := rand.New(rand.NewPCG(seed, 1))
	iv, fv := intCell(0), floatCell(0)
	for i := range n {
		iv.Ints[0] = 1 + i%entities
		w.b.AppendCell(0, iv, 0)
		iv.Ints[0] = base + rng.Int64N(spanMinutes)*60_000_000
		w.b.AppendCell(1, iv, 0)
		if rng.IntN(50) == 0 {
			w.b.AppendNull(2)
		} else {
			fv.Floats[0] = float64(rng.Int64N(100_000)) / 100
			w.b.AppendCell(2, fv, 0)
		}
		if rng.IntN(100) == 0 {
			w.b.AppendNull(3)
		} else {
			w.b.AppendString(3, []byte(categories[rng.IntN(len(categories))]))
		}
		if err := w.endRow(); err != nil {
			return err
		}
	}
	return w.close(path)
}

func genSpine(path string, n, entities int64, seed uint64) error {
	w, err := newWriter(path, spineSchema)
	if err != nil {
		return err
	}
	rng := rand.New(rand.NewPCG(seed, 2))
	iv := intCell(0)
	for i := range n {
		iv.Ints[0] = i
		w.b.AppendCell(0, iv, 0)
		if rng.IntN(1000) == 0 {
			w.b.AppendNull(1)
		} else {
			iv.Ints[0] = 1 + rng.Int64N(entities)
			w.b.AppendCell(1, iv, 0)
		}
		iv.Ints[0] = base + rng.Int64N(spanMinutes)*60_000_000
		w.b.AppendCell(2, iv, 0)
		if err := w.endRow(); err != nil {
			return err
		}
	}
	return w.close(path)
}

type phase struct {
	Seconds    float64 `json:"seconds"`
	PeakRSSMiB float64 `json:"peak_rss_mib"`
}

type report struct {
	Engine      string           `json:"engine"`
	Case        string           `json:"case"`
	Features    []string         `json:"features"`
	SpineRows   int64            `json:"spine_rows"`
	EventRows   int64            `json:"event_rows"`
	RowsBasis   int64            `json:"rows_basis"` // spine rows: the rate's numerator
	Shards      int              `json:"shards"`
	Jobs        int              `json:"jobs"`
	OutputRows  int64            `json:"output_rows"`
	OutputBytes int64            `json:"output_bytes"`
	Phases      map[string]phase `json:"phases"`
	PhaseOrder  []string         `json:"phase_order"`
	Seconds     float64          `json:"seconds"`       // all phases
	BuildSecs   float64          `json:"build_seconds"` // partition_spine + join + assemble: BuildTrainingData's share
	RowsPerS    float64          `json:"rows_per_s"`    // spine rows per second, all phases
	PeakRSSMiB  float64          `json:"peak_rss_mib"`  // the largest phase peak
	GOMAXPROCS  int              `json:"gomaxprocs"`
	GoVersion   string           `json:"go_version"`
	GOGC        string           `json:"gogc,omitempty"`
	GOMEMLIMIT  string           `json:"gomemlimit,omitempty"`
}

var profPrefix string

// timed runs one phase with its own VmHWM (reset before) and optional CPU
// profile.
func timed(rep *report, name string, f func() error) error {
	runtime.GC()
	debug.FreeOSMemory()
	_ = os.WriteFile("/proc/self/clear_refs", []byte("5"), 0)
	var pf *os.File
	if profPrefix != "" {
		var err error
		if pf, err = os.Create(profPrefix + "-" + name + ".prof"); err != nil {
			return err
		}
		if err := pprof.StartCPUProfile(pf); err != nil {
			return err
		}
	}
	t0 := time.Now()
	err := f()
	d := time.Since(t0).Seconds()
	if pf != nil {
		pprof.StopCPUProfile()
		pf.Close()
	}
	rep.Phases[name] = phase{Seconds: d, PeakRSSMiB: harness.PeakRSSMiB()}
	rep.PhaseOrder = append(rep.PhaseOrder, name)
	return err
}

func numRows(path string) (int64, error) {
	f, err := os.Open(path)
	if err != nil {
		return 0, err
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return 0, err
	}
	r, err := tabular.NewReader(f, st.Size())
	if err != nil {
		return 0, err
	}
	defer r.Close()
	return r.NumRows(), nil
}

func run(ctx context.Context, kase string, feats []features.Feature, dir, out string, shards, jobs int) (*report, error) {
	spinePath, eventsPath := filepath.Join(dir, "spine.parquet"), filepath.Join(dir, "events.parquet")
	nSpine, err := numRows(spinePath)
	if err != nil {
		return nil, err
	}
	nEvents, err := numRows(eventsPath)
	if err != nil {
		return nil, err
	}
	if shards <= 0 {
		shards = int(max(1, (nEvents+2_000_000-1)/2_000_000))
	}
	jobs = max(1, jobs)
	rep := &report{
		Engine: "granary", Case: kase, SpineRows: nSpine, EventRows: nEvents, RowsBasis: nSpine, Shards: shards, Jobs: jobs,
		Phases: map[string]phase{}, GOMAXPROCS: runtime.GOMAXPROCS(0), GoVersion: runtime.Version(),
		GOGC: os.Getenv("GOGC"), GOMEMLIMIT: os.Getenv("GOMEMLIMIT"),
	}
	for _, f := range feats {
		rep.Features = append(rep.Features, fmt.Sprintf("%s=%s(%s,%s)", f.Name, f.Agg, f.Column, f.Window))
	}
	work, err := os.MkdirTemp(filepath.Dir(filepath.Clean(out)), "granary-build-work-*")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(work)

	// The view holds what ExtractFeatures keeps (features.Spec.ViewColumns):
	// the key, the time and the columns the features aggregate, in source
	// order; key and time non-nullable.
	viewSchema, keyCols, timeCol := pitjoin.NeededColumns(eventSchema, []int{0}, 1, feats)
	viewSchema.Columns = append([]tabular.Column(nil), viewSchema.Columns...)
	viewSchema.Columns[keyCols[0]].Nullable, viewSchema.Columns[timeCol].Nullable = false, false

	// 1. Extraction of the view (no filter).
	viewFiles := make([]string, shards)
	err = timed(rep, "extract", func() error {
		src, err := os.Open(eventsPath)
		if err != nil {
			return err
		}
		defer src.Close()
		st, _ := src.Stat()
		partDir := filepath.Join(work, "event-parts")
		if err := os.MkdirAll(partDir, 0o755); err != nil {
			return err
		}
		parts, _, err := shard.Partition(ctx, src, st.Size(), shard.PartitionOptions{
			Columns: viewSchema.Names(), KeyCols: keyCols, TimeCol: timeCol, Shards: shards, Dir: partDir,
		}, nil)
		if err != nil {
			return err
		}
		byShard := make([][]shard.Part, shards)
		for _, p := range parts {
			byShard[p.Shard] = append(byShard[p.Shard], p)
		}
		return parallel(shards, jobs, func(s int) error {
			if len(byShard[s]) == 0 {
				return nil
			}
			viewFiles[s] = filepath.Join(work, fmt.Sprintf("view-shard-%05d.parquet", s))
			_, _, err := harness.SortShardFile(ctx, viewSchema, byShard[s], keyCols, timeCol, viewFiles[s])
			return err
		})
	})
	if err != nil {
		return nil, fmt.Errorf("extract: %w", err)
	}

	// 2. PartitionSpine: (user_id, ts) + row id, nulls kept (shard 0).
	spineParts := make([][]shard.Part, shards)
	const rowIDColumn = "__granary_row"
	err = timed(rep, "partition_spine", func() error {
		src, err := os.Open(spinePath)
		if err != nil {
			return err
		}
		defer src.Close()
		st, _ := src.Stat()
		partDir := filepath.Join(work, "spine-parts")
		if err := os.MkdirAll(partDir, 0o755); err != nil {
			return err
		}
		parts, _, err := shard.Partition(ctx, src, st.Size(), shard.PartitionOptions{
			Columns: []string{"user_id", "ts"}, KeyCols: []int{0}, TimeCol: 1, Shards: shards, Dir: partDir,
			RowID: rowIDColumn, RowIDBase: 0, KeepNulls: true,
		}, nil)
		for _, p := range parts {
			spineParts[p.Shard] = append(spineParts[p.Shard], p)
		}
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("partition spine: %w", err)
	}

	// 3. JoinShard per shard.
	partSchema := tabular.Schema{Columns: []tabular.Column{
		spineSchema.Columns[1], spineSchema.Columns[2], {Name: rowIDColumn, Type: tabular.Int64},
	}}
	joined := make([]string, shards)
	var outputs []tabular.Column
	var outMu sync.Mutex
	err = timed(rep, "join", func() error {
		return parallel(shards, jobs, func(s int) error {
			if len(spineParts[s]) == 0 {
				return nil
			}
			joined[s] = filepath.Join(work, fmt.Sprintf("joined-%05d.parquet", s))
			cols, err := joinShard(ctx, partSchema, spineParts[s], viewSchema, viewFiles[s], feats, joined[s])
			outMu.Lock()
			outputs = cols
			outMu.Unlock()
			return err
		})
	})
	if err != nil {
		return nil, fmt.Errorf("join: %w", err)
	}

	// 4. Assemble.
	err = timed(rep, "assemble", func() error {
		var files []string
		for _, f := range joined {
			if f != "" {
				files = append(files, f)
			}
		}
		rows, n, err := assemble(ctx, spinePath, files, outputs, out)
		rep.OutputRows, rep.OutputBytes = rows, n
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("assemble: %w", err)
	}
	for name, p := range rep.Phases {
		rep.Seconds += p.Seconds
		if name != "extract" {
			rep.BuildSecs += p.Seconds
		}
		rep.PeakRSSMiB = max(rep.PeakRSSMiB, p.PeakRSSMiB)
	}
	rep.RowsPerS = float64(nSpine) / rep.Seconds
	if rep.OutputRows != nSpine {
		return nil, fmt.Errorf("%d output rows for %d spine rows", rep.OutputRows, nSpine)
	}
	return rep, nil
}

// parallel runs f(0..n-1), jobs at a time, and returns the first error.
func parallel(n, jobs int, f func(int) error) error {
	var (
		wg       sync.WaitGroup
		mu       sync.Mutex
		firstErr error
	)
	sem := make(chan struct{}, jobs)
	for i := range n {
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer wg.Done()
			defer func() { <-sem }()
			if err := f(i); err != nil {
				mu.Lock()
				if firstErr == nil {
					firstErr = err
				}
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	return firstErr
}

func writeFile(path string, f func(io.Writer) error) error {
	file, err := os.Create(path)
	if err != nil {
		return err
	}
	bw := bufio.NewWriterSize(file, 1<<20)
	err = f(bw)
	if err == nil {
		err = bw.Flush()
	}
	if cerr := file.Close(); err == nil {
		err = cerr
	}
	return err
}

func appendParquet(ctx context.Context, t *tabular.Table, path string) error {
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return err
	}
	return t.AppendParquet(ctx, f, st.Size())
}

// joinShard is activity JoinShard on local files: load both sides, join,
// write (row id, features) in row id order. It returns the feature columns
// as the plan declares them (nullable).
func joinShard(ctx context.Context, partSchema tabular.Schema, parts []shard.Part, viewSchema tabular.Schema, viewFile string, feats []features.Feature, out string) ([]tabular.Column, error) {
	spine := tabular.NewTable(partSchema)
	for _, p := range parts {
		if err := appendParquet(ctx, spine, p.Path); err != nil {
			return nil, err
		}
	}
	eventSchema, keyCols, timeCol := pitjoin.NeededColumns(viewSchema, []int{0}, 1, feats)
	events := tabular.NewTable(eventSchema)
	if viewFile != "" {
		if err := appendParquet(ctx, events, viewFile); err != nil {
			return nil, err
		}
	}
	res, err := pitjoin.Join(ctx, pitjoin.Options{
		Spine: spine, SpineTimeCol: 1,
		Views: []pitjoin.ViewInput{{
			Name: viewName, Features: feats, Events: events, KeyCols: keyCols, TimeCol: timeCol, SpineKeyCols: []int{0},
		}},
	})
	if err != nil {
		return nil, err
	}
	var outputs []tabular.Column
	for _, c := range res.Schema.Columns {
		c.Nullable = true // as PlanBuild declares every feature column
		outputs = append(outputs, c)
	}
	outSchema := tabular.Schema{Columns: append([]tabular.Column{{Name: "__granary_row", Type: tabular.Int64}}, outputs...)}
	err = writeFile(out, func(w io.Writer) error {
		_, err := res.WriteWithRowIDs(w, outSchema, spine.Column(2))
		return err
	})
	return outputs, err
}

// assemble is activity Assemble (one view, no split) on local files.
func assemble(ctx context.Context, spinePath string, joined []string, outputs []tabular.Column, out string) (rows, n int64, err error) {
	m, closeMerger, err := openMerger(joined)
	if err != nil {
		return 0, 0, err
	}
	defer closeMerger()
	f, err := os.Open(spinePath)
	if err != nil {
		return 0, 0, err
	}
	defer f.Close()
	st, _ := f.Stat()
	r, err := tabular.NewReader(f, st.Size())
	if err != nil {
		return 0, 0, err
	}
	defer r.Close()
	if err := r.Select(spineSchema.Names()); err != nil {
		return 0, 0, err
	}
	if err := r.ReadAhead(); err != nil {
		return 0, 0, err
	}
	schema := tabular.Schema{Columns: append(append([]tabular.Column(nil), r.Schema().Columns...), outputs...)}
	nSpine := len(spineSchema.Columns)
	err = writeFile(out, func(w io.Writer) error {
		bw := tabular.NewBatchWriter(w, schema, tabular.WriterOptions{})
		dst := tabular.NewBatch(schema)
		var pos int64
		for {
			if err := ctx.Err(); err != nil {
				return err
			}
			b, err := r.Next()
			if errors.Is(err, io.EOF) {
				break
			}
			if err != nil {
				return err
			}
			for i := 0; i < b.Len; i++ {
				id := pos // rowIDBase(0) + position
				pos++
				for c := 0; c < nSpine; c++ {
					dst.AppendCell(c, &b.Vectors[c], i)
				}
				jb, ji, err := m.Take(id)
				if err != nil {
					return err
				}
				for k := range outputs {
					dst.AppendCell(nSpine+k, &jb.Vectors[k+1], ji)
				}
				dst.EndRow()
				if dst.Full() {
					if err := bw.Write(dst); err != nil {
						return err
					}
					dst.Reset()
				}
			}
		}
		if dst.Len > 0 {
			if err := bw.Write(dst); err != nil {
				return err
			}
		}
		rows, n, err = bw.Close()
		return err
	})
	return rows, n, err
}

// openMerger opens local join-result files for shard.RowMerger; the
// returned close also closes the files.
func openMerger(paths []string) (*shard.RowMerger, func(), error) {
	var files []*os.File
	closeAll := func() {
		for _, f := range files {
			f.Close()
		}
	}
	var inputs []shard.Input
	for _, p := range paths {
		f, err := os.Open(p)
		if err != nil {
			closeAll()
			return nil, nil, err
		}
		files = append(files, f)
		st, err := f.Stat()
		if err != nil {
			closeAll()
			return nil, nil, err
		}
		inputs = append(inputs, shard.Input{R: f, Size: st.Size()})
	}
	m, err := shard.NewRowMerger(inputs)
	if err != nil {
		closeAll()
		return nil, nil, err
	}
	return m, func() { m.Close(); closeAll() }, nil
}

func check(err error) {
	if err != nil {
		fail(err.Error())
	}
}

func fail(msg string) {
	fmt.Fprintln(os.Stderr, "build:", msg)
	os.Exit(1)
}
