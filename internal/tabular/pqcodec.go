package tabular

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"reflect"
	"sync"
	"unsafe"

	"github.com/andybalholm/brotli"
	"github.com/klauspost/compress/gzip"
	"github.com/klauspost/compress/snappy"
	"github.com/klauspost/compress/zstd"
	"github.com/parquet-go/parquet-go"
	"github.com/parquet-go/parquet-go/compress"
	"github.com/parquet-go/parquet-go/format"
	"github.com/pierrec/lz4/v4"
)

// parquet-go's decompressors size their output by what the compressed
// bytes claim (a zstd frame's content size, a snappy length header) or
// grow it for as long as the stream goes on (gzip, brotli), and its LZ4
// one doubles its buffer until decoding succeeds, forever on invalid
// input: a page of a few bytes can make it allocate gigabytes. The codecs
// here decode into the buffer parquet-go sized from the page header's
// uncompressed size, and fail when a page would decode to more.
//
// parquet-go reads every page of a column with the codec it looked up for
// the column's first chunk, kept in an unexported field of parquet.Column
// with no option to supply another; installReadCodecs sets that field.
// columnCodecField checks its name and type, so a parquet-go upgrade that
// moves it makes every file fail to open (and the tests fail) rather than
// read unbounded.

// readCodecFor returns the bounded decompressor for a codec, nil for
// uncompressed pages, or an error for codecs granary does not read.
func readCodecFor(id format.CompressionCodec) (compress.Codec, error) {
	switch id {
	case format.Uncompressed:
		return nil, nil
	case format.Zstd:
		return boundedZstd{}, nil
	case format.Snappy:
		return boundedSnappy{}, nil
	case format.Gzip:
		return boundedStream{id: format.Gzip, open: func(r io.Reader) (io.Reader, error) { return gzip.NewReader(r) }}, nil
	case format.Brotli:
		return boundedStream{id: format.Brotli, open: func(r io.Reader) (io.Reader, error) { return brotli.NewReader(r), nil }}, nil
	case format.Lz4Raw:
		return boundedLz4{}, nil
	}
	return nil, fmt.Errorf("compression %s is not supported", id)
}

var columnCodecField = sync.OnceValues(func() (uintptr, error) {
	f, ok := reflect.TypeFor[parquet.Column]().FieldByName("compression")
	if !ok || f.Type != reflect.TypeFor[compress.Codec]() {
		return 0, errors.New("this parquet-go version keeps a column's codec elsewhere; granary cannot bound its decompression")
	}
	return f.Offset, nil
})

// installReadCodecs makes every leaf column of f decompress its pages with
// the bounded codecs.
func installReadCodecs(f *parquet.File) error {
	off, err := columnCodecField()
	if err != nil {
		return err
	}
	var install func(c *parquet.Column) error
	install = func(c *parquet.Column) error {
		if !c.Leaf() {
			for _, child := range c.Columns() {
				if err := install(child); err != nil {
					return err
				}
			}
			return nil
		}
		cur := c.Compression()
		if cur == nil { // no row groups
			return nil
		}
		codec, err := readCodecFor(cur.CompressionCodec())
		if err != nil {
			return fmt.Errorf("column %q: %w", c.Name(), err)
		}
		if codec != nil {
			*(*compress.Codec)(unsafe.Add(unsafe.Pointer(c), off)) = codec
		}
		return nil
	}
	return install(f.Root())
}

// Every Decode below is called by parquet-go with dst of the length the
// page header declares for the decompressed bytes (a data page v2's
// levels, stored uncompressed, included), and the result may be shorter.

func errPageTooLarge(codec string, declared int) error {
	return fmt.Errorf("%s page decodes to more than the %d bytes its header declares", codec, declared)
}

type readOnlyCodec struct{}

func (readOnlyCodec) Encode(dst, src []byte) ([]byte, error) {
	return dst[:0], errors.New("tabular: read-only codec")
}

// boundedZstdDecoder decodes at most cap(dst) bytes per DecodeAll. It is
// shared by every file: DecodeAll is safe for concurrent use.
var boundedZstdDecoder = sync.OnceValues(func() (*zstd.Decoder, error) {
	return zstd.NewReader(nil,
		zstd.WithDecoderConcurrency(0),
		zstd.WithDecoderLowmem(true),
		zstd.WithDecodeAllCapLimit(true),
		zstd.WithDecoderMaxMemory(maxPageBytes),
		zstd.WithDecoderMaxWindow(maxPageBytes),
	)
})

