package tabular

import (
	"context"
	"errors"
	"fmt"
	"io"
	"runtime"
	"sync"
	"sync/atomic"

	"github.com/parquet-go/parquet-go"
)

// ConvertOptions configure Convert.
type ConvertOptions struct {
	// File names the input in errors; its extension also helps detect the
	// format.
	File string
	// Format of the input; "" detects it (see DetectFormat).
	Format Format
	// Schema of the output. The input must have exactly its columns, in any
	// order (a JSONL object may omit nullable ones); the output follows the
	// schema's order. When it has no columns it is inferred: parquet input
	// uses the file's schema; CSV and JSONL input must then be an io.Seeker,
	// read twice (InferSchema, then the conversion).
	Schema Schema
	// RowGroupRows bounds the rows of a row group (default 131072).
	RowGroupRows int
	// RowGroupBytes bounds the uncompressed bytes of a row group (default
	// 64 MiB), so that wide rows or long strings keep memory bounded too.
	RowGroupBytes int64
	// Progress, when set, is called with the total rows written after each
	// row group.
	Progress func(rows int64)
	// NullOnly (CSV, with a Schema) marks columns that must hold only
	// nulls: a value there fails the conversion with ErrSpeculation. It
	// comes with a schema from InferCSVPrefix.
	NullOnly []bool
}

// ErrSpeculation matches a conversion that stopped because the input does
// not fit a schema inferred from its prefix (see InferCSVPrefix); the
// caller converts again with the whole input's schema.
var ErrSpeculation = errors.New("input does not fit the schema inferred from its first rows")

// Defaults for ConvertOptions.
const (
	DefaultRowGroupRows  = 128 << 10
	DefaultRowGroupBytes = 64 << 20
)

// Result describes a finished conversion.
type Result struct {
	Schema    Schema        `json:"schema"`     // the schema written (inferred or given)
	Rows      int64         `json:"rows"`       // rows written
	Bytes     int64         `json:"bytes"`      // parquet bytes written
	RowGroups int           `json:"row_groups"` // row groups written
	Stats     []ColumnStats `json:"stats"`      // one per column, in schema order
}

// Convert streams the input (CSV, JSONL or parquet) into canonical parquet
// on w and returns its statistics. Memory is bounded by one row group.
//
// Parquet input needs random access: r must implement io.ReaderAt and either
// have a Size() int64 method (bytes.Reader, io.SectionReader) or be an
// io.Seeker (os.File).
//
// The same input and options always produce the same bytes and stats.
func Convert(ctx context.Context, r io.Reader, w io.Writer, opts ConvertOptions) (Result, error) {
	if opts.RowGroupRows <= 0 {
		opts.RowGroupRows = DefaultRowGroupRows
	}
	if opts.RowGroupBytes <= 0 {
		opts.RowGroupBytes = DefaultRowGroupBytes
	}
	format, r, err := resolveFormat(r, opts.File, opts.Format)
	if err != nil {
		return Result{}, err
	}
	schema := opts.Schema
	var src source
	switch format {
	case Parquet:
		ra, size, err := readerAtSize(r)
		if err != nil {
			return Result{}, err
		}
		pr, err := openParquet(ra, size, opts.File)
		if err != nil {
			return Result{}, err
		}
		defer pr.Close()
		if len(schema.Columns) > 0 {
			if err := schema.Validate(); err != nil {
				return Result{}, withFile(err, opts.File)
			}
			if err := pr.project(schema); err != nil {
				return Result{}, err
			}
		}
		schema = pr.Schema()
		src = pr
	default:
		if len(schema.Columns) == 0 {
			if schema, r, err = inferRewind(ctx, r, opts.File, format); err != nil {
				return Result{}, err
			}
		} else if err := schema.Validate(); err != nil {
			return Result{}, withFile(err, opts.File)
		}
		if format == CSV {
			cs, err := newCSVSource(r, opts.File, schema)
			if err != nil {
				return Result{}, err
			}
			if len(opts.NullOnly) > 0 {
				if len(opts.NullOnly) != len(schema.Columns) {
					return Result{}, fmt.Errorf("NullOnly has %d entries for %d columns", len(opts.NullOnly), len(schema.Columns))
				}
				cs.nullOnly = opts.NullOnly
			}
			src = cs
		} else {
			src = newJSONLSource(r, opts.File, schema)
		}
	}
	return convertSource(ctx, src, w, schema, opts)
}

