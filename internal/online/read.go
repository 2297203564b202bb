package online

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"hash/crc32"
	"math"

	"github.com/granaryml/granary/internal/tabular"
)

// Shard is one opened index file. Its methods read the file's bytes in
// place; it holds no other copy of the data.
type Shard struct {
	Header Header
	data   []byte
	keyOff []byte // (rows+1) uint32
	keys   []byte
	// records holds one stride-byte record per row: null bits, then one
	// 8-byte slot per column; heap holds the strings.
	records   []byte
	heap      []byte
	nullBytes int
	stride    int
	types     []tabular.Type
}

// maxHeaderBytes bounds the header a reader accepts, so a corrupt
// length cannot ask for gigabytes.
const maxHeaderBytes = 1 << 20

// Open checks data as an index file and returns it ready for lookups.
// data must stay unmodified while the Shard is in use.
func Open(data []byte) (*Shard, error) {
	le := binary.LittleEndian
	tail := len(Magic) + 8 + 4
	if len(data) < len(Magic)+4+tail || string(data[:len(Magic)]) != Magic || string(data[len(data)-len(Magic):]) != Magic {
		return nil, fmt.Errorf("%w: not an index file (bad magic or truncated, %d bytes)", ErrCorrupt, len(data))
	}
	hlen := int(le.Uint32(data[len(Magic):]))
	if hlen > maxHeaderBytes || len(Magic)+4+hlen > len(data)-tail {
		return nil, fmt.Errorf("%w: header length %d out of range", ErrCorrupt, hlen)
	}
	s := &Shard{data: data}
	if err := json.Unmarshal(data[len(Magic)+4:len(Magic)+4+hlen], &s.Header); err != nil {
		return nil, fmt.Errorf("%w: header: %v", ErrCorrupt, err)
	}
	if err := s.Header.validate(); err != nil {
		return nil, err
	}
	headerStart, bodyStart := uint64(len(Magic)+4), uint64(len(Magic)+4+hlen)
	end := len(data) - len(Magic)
	tableAt := le.Uint64(data[end-12:])
	count := int(le.Uint32(data[end-4:]))
	want := sectionCount(s.Header.Columns)
	if count != want {
		return nil, fmt.Errorf("%w: %d sections, %d columns need %d", ErrCorrupt, count, len(s.Header.Columns), want)
	}
	if tableAt < bodyStart || tableAt+uint64(count*sectionEntryBytes) != uint64(end-12) {
		return nil, fmt.Errorf("%w: section table at %d does not fit the file", ErrCorrupt, tableAt)
	}
	secs := make([][]byte, count)
	// Sections follow each other in order with at most 7 zero bytes of
	// alignment between them, so every byte of the file is checked.
	prevEnd := headerStart
	for i := range secs {
		e := data[tableAt+uint64(i*sectionEntryBytes):]
		off, n, crc := le.Uint64(e), le.Uint64(e[8:]), le.Uint32(e[16:])
		if off < headerStart || off > tableAt || n > tableAt-off {
			return nil, fmt.Errorf("%w: section %d [%d, +%d) outside the body", ErrCorrupt, i, off, n)
		}
		if err := checkGap(data, prevEnd, off); err != nil {
			return nil, fmt.Errorf("%w before section %d", err, i)
		}
		prevEnd = off + n
		secs[i] = data[off : off+n]
		if got := crc32.Checksum(secs[i], castagnoli); got != crc {
			return nil, fmt.Errorf("%w: section %d checksum %08x, stored %08x", ErrCorrupt, i, got, crc)
		}
	}
	if err := checkGap(data, prevEnd, tableAt); err != nil {
		return nil, fmt.Errorf("%w before the section table", err)
	}
	if hs := secs[0]; len(hs) != hlen || &hs[0] != &data[len(Magic)+4] {
		return nil, fmt.Errorf("%w: section 0 is not the header", ErrCorrupt)
	}
	rows := s.Header.Rows
	s.keyOff, s.keys = secs[1], secs[2]
	if err := checkOffsets(s.keyOff, rows, len(s.keys), "key"); err != nil {
		return nil, err
	}
	for i := 1; i < rows; i++ {
		if bytes.Compare(s.key(i-1), s.key(i)) >= 0 {
			return nil, fmt.Errorf("%w: keys not sorted and unique at row %d", ErrCorrupt, i)
		}
	}
	s.records, s.heap = secs[3], secs[4]
	s.nullBytes, s.stride = recordLayout(len(s.Header.Columns))
	if len(s.records) != rows*s.stride {
		return nil, fmt.Errorf("%w: %d record bytes for %d rows of %d bytes", ErrCorrupt, len(s.records), rows, s.stride)
	}
	for c, col := range s.Header.Columns {
		s.types = append(s.types, col.Type)
		if col.Type != tabular.String {
			continue
		}
		for r := 0; r < rows; r++ {
			if s.IsNull(c, r) {
				continue
			}
			slot := s.slot(c, r)
			if off, n := uint64(binary.LittleEndian.Uint32(slot)), uint64(binary.LittleEndian.Uint32(slot[4:])); off+n > uint64(len(s.heap)) {
				return nil, fmt.Errorf("%w: column %s row %d: string [%d, +%d) outside the %d-byte heap", ErrCorrupt, col.Name, r, off, n, len(s.heap))
			}
		}
	}
	return s, nil
}

