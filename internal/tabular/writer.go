package tabular

import (
	"fmt"
	"io"
	"runtime"
	"sync"
	"sync/atomic"

	"github.com/parquet-go/parquet-go"
)

// WriterOptions tune a BatchWriter.
type WriterOptions struct {
	// RowGroupRows cuts a row group every so many rows; <= 0 means
	// DefaultRowGroupRows.
	RowGroupRows int
	// Scratch marks a file that the next step of the same workflow reads
	// once and that no version refers to (partition parts, per-shard join
	// results): it is written in the spill format (see spill.go), not
	// parquet. Everything that lands in a version is canonical parquet.
	Scratch bool
}

// BatchWriter writes batches to canonical parquet, cutting a row group
// every RowGroupRows rows. Pipelines that produce rows themselves (feature
// extraction, training-set joins) use it; file conversion uses Convert.
//
// Encoding and compression run on a goroutine of their own, so the
// caller produces the next rows while the previous ones are compressed:
// Write copies its batch and returns. The stages see the batches in
// order, so the bytes do not depend on scheduling. A writer must end with
// Close or Abort, which stop that goroutine.
type BatchWriter struct {
	schema   Schema
	groupMax int
	inGroup  int
	rows     int64
	free     chan *Batch
	work     chan stagedBatch
	done     chan encodeResult
	failed   atomic.Bool // the encoder failed: Write stops early
	aborted  atomic.Bool // Abort: the encoder skips the remaining work
	ended    bool
	result   encodeResult
	made     int // batches made so far, at most writerBatches
}

type encodeResult struct {
	bytes int64
	err   error
}

// writerBatches is how many batches a writer holds: one being filled by
// the caller, the others queued or being encoded (columns may be at
// different batches).
const writerBatches = 4

// NewBatchWriter starts a parquet file with schema s on w.
func NewBatchWriter(w io.Writer, s Schema, o WriterOptions) *BatchWriter {
	if o.RowGroupRows <= 0 {
		o.RowGroupRows = DefaultRowGroupRows
	}
	bw := &BatchWriter{
		schema:   s,
		groupMax: o.RowGroupRows,
		free:     make(chan *Batch, writerBatches),
		work:     make(chan stagedBatch, writerBatches),
		done:     make(chan encodeResult, 1),
	}
	cw := &countingWriter{w: w}
	if o.Scratch {
		go bw.encodeSpill(cw)
	} else {
		go bw.encode(cw, newParquetWriter(cw, s))
	}
	return bw
}

// encode is the writer's second stage: it owns the parquet writer and
// hands every batch to a few goroutines that each encode and compress
// their share of the columns (parquet columns share nothing until the row
// group is written). Each column sees the batches in order,
// so the bytes do not depend on scheduling; the row group is written once
// every column has encoded its last batch.
func (w *BatchWriter) encode(cw *countingWriter, pw *parquet.Writer) {
	cols := pw.ColumnWriters()
	var (
		mu       sync.Mutex
		firstErr error
		wg       sync.WaitGroup
	)
	fail := func(err error) {
		mu.Lock()
		if firstErr == nil {
			firstErr = err
		}
		mu.Unlock()
		w.failed.Store(true)
	}
	// Column ci belongs to worker ci % workers: a wide table gets a few
	// goroutines, not one per column.
	workers := min(len(cols), max(2, 2*runtime.GOMAXPROCS(0)))
	groupDone := make(chan struct{}, workers)
	queues := make([]chan *pipelinedBatch, workers)
	for wi := range workers {
		queues[wi] = make(chan *pipelinedBatch, writerBatches)
		wg.Add(1)
		go func() {
			defer wg.Done()
			var vals []parquet.Value
			for pb := range queues[wi] {
				for ci := wi; ci < len(cols); ci += workers {
					if w.failed.Load() || w.aborted.Load() {
						break
					}
					if err := encodeColumn(cols[ci], pb.b, ci, &vals); err != nil {
						fail(err)
					}
				}
				end := pb.endOfGroup
				if pb.pending.Add(-1) == 0 {
					w.free <- pb.b
				}
				if end {
					groupDone <- struct{}{}
				}
			}
		}()
	}
	pending := false
	for sb := range w.work {
		pb := &pipelinedBatch{b: sb.b, endOfGroup: sb.endOfGroup}
		pb.pending.Store(int32(workers))
		for _, q := range queues {
			q <- pb
		}
		pending = true
		if sb.endOfGroup {
			for range workers {
				<-groupDone
			}
			pending = false
			if !w.failed.Load() && !w.aborted.Load() {
				if err := pw.Flush(); err != nil {
					fail(err)
				}
			}
		}
	}
	for _, q := range queues {
		close(q)
	}
	wg.Wait()
	err := firstErr
	if err == nil && !w.aborted.Load() {
		if pending {
			err = pw.Flush()
		}
		if err == nil {
			err = pw.Close()
		}
	}
	if err != nil {
		err = fmt.Errorf("tabular: writing parquet: %w", err)
	}
	w.done <- encodeResult{bytes: cw.n, err: err}
}

