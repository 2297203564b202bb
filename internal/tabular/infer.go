package tabular

import (
	"context"
	"errors"
	"fmt"
	"io"
	"unicode/utf8"
)

// ReadOptions describe an input for InferSchema.
type ReadOptions struct {
	File   string // name used in errors and for format detection
	Format Format // "" detects it from File and the content
}

// InferSchema reads the whole input once and returns the schema that Convert
// would use for it: see "Inference" in the package documentation. Parquet
// input must be an io.ReaderAt with a size (see Convert); its schema comes
// from the file.
func InferSchema(ctx context.Context, r io.Reader, opts ReadOptions) (Schema, error) {
	in, err := Infer(ctx, r, opts)
	if err != nil {
		return Schema{}, err
	}
	return in.Schema(), nil
}

// Candidate types of a column, narrowed by each value.
const (
	candBool uint8 = 1 << iota
	candInt
	candFloat
	candTimestamp
	candAll = candBool | candInt | candFloat | candTimestamp
)

type inferredColumn struct {
	name     string
	mask     uint8
	nonNull  bool
	nullable bool
	present  int64 // rows that had the column (JSONL)
}

func (c *inferredColumn) column() Column {
	t := String
	if c.nonNull {
		switch {
		case c.mask&candBool != 0:
			t = Bool
		case c.mask&candInt != 0:
			t = Int64
		case c.mask&candFloat != 0:
			t = Float64
		case c.mask&candTimestamp != 0:
			t = Timestamp
		}
	}
	return Column{Name: c.name, Type: t, Nullable: c.nullable || !c.nonNull}
}

// textCandidates returns the subset of mask that val parses as.
func textCandidates(val []byte, mask uint8) uint8 {
	var m uint8
	if mask&candBool != 0 {
		if _, ok := parseBool(val); ok {
			return candBool
		}
	}
	if mask&(candInt|candFloat) != 0 {
		if _, ok := parseInt64(val); ok {
			m |= candInt | candFloat
		} else if mask&candFloat != 0 {
			if _, ok := parseFloat64(val); ok {
				m |= candFloat
			}
		}
	}
	if mask&candTimestamp != 0 && len(val) >= 10 {
		if _, ok := parseTimestamp(val); ok {
			m |= candTimestamp
		}
	}
	return m & mask
}

func schemaOf(cols []inferredColumn) Schema {
	s := Schema{Columns: make([]Column, len(cols))}
	for i := range cols {
		s.Columns[i] = cols[i].column()
	}
	return s
}

// PrefixSchema is a CSV schema inferred from the input's first rows.
type PrefixSchema struct {
	Schema Schema
	// Complete is true when the prefix was the whole input: the schema is
	// then exactly InferSchema's.
	Complete bool
	// NullOnly marks columns that had no value in the prefix: their type
	// is a guess, so ConvertOptions.NullOnly must reject any value there.
	NullOnly []bool
}

// InferCSVPrefix infers a CSV input's schema from its first maxRows rows.
//
// Converting the whole input with that schema and NullOnly succeeds only
// if InferSchema over the whole input gives the same schema: types only
// narrow as values are seen (bool, int64, float64, timestamp, string, in
// that order of preference), the prefix already ruled out every type
// preferred to its choice, and the conversion parses every later value
// as that type with the parsers inference uses; a null in a column the
// prefix saw as not nullable, or a value in a column it saw only nulls in,
// fails the conversion. So a conversion that succeeds is exactly the
// two-pass result, and one that fails is redone with the full inference.
func InferCSVPrefix(ctx context.Context, r io.Reader, file string, maxRows int64) (PrefixSchema, error) {
	cols, complete, err := inferCSVRows(ctx, r, file, maxRows)
	if err != nil {
		return PrefixSchema{}, err
	}
	p := PrefixSchema{Schema: schemaOf(cols), Complete: complete, NullOnly: make([]bool, len(cols))}
	for i := range cols {
		p.NullOnly[i] = !cols[i].nonNull
	}
	return p, nil
}

// inferCSVRows narrows every column's candidate types over the first
// maxRows data rows (all of them when maxRows < 0); complete reports
// whether the input ended within them.
func inferCSVRows(ctx context.Context, r io.Reader, file string, maxRows int64) (cols []inferredColumn, complete bool, err error) {
	sc := newCSVScanner(r, file)
	names, err := sc.readHeader()
	if err != nil {
		return nil, false, err
	}
	cols = make([]inferredColumn, len(names))
	for i, n := range names {
		cols[i] = inferredColumn{name: n, mask: candAll}
	}
	var row int64
	for maxRows < 0 || row < maxRows {
		if row&0xfff == 0 {
			if err := ctx.Err(); err != nil {
				return nil, false, err
			}
		}
		if err := sc.next(); err != nil {
			if err == io.EOF {
				return cols, true, nil
			}
			return nil, false, err
		}
		if len(sc.fields) != len(cols) {
			if len(cols) > 1 && sc.isBlank() {
				continue
			}
			return nil, false, &InputError{File: file, Line: sc.recLine, Row: row + 1,
				Err: fmt.Errorf("expected %d fields, found %d", len(cols), len(sc.fields))}
		}
		row++
		for i := range sc.fields {
			f := &sc.fields[i]
			c := &cols[i]
			if len(f.val) == 0 && !f.quoted {
				c.nullable = true
				continue
			}
			c.nonNull = true
			if c.mask != 0 {
				c.mask = textCandidates(f.val, c.mask)
			}
			if c.mask == 0 && !utf8.Valid(f.val) {
				return nil, false, &InputError{File: file, Line: sc.recLine, Row: row, Column: c.name,
					Err: fmt.Errorf("%s is not valid UTF-8", quoteValue(f.val))}
			}
		}
	}
	return cols, false, nil
}

// readerAtSize gives random access to r, which parquet needs.
func readerAtSize(r io.Reader) (io.ReaderAt, int64, error) {
	if pr, ok := r.(*peekedReader); ok {
		r = pr.orig
	}
	ra, ok := r.(io.ReaderAt)
	if !ok {
		return nil, 0, errors.New("tabular: parquet input must implement io.ReaderAt (e.g. *os.File, *bytes.Reader, *io.SectionReader)")
	}
	switch v := r.(type) {
	case interface{ Size() int64 }:
		return ra, v.Size(), nil
	case io.Seeker:
		size, err := v.Seek(0, io.SeekEnd)
		if err != nil {
			return nil, 0, err
		}
		return ra, size, nil
	}
	return nil, 0, errors.New("tabular: parquet input must report its size (Size() int64 or io.Seeker)")
}
