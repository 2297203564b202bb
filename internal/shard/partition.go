package shard

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"runtime"
	"sync"

	"github.com/granaryml/granary/internal/tabular"
)

// RowFilter decides whether row i of a batch (read with the source
// columns) is kept. It may keep scratch state, so each goroutine gets its
// own (see FilterMaker).
type RowFilter func(b *tabular.Batch, i int) (bool, error)

// FilterMaker makes a RowFilter for one goroutine: Partition calls it once
// per range of the source it reads at once.
type FilterMaker func() RowFilter

// PartitionOptions describe one map step: read a source file, keep the
// rows that pass, split them by key hash into shard part files.
type PartitionOptions struct {
	// Columns are read from the source in this order; the output has the
	// same columns (non-nullable where Required says so).
	Columns []string
	// KeyCols and TimeCol index Columns. Rows with a null key or a null
	// timestamp cannot be placed in time or on an entity and are dropped.
	KeyCols []int
	TimeCol int
	Filter  FilterMaker
	Shards  int
	Dir     string // where part files are written
	// RowGroupRows bounds part files' row groups; parts are re-read whole
	// by the sort step, so this only bounds the writer's buffers.
	RowGroupRows int
	// RowID, when set, names an extra last output column holding
	// RowIDBase + the row's position in the source file. Training builds
	// use it to put joined features back in spine order.
	RowID     string
	RowIDBase int64
	// KeepNulls sends rows with a null key or timestamp to shard 0 instead
	// of dropping them: a training build must still emit those spine rows
	// (with empty features).
	KeepNulls bool
}

// Part is one shard's slice of one source file.
type Part struct {
	Shard int
	Path  string
	Rows  int64
	Bytes int64
}

// PartitionStats count what a map step saw.
type PartitionStats struct {
	RowsIn       int64
	RowsOut      int64
	DroppedNulls int64 // null key or timestamp
	Filtered     int64 // rejected by the filter
}

