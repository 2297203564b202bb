package tabular

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/klauspost/compress/zstd"
	"github.com/parquet-go/parquet-go"
	"github.com/parquet-go/parquet-go/compress"
	"github.com/parquet-go/parquet-go/format"
)

// Files from other writers, in every codec granary reads and both data
// page versions, with nulls (levels that a v2 page keeps outside the
// compressed bytes) and pages of many values, read exactly as their
// uncompressed twin: the bounded codecs refuse only what they must.
func TestReadCodecsDecodeForeignFiles(t *testing.T) {
	type row struct {
		ID   int64   `parquet:"id"`
		Name *string `parquet:"name,optional"`
		X    float64 `parquet:"x"`
	}
	rows := make([]row, 20000)
	for i := range rows {
		rows[i] = row{ID: int64(i * 7), X: float64(i) / 3}
		if i%3 != 0 {
			s := fmt.Sprintf("name-%d", i%1000)
			rows[i].Name = &s
		}
	}
	want := exportBytes(t, writeParquet(t, rows, parquet.Compression(&parquet.Uncompressed)))
	codecs := []compress.Codec{&parquet.Snappy, &parquet.Gzip, &parquet.Brotli, &parquet.Lz4Raw, &parquet.Zstd}
	for _, codec := range codecs {
		for _, version := range []int{1, 2} {
			t.Run(fmt.Sprintf("%s/v%d", codec, version), func(t *testing.T) {
				in := writeParquet(t, rows, parquet.Compression(codec), parquet.DataPageVersion(version), parquet.PageBufferSize(16<<10))
				pq, _ := convertBytes(t, in, ConvertOptions{File: "foreign.parquet", Format: Parquet})
				if got := exportBytes(t, pq); got != want {
					t.Fatalf("%s v%d reads differently from the uncompressed file", codec, version)
				}
			})
		}
	}
}

// Each bounded codec decodes a page of exactly the declared size, and
// refuses one that decodes to a byte more, without growing its output.
func TestReadCodecsBoundOutput(t *testing.T) {
	page := bytes.Repeat([]byte("granary "), 4096)
	for _, enc := range []compress.Codec{&parquet.Snappy, &parquet.Gzip, &parquet.Brotli, &parquet.Lz4Raw, &parquet.Zstd} {
		t.Run(enc.String(), func(t *testing.T) {
			src, err := enc.Encode(nil, page)
			if err != nil {
				t.Fatal(err)
			}
			dec, err := readCodecFor(enc.CompressionCodec())
			if err != nil {
				t.Fatal(err)
			}
			out, err := dec.Decode(make([]byte, len(page)), src)
			if err != nil || !bytes.Equal(out, page) {
				t.Fatalf("exact size: err %v, equal %v", err, bytes.Equal(out, page))
			}
			out, err = dec.Decode(make([]byte, len(page)+100), src)
			if err != nil || !bytes.Equal(out, page) {
				t.Fatalf("declared larger: err %v, equal %v", err, bytes.Equal(out, page))
			}
			dst := make([]byte, len(page)-1, len(page)+1<<20) // spare capacity must not be used
			out, err = dec.Decode(dst, src)
			if err == nil {
				t.Fatalf("a page one byte larger than declared was accepted (%d bytes)", len(out))
			}
			if cap(out) > len(page)+1<<20 || (len(out) > 0 && &out[0] != &dst[0]) {
				t.Fatalf("decoder allocated its own output")
			}
		})
	}
}

// The decoder itself refuses a frame that declares more than the page,
// even when page validation is bypassed: the 32 GiB frame header alone
// must not allocate.
func TestZstdPageDeclaringMoreThanItsHeader(t *testing.T) {
	frame := append(append([]byte(nil), zstdMagic...), 0xc0, zstdWindow128K)
	frame = binary.LittleEndian.AppendUint64(frame, 32<<30)
	frame = append(frame, zstdBlockHeader(true, 1, 16)...)
	frame = append(frame, 'x')
	_, err := decodeZstdPage(make([]byte, 1024), frame)
	if err == nil || !strings.Contains(err.Error(), "zstd page decodes to more than the 1024 bytes its header declares") {
		t.Fatalf("err = %v", err)
	}
	if size, ok := zstdContentSize(frame); !ok || size != 32<<30 {
		t.Fatalf("zstdContentSize = %d, %v", size, ok)
	}
	// klauspost's encoder leaves the size out below 256 bytes, and
	// writes it in 2, 4 or 8 bytes above.
	enc, _ := zstd.NewWriter(nil)
	for _, n := range []int{0, 1, 255, 256, 65791, 65792, 1 << 20} {
		size, ok := zstdContentSize(enc.EncodeAll(make([]byte, n), nil))
		if (ok && size != uint64(n)) || (n >= 256 && !ok) {
			t.Errorf("content size of a %d-byte frame read as %d, %v", n, size, ok)
		}
	}
	single := append(append([]byte(nil), zstdMagic...), 0x20, 200) // single segment, 1-byte size
	if size, ok := zstdContentSize(single); !ok || size != 200 {
		t.Errorf("single-segment frame: %d, %v", size, ok)
	}
}

// parquet-go decodes every chunk of a column with the first chunk's
// codec, so a file that changes codec between row groups is refused
// rather than read as garbage.
func TestParquetCodecChangesBetweenRowGroups(t *testing.T) {
	type row struct {
		X int64 `parquet:"x"`
	}
	a := writeParquet(t, []row{{1}}, parquet.Compression(&parquet.Snappy))
	md := footerOf(t, a)
	md.RowGroups = append(md.RowGroups, md.RowGroups[0])
	md.RowGroups[1].Columns = append([]format.ColumnChunk(nil), md.RowGroups[0].Columns...)
	md.RowGroups[1].Columns[0].MetaData.Codec = format.Gzip
	md.NumRows *= 2
	b := withFooter(t, a, md)
	_, err := Convert(context.Background(), bytes.NewReader(b), &bytes.Buffer{}, ConvertOptions{File: "mixed.parquet", Format: Parquet})
	if err == nil || !errors.Is(err, ErrBadInput) || !strings.Contains(err.Error(), "compressed with GZIP in row group 1 but SNAPPY in row group 0") {
		t.Fatalf("err = %v", err)
	}
	md.RowGroups[1].Columns[0].MetaData.Codec = format.LZO
	md.RowGroups[0].Columns[0].MetaData.Codec = format.LZO
	_, err = Convert(context.Background(), bytes.NewReader(withFooter(t, a, md)), &bytes.Buffer{}, ConvertOptions{File: "lzo.parquet", Format: Parquet})
	if err == nil || !strings.HasPrefix(err.Error(), "lzo.parquet: corrupt parquet file: column [x]: compression LZO is not supported") {
		t.Fatalf("err = %v", err)
	}
}

func footerOf(t testing.TB, pq []byte) *format.FileMetaData {
	t.Helper()
	n := int(binary.LittleEndian.Uint32(pq[len(pq)-8:]))
	md := new(format.FileMetaData)
	if err := unmarshalThrift(pq[len(pq)-8-n:len(pq)-8], md); err != nil {
		t.Fatal(err)
	}
	return md
}

// withFooter replaces the footer of pq by md.
func withFooter(t testing.TB, pq []byte, md *format.FileMetaData) []byte {
	t.Helper()
	n := int(binary.LittleEndian.Uint32(pq[len(pq)-8:]))
	return parquetFile(pq[4:len(pq)-8-n], marshalThrift(t, md))
}
