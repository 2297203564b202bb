package tabular

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"math"
	"runtime"
	"sync"
	"unicode/utf8"

	"github.com/parquet-go/parquet-go"
)

// Reader reads a parquet file (canonical or not) as typed batches.
type Reader struct {
	file      string
	f         *parquet.File
	fileCols  []fileColumn // top-level file columns, in file order
	schema    Schema
	cols      []readColumn // one per schema column
	rowGroups []parquet.RowGroup
	rg        int   // next row group to open
	rgEnd     int   // row groups from rgEnd on are not read (RowGroupRange)
	began     bool  // reading has started
	rgLeft    int64 // rows left in the open row group
	row       int64 // rows delivered so far
	nextRows  int   // rows to read into the next batch
	vals      []parquet.Value
	batch     *Batch
	ahead     *readAhead // set by ReadAhead
	spill     *spillFile // the file is a spill file, not parquet
}

type fileColumn struct {
	name     string
	typ      Type
	conv     conversion
	optional bool
}

type readColumn struct {
	leaf     int // file column index
	conv     conversion
	optional bool // the file column may hold nulls
	pages    parquet.Pages
	values   parquet.ValueReader // the open page, read value by value
	typed    typedPage           // or the open page, read in bulk
}

// NewReader opens a parquet file. Its schema is mapped onto granary types
// (see Schema); a column of an unsupported type is an error matching
// ErrBadInput, as is a file that is not valid parquet. Errors name the
// file by r's Name method when it has one (*os.File does).
func NewReader(r io.ReaderAt, size int64) (*Reader, error) {
	file := ""
	if n, ok := r.(interface{ Name() string }); ok {
		file = n.Name()
	}
	return openParquet(r, size, file)
}

func openParquet(r io.ReaderAt, size int64, file string) (*Reader, error) {
	bad := func(format string, args ...any) error {
		return &InputError{File: file, Err: fmt.Errorf(format, args...)}
	}
	if size == 0 {
		return nil, bad("empty file")
	}
	if size < 12 {
		return nil, bad("not a parquet file: %d bytes is too small", size)
	}
	var head, tail [8]byte
	if _, err := r.ReadAt(head[:], 0); err != nil {
		return nil, err
	}
	if isSpill(head[:]) {
		return openSpillReader(r, size, file)
	}
	if _, err := r.ReadAt(tail[:], size-8); err != nil {
		return nil, err
	}
	if string(head[:4]) != "PAR1" || string(tail[4:]) != "PAR1" {
		return nil, bad("not a parquet file: missing PAR1 magic")
	}
	footer := int64(binary.LittleEndian.Uint32(tail[:4]))
	if footer > size-12 {
		return nil, bad("corrupt parquet footer: length %d exceeds the file", footer)
	}
	if err := checkFooter(r, size, footer); err != nil {
		return nil, bad("corrupt parquet file: %v", err)
	}
	f, err := parquet.OpenFile(r, size, parquet.SkipPageIndex(true), parquet.SkipBloomFilters(true))
	if err != nil {
		return nil, bad("corrupt parquet file: %v", err)
	}
	if err := validatePages(r, size-8-footer, f.Metadata()); err != nil {
		return nil, bad("corrupt parquet file: %v", err)
	}
	if err := installReadCodecs(f); err != nil {
		return nil, bad("%v", err)
	}
	pr := &Reader{file: file, f: f, nextRows: batchRows}
	seen := make(map[string]bool)
	for i, col := range f.Root().Columns() {
		name := col.Name()
		if err := checkColumnName(name, i); err != nil {
			return nil, withFile(err, file)
		}
		if seen[name] {
			return nil, &InputError{File: file, Column: name, Err: errors.New("duplicate column name")}
		}
		seen[name] = true
		typ, conv, err := mapParquetColumn(col)
		if err != nil {
			return nil, &InputError{File: file, Column: name, Err: err}
		}
		pr.fileCols = append(pr.fileCols, fileColumn{name: name, typ: typ, conv: conv, optional: col.Optional()})
	}
	if len(pr.fileCols) == 0 {
		return nil, bad("parquet file has no columns")
	}
	if len(pr.fileCols) > maxColumns {
		return nil, bad("%d columns, more than the %d supported", len(pr.fileCols), maxColumns)
	}
	pr.rowGroups = f.RowGroups()
	pr.rgEnd = len(pr.rowGroups)
	for _, rg := range pr.rowGroups {
		if rg.NumRows() < 0 || len(rg.ColumnChunks()) != len(pr.fileCols) {
			return nil, bad("corrupt parquet file: inconsistent row group metadata")
		}
	}
	var s Schema
	for _, c := range pr.fileCols {
		s.Columns = append(s.Columns, Column{Name: c.name, Type: c.typ, Nullable: c.optional})
	}
	if err := pr.project(s); err != nil {
		return nil, err
	}
	return pr, nil
}

