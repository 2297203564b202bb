package tabular

import (
	"fmt"
	"io"

	"github.com/parquet-go/parquet-go"
)

// BatchWriter writes batches to canonical parquet, cutting a row group
// every RowGroupRows rows. Pipelines that produce rows themselves (feature
// extraction, training-set joins) use it; file conversion uses Convert.
type BatchWriter struct {
	cw       *countingWriter
	pw       *parquet.Writer
	enc      valueEncoder
	groupMax int
	inGroup  int
	rows     int64
	groups   int
}

// NewBatchWriter starts a parquet file with schema s on w. rowGroupRows
// <= 0 means DefaultRowGroupRows.
func NewBatchWriter(w io.Writer, s Schema, rowGroupRows int) *BatchWriter {
	if rowGroupRows <= 0 {
		rowGroupRows = DefaultRowGroupRows
	}
	cw := &countingWriter{w: w}
	return &BatchWriter{cw: cw, pw: newParquetWriter(cw, s), groupMax: rowGroupRows}
}

// Write appends every row of b. b must have the writer's schema.
func (w *BatchWriter) Write(b *Batch) error {
	if err := w.enc.write(w.pw, b); err != nil {
		return fmt.Errorf("tabular: writing parquet: %w", err)
	}
	w.rows += int64(b.Len)
	w.inGroup += b.Len
	if w.inGroup >= w.groupMax {
		if err := w.pw.Flush(); err != nil {
			return fmt.Errorf("tabular: writing parquet: %w", err)
		}
		w.groups++
		w.inGroup = 0
	}
	return nil
}

// Close finishes the file (footer included) and reports its size.
func (w *BatchWriter) Close() (rows, bytes int64, err error) {
	if w.inGroup > 0 {
		if err := w.pw.Flush(); err != nil {
			return 0, 0, fmt.Errorf("tabular: writing parquet: %w", err)
		}
		w.groups++
	}
	if err := w.pw.Close(); err != nil {
		return 0, 0, fmt.Errorf("tabular: writing parquet: %w", err)
	}
	return w.rows, w.cw.n, nil
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
