package tabular

import (
	"errors"
	"fmt"
	"math"
	"unicode/utf8"

	"github.com/parquet-go/parquet-go"
	"github.com/parquet-go/parquet-go/encoding"
)

// typedPage reads a plain (not dictionary-encoded) page of a flat column
// through its decoded values, whole slices at a time, instead of one
// parquet.Value per cell. Int64 and timestamp (micros), double and
// string columns take it; everything else goes through page.Values().
type typedPage struct {
	open   bool
	levels []byte // definition levels, one per row; nil when every row has a value
	rows   int    // rows in the page
	row    int    // next row
	val    int    // next value (rows minus the nulls before it)
	data   encoding.Values
	nvals  int
}

// typedKind is the decoded kind a conversion can read in bulk; Undefined
// when it cannot.
func typedKind(conv conversion) encoding.Kind {
	switch conv {
	case convInt64, convTimestampMicros:
		return encoding.Int64
	case convDouble:
		return encoding.Double
	case convString:
		return encoding.ByteArray
	}
	return encoding.Undefined
}

// openTypedPage sets up p to read page in bulk; false when the page must
// go through its value reader instead.
func openTypedPage(p *typedPage, page parquet.Page, conv conversion) (bool, error) {
	kind := typedKind(conv)
	if kind == encoding.Undefined || page.Dictionary() != nil || len(page.RepetitionLevels()) > 0 {
		return false, nil
	}
	data := page.Data()
	if data.Kind() != kind {
		return false, nil
	}
	var nvals int
	switch kind {
	case encoding.Int64:
		nvals = len(data.Int64())
	case encoding.Double:
		nvals = len(data.Double())
	case encoding.ByteArray:
		bs, offs := data.ByteArray()
		if len(offs) == 0 {
			break
		}
		nvals = len(offs) - 1
		prev := offs[0]
		for _, o := range offs[1:] {
			if o < prev {
				return false, errors.New("string offsets decrease")
			}
			prev = o
		}
		if int(prev) > len(bs) {
			return false, errors.New("string offsets beyond the page")
		}
	}
	rows := int(page.NumRows())
	levels := page.DefinitionLevels()
	if len(levels) == 0 {
		levels = nil
		if nvals != rows {
			return false, fmt.Errorf("page has %d values for %d rows", nvals, rows)
		}
	} else {
		if len(levels) != rows {
			return false, fmt.Errorf("page has %d definition levels for %d rows", len(levels), rows)
		}
		present := 0
		for _, l := range levels {
			if l > 1 {
				return false, fmt.Errorf("definition level %d in a flat column", l)
			}
			present += int(l)
		}
		if present != nvals {
			return false, fmt.Errorf("page has %d values for %d non-null rows", nvals, present)
		}
	}
	*p = typedPage{open: true, levels: levels, rows: rows, data: data, nvals: nvals}
	return true, nil
}

// readTyped appends up to n rows of the open typed page to v and returns
// how many it appended. first is the file row number of the first of
// them, for errors.
func (r *Reader) readTyped(b *Batch, v *Vector, ci int, p *typedPage, n int, first int64) (int, error) {
	k := min(n, p.rows-p.row)
	if p.levels == nil {
		r.appendValues(b, v, p, p.val, p.val+k)
		if err := r.checkStrings(v, ci, k, first); err != nil {
			return 0, err
		}
		p.row += k
		p.val += k
		return k, nil
	}
	if v.Nulls == nil {
		for j, l := range p.levels[p.row : p.row+k] {
			if l == 0 {
				return 0, &InputError{File: r.file, Row: first + int64(j), Column: r.schema.Columns[ci].Name, Err: errors.New("null in a column that is not nullable")}
			}
		}
	}
	// Runs of present values are copied in bulk; nulls one by one.
	levels := p.levels[p.row : p.row+k]
	for j := 0; j < k; {
		if levels[j] == 0 {
			v.appendNull(b)
			j++
			continue
		}
		run := j + 1
		for run < k && levels[run] != 0 {
			run++
		}
		r.appendValues(b, v, p, p.val, p.val+run-j)
		if err := r.checkStrings(v, ci, run-j, first+int64(j)); err != nil {
			return 0, err
		}
		p.val += run - j
		j = run
	}
	p.row += k
	return k, nil
}

// appendValues appends decoded values [from, to) of p to v as present
// values.
func (r *Reader) appendValues(b *Batch, v *Vector, p *typedPage, from, to int) {
	n := to - from
	if v.Nulls != nil {
		for range n {
			v.Nulls = append(v.Nulls, false)
		}
	}
	switch p.data.Kind() {
	case encoding.Int64:
		v.Ints = append(v.Ints, p.data.Int64()[from:to]...)
		b.bytes += int64(8 * n)
	case encoding.Double:
		v.Floats = append(v.Floats, p.data.Double()[from:to]...)
		b.bytes += int64(8 * n)
	case encoding.ByteArray:
		bs, offs := p.data.ByteArray()
		lo, hi := offs[from], offs[to]
		shift := uint32(len(v.Bytes)) - lo
		v.Bytes = append(v.Bytes, bs[lo:hi]...)
		for _, o := range offs[from+1 : to+1] {
			v.Offsets = append(v.Offsets, o+shift)
		}
		b.bytes += int64(hi-lo) + int64(4*n)
	}
}

// checkStrings validates the last n strings appended to v: UTF-8 and the
// uint32 offset range. The common case (all valid) is one utf8.Valid
// over their bytes; a failure is located value by value for the error.
func (r *Reader) checkStrings(v *Vector, ci, n int, first int64) error {
	if v.Type != String || n == 0 {
		return nil
	}
	col := r.schema.Columns[ci].Name
	if len(v.Bytes) > math.MaxUint32 {
		return &InputError{File: r.file, Row: first, Column: col, Err: errors.New("string values too large")}
	}
	end := len(v.Offsets) - 1
	if validUTF8Pieces(v.Bytes, v.Offsets[end-n:]) {
		return nil
	}
	for j := end - n; j < end; j++ {
		s := v.Bytes[v.Offsets[j]:v.Offsets[j+1]]
		if !utf8.Valid(s) {
			return &InputError{File: r.file, Row: first + int64(j-(end-n)), Column: col, Err: fmt.Errorf("%s is not valid UTF-8", quoteValue(s))}
		}
	}
	return nil
}

// validUTF8Pieces reports whether every string bs[offs[i]:offs[i+1]] is
// valid UTF-8, in one pass over their bytes: their concatenation is valid
// and each starts on a rune (not a continuation byte), so none can end or
// begin inside a rune.
func validUTF8Pieces(bs []byte, offs []uint32) bool {
	lo, hi := offs[0], offs[len(offs)-1]
	if !utf8.Valid(bs[lo:hi]) {
		return false
	}
	for _, o := range offs[1 : len(offs)-1] {
		if o < hi && bs[o]&0xC0 == 0x80 {
			return false
		}
	}
	return true
}