// inferRewind infers the schema of a seekable input and rewinds it.
func inferRewind(ctx context.Context, r io.Reader, file string, format Format) (Schema, io.Reader, error) {
	orig := r
	if p, ok := r.(*peekedReader); ok {
		orig = p.orig
	}
	seeker, ok := orig.(io.Seeker)
	if !ok {
		return Schema{}, nil, errors.New("tabular: Convert without a schema needs an io.Seeker for CSV and JSONL input (or call InferSchema first)")
	}
	start := int64(0)
	if p, ok := r.(*peekedReader); ok {
		pos, err := seeker.Seek(0, io.SeekCurrent)
		if err != nil {
			return Schema{}, nil, err
		}
		start = pos - int64(len(p.head))
	} else {
		pos, err := seeker.Seek(0, io.SeekCurrent)
		if err != nil {
			return Schema{}, nil, err
		}
		start = pos
	}
	schema, err := InferSchema(ctx, r, ReadOptions{File: file, Format: format})
	if err != nil {
		return Schema{}, nil, err
	}
	if _, err := seeker.Seek(start, io.SeekStart); err != nil {
		return Schema{}, nil, err
	}
	return schema, orig, nil
}

// pageBufferSize is parquet-go's default page size, reduced for wide tables:
// the writer keeps one page buffer per column.
func pageBufferSize(columns int) int {
	return min(parquet.DefaultPageBufferSize, max(16<<10, (32<<20)/columns))
}

func newParquetWriter(w io.Writer, s Schema) *parquet.Writer {
	return parquet.NewWriter(w,
		ParquetSchema(s),
		parquet.PageBufferSize(pageBufferSize(len(s.Columns))),
		parquet.Compression(&pageCodec{}),
		// Fixed, rather than derived from the build info, so that the bytes
		// do not depend on how the binary was built.
		parquet.CreatedBy("granary", "1", "tabular"),
	)
}

type countingWriter struct {
	w io.Writer
	n int64
}

func (c *countingWriter) Write(p []byte) (int, error) {
	n, err := c.w.Write(p)
	c.n += int64(n)
	return n, err
}

// stagedBatch is a batch travelling from the reading stage to the writing
// stage of the pipeline.
type stagedBatch struct {
	b          *Batch
	endOfGroup bool  // the row group is complete after this batch
	err        error // reading failed; b is nil
}

// convertSource runs two stages on two goroutines: reading, parsing and
// statistics on one; parquet encoding, compression and writing on the other.
// Batches go through the stages in order, each stage owns its state (the
// source and stats, the writer), so the output does not depend on
// scheduling.
func convertSource(ctx context.Context, src source, w io.Writer, schema Schema, opts ConvertOptions) (Result, error) {
	stats := make([]*columnStats, len(schema.Columns))
	for i, c := range schema.Columns {
		stats[i] = newColumnStats(c, i)
	}
	const inFlight = 3
	free := make(chan *Batch, inFlight)
	for range inFlight {
		free <- newBatch(schema)
	}
	full := make(chan stagedBatch, inFlight)
	stop := make(chan struct{})
	go readStage(ctx, src, stats, opts, free, full, stop)

	res, err := writeStage(w, schema, opts, free, full)
	close(stop)
	for range full { // wait for the reading stage to end
	}
	if err != nil {
		return Result{}, err
	}
	res.Stats = make([]ColumnStats, len(stats))
	for i, s := range stats {
		res.Stats[i] = s.result()
	}
	return res, nil
}

func readStage(ctx context.Context, src source, stats []*columnStats, opts ConvertOptions, free chan *Batch, full chan<- stagedBatch, stop <-chan struct{}) {
	defer close(full)
	send := func(sb stagedBatch) bool {
		select {
		case full <- sb:
			return true
		case <-stop:
			return false
		}
	}
	var groupRows, groupBytes int64
	for {
		var b *Batch
		select {
		case b = <-free:
		case <-stop:
			return
		}
		if err := ctx.Err(); err != nil {
			send(stagedBatch{err: err})
			return
		}
		b.reset()
		err := src.fill(b, min(batchRows, opts.RowGroupRows-int(groupRows)))
		if err == io.EOF {
			return
		}
		if err != nil {
			send(stagedBatch{err: err})
			return
		}
		for i := range stats {
			stats[i].add(&b.Vectors[i], b.Len)
		}
		groupRows += int64(b.Len)
		groupBytes += b.bytes
		end := groupRows >= int64(opts.RowGroupRows) || groupBytes >= opts.RowGroupBytes
		if end {
			groupRows, groupBytes = 0, 0
		}
		if !send(stagedBatch{b: b, endOfGroup: end}) {
			return
		}
	}
}

