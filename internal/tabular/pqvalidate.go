package tabular

import (
	"errors"
	"fmt"
	"io"

	"github.com/parquet-go/parquet-go/encoding/thrift"
	"github.com/parquet-go/parquet-go/format"
)

// parquet-go trusts some page header fields when it slices page buffers (for
// example the level lengths of a v2 data page), and allocates whatever sizes
// a header announces, so a corrupt or hostile file can make it panic or
// exhaust memory. validatePages walks every page header of every column
// chunk first, the way parquet-go will, and rejects the file unless each
// header is consistent with the bytes around it.

// Limits on a single page. Real writers use pages of a few MiB at most
// (parquet-mr 1 MiB, parquet-go 256 KiB, Spark 1 MiB); values per page are
// bounded because the levels of a page are decoded into one buffer.
const (
	maxPageBytes      = 256 << 20
	maxPageValues     = 1 << 26
	maxPageHeaderSize = 16 << 20
	// maxPageHeaderMemory bounds compactWalker's estimate for one page
	// header: its statistics may hold values as large as the header, the
	// rest is a few small structs.
	maxPageHeaderMemory = 2 * maxPageHeaderSize
)

// errShortHeader: the thrift bytes end inside a value (possibly only the
// window read so far).
var errShortHeader = errors.New("truncated")

func validatePages(r io.ReaderAt, dataEnd int64, md *format.FileMetaData) error {
	var window []byte
	for rgi := range md.RowGroups {
		rg := &md.RowGroups[rgi]
		for ci := range rg.Columns {
			cc := &rg.Columns[ci]
			name := fmt.Sprint(cc.MetaData.PathInSchema)
			codec := cc.MetaData.Codec
			// parquet-go decompresses every chunk of a column with the
			// codec of its first one.
			if first := md.RowGroups[0].Columns[ci].MetaData.Codec; codec != first {
				return fmt.Errorf("column %s: compressed with %s in row group %d but %s in row group 0, which is not supported", name, codec, rgi, first)
			}
			if _, err := readCodecFor(codec); err != nil {
				return fmt.Errorf("column %s: %w", name, err)
			}
			if cc.FilePath != "" {
				return fmt.Errorf("column %s: chunk in an external file", name)
			}
			if len(cc.EncryptedColumnMetadata) > 0 {
				return fmt.Errorf("column %s: encrypted columns are not supported", name)
			}
			start := cc.MetaData.DataPageOffset
			if cc.MetaData.DictionaryPageOffset != 0 {
				start = cc.MetaData.DictionaryPageOffset
			}
			size := cc.MetaData.TotalCompressedSize
			if start < 4 || size < 0 || start > dataEnd || size > dataEnd-start {
				return fmt.Errorf("column %s: chunk at offset %d, size %d, outside the file", name, start, size)
			}
			var values int64
			pos, end := start, start+size
			for pos < end {
				n := min(int64(4<<10), end-pos)
				var h format.PageHeader
				var hlen int
				var buf []byte // the bytes from pos on that were read
				for {
					if int64(cap(window)) < n {
						window = make([]byte, n)
					}
					buf = window[:n]
					if _, err := r.ReadAt(buf, pos); err != nil {
						return err
					}
					var w compactWalker
					l, err := w.structLen(buf, 0)
					if errors.Is(err, errShortHeader) && n < end-pos && n < maxPageHeaderSize {
						n = min(4*n, end-pos, maxPageHeaderSize)
						continue
					}
					if err == nil && w.cost > maxPageHeaderMemory {
						err = fmt.Errorf("would take about %d MiB to decode", w.cost>>20)
					}
					if err != nil {
						return fmt.Errorf("column %s: page header at offset %d: %w", name, pos, err)
					}
					if err := thrift.Unmarshal(new(thrift.CompactProtocol), buf[:l], &h); err != nil {
						return fmt.Errorf("column %s: page header at offset %d: %w", name, pos, err)
					}
					hlen = l
					break
				}
				pos += int64(hlen)
				if err := checkPageHeader(&h); err != nil {
					return fmt.Errorf("column %s: page header at offset %d: %w", name, pos-int64(hlen), err)
				}
				if int64(h.CompressedPageSize) > end-pos {
					return fmt.Errorf("column %s: page at offset %d runs past the column chunk", name, pos)
				}
				if codec == format.Zstd {
					if err := checkZstdPage(r, &h, pos, buf[hlen:]); err != nil {
						return fmt.Errorf("column %s: page at offset %d: %w", name, pos, err)
					}
				}
				pos += int64(h.CompressedPageSize)
				switch {
				case h.DataPageHeader.Valid:
					values += int64(h.DataPageHeader.V.NumValues)
				case h.DataPageHeaderV2.Valid:
					values += int64(h.DataPageHeaderV2.V.NumValues)
				}
			}
			if values != cc.MetaData.NumValues {
				return fmt.Errorf("column %s: pages hold %d values, the chunk says %d", name, values, cc.MetaData.NumValues)
			}
		}
	}
	return nil
}