// encodeSpill is encode for scratch files: each batch becomes a spill
// block (see spill.go).
func (w *BatchWriter) encodeSpill(cw *countingWriter) {
	sw, err := newSpillWriter(cw, w.schema)
	if err != nil {
		w.failed.Store(true)
	}
	for sb := range w.work {
		if err == nil && !w.aborted.Load() {
			if err = sw.writeBatch(sb.b); err != nil {
				w.failed.Store(true)
			}
		}
		w.free <- sb.b
	}
	if err == nil && !w.aborted.Load() {
		err = sw.close()
	}
	if err != nil {
		err = fmt.Errorf("tabular: writing a spill file: %w", err)
	}
	w.done <- encodeResult{bytes: cw.n, err: err}
}

// pipelinedBatch is a batch on its way through the column goroutines; the
// last one to finish with it returns it to the free list.
type pipelinedBatch struct {
	b          *Batch
	endOfGroup bool
	pending    atomic.Int32
}

// Write appends every row of b, which stays the caller's.
func (w *BatchWriter) Write(b *Batch) error {
	if b.Len == 0 {
		return nil
	}
	dst, err := w.next()
	if err != nil {
		return err
	}
	dst.copyFrom(b)
	return w.submit(dst)
}

// next hands out an empty batch to fill and give back with submit.
func (w *BatchWriter) next() (*Batch, error) {
	if w.ended {
		if w.result.err != nil {
			return nil, w.result.err
		}
		return nil, fmt.Errorf("tabular: write after Close or Abort")
	}
	if w.failed.Load() {
		return nil, w.end().err
	}
	// Batches are made when first needed: a partition writes to hundreds
	// of shard files, most of which never have more than one in flight.
	var b *Batch
	select {
	case b = <-w.free:
	default:
		if w.made < writerBatches {
			w.made++
			return newBatch(w.schema), nil
		}
		b = <-w.free
	}
	b.reset()
	return b, nil
}

func (w *BatchWriter) submit(b *Batch) error {
	w.inGroup += b.Len
	end := w.inGroup >= w.groupMax
	if end {
		w.inGroup = 0
	}
	w.submitEnd(b, end)
	return nil
}

// submitEnd queues b, ending the row group after it when end is set; for
// callers that cut row groups themselves (Convert, by rows and bytes).
func (w *BatchWriter) submitEnd(b *Batch, end bool) {
	w.rows += int64(b.Len)
	w.work <- stagedBatch{b: b, endOfGroup: end}
}

// release gives back a batch from next that is not submitted.
func (w *BatchWriter) release(b *Batch) { w.free <- b }

// stagedBatch is a batch on its way to the encoder.
type stagedBatch struct {
	b          *Batch
	endOfGroup bool // the row group is complete after this batch
}

