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
// columns must match the result's types.
func (r *Result) WriteWithRowIDs(w io.Writer, schema tabular.Schema, rowIDs *tabular.Vector) (rows int64, err error) {
	if len(schema.Columns) != 1+len(r.Vectors) {
		return 0, fmt.Errorf("%w: %d output columns for %d features", ErrInvalid, len(schema.Columns)-1, len(r.Vectors))
	}
	for k, c := range r.Schema.Columns {
		if want := schema.Columns[1+k]; want.Type != c.Type {
			return 0, fmt.Errorf("%w: feature column %s is %s, output schema says %s", ErrInvalid, c.Name, c.Type, want.Type)
		}
	}
	bw := tabular.NewBatchWriter(w, schema, 0)
	batch := tabular.NewBatch(schema)
	prev := int64(-1)
	for i := 0; i < r.Len; i++ {
		id := rowIDs.Ints[i]
		if id <= prev {
			return 0, fmt.Errorf("%w: spine row ids out of order (%d after %d)", ErrInvalid, id, prev)
		}
		prev = id
		batch.AppendCell(0, rowIDs, i)
		for k := range r.Vectors {
			batch.AppendCell(1+k, &r.Vectors[k], i)
		}
		batch.EndRow()
		if batch.Full() {
			if err := bw.Write(batch); err != nil {
				return 0, err
			}
			batch.Reset()
		}
	}
	if batch.Len > 0 {
		if err := bw.Write(batch); err != nil {
			return 0, err
		}
	}
	rows, _, err = bw.Close()
	return rows, err
}