// checkZstdPage compares the content size that the first zstd frame of
// the page at pos declares (when it declares one) with the size the page
// header gives, so that a lying frame is reported with the file's other
// structural errors, before any page is read. read holds the bytes from
// pos on that were read already. The decoder enforces the same bound on
// frames that declare no size (see decodeZstdPage).
func checkZstdPage(r io.ReaderAt, h *format.PageHeader, pos int64, read []byte) error {
	expect := int64(h.UncompressedPageSize)
	skip := int64(0) // levels of a v2 page, stored uncompressed
	switch {
	case h.DataPageHeader.Valid, h.DictionaryPageHeader.Valid:
	case h.DataPageHeaderV2.Valid:
		v := &h.DataPageHeaderV2.V
		if v.IsCompressed.Valid && !v.IsCompressed.V {
			return nil
		}
		skip = int64(v.RepetitionLevelsByteLength) + int64(v.DefinitionLevelsByteLength)
		expect -= skip
	default:
		return nil
	}
	const frameHeaderMax = 18
	n := min(int64(h.CompressedPageSize)-skip, frameHeaderMax)
	if n <= 0 {
		return nil
	}
	var head []byte
	if int64(len(read)) >= skip+n {
		head = read[skip : skip+n]
	} else {
		head = make([]byte, n)
		if _, err := r.ReadAt(head, pos+skip); err != nil {
			return err
		}
	}
	if size, ok := zstdContentSize(head); ok && size > uint64(expect) {
		return fmt.Errorf("zstd frame declares %d bytes, the page header %d", size, expect)
	}
	return nil
}

func checkPageHeader(h *format.PageHeader) error {
	if h.CompressedPageSize < 0 || h.CompressedPageSize > maxPageBytes ||
		h.UncompressedPageSize < 0 || h.UncompressedPageSize > maxPageBytes {
		return fmt.Errorf("page sizes %d/%d out of range", h.CompressedPageSize, h.UncompressedPageSize)
	}
	valuesOK := func(n int32) bool { return n >= 0 && n <= maxPageValues }
	switch h.Type {
	case format.DataPage:
		if !h.DataPageHeader.Valid || !valuesOK(h.DataPageHeader.V.NumValues) {
			return errors.New("bad data page header")
		}
	case format.DataPageV2:
		v := &h.DataPageHeaderV2.V
		if !h.DataPageHeaderV2.Valid || !valuesOK(v.NumValues) || v.NumNulls < 0 || v.NumNulls > v.NumValues ||
			v.NumRows < 0 || v.NumRows > v.NumValues ||
			v.RepetitionLevelsByteLength < 0 || v.DefinitionLevelsByteLength < 0 ||
			int64(v.RepetitionLevelsByteLength)+int64(v.DefinitionLevelsByteLength) > int64(h.CompressedPageSize) ||
			int64(v.RepetitionLevelsByteLength)+int64(v.DefinitionLevelsByteLength) > int64(h.UncompressedPageSize) {
			return errors.New("bad data page v2 header")
		}
	case format.DictionaryPage:
		if !h.DictionaryPageHeader.Valid || !valuesOK(h.DictionaryPageHeader.V.NumValues) {
			return errors.New("bad dictionary page header")
		}
	}
	return nil
}

// Weights of compactWalker's estimate, which stands for everything that
// opening a file allocates per footer element: the footer decoded twice
// (once by checkFooter, once by parquet-go), parquet-go's column tree and
// row groups, and validatePages' decoding of each chunk's page headers
// (TestFooterEstimateCoversDecoding measures it). A struct in a list is an
// element of a slice allocated whole, the largest being ColumnChunk (560
// bytes); a struct in a field lives in its parent, but unions and
// optional structs allocate a value each.
const (
	listStructCost   = 2048
	nestedStructCost = 128
	listValueCost    = 24 // a slice or string header, or a scalar
)

