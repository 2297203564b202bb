package tabular

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"unicode/utf16"
	"unicode/utf8"
)

type jsonKind uint8

const (
	jsonNull jsonKind = iota
	jsonFalse
	jsonTrue
	jsonNumber
	jsonString
)

// jsonField is one key/value pair of an object. key and val alias the
// scanner's buffers; val is the unescaped string or the number's text.
type jsonField struct {
	key   []byte
	kind  jsonKind
	val   []byte
	isInt bool // number without fraction or exponent
}

// jsonlScanner parses one flat JSON object per line, without reflection and
// without copying unescaped strings.
type jsonlScanner struct {
	in      chunkReader
	file    string
	line    int64 // physical line of the current object
	next1   int64 // physical line of the next line to read
	fields  []jsonField
	scratch []byte
}

func newJSONLScanner(r io.Reader, file string) *jsonlScanner {
	return &jsonlScanner{in: newChunkReader(r), file: file, next1: 1}
}

// next parses the following non-blank line into s.fields; io.EOF at the end.
func (s *jsonlScanner) next() error {
	for {
		data := s.in.data()
		if len(data) == 0 && s.in.eof {
			return io.EOF
		}
		i := bytes.IndexByte(data, '\n')
		if i < 0 && !s.in.eof {
			if err := s.in.more(); err != nil {
				if err == errRecordTooLong {
					return &InputError{File: s.file, Line: s.next1, Err: err}
				}
				return err
			}
			continue
		}
		line := data
		if i >= 0 {
			line = data[:i]
			s.in.start += i + 1
		} else {
			s.in.start += len(data)
		}
		s.line = s.next1
		s.next1++
		if s.line == 1 {
			line = bytes.TrimPrefix(line, utf8BOM)
		}
		if len(bytes.Trim(line, " \t\r")) == 0 {
			continue
		}
		return s.parseObject(line)
	}
}

func (s *jsonlScanner) errorf(format string, args ...any) error {
	return &InputError{File: s.file, Line: s.line, Err: fmt.Errorf(format, args...)}
}

func skipWS(b []byte, i int) int {
	for i < len(b) && (b[i] == ' ' || b[i] == '\t' || b[i] == '\r' || b[i] == '\n') {
		i++
	}
	return i
}

func (s *jsonlScanner) parseObject(b []byte) error {
	s.fields = s.fields[:0]
	s.scratch = s.scratch[:0]
	if !utf8.Valid(b) {
		return s.errorf("line is not valid UTF-8")
	}
	i := skipWS(b, 0)
	if i >= len(b) || b[i] != '{' {
		return s.errorf("line is not a JSON object")
	}
	i = skipWS(b, i+1)
	if i < len(b) && b[i] == '}' {
		i++
	} else {
		for {
			if i >= len(b) || b[i] != '"' {
				return s.errorf("invalid JSON: expected a string key at byte %d", i+1)
			}
			key, j, err := s.parseString(b, i)
			if err != nil {
				return err
			}
			i = skipWS(b, j)
			if i >= len(b) || b[i] != ':' {
				return s.errorf("invalid JSON: expected ':' after key %s at byte %d", quoteValue(key), i+1)
			}
			i = skipWS(b, i+1)
			f := jsonField{key: key}
			if i >= len(b) {
				return s.errorf("invalid JSON: missing value for key %s", quoteValue(key))
			}
			switch c := b[i]; {
			case c == '"':
				f.kind = jsonString
				f.val, i, err = s.parseString(b, i)
				if err != nil {
					return err
				}
			case c == '{' || c == '[':
				return &InputError{File: s.file, Line: s.line, Column: string(key),
					Err: errors.New("nested objects and arrays are not supported (columns are flat)")}
			case c == 't' && bytes.HasPrefix(b[i:], []byte("true")):
				f.kind, i = jsonTrue, i+4
			case c == 'f' && bytes.HasPrefix(b[i:], []byte("false")):
				f.kind, i = jsonFalse, i+5
			case c == 'n' && bytes.HasPrefix(b[i:], []byte("null")):
				f.kind, i = jsonNull, i+4
			case c == '-' || (c >= '0' && c <= '9'):
				j, isInt, ok := scanJSONNumber(b, i)
				if !ok {
					return s.errorf("invalid JSON number at byte %d", i+1)
				}
				f.kind, f.val, f.isInt, i = jsonNumber, b[i:j:j], isInt, j
			default:
				return s.errorf("invalid JSON: unexpected %s at byte %d", quoteValue(b[i:i+1]), i+1)
			}
			if len(s.fields) == maxColumns {
				// No table has more columns, and a 64 MiB line of keys
				// would otherwise take gigabytes of fields.
				return s.errorf("object has more than %d keys", maxColumns)
			}
			s.fields = append(s.fields, f)
			i = skipWS(b, i)
			if i < len(b) && b[i] == ',' {
				i = skipWS(b, i+1)
				continue
			}
			if i < len(b) && b[i] == '}' {
				i++
				break
			}
			return s.errorf("invalid JSON: expected ',' or '}' at byte %d", i+1)
		}
	}
	if skipWS(b, i) != len(b) {
		return s.errorf("invalid JSON: unexpected data after the object at byte %d", i+1)
	}
	return nil
}

