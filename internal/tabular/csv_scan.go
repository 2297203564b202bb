package tabular

import (
	"bytes"
	"errors"
	"fmt"
	"io"
)

// csvField is one field of a record. val aliases the scanner's buffers and is
// valid until the next call to next.
type csvField struct {
	val    []byte
	quoted bool
}

// csvScanner splits RFC 4180 CSV into records without copying unquoted
// fields. Unlike encoding/csv it reports whether a field was quoted (the
// null/empty-string convention) and keeps bytes inside quotes verbatim.
type csvScanner struct {
	in      chunkReader
	file    string
	delim   byte
	fields  []csvField
	scratch []byte // unescaped quoted fields of the current record
	line    int64  // physical line at which the next record starts
	recLine int64  // physical line at which the current record started
	started bool
}

func newCSVScanner(r io.Reader, file string) *csvScanner {
	return &csvScanner{in: newChunkReader(r), file: file, delim: ',', line: 1}
}

var errNeedMore = errors.New("need more input")

// next reads the following record into s.fields; io.EOF at the end.
func (s *csvScanner) next() error {
	if !s.started {
		s.started = true
		for len(s.in.data()) < len(utf8BOM) && !s.in.eof {
			if err := s.in.more(); err != nil {
				return s.readErr(err)
			}
		}
		if bytes.HasPrefix(s.in.data(), utf8BOM) {
			s.in.start += len(utf8BOM)
		}
	}
	for {
		data := s.in.data()
		if len(data) == 0 && s.in.eof {
			return io.EOF
		}
		n, nl, err := s.parse(data, s.in.eof)
		if err == errNeedMore {
			if err := s.in.more(); err != nil {
				return s.readErr(err)
			}
			continue
		}
		if err != nil {
			return err
		}
		s.recLine = s.line
		s.line += nl
		s.in.start += n
		return nil
	}
}

func (s *csvScanner) readErr(err error) error {
	if err == errRecordTooLong {
		return &InputError{File: s.file, Line: s.line, Err: err}
	}
	return err
}

// parse splits the record at the start of data. It returns the bytes and
// newlines consumed, or errNeedMore when data ends inside the record and
// more input may follow.
func (s *csvScanner) parse(data []byte, atEOF bool) (int, int64, error) {
	s.fields = s.fields[:0]
	s.scratch = s.scratch[:0]
	lineEnd := bytes.IndexByte(data, '\n')
	line, n, nl := data, len(data), int64(0)
	if lineEnd >= 0 {
		line, n, nl = data[:lineEnd], lineEnd+1, 1
	} else if !atEOF {
		return 0, 0, errNeedMore
	}
	if bytes.IndexByte(line, '"') >= 0 {
		return s.parseQuoted(data, atEOF)
	}
	// Fast path: a line without quotes is the whole record.
	if lineEnd >= 0 && len(line) > 0 && line[len(line)-1] == '\r' {
		line = line[:len(line)-1]
	}
	d := s.delim
	start := 0
	for i, c := range line {
		if c == d {
			if len(s.fields) == maxColumns {
				return 0, 0, s.tooManyFields(0)
			}
			s.fields = append(s.fields, csvField{val: line[start:i:i]})
			start = i + 1
		}
	}
	s.fields = append(s.fields, csvField{val: line[start:len(line):len(line)]})
	return n, nl, nil
}

