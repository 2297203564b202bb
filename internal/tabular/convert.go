package tabular

import (
	"context"
	"errors"
	"fmt"
	"io"
	"math"

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

// convertSource reads, parses and gathers statistics on the calling
// goroutine, straight into batches of a BatchWriter, which encodes,
// compresses and writes them on its own goroutines. Row groups end every
// RowGroupRows rows or RowGroupBytes bytes, whichever comes first.
func convertSource(ctx context.Context, src source, w io.Writer, schema Schema, opts ConvertOptions) (Result, error) {
	stats := make([]*columnStats, len(schema.Columns))
	for i, c := range schema.Columns {
		stats[i] = newColumnStats(c, i)
	}
	bw := NewBatchWriter(w, schema, WriterOptions{RowGroupRows: math.MaxInt})
	res := Result{Schema: schema}
	var groupRows, groupBytes int64
	for {
		if err := ctx.Err(); err != nil {
			bw.Abort()
			return Result{}, err
		}
		b, err := bw.next()
		if err != nil {
			bw.Abort()
			return Result{}, err
		}
		err = src.fill(b, min(batchRows, opts.RowGroupRows-int(groupRows)))
		if err == io.EOF {
			bw.release(b)
			break
		}
		if err != nil {
			bw.release(b)
			bw.Abort()
			return Result{}, err
		}
		for i := range stats {
			stats[i].add(&b.Vectors[i], b.Len)
		}
		groupRows += int64(b.Len)
		groupBytes += b.bytes
		res.Rows += int64(b.Len)
		end := groupRows >= int64(opts.RowGroupRows) || groupBytes >= opts.RowGroupBytes
		bw.submitEnd(b, end)
		if end {
			groupRows, groupBytes = 0, 0
			res.RowGroups++
			if opts.Progress != nil {
				opts.Progress(res.Rows)
			}
		}
	}
	if groupRows > 0 {
		res.RowGroups++
	}
	_, n, err := bw.Close()
	if err != nil {
		return Result{}, err
	}
	if groupRows > 0 && opts.Progress != nil {
		opts.Progress(res.Rows)
	}
	res.Bytes = n
	res.Stats = make([]ColumnStats, len(stats))
	for i, s := range stats {
		res.Stats[i] = s.result()
	}
	return res, nil
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