func checkGap(data []byte, from, to uint64) error {
	if to < from || to-from >= 8 {
		return fmt.Errorf("%w: sections out of order or %d bytes apart", ErrCorrupt, int64(to)-int64(from))
	}
	for _, b := range data[from:to] {
		if b != 0 {
			return fmt.Errorf("%w: non-zero padding", ErrCorrupt)
		}
	}
	return nil
}

// checkOffsets checks rows+1 uint32 offsets: 0 first, never decreasing,
// last equal to the data length.
func checkOffsets(off []byte, rows, dataLen int, what string) error {
	if len(off) != 4*(rows+1) {
		return fmt.Errorf("%w: %s offsets: %d bytes for %d rows", ErrCorrupt, what, len(off), rows)
	}
	prev := uint32(0)
	if binary.LittleEndian.Uint32(off) != 0 {
		return fmt.Errorf("%w: %s offsets do not start at 0", ErrCorrupt, what)
	}
	for i := 1; i <= rows; i++ {
		o := binary.LittleEndian.Uint32(off[4*i:])
		if o < prev {
			return fmt.Errorf("%w: %s offsets decrease at row %d", ErrCorrupt, what, i)
		}
		prev = o
	}
	if int(prev) != dataLen {
		return fmt.Errorf("%w: %s offsets end at %d, data has %d bytes", ErrCorrupt, what, prev, dataLen)
	}
	return nil
}

func (s *Shard) key(i int) []byte {
	return s.keys[binary.LittleEndian.Uint32(s.keyOff[4*i:]):binary.LittleEndian.Uint32(s.keyOff[4*i+4:])]
}

// Len is the number of entities in the shard.
func (s *Shard) Len() int { return s.Header.Rows }

// Size is the file's size in bytes (all of it is held in memory).
func (s *Shard) Size() int { return len(s.data) }

// Find returns the row of the entity whose key encoding (shard.AppendKey)
// is key.
func (s *Shard) Find(key []byte) (int, bool) {
	lo, hi := 0, s.Header.Rows
	for lo < hi {
		mid := int(uint(lo+hi) >> 1)
		if bytes.Compare(s.key(mid), key) < 0 {
			lo = mid + 1
		} else {
			hi = mid
		}
	}
	return lo, lo < s.Header.Rows && bytes.Equal(s.key(lo), key)
}

// slot is column col's 8 bytes in row's record.
func (s *Shard) slot(col, row int) []byte {
	at := row*s.stride + s.nullBytes + 8*col
	return s.records[at : at+8]
}

// IsNull reports whether feature column col is null at row.
func (s *Shard) IsNull(col, row int) bool {
	return s.records[row*s.stride+col/8]&(1<<(col%8)) != 0
}

// Int is an int64 or timestamp column's value at row.
func (s *Shard) Int(col, row int) int64 {
	return int64(binary.LittleEndian.Uint64(s.slot(col, row)))
}

// Float is a float64 column's value at row.
func (s *Shard) Float(col, row int) float64 {
	return math.Float64frombits(binary.LittleEndian.Uint64(s.slot(col, row)))
}

// Bool is a bool column's value at row.
func (s *Shard) Bool(col, row int) bool { return s.slot(col, row)[0] != 0 }

// String is a string column's value at row; the bytes alias the file.
func (s *Shard) String(col, row int) []byte {
	slot := s.slot(col, row)
	off, n := binary.LittleEndian.Uint32(slot), binary.LittleEndian.Uint32(slot[4:])
	return s.heap[off : off+n]
}

// Value returns a column's value at row as a Go value: nil, int64,
// float64, bool, string or time.Time (UTC).
func (s *Shard) Value(col, row int) any {
	if s.IsNull(col, row) {
		return nil
	}
	switch s.types[col] {
	case tabular.Int64:
		return s.Int(col, row)
	case tabular.Timestamp:
		return timeOf(s.Int(col, row))
	case tabular.Float64:
		return s.Float(col, row)
	case tabular.Bool:
		return s.Bool(col, row)
	default:
		return string(s.String(col, row))
	}
}