// Schema returns the granary schema of the file.
func (r *Reader) Schema() Schema { return r.schema }

// NumRows returns the number of rows in the file according to its footer.
func (r *Reader) NumRows() int64 {
	if r.spill != nil {
		return r.spill.rows
	}
	return r.f.NumRows()
}

// started reports whether rows were read already.
func (r *Reader) started() bool { return r.began }

// RowGroupRows returns the rows of each row group of a parquet file (nil
// for a spill file).
func (r *Reader) RowGroupRows() []int64 {
	if r.spill != nil {
		return nil
	}
	out := make([]int64, len(r.rowGroups))
	for i, g := range r.rowGroups {
		out[i] = g.NumRows()
	}
	return out
}

// RowGroupRange returns a reader of row groups [from, to) of the same
// file, with the same columns as r. It shares what opening the file
// parsed and checked (footer, page headers), so ranges of one file can be
// read at once without opening it again; r must stay open while it is in
// use. Row numbers in errors still count from the start of the file.
func (r *Reader) RowGroupRange(from, to int) (*Reader, error) {
	if r.spill != nil {
		return nil, errors.New("tabular: a spill file has no row groups")
	}
	if from < 0 || to > len(r.rowGroups) || from > to {
		return nil, fmt.Errorf("tabular: row groups [%d, %d) of %d", from, to, len(r.rowGroups))
	}
	nr := &Reader{file: r.file, f: r.f, fileCols: r.fileCols, rowGroups: r.rowGroups, nextRows: batchRows, rg: from, rgEnd: to}
	for _, g := range r.rowGroups[:from] {
		nr.row += g.NumRows()
	}
	nr.schema, nr.batch = r.schema, newBatch(r.schema)
	nr.cols = make([]readColumn, len(r.cols))
	for i, c := range r.cols {
		nr.cols[i] = readColumn{leaf: c.leaf, conv: c.conv, optional: c.optional}
	}
	return nr, nil
}

// project makes the reader produce target's columns, in target's order. The
// file must have exactly those columns, with the same types.
func (r *Reader) project(target Schema) error {
	names := make([]string, len(r.fileCols))
	for i, c := range r.fileCols {
		names[i] = c.name
	}
	colOf, err := matchColumns(names, target)
	if err != nil {
		return withFile(err, r.file)
	}
	cols := make([]readColumn, len(target.Columns))
	for leaf, ci := range colOf {
		fc := r.fileCols[leaf]
		if fc.typ != target.Columns[ci].Type {
			return &InputError{File: r.file, Column: fc.name,
				Err: fmt.Errorf("is %s in the parquet file, but %s in the schema", fc.typ, target.Columns[ci].Type)}
		}
		cols[ci] = readColumn{leaf: leaf, conv: fc.conv, optional: fc.optional}
	}
	r.schema, r.cols, r.batch = target, cols, newBatch(target)
	return nil
}

// Next returns the next batch of rows, or io.EOF after the last one. The
// batch is reused by the following call.
func (r *Reader) Next() (*Batch, error) {
	if r.ahead != nil {
		return r.ahead.next()
	}
	return r.nextInto(r.batch)
}

// nextInto fills b with the next batch.
func (r *Reader) nextInto(b *Batch) (*Batch, error) {
	b.reset()
	if err := r.fill(b, min(batchRows, r.nextRows)); err != nil {
		return nil, err
	}
	// Keep batches near batchMaxBytes when values are large.
	switch {
	case b.bytes > batchMaxBytes && r.nextRows > 1:
		r.nextRows /= 2
	case b.bytes < batchMaxBytes/4 && r.nextRows < batchRows:
		r.nextRows *= 2
	}
	return b, nil
}

