package tabular

import (
	"context"
	"errors"
	"fmt"
	"io"
	"math"
)

// Table holds all rows of one shard in memory, column by column, so they
// can be sorted by index and written out in order. It is the unit whose
// size bounds the memory of extraction and training-set joins.
type Table struct {
	schema Schema
	batch  *Batch // one growing batch: its vectors are the columns
}

// NewTable returns an empty table with schema s.
func NewTable(s Schema) *Table { return &Table{schema: s, batch: newBatch(s)} }

// Schema is the table's schema.
func (t *Table) Schema() Schema { return t.schema }

// Len is the number of rows.
func (t *Table) Len() int { return t.batch.Len }

// Column exposes column i for reading (sort keys, aggregation inputs).
func (t *Table) Column(i int) *Vector { return &t.batch.Vectors[i] }

// AppendRow copies row i of src (columns cols, in table order).
func (t *Table) AppendRow(src *Batch, i int, cols []int) { t.batch.AppendRow(src, i, cols) }

// AppendRowWithInt is AppendRow plus one more int64 or timestamp column.
func (t *Table) AppendRowWithInt(src *Batch, i int, cols []int, x int64) {
	t.batch.AppendRowWithInt(src, i, cols, x)
}

// Batch views the table's rows as one batch (sharing memory).
func (t *Table) Batch() *Batch { return t.batch }

// AppendParquet reads the table's columns of a whole parquet file,
// straight into the table's columns. The file must have those columns,
// with the same types; it may have others, which are not read (a join
// loads the three columns of a ten-column view it needs).
func (t *Table) AppendParquet(ctx context.Context, r io.ReaderAt, size int64) error {
	pr, err := NewReader(r, size)
	if err != nil {
		return err
	}
	defer pr.Close()
	if err := pr.selectSchema(t.schema); err != nil {
		return err
	}
	t.batch.reserve(int(min(pr.NumRows(), maxReserveRows)))
	for {
		if err := ctx.Err(); err != nil {
			return err
		}
		// A whole row group per call: its columns decode in parallel.
		err := pr.fill(t.batch, math.MaxInt32)
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			return err
		}
		if t.batch.bytes > maxTableBytes {
			return fmt.Errorf("tabular: shard holds more than %d GiB of values; use more shards", maxTableBytes>>30)
		}
	}
}

// maxReserveRows bounds what a file's footer can make AppendParquet
// allocate ahead: a corrupt footer must not claim terabytes.
const maxReserveRows = 64 << 20

// maxTableBytes keeps string offsets (uint32) from wrapping, with room
// for the batch in flight.
const maxTableBytes = 3 << 30

// WriteParquet writes the rows in the given order (nil: table order) as
// canonical parquet and returns the rows and bytes written. Rows are
// gathered a column at a time into batches cut as AppendRow would cut
// them (batchRows rows or batchMaxBytes bytes), so the file is the same
// however the table was filled.
func (t *Table) WriteParquet(w io.Writer, order []int, o WriterOptions) (rows, bytes int64, err error) {
	bw := NewBatchWriter(w, t.schema, o)
	all := make([]int, len(t.schema.Columns))
	for i := range all {
		all[i] = i
	}
	n := t.Len()
	var sel []int
	for k := 0; k < n; {
		out, err := bw.next()
		if err != nil {
			bw.Abort()
			return 0, 0, err
		}
		end := t.batchEnd(order, k)
		if order != nil {
			out.AppendSelected(t.batch, order[k:end], all)
		} else {
			sel = sel[:0]
			for i := k; i < end; i++ {
				sel = append(sel, i)
			}
			out.AppendSelected(t.batch, sel, all)
		}
		k = end
		if err := bw.submit(out); err != nil {
			bw.Abort()
			return 0, 0, err
		}
	}
	return bw.Close()
}

// batchEnd is where the batch of rows order[k:] (or k: without an order)
// ends: after batchRows rows, or after the row that reaches
// batchMaxBytes, as appending row by row to a batch and stopping once it
// is full would.
func (t *Table) batchEnd(order []int, k int) int {
	n := t.Len()
	end := min(n, k+batchRows)
	var fixed int64 // bytes of a row's fixed-width values
	strs := 0
	for i := range t.batch.Vectors {
		switch t.batch.Vectors[i].Type {
		case String:
			strs++
		case Bool:
			fixed++
		default:
			fixed += 8
		}
	}
	// A null counts 1 byte, less than its width, so for fixed-width rows
	// this is an upper bound on the batch's bytes.
	if strs == 0 && int64(end-k)*fixed < batchMaxBytes {
		return end
	}
	var bytes int64
	for j := k; j < end; j++ {
		i := j
		if order != nil {
			i = order[j]
		}
		bytes += t.rowBytes(i)
		if bytes >= batchMaxBytes {
			return j + 1
		}
	}
	return end
}

// rowBytes is what row i adds to a batch's byte count.
func (t *Table) rowBytes(i int) int64 {
	var n int64
	for c := range t.batch.Vectors {
		v := &t.batch.Vectors[c]
		if v.Nulls != nil && v.Nulls[i] {
			n++
			continue
		}
		switch v.Type {
		case String:
			n += int64(v.Offsets[i+1]-v.Offsets[i]) + 4
		case Bool:
			n++
		default:
			n += 8
		}
	}
	return n
}

// selectSchema makes the reader produce target's columns, which the file
// must have with the same types (and may have more).
func (r *Reader) selectSchema(target Schema) error {
	if err := r.Select(target.Names()); err != nil {
		return err
	}
	for i, c := range target.Columns {
		if got := r.schema.Columns[i].Type; got != c.Type {
			return &InputError{File: r.file, Column: c.Name,
				Err: fmt.Errorf("is %s in the parquet file, but %s in the schema", got, c.Type)}
		}
	}
	r.schema = target
	r.batch = newBatch(target)
	return nil
}

// Select makes the reader produce only the named columns, in that order,
// so pipelines that need three columns of a wide table decode three. Call
// it before the first Next.
func (r *Reader) Select(names []string) error {
	if r.ahead != nil || r.started() {
		return errors.New("tabular: Select after reading started")
	}
	var target Schema
	var cols []readColumn
	for _, name := range names {
		leaf := -1
		for i, fc := range r.fileCols {
			if fc.name == name {
				leaf = i
				break
			}
		}
		if leaf < 0 {
			return &InputError{File: r.file, Column: name, Err: errors.New("no such column")}
		}
		fc := r.fileCols[leaf]
		target.Columns = append(target.Columns, Column{Name: name, Type: fc.typ, Nullable: fc.optional})
		cols = append(cols, readColumn{leaf: leaf, conv: fc.conv, optional: fc.optional})
	}
	for i := range r.cols {
		r.closeColumn(i)
	}
	r.schema, r.cols, r.batch = target, cols, newBatch(target)
	return nil
}
