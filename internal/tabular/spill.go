package tabular

import (
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"math"
)

// Spill files hold scratch data (WriterOptions.Scratch): partition parts
// and per-shard join results, which the next step of the same workflow
// reads once and no version refers to. Encoding them as parquet and
// decoding them again cost about a tenth of a training-set build's CPU;
// here a batch is written as its vectors' bytes and read back with one
// copy. Readers open them like parquet files (NewReader tells them apart
// by their first bytes), so the steps that read scratch data do not care.
//
//	file   = magic schemaLen:u32 schemaJSON block* footer
//	block  = rows:u32 payloadLen:u32 crc32c(payload):u32 payload
//	payload, per column in schema order:
//	         [nullable: rows bytes, 1 = null]
//	         int64, timestamp, float64: 8*rows bytes, little endian
//	         bool: rows bytes
//	         string: (rows+1) u32 offsets from 0, then the bytes
//	footer = rows:u64 blocks:u32 endMagic
//
// Every block is CRC-checked and every length is checked against the
// file before use, so a damaged file is an error, never a panic.
const (
	spillMagic    = "GRNSPL01"
	spillEndMagic = "GRNSPEND"
	spillFooter   = 8 + 4 + 8 // rows, blocks, spillEndMagic
	spillBlockHdr = 12
	// maxSpillBlock bounds one block's payload: writers cut batches near
	// 16 MiB, so anything far larger is damage.
	maxSpillBlock = 1 << 30
)

var crcTable = crc32.MakeTable(crc32.Castagnoli)

// spillWriter writes batches as spill blocks.
type spillWriter struct {
	w      io.Writer
	schema Schema
	buf    []byte
	rows   uint64
	blocks uint32
	n      int64
}

func newSpillWriter(w io.Writer, s Schema) (*spillWriter, error) {
	js, err := json.Marshal(s)
	if err != nil {
		return nil, err
	}
	sw := &spillWriter{w: w, schema: s}
	hdr := append([]byte(spillMagic), 0, 0, 0, 0)
	binary.LittleEndian.PutUint32(hdr[len(spillMagic):], uint32(len(js)))
	if err := sw.write(append(hdr, js...)); err != nil {
		return nil, err
	}
	return sw, nil
}

func (sw *spillWriter) write(p []byte) error {
	n, err := sw.w.Write(p)
	sw.n += int64(n)
	return err
}

// writeBatch appends b as one block.
func (sw *spillWriter) writeBatch(b *Batch) error {
	if b.Len == 0 {
		return nil
	}
	buf := append(sw.buf[:0], make([]byte, spillBlockHdr)...)
	for i := range b.Vectors {
		v := &b.Vectors[i]
		if sw.schema.Columns[i].Nullable {
			for _, null := range v.Nulls[:b.Len] {
				buf = append(buf, b2byte(null))
			}
		}
		switch v.Type {
		case Int64, Timestamp:
			for _, x := range v.Ints[:b.Len] {
				buf = binary.LittleEndian.AppendUint64(buf, uint64(x))
			}
		case Float64:
			for _, x := range v.Floats[:b.Len] {
				buf = binary.LittleEndian.AppendUint64(buf, math.Float64bits(x))
			}
		case Bool:
			for _, x := range v.Bools[:b.Len] {
				buf = append(buf, b2byte(x))
			}
		case String:
			base := v.Offsets[0]
			for _, o := range v.Offsets[:b.Len+1] {
				buf = binary.LittleEndian.AppendUint32(buf, o-base)
			}
			buf = append(buf, v.Bytes[base:v.Offsets[b.Len]]...)
		}
	}
	payload := buf[spillBlockHdr:]
	if len(payload) > maxSpillBlock {
		return fmt.Errorf("tabular: a batch of %d bytes is too large for a spill block", len(payload))
	}
	binary.LittleEndian.PutUint32(buf[0:], uint32(b.Len))
	binary.LittleEndian.PutUint32(buf[4:], uint32(len(payload)))
	binary.LittleEndian.PutUint32(buf[8:], crc32.Checksum(payload, crcTable))
	sw.buf = buf
	sw.rows += uint64(b.Len)
	sw.blocks++
	return sw.write(buf)
}

func (sw *spillWriter) close() error {
	var f [spillFooter]byte
	binary.LittleEndian.PutUint64(f[0:], sw.rows)
	binary.LittleEndian.PutUint32(f[8:], sw.blocks)
	copy(f[12:], spillEndMagic)
	return sw.write(f[:])
}