// Partition streams a parquet source into per-shard part files. A source
// of several row groups is split into contiguous ranges of row groups,
// partitioned at once on up to GOMAXPROCS goroutines; the parts come back
// in source order (range by range), so a shard's parts, read in the order
// returned, hold its rows in source order, and row ids are positions in
// the whole file, as when one goroutine reads it all. Memory is one
// source batch plus one pending batch per shard, per range.
func Partition(ctx context.Context, src io.ReaderAt, size int64, o PartitionOptions, progress func(rows int64)) ([]Part, PartitionStats, error) {
	if o.Shards <= 0 {
		return nil, PartitionStats{}, fmt.Errorf("shard: %d shards", o.Shards)
	}
	r, err := tabular.NewReader(src, size)
	if err != nil {
		return nil, PartitionStats{}, err
	}
	defer r.Close()
	if err := r.Select(o.Columns); err != nil {
		return nil, PartitionStats{}, err
	}
	ranges := splitRowGroups(r.RowGroupRows(), runtime.GOMAXPROCS(0))
	if len(ranges) <= 1 {
		return partitionRange(ctx, r, o, progress)
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var (
		mu    sync.Mutex
		total int64
	)
	report := func(delta int64) {
		if progress == nil {
			return
		}
		mu.Lock()
		defer mu.Unlock()
		total += delta
		progress(total)
	}
	type result struct {
		parts []Part
		st    PartitionStats
		err   error
	}
	results := make([]result, len(ranges))
	var wg sync.WaitGroup
	for i, rg := range ranges {
		wg.Go(func() {
			ro := o
			ro.RowIDBase = o.RowIDBase + rg.rowsBefore
			var seen int64
			res := &results[i]
			rr, err := r.RowGroupRange(rg.from, rg.to)
			if err == nil {
				res.parts, res.st, err = partitionRange(ctx, rr, ro, func(rows int64) {
					report(rows - seen)
					seen = rows
				})
			}
			if res.err = err; err != nil {
				cancel() // the other ranges stop too
			}
		})
	}
	wg.Wait()
	removeAll := func() {
		for _, res := range results {
			for _, p := range res.parts {
				os.Remove(p.Path)
			}
		}
	}
	var parts []Part
	var st PartitionStats
	// The error that stopped the others, rather than their cancellation.
	for _, res := range results {
		if res.err != nil && !errors.Is(res.err, context.Canceled) {
			removeAll()
			return nil, st, res.err
		}
	}
	for _, res := range results {
		if res.err != nil { // cancelled by the caller
			removeAll()
			return nil, st, res.err
		}
		parts = append(parts, res.parts...)
		st.RowsIn += res.st.RowsIn
		st.RowsOut += res.st.RowsOut
		st.DroppedNulls += res.st.DroppedNulls
		st.Filtered += res.st.Filtered
	}
	return parts, st, nil
}

// rowGroupRange is row groups [from, to) of a file (to < 0: all), after
// rowsBefore rows.
type rowGroupRange struct {
	from, to   int
	rowsBefore int64
}

// splitRowGroups cuts a file's row groups into at most n contiguous
// ranges of about equal rows: each cut goes to the row-group boundary
// nearest its ideal place. nil when there is nothing to split.
func splitRowGroups(groups []int64, n int) []rowGroupRange {
	n = min(n, len(groups))
	if n <= 1 {
		return nil
	}
	before := make([]int64, len(groups)+1) // rows before group i
	for i, g := range groups {
		before[i+1] = before[i] + g
	}
	total := before[len(groups)]
	var out []rowGroupRange
	cur := rowGroupRange{}
	for k := 1; k < n; k++ {
		target := total * int64(k) / int64(n)
		best := -1
		for j := cur.from + 1; j < len(groups); j++ {
			if best < 0 || abs64(before[j]-target) < abs64(before[best]-target) {
				best = j
			}
		}
		if best < 0 {
			break
		}
		cur.to = best
		out = append(out, cur)
		cur = rowGroupRange{from: best, rowsBefore: before[best]}
	}
	cur.to = len(groups)
	return append(out, cur)
}

func abs64(x int64) int64 {
	if x < 0 {
		return -x
	}
	return x
}

// partitionRange partitions what r (unread, o.Columns selected) reads:
// the whole source or one range of its row groups. It closes r.
func partitionRange(ctx context.Context, r *tabular.Reader, o PartitionOptions, progress func(rows int64)) ([]Part, PartitionStats, error) {
	var st PartitionStats
	defer r.Close()
	if err := r.ReadAhead(); err != nil {
		return nil, st, err
	}
	outSchema := outputSchema(r.Schema(), o)
	all := make([]int, len(o.Columns))
	for i := range all {
		all[i] = i
	}
	if o.RowID != "" {
		outSchema.Columns = append(outSchema.Columns, tabular.Column{Name: o.RowID, Type: tabular.Int64})
	}
	var filter RowFilter
	if o.Filter != nil {
		filter = o.Filter()
	}
	var pos int64
	withID := o.RowID != ""
	sel := make([][]int, o.Shards)   // per shard, the batch rows it takes
	ids := make([][]int64, o.Shards) // and their row ids
	writers := make([]*partWriter, o.Shards)
	defer func() {
		for _, w := range writers {
			if w != nil {
				w.abort()
			}
		}
	}()
	for {
		if err := ctx.Err(); err != nil {
			return nil, st, err
		}
		b, err := r.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return nil, st, err
		}
		// Route every row, then copy each shard's rows a column at a time.
		for sh := range sel {
			sel[sh], ids[sh] = sel[sh][:0], ids[sh][:0]
		}
		for i := 0; i < b.Len; i++ {
			st.RowsIn++
			rowID := o.RowIDBase + pos
			pos++
			null := nullAt(b, o.KeyCols, i) || b.Vectors[o.TimeCol].IsNull(i)
			if null && !o.KeepNulls {
				st.DroppedNulls++
				continue
			}
			if filter != nil {
				keep, err := filter(b, i)
				if err != nil {
					return nil, st, err
				}
				if !keep {
					st.Filtered++
					continue
				}
			}
			sh := 0
			if !null {
				sh = Of(KeyHash(b, o.KeyCols, i), o.Shards)
			}
			sel[sh] = append(sel[sh], i)
			if withID {
				ids[sh] = append(ids[sh], rowID)
			}
			st.RowsOut++
		}
		for sh, rows := range sel {
			if len(rows) == 0 {
				continue
			}
			w := writers[sh]
			if w == nil {
				if w, err = newPartWriter(o.Dir, sh, outSchema, o.RowGroupRows); err != nil {
					return nil, st, err
				}
				writers[sh] = w
			}
			if err := w.add(b, rows, all, ids[sh]); err != nil {
				return nil, st, err
			}
		}
		if progress != nil {
			progress(st.RowsIn)
		}
	}
	var parts []Part
	for s, w := range writers {
		if w == nil {
			continue
		}
		p, err := w.close()
		writers[s] = nil
		if err != nil {
			return nil, st, err
		}
		parts = append(parts, p)
	}
	return parts, st, nil
}