// Close releases the pages held by the reader.
func (r *Reader) Close() error {
	if r.ahead != nil {
		r.ahead.close()
	}
	for i := range r.cols {
		r.closeColumn(i)
	}
	return nil
}

func (r *Reader) closeColumn(i int) {
	c := &r.cols[i]
	if c.pages != nil {
		c.pages.Close()
	}
	c.pages, c.values, c.typed = nil, nil, typedPage{}
}

// fill appends up to maxRows rows (at most the rest of the row group) to
// b, which may already hold rows.
func (r *Reader) fill(b *Batch, maxRows int) error {
	r.began = true
	if r.spill != nil {
		return r.fillSpill(b)
	}
	for r.rgLeft == 0 {
		if r.rg >= r.rgEnd {
			return io.EOF
		}
		rg := r.rowGroups[r.rg]
		r.rg++
		r.rgLeft = rg.NumRows()
		chunks := rg.ColumnChunks()
		for i := range r.cols {
			r.closeColumn(i)
			c := &r.cols[i]
			if r.rgLeft > 0 {
				if nv := chunks[c.leaf].NumValues(); nv != r.rgLeft {
					return r.corrupt(fmt.Errorf("column %q has %d values for %d rows", r.fileCols[c.leaf].name, nv, r.rgLeft))
				}
				c.pages = chunks[c.leaf].Pages()
			}
		}
	}
	n := int(min(int64(maxRows), r.rgLeft))
	if n >= parallelReadRows && len(r.cols) > 1 && runtime.GOMAXPROCS(0) > 1 {
		if err := r.readColumnsParallel(b, n); err != nil {
			return err
		}
	} else {
		for i := range r.cols {
			if err := r.readColumn(b, i, n, &r.vals); err != nil {
				return err
			}
		}
	}
	b.Len += n
	r.rgLeft -= int64(n)
	r.row += int64(n)
	return nil
}

func (r *Reader) corrupt(err error) error {
	return &InputError{File: r.file, Err: fmt.Errorf("corrupt parquet file: %w", err)}
}

// parallelReadRows is the size of a read worth a goroutine per column:
// tables load whole row groups (DefaultRowGroupRows) at a time.
const parallelReadRows = 16 << 10

// readColumnsParallel reads n rows of every column on a few goroutines:
// parquet column chunks are independent, and decoding them is most of
// the time a table load takes. Each goroutine appends to its own columns'
// vectors and counts bytes in a shadow batch; the first error in column
// order is returned, as reading them one by one would (an error stops
// only its goroutine's later columns, which come after it in order).
func (r *Reader) readColumnsParallel(b *Batch, n int) error {
	errs := make([]error, len(r.cols))
	// Column i goes to worker i % workers: a few goroutines however wide
	// the file.
	workers := min(len(r.cols), max(2, 2*runtime.GOMAXPROCS(0)))
	shadows := make([]Batch, workers)
	var wg sync.WaitGroup
	for wi := range workers {
		shadows[wi].Vectors = b.Vectors
		wg.Go(func() {
			var vals []parquet.Value
			for i := wi; i < len(r.cols); i += workers {
				if errs[i] = r.readColumn(&shadows[wi], i, n, &vals); errs[i] != nil {
					return
				}
			}
		})
	}
	wg.Wait()
	for i := range shadows {
		b.bytes += shadows[i].bytes
	}
	return firstError(errs)
}

func firstError(errs []error) error {
	for _, err := range errs {
		if err != nil {
			return err
		}
	}
	return nil
}

// readColumn appends n rows of column ci to b. vals is scratch for pages
// read value by value.
func (r *Reader) readColumn(b *Batch, ci, n int, vals *[]parquet.Value) error {
	c := &r.cols[ci]
	v := &b.Vectors[ci]
	got := 0
	for got < n {
		if c.values == nil && !c.typed.open {
			page, err := c.pages.ReadPage()
			if err != nil {
				if err == io.EOF {
					return r.corrupt(fmt.Errorf("column %q ended early", r.schema.Columns[ci].Name))
				}
				return r.corrupt(err)
			}
			typed, err := openTypedPage(&c.typed, page, c.conv)
			if err != nil {
				return r.corrupt(fmt.Errorf("column %q: %w", r.schema.Columns[ci].Name, err))
			}
			if !typed {
				c.values = page.Values()
			}
		}
		if c.typed.open {
			k, err := r.readTyped(b, v, ci, &c.typed, n-got, r.row+int64(got)+1)
			if err != nil {
				return err
			}
			got += k
			if c.typed.row == c.typed.rows {
				c.typed = typedPage{}
			}
			continue
		}
		if len(*vals) == 0 {
			*vals = make([]parquet.Value, batchRows)
		}
		k, err := c.values.ReadValues((*vals)[:min(n-got, len(*vals))])
		for j := range k {
			if err := r.appendValue(b, v, ci, r.row+int64(got+j)+1, &(*vals)[j]); err != nil {
				return err
			}
		}
		got += k
		if err == io.EOF {
			c.values = nil
		} else if err != nil {
			return r.corrupt(err)
		} else if k == 0 {
			return r.corrupt(errors.New("page reader made no progress"))
		}
	}
	return nil
}