func b2byte(b bool) byte {
	if b {
		return 1
	}
	return 0
}

// spillFile reads a spill file block by block.
type spillFile struct {
	r      io.ReaderAt
	size   int64
	file   string
	schema Schema
	rows   int64
	blocks uint32
	off    int64 // next block
	read   uint32
	buf    []byte
	cols   []int // file column of each column read, set on the first block
}

func isSpill(head []byte) bool { return string(head) == spillMagic }

func openSpill(r io.ReaderAt, size int64, file string) (*spillFile, error) {
	bad := func(format string, args ...any) error {
		return &InputError{File: file, Err: fmt.Errorf("corrupt spill file: "+format, args...)}
	}
	hdr := len(spillMagic) + 4
	if size < int64(hdr+spillFooter) {
		return nil, bad("%d bytes is too small", size)
	}
	var h [len(spillMagic) + 4]byte
	if _, err := r.ReadAt(h[:], 0); err != nil {
		return nil, err
	}
	jsLen := int64(binary.LittleEndian.Uint32(h[len(spillMagic):]))
	if jsLen > size-int64(hdr+spillFooter) {
		return nil, bad("schema length %d exceeds the file", jsLen)
	}
	js := make([]byte, jsLen)
	if _, err := r.ReadAt(js, int64(hdr)); err != nil {
		return nil, err
	}
	sf := &spillFile{r: r, size: size, file: file, off: int64(hdr) + jsLen}
	if err := json.Unmarshal(js, &sf.schema); err != nil {
		return nil, bad("schema: %v", err)
	}
	if err := sf.schema.Validate(); err != nil {
		return nil, bad("schema: %v", err)
	}
	var f [spillFooter]byte
	if _, err := r.ReadAt(f[:], size-spillFooter); err != nil {
		return nil, err
	}
	if string(f[12:]) != spillEndMagic {
		return nil, bad("missing end marker (truncated?)")
	}
	rows := binary.LittleEndian.Uint64(f[0:])
	if rows > math.MaxInt64/2 {
		return nil, bad("row count %d", rows)
	}
	sf.rows, sf.blocks = int64(rows), binary.LittleEndian.Uint32(f[8:])
	return sf, nil
}