// decodeZstdPage decodes src into dst's backing array, refusing output
// beyond len(dst).
func decodeZstdPage(dst, src []byte) ([]byte, error) {
	d, err := boundedZstdDecoder()
	if err != nil {
		return dst[:0], err
	}
	want := len(dst)
	out, err := d.DecodeAll(src, dst[:0:want])
	switch {
	case errors.Is(err, zstd.ErrDecoderSizeExceeded), errors.Is(err, zstd.ErrFrameSizeExceeded):
		return dst[:0], errPageTooLarge("zstd", want)
	case errors.Is(err, zstd.ErrWindowSizeExceeded):
		return dst[:0], fmt.Errorf("zstd page uses a window of more than %d bytes", maxPageBytes)
	case err != nil:
		return dst[:0], fmt.Errorf("corrupt zstd page: %w", err)
	case len(out) > want:
		return dst[:0], errPageTooLarge("zstd", want)
	}
	return out, nil
}

type boundedZstd struct{ readOnlyCodec }

func (boundedZstd) String() string                            { return "ZSTD" }
func (boundedZstd) CompressionCodec() format.CompressionCodec { return format.Zstd }
func (boundedZstd) Decode(dst, src []byte) ([]byte, error)    { return decodeZstdPage(dst, src) }

type boundedSnappy struct{ readOnlyCodec }

func (boundedSnappy) String() string                            { return "SNAPPY" }
func (boundedSnappy) CompressionCodec() format.CompressionCodec { return format.Snappy }

func (boundedSnappy) Decode(dst, src []byte) ([]byte, error) {
	want := len(dst)
	n, err := snappy.DecodedLen(src)
	if err != nil {
		return dst[:0], fmt.Errorf("corrupt snappy page: %w", err)
	}
	if n > want {
		return dst[:0], fmt.Errorf("snappy page declares %d bytes, its page header %d", n, want)
	}
	out, err := snappy.Decode(dst[:n], src)
	if err != nil {
		return dst[:0], fmt.Errorf("corrupt snappy page: %w", err)
	}
	return out, nil
}

type boundedLz4 struct{ readOnlyCodec }

func (boundedLz4) String() string                            { return "LZ4_RAW" }
func (boundedLz4) CompressionCodec() format.CompressionCodec { return format.Lz4Raw }

func (boundedLz4) Decode(dst, src []byte) ([]byte, error) {
	n, err := lz4.UncompressBlock(src, dst)
	if err != nil {
		return dst[:0], fmt.Errorf("corrupt LZ4_RAW page, or one that decodes to more than the %d bytes its header declares: %w", len(dst), err)
	}
	return dst[:n], nil
}

// boundedStream decodes a streaming format (gzip, brotli) into dst and
// then checks that the stream has nothing left.
type boundedStream struct {
	readOnlyCodec
	id   format.CompressionCodec
	open func(io.Reader) (io.Reader, error)
}

func (c boundedStream) String() string                            { return c.id.String() }
func (c boundedStream) CompressionCodec() format.CompressionCodec { return c.id }

func (c boundedStream) Decode(dst, src []byte) ([]byte, error) {
	corrupt := func(err error) ([]byte, error) {
		return dst[:0], fmt.Errorf("corrupt %s page: %w", c.id, err)
	}
	zr, err := c.open(bytes.NewReader(src))
	if err != nil {
		return corrupt(err)
	}
	n, err := io.ReadFull(zr, dst)
	switch {
	case err == io.EOF || err == io.ErrUnexpectedEOF:
		return dst[:n], nil
	case err != nil:
		return corrupt(err)
	}
	var more [1]byte
	switch _, err := io.ReadFull(zr, more[:]); {
	case err == nil:
		return dst[:0], errPageTooLarge(c.id.String(), len(dst))
	case err != io.EOF:
		return corrupt(err)
	}
	return dst, nil
}

// zstdContentSize reads the content size a zstd frame header declares;
// known is false when the frame does not declare one, or b does not
// start with a zstd frame header this function can read (the decoder
// then reports the problem).
func zstdContentSize(b []byte) (size uint64, known bool) {
	if len(b) < 5 || binary.LittleEndian.Uint32(b) != 0xFD2FB528 {
		return 0, false
	}
	fhd := b[4]
	single := fhd&0x20 != 0
	i := 5
	if !single {
		i++ // window descriptor
	}
	i += [4]int{0, 1, 2, 4}[fhd&3] // dictionary id
	var n int
	switch fhd >> 6 {
	case 0:
		if single {
			n = 1
		}
	case 1:
		n = 2
	case 2:
		n = 4
	case 3:
		n = 8
	}
	if n == 0 || len(b) < i+n {
		return 0, false
	}
	var v uint64
	for k := n - 1; k >= 0; k-- {
		v = v<<8 | uint64(b[i+k])
	}
	if n == 2 {
		v += 256
	}
	return v, true
}