// scanJSONNumber returns the end of the number starting at i.
func scanJSONNumber(b []byte, i int) (end int, isInt, ok bool) {
	n := len(b)
	if i < n && b[i] == '-' {
		i++
	}
	switch {
	case i < n && b[i] == '0':
		i++
	case i < n && b[i] >= '1' && b[i] <= '9':
		for i < n && b[i]-'0' <= 9 {
			i++
		}
	default:
		return 0, false, false
	}
	isInt = true
	if i < n && b[i] == '.' {
		isInt = false
		i++
		start := i
		for i < n && b[i]-'0' <= 9 {
			i++
		}
		if i == start {
			return 0, false, false
		}
	}
	if i < n && (b[i] == 'e' || b[i] == 'E') {
		isInt = false
		i++
		if i < n && (b[i] == '+' || b[i] == '-') {
			i++
		}
		start := i
		for i < n && b[i]-'0' <= 9 {
			i++
		}
		if i == start {
			return 0, false, false
		}
	}
	return i, isInt, true
}

// parseString parses the JSON string starting at b[i] == '"'. Strings without
// escapes alias b; others are unescaped into s.scratch.
func (s *jsonlScanner) parseString(b []byte, i int) ([]byte, int, error) {
	start := i + 1
	j := start
	for j < len(b) {
		c := b[j]
		if c == '"' {
			return b[start:j:j], j + 1, nil
		}
		if c == '\\' {
			break
		}
		if c < 0x20 {
			return nil, 0, s.errorf("invalid JSON: control character in string at byte %d", j+1)
		}
		j++
	}
	if j >= len(b) {
		return nil, 0, s.errorf("invalid JSON: unterminated string at byte %d", i+1)
	}
	out := len(s.scratch)
	s.scratch = append(s.scratch, b[start:j]...)
	for j < len(b) {
		c := b[j]
		switch {
		case c == '"':
			v := s.scratch[out:len(s.scratch):len(s.scratch)]
			return v, j + 1, nil
		case c < 0x20:
			return nil, 0, s.errorf("invalid JSON: control character in string at byte %d", j+1)
		case c != '\\':
			s.scratch = append(s.scratch, c)
			j++
			continue
		}
		if j+1 >= len(b) {
			break
		}
		esc := b[j+1]
		j += 2
		switch esc {
		case '"', '\\', '/':
			s.scratch = append(s.scratch, esc)
		case 'b':
			s.scratch = append(s.scratch, '\b')
		case 'f':
			s.scratch = append(s.scratch, '\f')
		case 'n':
			s.scratch = append(s.scratch, '\n')
		case 'r':
			s.scratch = append(s.scratch, '\r')
		case 't':
			s.scratch = append(s.scratch, '\t')
		case 'u':
			r, ok := hex4(b, j)
			if !ok {
				return nil, 0, s.errorf(`invalid JSON: bad \u escape at byte %d`, j-1)
			}
			j += 4
			if utf16.IsSurrogate(r) {
				r2, ok := rune(0), false
				if j+6 <= len(b) && b[j] == '\\' && b[j+1] == 'u' {
					r2, ok = hex4(b, j+2)
				}
				dec := utf16.DecodeRune(r, r2)
				if !ok || dec == utf8.RuneError {
					return nil, 0, s.errorf(`invalid JSON: unpaired surrogate \u escape at byte %d`, j-5)
				}
				j += 6
				r = dec
			}
			s.scratch = utf8.AppendRune(s.scratch, r)
		default:
			return nil, 0, s.errorf("invalid JSON: bad escape at byte %d", j-1)
		}
	}
	return nil, 0, s.errorf("invalid JSON: unterminated string at byte %d", i+1)
}