func writeStage(w io.Writer, schema Schema, opts ConvertOptions, free chan<- *Batch, full <-chan stagedBatch) (Result, error) {
	cw := &countingWriter{w: w}
	pw := newParquetWriter(cw, schema)
	enc := &valueEncoder{}
	res := Result{Schema: schema}
	pending := false
	flush := func() error {
		if err := pw.Flush(); err != nil {
			return fmt.Errorf("tabular: writing parquet: %w", err)
		}
		res.RowGroups++
		pending = false
		if opts.Progress != nil {
			opts.Progress(res.Rows)
		}
		return nil
	}
	for sb := range full {
		if sb.err != nil {
			return Result{}, sb.err
		}
		if err := enc.write(pw, sb.b); err != nil {
			return Result{}, fmt.Errorf("tabular: writing parquet: %w", err)
		}
		res.Rows += int64(sb.b.Len)
		pending = true
		end := sb.endOfGroup
		free <- sb.b
		if end {
			if err := flush(); err != nil {
				return Result{}, err
			}
		}
	}
	if pending {
		if err := flush(); err != nil {
			return Result{}, err
		}
	}
	if err := pw.Close(); err != nil {
		return Result{}, fmt.Errorf("tabular: writing parquet: %w", err)
	}
	res.Bytes = cw.n
	return res, nil
}

// valueEncoder turns batch vectors into parquet values, column by column.
// Columns are independent in parquet (each has its own pages and
// compression), so up to encodeWorkers goroutines encode the columns of a
// batch at once; each column still receives its values in the same calls,
// so the bytes are the same as with one.
type valueEncoder struct {
	vals [encodeWorkers][]parquet.Value
}

// encodeWorkers bounds the goroutines encoding one file's columns. Two
// covers the machines this is tuned on; more helps wide tables on bigger
// ones only a little, as the rows are produced on one goroutine.
const encodeWorkers = 2

func (e *valueEncoder) write(pw *parquet.Writer, b *Batch) error {
	cols := pw.ColumnWriters()
	workers := min(encodeWorkers, runtime.GOMAXPROCS(0), len(b.Vectors))
	if workers <= 1 || b.Len < 256 {
		for ci := range b.Vectors {
			if err := e.column(0, cols[ci], b, ci); err != nil {
				return err
			}
		}
		return nil
	}
	var (
		next atomic.Int32
		wg   sync.WaitGroup
		errs [encodeWorkers]error
	)
	work := func(w int) {
		for {
			ci := int(next.Add(1)) - 1
			if ci >= len(b.Vectors) {
				return
			}
			if err := e.column(w, cols[ci], b, ci); err != nil {
				errs[w] = err
				return
			}
		}
	}
	for w := 1; w < workers; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			work(w)
		}()
	}
	work(0)
	wg.Wait()
	return errors.Join(errs[:workers]...)
}

// column writes column ci of b with worker w's value buffer.
func (e *valueEncoder) column(w int, cw *parquet.ColumnWriter, b *Batch, ci int) error {
	return encodeColumn(cw, b, ci, &e.vals[w])
}

// encodeColumn writes column ci of b to cw through *vals, a buffer kept
// by the caller between batches.
func encodeColumn(cw *parquet.ColumnWriter, b *Batch, ci int, vals *[]parquet.Value) error {
	n := b.Len
	if cap(*vals) < n {
		*vals = make([]parquet.Value, n)
	}
	v := &b.Vectors[ci]
	vs := (*vals)[:n]
	switch v.Type {
	case Int64, Timestamp:
		for i, x := range v.Ints[:n] {
			vs[i] = parquet.Int64Value(x)
		}
	case Float64:
		for i, x := range v.Floats[:n] {
			vs[i] = parquet.DoubleValue(x)
		}
	case Bool:
		for i, x := range v.Bools[:n] {
			vs[i] = parquet.BooleanValue(x)
		}
	case String:
		for i := range n {
			vs[i] = parquet.ByteArrayValue(v.StringBytes(i))
		}
	}
	// Set* are the inlinable forms of Value.Level.
	if v.Nulls != nil {
		for i, null := range v.Nulls[:n] {
			if null {
				vs[i] = parquet.NullValue()
			} else {
				vs[i].SetDefinitionLevel(1)
			}
			vs[i].SetColumnIndex(ci)
		}
	} else {
		for i := range vs {
			vs[i].SetColumnIndex(ci)
		}
	}
	_, err := cw.WriteRowValues(vs)
	return err
}
