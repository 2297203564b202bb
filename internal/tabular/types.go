package tabular

import (
	"fmt"
	"unicode/utf8"
)

// Type is the logical type of a column.
type Type string

// The column types.
const (
	Int64     Type = "int64"
	Float64   Type = "float64"
	String    Type = "string"
	Bool      Type = "bool"
	Timestamp Type = "timestamp" // microseconds since the Unix epoch, UTC
)

// Valid reports whether t is one of the column types.
func (t Type) Valid() bool {
	switch t {
	case Int64, Float64, String, Bool, Timestamp:
		return true
	}
	return false
}

// Column describes one column of a schema.
type Column struct {
	Name     string `json:"name"`
	Type     Type   `json:"type"`
	Nullable bool   `json:"nullable"`
}

// Schema is an ordered list of columns.
type Schema struct {
	Columns []Column `json:"columns"`
}

// Index returns the position of the named column, or -1.
func (s Schema) Index(name string) int {
	for i, c := range s.Columns {
		if c.Name == name {
			return i
		}
	}
	return -1
}

// Names returns the column names in order.
func (s Schema) Names() []string {
	names := make([]string, len(s.Columns))
	for i, c := range s.Columns {
		names[i] = c.Name
	}
	return names
}

// Validate checks that the schema has at least one column, that names are
// non-empty, valid UTF-8 and unique, and that types are known. The error is
// an *InputError matching ErrBadInput.
func (s Schema) Validate() error {
	if len(s.Columns) == 0 {
		return &InputError{Err: fmt.Errorf("schema has no columns")}
	}
	if len(s.Columns) > maxColumns {
		return &InputError{Err: fmt.Errorf("schema has %d columns, more than the %d supported", len(s.Columns), maxColumns)}
	}
	seen := make(map[string]struct{}, len(s.Columns))
	for i, c := range s.Columns {
		if err := checkColumnName(c.Name, i); err != nil {
			return err
		}
		if _, dup := seen[c.Name]; dup {
			return &InputError{Column: c.Name, Err: fmt.Errorf("duplicate column name")}
		}
		seen[c.Name] = struct{}{}
		if !c.Type.Valid() {
			return &InputError{Column: c.Name, Err: errUnknownType(c.Type)}
		}
	}
	return nil
}

func checkColumnName(name string, index int) error {
	if name == "" {
		return &InputError{Err: fmt.Errorf("column %d has an empty name", index+1)}
	}
	if !utf8.ValidString(name) {
		return &InputError{Err: fmt.Errorf("column %d name %s is not valid UTF-8", index+1, quoteValue([]byte(name)))}
	}
	return nil
}

func errUnknownType(t Type) error {
	return fmt.Errorf("unknown type %q (want int64, float64, string, bool or timestamp)", string(t))
}

// maxColumns bounds the width of a table; parquet-go addresses leaf columns
// with an int16.
const maxColumns = 32767