func (r *Reader) appendValue(b *Batch, v *Vector, ci int, row int64, x *parquet.Value) error {
	if x.IsNull() {
		if v.Nulls == nil {
			return &InputError{File: r.file, Row: row, Column: r.schema.Columns[ci].Name, Err: errors.New("null in a column that is not nullable")}
		}
		v.appendNull(b)
		return nil
	}
	conv := r.cols[ci].conv
	if kindOf(conv) != x.Kind() {
		return r.corrupt(fmt.Errorf("column %q: value of kind %s", r.schema.Columns[ci].Name, x.Kind()))
	}
	switch conv {
	case convInt64:
		v.appendInt(b, x.Int64())
	case convInt32:
		v.appendInt(b, int64(x.Int32()))
	case convUint32:
		v.appendInt(b, int64(uint32(x.Int32())))
	case convFloat:
		v.appendFloat(b, float64(x.Float()))
	case convDouble:
		v.appendFloat(b, x.Double())
	case convBool:
		v.appendBool(b, x.Boolean())
	case convString:
		s := x.ByteArray()
		if !utf8.Valid(s) {
			return &InputError{File: r.file, Row: row, Column: r.schema.Columns[ci].Name, Err: fmt.Errorf("%s is not valid UTF-8", quoteValue(s))}
		}
		if len(v.Bytes)+len(s) > math.MaxUint32 {
			return &InputError{File: r.file, Row: row, Column: r.schema.Columns[ci].Name, Err: errors.New("string values too large")}
		}
		v.appendString(b, s)
	default:
		us, ok := timestampMicros(conv, x)
		if !ok {
			return &InputError{File: r.file, Row: row, Column: r.schema.Columns[ci].Name, Err: errors.New("timestamp outside years 0000-9999")}
		}
		v.appendInt(b, us)
	}
	return nil
}

func kindOf(c conversion) parquet.Kind {
	switch c {
	case convInt32, convUint32, convDate:
		return parquet.Int32
	case convFloat:
		return parquet.Float
	case convDouble:
		return parquet.Double
	case convBool:
		return parquet.Boolean
	case convString:
		return parquet.ByteArray
	case convInt96:
		return parquet.Int96
	}
	return parquet.Int64
}

func floorDiv(a, b int64) int64 {
	q := a / b
	if a%b != 0 && a < 0 {
		q--
	}
	return q
}

// timestampMicros converts a stored timestamp to microseconds, truncating
// sub-microsecond digits toward negative infinity; ok is false outside the
// supported years.
func timestampMicros(conv conversion, x *parquet.Value) (int64, bool) {
	var us int64
	switch conv {
	case convTimestampMillis:
		ms := x.Int64()
		if ms < minTimestamp/1000-1 || ms > maxTimestamp/1000+1 {
			return 0, false
		}
		us = ms * 1000
	case convTimestampMicros:
		us = x.Int64()
	case convTimestampNanos:
		us = floorDiv(x.Int64(), 1000)
	case convDate:
		us = int64(x.Int32()) * microsPerDay // |int32| days cannot overflow
	case convInt96:
		i96 := x.Int96()
		nanos := int64(uint64(i96[1])<<32 | uint64(i96[0]))
		day := int64(i96[2]) - 2440588 // Julian day of 1970-01-01
		if nanos < 0 || nanos >= 86400*1e9 || day < -800000 || day > 3000000 {
			return 0, false
		}
		us = day*microsPerDay + nanos/1000
	}
	return us, us >= minTimestamp && us <= maxTimestamp
}