func hex4(b []byte, i int) (rune, bool) {
	if i+4 > len(b) {
		return 0, false
	}
	var r rune
	for _, c := range b[i : i+4] {
		var d byte
		switch {
		case c >= '0' && c <= '9':
			d = c - '0'
		case c >= 'a' && c <= 'f':
			d = c - 'a' + 10
		case c >= 'A' && c <= 'F':
			d = c - 'A' + 10
		default:
			return 0, false
		}
		r = r<<4 | rune(d)
	}
	return r, true
}

// jsonlSource converts objects to typed rows.
type jsonlSource struct {
	sc     *jsonlScanner
	schema Schema
	index  map[string]int
	stamp  []int64 // row in which each column was last set
	row    int64
}

func newJSONLSource(r io.Reader, file string, schema Schema) *jsonlSource {
	idx := make(map[string]int, len(schema.Columns))
	for i, c := range schema.Columns {
		idx[c.Name] = i
	}
	return &jsonlSource{sc: newJSONLScanner(r, file), schema: schema, index: idx, stamp: make([]int64, len(schema.Columns))}
}

func (s *jsonlSource) fill(b *Batch, maxRows int) error {
	sc := s.sc
	for !b.full(maxRows) {
		if err := sc.next(); err != nil {
			if err == io.EOF {
				if b.Len == 0 {
					if s.row == 0 && sc.in.total == 0 {
						return &InputError{File: sc.file, Err: errors.New("empty file")}
					}
					return io.EOF
				}
				return nil
			}
			return withRow(err, s.row+1)
		}
		s.row++
		for i := range sc.fields {
			f := &sc.fields[i]
			ci, ok := s.index[string(f.key)]
			if !ok {
				return &InputError{File: sc.file, Line: sc.line, Row: s.row, Column: string(f.key), Err: errors.New("key is not in the schema")}
			}
			if s.stamp[ci] == s.row {
				return s.valueErr(ci, errors.New("duplicate key in object"))
			}
			s.stamp[ci] = s.row
			if err := s.appendValue(b, ci, f); err != nil {
				return err
			}
		}
		for ci := range s.stamp {
			if s.stamp[ci] != s.row {
				v := &b.Vectors[ci]
				if v.Nulls == nil {
					return s.valueErr(ci, errors.New("missing key for a column that is not nullable"))
				}
				v.appendNull(b)
			}
		}
		b.Len++
	}
	return nil
}

func (s *jsonlSource) appendValue(b *Batch, ci int, f *jsonField) error {
	v := &b.Vectors[ci]
	if f.kind == jsonNull {
		if v.Nulls == nil {
			return s.valueErr(ci, errors.New("null in a column that is not nullable"))
		}
		v.appendNull(b)
		return nil
	}
	switch v.Type {
	case Int64:
		if f.kind == jsonNumber && f.isInt {
			if x, ok := parseInt64(f.val); ok {
				v.appendInt(b, x)
				return nil
			}
		}
	case Float64:
		if f.kind == jsonNumber {
			if x, ok := parseFloat64(f.val); ok {
				v.appendFloat(b, x)
				return nil
			}
		}
	case Bool:
		if f.kind == jsonTrue || f.kind == jsonFalse {
			v.appendBool(b, f.kind == jsonTrue)
			return nil
		}
	case Timestamp:
		if f.kind == jsonString {
			if x, ok := parseTimestamp(f.val); ok {
				v.appendInt(b, x)
				return nil
			}
		}
	case String:
		v.appendString(b, jsonText(f))
		return nil
	}
	return s.valueErr(ci, typeMismatch(jsonText(f), v.Type))
}