func (s *csvScanner) parseQuoted(data []byte, atEOF bool) (int, int64, error) {
	d := s.delim
	p := 0
	var nl int64
	for {
		if p < len(data) && data[p] == '"' {
			q := p + 1
			escaped := false
			for {
				j := bytes.IndexByte(data[q:], '"')
				if j < 0 {
					if !atEOF {
						return 0, 0, errNeedMore
					}
					return 0, 0, s.syntaxErr(nl, "quoted field is never closed")
				}
				q += j
				if q+1 < len(data) && data[q+1] == '"' {
					escaped = true
					q += 2
					continue
				}
				if q+1 == len(data) && !atEOF {
					return 0, 0, errNeedMore // the next byte may be a second quote
				}
				break
			}
			raw := data[p+1 : q]
			val := raw[:len(raw):len(raw)]
			if escaped {
				start := len(s.scratch)
				s.scratch = appendUnescapedQuotes(s.scratch, raw)
				val = s.scratch[start:len(s.scratch):len(s.scratch)]
			}
			s.fields = append(s.fields, csvField{val: val, quoted: true})
			nl += int64(bytes.Count(raw, []byte{'\n'}))
			p = q + 1
			if p == len(data) {
				return p, nl, nil
			}
			switch data[p] {
			case d:
				if len(s.fields) > maxColumns {
					return 0, 0, s.tooManyFields(nl)
				}
				p++
				continue
			case '\n':
				return p + 1, nl + 1, nil
			case '\r':
				if p+1 < len(data) && data[p+1] == '\n' {
					return p + 2, nl + 1, nil
				}
				if p+1 == len(data) && !atEOF {
					return 0, 0, errNeedMore
				}
			}
			return 0, 0, s.syntaxErr(nl, `extraneous or missing " in quoted field`)
		}
		q := p
		for q < len(data) {
			c := data[q]
			if c == d || c == '\n' || c == '"' {
				break
			}
			q++
		}
		if q == len(data) {
			if !atEOF {
				return 0, 0, errNeedMore
			}
			s.fields = append(s.fields, csvField{val: data[p:q:q]})
			return q, nl, nil
		}
		switch data[q] {
		case '"':
			return 0, 0, s.syntaxErr(nl, `bare " in non-quoted field`)
		case d:
			if len(s.fields) == maxColumns {
				return 0, 0, s.tooManyFields(nl)
			}
			s.fields = append(s.fields, csvField{val: data[p:q:q]})
			p = q + 1
		default: // '\n'
			v := data[p:q:q]
			if len(v) > 0 && v[len(v)-1] == '\r' {
				v = v[: len(v)-1 : len(v)-1]
			}
			s.fields = append(s.fields, csvField{val: v})
			return q + 1, nl + 1, nil
		}
	}
}

// tooManyFields stops a record at maxColumns fields: it could be no
// table's header or row, and a 64 MiB record of separators would
// otherwise take gigabytes of field slices.
func (s *csvScanner) tooManyFields(nl int64) error {
	return s.syntaxErr(nl, fmt.Sprintf("record has more than %d fields", maxColumns))
}

func (s *csvScanner) syntaxErr(nl int64, msg string) error {
	return &InputError{File: s.file, Line: s.line + nl, Err: errors.New(msg)}
}

func appendUnescapedQuotes(dst, raw []byte) []byte {
	for {
		i := bytes.IndexByte(raw, '"')
		if i < 0 {
			return append(dst, raw...)
		}
		dst = append(dst, raw[:i+1]...)
		raw = raw[i+2:] // a quote inside a quoted field is always doubled
	}
}

// readHeader reads the header record and validates the names.
func (s *csvScanner) readHeader() ([]string, error) {
	err := s.next()
	if err == io.EOF {
		return nil, &InputError{File: s.file, Err: errors.New("empty file")}
	}
	if err != nil {
		return nil, err
	}
	names := make([]string, len(s.fields))
	seen := make(map[string]int, len(s.fields))
	for i, f := range s.fields {
		name := string(f.val)
		if err := checkColumnName(name, i); err != nil {
			return nil, withLine(err, s.file, s.recLine)
		}
		if first, dup := seen[name]; dup {
			return nil, &InputError{File: s.file, Line: s.recLine, Column: name,
				Err: fmt.Errorf("duplicate column name (fields %d and %d)", first+1, i+1)}
		}
		seen[name] = i
		names[i] = name
	}
	if len(names) > maxColumns {
		return nil, &InputError{File: s.file, Line: s.recLine, Err: fmt.Errorf("%d columns, more than the %d supported", len(names), maxColumns)}
	}
	return names, nil
}

// isBlank reports whether the current record is an empty line.
func (s *csvScanner) isBlank() bool {
	return len(s.fields) == 1 && !s.fields[0].quoted && len(s.fields[0].val) == 0
}