// compactWalker checks thrift compact-protocol bytes without decoding them
// and estimates, in cost, the bytes decoding them allocates; structLen
// returns the length of the struct at the start of b, so that the decoder
// only ever sees complete, bounded input. Every length it accepts fits in
// the bytes that follow it, so no list, string or map can claim more
// elements than the input has bytes.
type compactWalker struct {
	cost int64
}

func (w *compactWalker) structLen(b []byte, depth int) (int, error) {
	if depth > 32 {
		return 0, errors.New("thrift struct nested too deeply")
	}
	i := 0
	for {
		if i >= len(b) {
			return 0, errShortHeader
		}
		h := b[i]
		i++
		if h == 0 { // stop
			return i, nil
		}
		if h>>4 == 0 { // field id in a following zigzag varint
			n, _, err := compactVarint(b[i:])
			if err != nil {
				return 0, err
			}
			i += n
		}
		n, err := w.valueLen(b[i:], h&0x0f, depth)
		if err != nil {
			return 0, err
		}
		i += n
	}
}

func (w *compactWalker) valueLen(b []byte, typ byte, depth int) (int, error) {
	switch typ {
	case 1, 2: // bool, held in the field header
		return 0, nil
	case 3: // byte
		if len(b) < 1 {
			return 0, errShortHeader
		}
		return 1, nil
	case 4, 5, 6: // i16, i32, i64
		n, _, err := compactVarint(b)
		return n, err
	case 7: // double
		if len(b) < 8 {
			return 0, errShortHeader
		}
		return 8, nil
	case 8: // binary
		n, l, err := compactVarint(b)
		if err != nil {
			return 0, err
		}
		if l > uint64(len(b)-n) {
			return 0, fmt.Errorf("%w: a string of %d bytes in %d", errShortHeader, l, len(b)-n)
		}
		w.cost += int64(l)
		return n + int(l), nil
	case 9, 10: // list, set
		if len(b) < 1 {
			return 0, errShortHeader
		}
		size, elem, i := uint64(b[0]>>4), b[0]&0x0f, 1
		if size == 15 {
			n, s, err := compactVarint(b[1:])
			if err != nil {
				return 0, err
			}
			size, i = s, 1+n
		}
		return w.elementsLen(b, i, size, []byte{elem}, depth)
	case 11: // map
		n, size, err := compactVarint(b)
		if err != nil {
			return 0, err
		}
		if size == 0 {
			return n, nil
		}
		if n >= len(b) {
			return 0, errShortHeader
		}
		kv := b[n]
		return w.elementsLen(b, n+1, size, []byte{kv >> 4, kv & 0x0f}, depth)
	case 12: // struct
		w.cost += nestedStructCost
		return w.structLen(b, depth+1)
	}
	return 0, fmt.Errorf("invalid thrift type %d", typ)
}

func (w *compactWalker) elementsLen(b []byte, i int, size uint64, types []byte, depth int) (int, error) {
	if size > uint64(len(b)-i) { // every element takes at least one byte
		return 0, fmt.Errorf("%w: a list of %d elements in %d bytes", errShortHeader, size, len(b)-i)
	}
	for _, t := range types {
		if t == 12 {
			w.cost += int64(size) * listStructCost
		} else {
			w.cost += int64(size) * listValueCost
		}
	}
	for range size {
		for _, t := range types {
			if t == 1 || t == 2 { // a bool element is one byte
				if i >= len(b) {
					return 0, errShortHeader
				}
				i++
				continue
			}
			n, err := w.valueLen(b[i:], t, depth+1)
			if err != nil {
				return 0, err
			}
			i += n
		}
	}
	return i, nil
}

func compactVarint(b []byte) (int, uint64, error) {
	var v uint64
	for i := 0; i < len(b); i++ {
		if i == 10 {
			return 0, 0, errors.New("thrift varint too long")
		}
		v |= uint64(b[i]&0x7f) << (7 * i)
		if b[i] < 0x80 {
			return i + 1, v, nil
		}
	}
	return 0, 0, errShortHeader
}