// jsonText is the text a scalar contributes to a string column.
func jsonText(f *jsonField) []byte {
	switch f.kind {
	case jsonTrue:
		return []byte("true")
	case jsonFalse:
		return []byte("false")
	case jsonNull:
		return []byte("null")
	}
	return f.val
}

func (s *jsonlSource) valueErr(ci int, err error) error {
	return &InputError{File: s.sc.file, Line: s.sc.line, Row: s.row, Column: s.schema.Columns[ci].Name, Err: err}
}

func withRow(err error, row int64) error {
	var ie *InputError
	if errors.As(err, &ie) && ie.Row == 0 {
		ie.Row = row
	}
	return err
}

func jsonCandidates(f *jsonField, mask uint8) uint8 {
	switch f.kind {
	case jsonTrue, jsonFalse:
		return mask & candBool
	case jsonNumber:
		if f.isInt {
			if _, ok := parseInt64(f.val); ok {
				return mask & (candInt | candFloat)
			}
		}
		if _, ok := parseFloat64(f.val); ok {
			return mask & candFloat
		}
		return 0
	case jsonString:
		if mask&candTimestamp != 0 {
			if _, ok := parseTimestamp(f.val); ok {
				return candTimestamp
			}
		}
	}
	return 0
}

// inferJSONLColumns narrows every key's candidate types over the whole
// input; a key missing from some object is nullable.
func inferJSONLColumns(ctx context.Context, r io.Reader, file string) ([]inferredColumn, error) {
	sc := newJSONLScanner(r, file)
	index := make(map[string]int)
	var (
		cols  []inferredColumn
		stamp []int64
		row   int64
	)
	for {
		if row&0xfff == 0 {
			if err := ctx.Err(); err != nil {
				return nil, err
			}
		}
		if err := sc.next(); err != nil {
			if err == io.EOF {
				break
			}
			return nil, withRow(err, row+1)
		}
		row++
		for i := range sc.fields {
			f := &sc.fields[i]
			ci, ok := index[string(f.key)]
			if !ok {
				if len(cols) == maxColumns {
					return nil, &InputError{File: file, Line: sc.line, Row: row, Err: fmt.Errorf("more than %d distinct keys", maxColumns)}
				}
				if err := checkColumnName(string(f.key), len(cols)); err != nil {
					return nil, withLine(withRow(err, row), file, sc.line)
				}
				ci = len(cols)
				index[string(f.key)] = ci
				cols = append(cols, inferredColumn{name: string(f.key), mask: candAll})
				stamp = append(stamp, 0)
			}
			c := &cols[ci]
			if stamp[ci] == row {
				return nil, &InputError{File: file, Line: sc.line, Row: row, Column: c.name, Err: errors.New("duplicate key in object")}
			}
			stamp[ci] = row
			c.present++
			if f.kind == jsonNull {
				c.nullable = true
				continue
			}
			c.nonNull = true
			if c.mask != 0 {
				c.mask = jsonCandidates(f, c.mask)
			}
		}
	}
	if row == 0 {
		if sc.in.total == 0 {
			return nil, &InputError{File: file, Err: errors.New("empty file")}
		}
		return nil, &InputError{File: file, Err: errors.New("no JSON objects")}
	}
	if len(cols) == 0 {
		return nil, &InputError{File: file, Err: errors.New("no columns: every object is empty")}
	}
	for i := range cols {
		if cols[i].present < row {
			cols[i].nullable = true
		}
	}
	return cols, nil
}