// end stops the encoder (once) and returns its result.
func (w *BatchWriter) end() encodeResult {
	if !w.ended {
		w.ended = true
		close(w.work)
		w.result = <-w.done
	}
	return w.result
}

// Close finishes the file (footer included) and reports its size.
func (w *BatchWriter) Close() (rows, bytes int64, err error) {
	if w.aborted.Load() {
		return 0, 0, fmt.Errorf("tabular: Close after Abort")
	}
	r := w.end()
	if r.err != nil {
		return 0, 0, r.err
	}
	return w.rows, r.bytes, nil
}

// Abort stops the writer without finishing the file, for error paths.
// It may follow Close.
func (w *BatchWriter) Abort() {
	w.aborted.Store(true)
	w.end()
}

// copyFrom makes b a copy of src (same schema).
func (b *Batch) copyFrom(src *Batch) {
	for i := range b.Vectors {
		d, s := &b.Vectors[i], &src.Vectors[i]
		if d.Nulls != nil {
			d.Nulls = append(d.Nulls[:0], s.Nulls...)
		}
		d.Ints = append(d.Ints[:0], s.Ints...)
		d.Floats = append(d.Floats[:0], s.Floats...)
		d.Bools = append(d.Bools[:0], s.Bools...)
		d.Bytes = append(d.Bytes[:0], s.Bytes...)
		if d.Offsets != nil {
			d.Offsets = append(d.Offsets[:0], s.Offsets...)
		}
	}
	b.Len, b.bytes = src.Len, src.bytes
}

// NewBatch returns an empty batch for schema s, to fill with AppendRow.
func NewBatch(s Schema) *Batch { return newBatch(s) }

// Reset empties a batch for reuse, keeping its memory.
func (b *Batch) Reset() { b.reset() }

// Full reports whether b reached its row or byte bound.
func (b *Batch) Full() bool { return b.full(batchRows) }

// AppendRow copies row i of src into b: column j of b takes column
// cols[j] of src. Types must match; a null goes into a non-nullable
// column as its zero value, so callers drop such rows first.
func (b *Batch) AppendRow(src *Batch, i int, cols []int) {
	for j, c := range cols {
		sv, dv := &src.Vectors[c], &b.Vectors[j]
		if sv.IsNull(i) && dv.Nulls != nil {
			dv.appendNull(b)
			continue
		}
		switch dv.Type {
		case Int64, Timestamp:
			dv.appendInt(b, sv.Ints[i])
		case Float64:
			dv.appendFloat(b, sv.Floats[i])
		case Bool:
			dv.appendBool(b, sv.Bools[i])
		case String:
			dv.appendString(b, sv.StringBytes(i))
		}
	}
	b.Len++
}

// AppendRowWithInt is AppendRow followed by one more int64 column (a row
// id): b must have len(cols)+1 columns.
func (b *Batch) AppendRowWithInt(src *Batch, i int, cols []int, x int64) {
	b.AppendRow(src, i, cols)
	b.Len--
	b.Vectors[len(cols)].appendInt(b, x)
	b.Len++
}

// AppendCell appends value i of src (null if it is null) to column col
// of b. Rows built cell by cell end with EndRow.
func (b *Batch) AppendCell(col int, src *Vector, i int) {
	dv := &b.Vectors[col]
	if src.IsNull(i) {
		b.AppendNull(col)
		return
	}
	switch dv.Type {
	case Int64, Timestamp:
		dv.appendInt(b, src.Ints[i])
	case Float64:
		dv.appendFloat(b, src.Floats[i])
	case Bool:
		dv.appendBool(b, src.Bools[i])
	case String:
		dv.appendString(b, src.StringBytes(i))
	}
}

// AppendNull appends a null to column col, which must be nullable.
func (b *Batch) AppendNull(col int) { b.Vectors[col].appendNull(b) }

// AppendString appends a string to column col.
func (b *Batch) AppendString(col int, s []byte) { b.Vectors[col].appendString(b, s) }

// EndRow counts a row whose cells were appended one by one.
func (b *Batch) EndRow() { b.Len++ }