// next decodes the next block into b (which holds the file's schema,
// narrowed to cols: column j of b is file column cols[j]); io.EOF after
// the last block.
func (sf *spillFile) next(b *Batch, cols []int) error {
	bad := func(format string, args ...any) error {
		return &InputError{File: sf.file, Err: fmt.Errorf("corrupt spill file: block %d: "+format, append([]any{sf.read + 1}, args...)...)}
	}
	end := sf.size - spillFooter
	if sf.read == sf.blocks {
		if sf.off != end {
			return bad("%d bytes after the last block", end-sf.off)
		}
		return io.EOF
	}
	if sf.off+spillBlockHdr > end {
		return bad("missing (file truncated)")
	}
	var h [spillBlockHdr]byte
	if _, err := sf.r.ReadAt(h[:], sf.off); err != nil {
		return err
	}
	rows := int(binary.LittleEndian.Uint32(h[0:]))
	n := int64(binary.LittleEndian.Uint32(h[4:]))
	if n > maxSpillBlock || sf.off+spillBlockHdr+n > end {
		return bad("payload of %d bytes exceeds the file", n)
	}
	if int64(cap(sf.buf)) < n {
		sf.buf = make([]byte, n)
	}
	p := sf.buf[:n]
	if _, err := sf.r.ReadAt(p, sf.off+spillBlockHdr); err != nil {
		return err
	}
	if crc32.Checksum(p, crcTable) != binary.LittleEndian.Uint32(h[8:]) {
		return bad("checksum mismatch")
	}
	sf.off += spillBlockHdr + n
	sf.read++
	if rows == 0 {
		return bad("no rows")
	}
	// Locate every file column's bytes, then copy the wanted ones.
	type span struct{ nulls, vals, offs []byte }
	spans := make([]span, len(sf.schema.Columns))
	take := func(k int) ([]byte, error) {
		if k < 0 || k > len(p) {
			return nil, bad("column data exceeds the block")
		}
		s := p[:k]
		p = p[k:]
		return s, nil
	}
	var err error
	for i, c := range sf.schema.Columns {
		sp := &spans[i]
		if c.Nullable {
			if sp.nulls, err = take(rows); err != nil {
				return err
			}
		}
		switch c.Type {
		case Int64, Timestamp, Float64:
			sp.vals, err = take(8 * rows)
		case Bool:
			sp.vals, err = take(rows)
		case String:
			if sp.offs, err = take(4 * (rows + 1)); err == nil {
				sp.vals, err = take(int(binary.LittleEndian.Uint32(sp.offs[4*rows:])))
			}
		default:
			err = bad("column %q has unknown type %d", c.Name, c.Type)
		}
		if err != nil {
			return err
		}
	}
	if len(p) != 0 {
		return bad("%d bytes after the last column", len(p))
	}
	for j, fc := range cols {
		sp, v := &spans[fc], &b.Vectors[j]
		name := sf.schema.Columns[fc].Name
		nulls := 0
		if sp.nulls != nil {
			for _, x := range sp.nulls {
				if x > 1 {
					return bad("column %q: null flag %d", name, x)
				}
				nulls += int(x)
			}
			if v.Nulls == nil && nulls > 0 {
				return &InputError{File: sf.file, Column: name, Err: errors.New("null in a column that is not nullable")}
			}
		}
		if v.Nulls != nil {
			if sp.nulls != nil {
				for _, x := range sp.nulls {
					v.Nulls = append(v.Nulls, x == 1)
				}
			} else {
				v.Nulls = append(v.Nulls, make([]bool, rows)...)
			}
		}
		switch v.Type {
		case Int64, Timestamp:
			for k := 0; k < len(sp.vals); k += 8 {
				v.Ints = append(v.Ints, int64(binary.LittleEndian.Uint64(sp.vals[k:])))
			}
			b.bytes += int64(8*(rows-nulls) + nulls)
		case Float64:
			for k := 0; k < len(sp.vals); k += 8 {
				v.Floats = append(v.Floats, math.Float64frombits(binary.LittleEndian.Uint64(sp.vals[k:])))
			}
			b.bytes += int64(8*(rows-nulls) + nulls)
		case Bool:
			for _, x := range sp.vals {
				if x > 1 {
					return bad("column %q: bool value %d", name, x)
				}
				v.Bools = append(v.Bools, x == 1)
			}
			b.bytes += int64(rows)
		case String:
			base := uint32(len(v.Bytes))
			if uint64(base)+uint64(len(sp.vals)) > math.MaxUint32 {
				return &InputError{File: sf.file, Column: name, Err: errors.New("string values too large")}
			}
			first := len(v.Offsets)
			prev := uint32(0)
			for k := 0; k <= rows; k++ {
				o := binary.LittleEndian.Uint32(sp.offs[4*k:])
				if (k == 0 && o != 0) || o < prev {
					return bad("column %q: string offsets out of order", name)
				}
				prev = o
				if k > 0 {
					v.Offsets = append(v.Offsets, base+o)
				}
			}
			v.Bytes = append(v.Bytes, sp.vals...)
			if !validUTF8Pieces(v.Bytes, v.Offsets[first-1:]) {
				return bad("column %q: a string is not valid UTF-8", name)
			}
			b.bytes += int64(len(sp.vals)) + int64(4*(rows-nulls)+nulls)
		}
	}
	b.Len += rows
	return nil
}

// openSpillReader is NewReader for a spill file: the file's columns are
// those of its schema, so Select and the table loads work unchanged.
func openSpillReader(r io.ReaderAt, size int64, file string) (*Reader, error) {
	sf, err := openSpill(r, size, file)
	if err != nil {
		return nil, err
	}
	pr := &Reader{file: file, spill: sf, nextRows: batchRows}
	for _, c := range sf.schema.Columns {
		pr.fileCols = append(pr.fileCols, fileColumn{name: c.Name, typ: c.Type, optional: c.Nullable})
	}
	if err := pr.project(sf.schema); err != nil {
		return nil, err
	}
	return pr, nil
}

// fillSpill appends the next block (a whole batch as written) to b.
func (r *Reader) fillSpill(b *Batch) error {
	if r.spill.cols == nil { // the selection is fixed once reading starts
		for _, c := range r.cols {
			r.spill.cols = append(r.spill.cols, c.leaf)
		}
	}
	before := b.Len
	if err := r.spill.next(b, r.spill.cols); err != nil {
		return err
	}
	r.row += int64(b.Len - before)
	return nil
}
