package pitjoin

import (
	"fmt"
	"io"

	"github.com/granaryml/granary/internal/tabular"
)

// WriteWithRowIDs writes a join result as parquet rows of (row id,
// features...), one per spine row, in spine order. rowIDs are the spine
// rows' ids and must increase: the training build's assembly merges these
// files by id. schema names the columns (the row id first); its feature
// columns must match the result's types. The file is scratch (read once
// by the assembly), so it is not compressed.
func (r *Result) WriteWithRowIDs(w io.Writer, schema tabular.Schema, rowIDs *tabular.Vector) (rows int64, err error) {
	if len(schema.Columns) != 1+len(r.Vectors) {
		return 0, fmt.Errorf("%w: %d output columns for %d features", ErrInvalid, len(schema.Columns)-1, len(r.Vectors))
	}
	for k, c := range r.Schema.Columns {
		if want := schema.Columns[1+k]; want.Type != c.Type {
			return 0, fmt.Errorf("%w: feature column %s is %s, output schema says %s", ErrInvalid, c.Name, c.Type, want.Type)
		}
	}
	prev := int64(-1)
	for _, id := range rowIDs.Ints[:r.Len] {
		if id <= prev {
			return 0, fmt.Errorf("%w: spine row ids out of order (%d after %d)", ErrInvalid, id, prev)
		}
		prev = id
	}
	bw := tabular.NewBatchWriter(w, schema, tabular.WriterOptions{Scratch: true})
	batch := tabular.NewBatch(schema)
	// One source batch holding (row id, features) column by column, so
	// each written batch is a gather of consecutive rows.
	src := &tabular.Batch{Len: r.Len, Vectors: append([]tabular.Vector{*rowIDs}, r.Vectors...)}
	cols := make([]int, len(src.Vectors))
	for i := range cols {
		cols[i] = i
	}
	const chunk = 4096
	sel := make([]int, 0, chunk)
	for from := 0; from < r.Len; from += chunk {
		sel = sel[:0]
		for i := from; i < min(from+chunk, r.Len); i++ {
			sel = append(sel, i)
		}
		batch.Reset()
		batch.AppendSelected(src, sel, cols)
		if err := bw.Write(batch); err != nil {
			bw.Abort()
			return 0, err
		}
	}
	rows, _, err = bw.Close()
	return rows, err
}
