package tabular

import (
	"errors"
	"fmt"
	"io"
	"unicode/utf8"
)

// source yields typed rows in schema order.
type source interface {
	// fill appends rows to b until b is full (see Batch.full) or the input
	// ends. It returns io.EOF when it appended nothing because the input
	// had ended.
	fill(b *Batch, maxRows int) error
}

type csvSource struct {
	sc     *csvScanner
	schema Schema
	colOf  []int // field position -> schema column
	row    int64
	// nullOnly marks schema columns where any value is ErrSpeculation.
	nullOnly []bool
}

func newCSVSource(r io.Reader, file string, schema Schema) (*csvSource, error) {
	sc := newCSVScanner(r, file)
	names, err := sc.readHeader()
	if err != nil {
		return nil, err
	}
	colOf, err := matchColumns(names, schema)
	if err != nil {
		return nil, withLine(err, file, sc.recLine)
	}
	return &csvSource{sc: sc, schema: schema, colOf: colOf}, nil
}

// matchColumns maps input column names onto the schema: every schema column
// must appear exactly once and no other column may appear; order is free.
func matchColumns(names []string, schema Schema) ([]int, error) {
	colOf := make([]int, len(names))
	found := make([]bool, len(schema.Columns))
	for i, name := range names {
		ci := schema.Index(name)
		if ci < 0 {
			return nil, &InputError{Column: name, Err: errors.New("not in the schema")}
		}
		colOf[i] = ci
		found[ci] = true
	}
	for ci, ok := range found {
		if !ok {
			return nil, &InputError{Column: schema.Columns[ci].Name, Err: errors.New("schema column missing from the input")}
		}
	}
	return colOf, nil
}

func (s *csvSource) fill(b *Batch, maxRows int) error {
	sc := s.sc
	ncols := len(s.colOf)
	for !b.full(maxRows) {
		if err := sc.next(); err != nil {
			if err == io.EOF {
				if b.Len == 0 {
					return io.EOF
				}
				return nil
			}
			return err
		}
		if len(sc.fields) != ncols {
			if ncols > 1 && sc.isBlank() {
				continue
			}
			return &InputError{File: sc.file, Line: sc.recLine, Row: s.row + 1,
				Err: fmt.Errorf("expected %d fields, found %d", ncols, len(sc.fields))}
		}
		s.row++
		for i := range sc.fields {
			f := &sc.fields[i]
			ci := s.colOf[i]
			v := &b.Vectors[ci]
			if len(f.val) == 0 && !f.quoted {
				if v.Nulls == nil {
					return s.valueErr(ci, errors.New("missing value in a column that is not nullable"))
				}
				v.appendNull(b)
				continue
			}
			if s.nullOnly != nil && s.nullOnly[ci] {
				return s.valueErr(ci, fmt.Errorf("%w: a value in a column that was empty in the first rows", ErrSpeculation))
			}
			switch v.Type {
			case Int64:
				x, ok := parseInt64(f.val)
				if !ok {
					return s.typeErr(ci, f.val)
				}
				v.appendInt(b, x)
			case Float64:
				x, ok := parseFloat64(f.val)
				if !ok {
					return s.typeErr(ci, f.val)
				}
				v.appendFloat(b, x)
			case Bool:
				x, ok := parseBool(f.val)
				if !ok {
					return s.typeErr(ci, f.val)
				}
				v.appendBool(b, x)
			case Timestamp:
				x, ok := parseTimestamp(f.val)
				if !ok {
					return s.typeErr(ci, f.val)
				}
				v.appendInt(b, x)
			case String:
				if !utf8.Valid(f.val) {
					return s.valueErr(ci, fmt.Errorf("%s is not valid UTF-8", quoteValue(f.val)))
				}
				v.appendString(b, f.val)
			}
		}
		b.Len++
	}
	return nil
}

func (s *csvSource) typeErr(ci int, val []byte) error {
	return s.valueErr(ci, typeMismatch(val, s.schema.Columns[ci].Type))
}

func typeMismatch(val []byte, t Type) error {
	return fmt.Errorf("%s is not a%s %s", quoteValue(val), article(t), t)
}

func article(t Type) string {
	if t == Int64 {
		return "n"
	}
	return ""
}

func (s *csvSource) valueErr(ci int, err error) error {
	return &InputError{File: s.sc.file, Line: s.sc.recLine, Row: s.row, Column: s.schema.Columns[ci].Name, Err: err}
}