// outputSchema marks key and time columns non-nullable: rows with nulls
// there were dropped, and downstream joins rely on it.
func outputSchema(in tabular.Schema, o PartitionOptions) tabular.Schema {
	out := tabular.Schema{Columns: append([]tabular.Column(nil), in.Columns...)}
	if o.KeepNulls {
		return out
	}
	for _, k := range o.KeyCols {
		out.Columns[k].Nullable = false
	}
	out.Columns[o.TimeCol].Nullable = false
	return out
}

func nullAt(b *tabular.Batch, cols []int, i int) bool {
	for _, c := range cols {
		if b.Vectors[c].IsNull(i) {
			return true
		}
	}
	return false
}

type partWriter struct {
	shard int
	f     *os.File
	bw    *tabular.BatchWriter
	buf   *tabular.Batch
}

func newPartWriter(dir string, shard int, s tabular.Schema, rowGroupRows int) (*partWriter, error) {
	f, err := os.CreateTemp(dir, fmt.Sprintf("part-%05d-*.parquet", shard))
	if err != nil {
		return nil, err
	}
	if rowGroupRows <= 0 {
		rowGroupRows = 64 << 10
	}
	return &partWriter{shard: shard, f: f, bw: tabular.NewBatchWriter(f, s, tabular.WriterOptions{RowGroupRows: rowGroupRows, Scratch: true}), buf: tabular.NewBatch(s)}, nil
}

// add appends rows of b (and their ids, when the parts carry row ids),
// writing out the pending batch whenever it is full.
func (w *partWriter) add(b *tabular.Batch, rows []int, cols []int, ids []int64) error {
	for len(rows) > 0 {
		k := min(len(rows), max(1, partBatchRows-w.buf.Len))
		w.buf.AppendSelected(b, rows[:k], cols)
		if len(ids) > 0 {
			w.buf.AppendInts(len(cols), ids[:k])
			ids = ids[k:]
		}
		rows = rows[k:]
		if w.buf.Full() {
			if err := w.bw.Write(w.buf); err != nil {
				return err
			}
			w.buf.Reset()
		}
	}
	return nil
}

// partBatchRows is the row bound of a part's pending batch (Batch.Full's).
const partBatchRows = 4096

func (w *partWriter) close() (Part, error) {
	if w.buf.Len > 0 {
		if err := w.bw.Write(w.buf); err != nil {
			w.abort()
			return Part{}, err
		}
	}
	rows, n, err := w.bw.Close()
	if err == nil {
		err = w.f.Close()
	}
	if err != nil {
		w.abort()
		return Part{}, err
	}
	return Part{Shard: w.shard, Path: w.f.Name(), Rows: rows, Bytes: n}, nil
}

func (w *partWriter) abort() {
	w.bw.Abort()
	w.f.Close()
	os.Remove(w.f.Name())
}
