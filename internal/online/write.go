package online

import (
	"bufio"
	"bytes"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"hash/crc32"
	"io"
	"math"
	"slices"

	"github.com/granaryml/granary/internal/shard"
	"github.com/granaryml/granary/internal/tabular"
)

var castagnoli = crc32.MakeTable(crc32.Castagnoli)

// Input is what Write indexes: n entities, their keys and their feature
// values, row-aligned, in any order.
type Input struct {
	// Keys holds the key columns KeyCols (types as Header.Keys).
	Keys    *tabular.Batch
	KeyCols []int
	// Features holds one vector per Header.Columns entry.
	Features []tabular.Vector
	Len      int
}

// Write writes one index file: h (Rows is set from in) and in's rows
// sorted by key encoding. Two rows with the same key are an error: an
// index answers one value per entity.
func Write(w io.Writer, h Header, in Input) (int64, error) {
	h.Format, h.Rows = FormatVersion, in.Len
	if err := h.validate(); err != nil {
		return 0, fmt.Errorf("online index: %w", err)
	}
	if len(in.Features) != len(h.Columns) || len(in.KeyCols) != len(h.Keys) {
		return 0, fmt.Errorf("online index: %d feature vectors and %d key columns for a header with %d and %d", len(in.Features), len(in.KeyCols), len(h.Columns), len(h.Keys))
	}
	for i, c := range h.Columns {
		if in.Features[i].Type != c.Type {
			return 0, fmt.Errorf("online index: column %s is %s, header says %s", c.Name, in.Features[i].Type, c.Type)
		}
	}
	n := in.Len
	var keyBytes []byte
	keyOff := make([]uint32, n+1)
	for i := 0; i < n; i++ {
		keyBytes = shard.AppendKey(keyBytes, in.Keys, in.KeyCols, i)
		if len(keyBytes) > math.MaxUint32 {
			return 0, fmt.Errorf("online index: keys exceed 4 GiB in one shard; use more shards")
		}
		keyOff[i+1] = uint32(len(keyBytes))
	}
	key := func(i int) []byte { return keyBytes[keyOff[i]:keyOff[i+1]] }
	order := make([]int, n)
	for i := range order {
		order[i] = i
	}
	slices.SortFunc(order, func(a, b int) int { return bytes.Compare(key(a), key(b)) })
	for i := 1; i < n; i++ {
		if bytes.Equal(key(order[i-1]), key(order[i])) {
			return 0, fmt.Errorf("online index: two rows for one entity (rows %d and %d)", order[i-1], order[i])
		}
	}

	hb, err := json.Marshal(h)
	if err != nil {
		return 0, err
	}
	fw := &fileWriter{w: bufio.NewWriterSize(w, 1<<20)}
	fw.raw([]byte(Magic))
	fw.raw(binary.LittleEndian.AppendUint32(nil, uint32(len(hb))))
	fw.cur = section{off: fw.n} // the header is section 0, so its CRC guards it too
	fw.write(hb)
	fw.end()

	// Keys, in sorted order.
	fw.begin()
	var off uint32
	fw.u32(0)
	for _, r := range order {
		off += keyOff[r+1] - keyOff[r]
		fw.u32(off)
		fw.maybeFlush()
	}
	fw.end()
	fw.begin()
	for _, r := range order {
		fw.write(key(r))
	}
	fw.end()

	// Records, in sorted order; string values go to the heap in the same
	// order, so the heap is written after the records, from the same walk.
	nullBytes, stride := recordLayout(len(in.Features))
	rec := make([]byte, stride)
	var heap uint64
	fw.begin()
	for _, r := range order {
		clear(rec)
		for c := range in.Features {
			v := &in.Features[c]
			if v.IsNull(r) {
				rec[c/8] |= 1 << (c % 8)
				continue
			}
			slot := rec[nullBytes+8*c:]
			switch v.Type {
			case tabular.Int64, tabular.Timestamp:
				binary.LittleEndian.PutUint64(slot, uint64(v.Ints[r]))
			case tabular.Float64:
				binary.LittleEndian.PutUint64(slot, math.Float64bits(v.Floats[r]))
			case tabular.Bool:
				if v.Bools[r] {
					slot[0] = 1
				}
			case tabular.String:
				n := uint64(v.Offsets[r+1] - v.Offsets[r])
				if heap+n > math.MaxUint32 {
					return 0, fmt.Errorf("online index: strings exceed 4 GiB in one shard; use more shards")
				}
				binary.LittleEndian.PutUint32(slot, uint32(heap))
				binary.LittleEndian.PutUint32(slot[4:], uint32(n))
				heap += n
			}
		}
		fw.write(rec)
	}
	fw.end()
	fw.begin()
	for _, r := range order {
		for c := range in.Features {
			if v := &in.Features[c]; v.Type == tabular.String && !v.IsNull(r) {
				fw.write(v.StringBytes(r))
			}
		}
	}
	fw.end()

	fw.pad()
	tableAt := fw.n
	for _, s := range fw.sections {
		fw.raw(binary.LittleEndian.AppendUint64(nil, s.off))
		fw.raw(binary.LittleEndian.AppendUint64(nil, s.len))
		fw.raw(binary.LittleEndian.AppendUint32(nil, s.crc))
	}
	fw.raw(binary.LittleEndian.AppendUint64(nil, tableAt))
	fw.raw(binary.LittleEndian.AppendUint32(nil, uint32(len(fw.sections))))
	fw.raw([]byte(Magic))
	if fw.err == nil {
		fw.err = fw.w.Flush()
	}
	return int64(fw.n), fw.err
}

type section struct {
	off, len uint64
	crc      uint32
}

// fileWriter tracks the offset and the current section's CRC; the first
// error sticks and ends all writing.
type fileWriter struct {
	w        *bufio.Writer
	n        uint64
	err      error
	cur      section
	sections []section
	buf      []byte
}

func (f *fileWriter) raw(b []byte) {
	if f.err != nil {
		return
	}
	_, f.err = f.w.Write(b)
	f.n += uint64(len(b))
}

// write adds b to the current section; section bytes are gathered in
// chunks so the CRC runs over large spans, not 8 bytes at a time.
func (f *fileWriter) write(b []byte) {
	f.buf = append(f.buf, b...)
	if len(f.buf) >= 64<<10 {
		f.flushSection()
	}
}

func (f *fileWriter) flushSection() {
	f.cur.crc = crc32.Update(f.cur.crc, castagnoli, f.buf)
	f.cur.len += uint64(len(f.buf))
	f.raw(f.buf)
	f.buf = f.buf[:0]
}

func (f *fileWriter) maybeFlush() {
	if len(f.buf) >= 64<<10 {
		f.flushSection()
	}
}

func (f *fileWriter) u32(x uint32) { f.buf = binary.LittleEndian.AppendUint32(f.buf, x) }

func (f *fileWriter) u64(x uint64) { f.buf = binary.LittleEndian.AppendUint64(f.buf, x) }

func (f *fileWriter) pad() {
	var zero [8]byte
	f.raw(zero[:(8-f.n%8)%8])
}

func (f *fileWriter) begin() {
	f.pad()
	f.cur = section{off: f.n}
}

func (f *fileWriter) end() {
	f.flushSection()
	f.sections = append(f.sections, f.cur)
}
