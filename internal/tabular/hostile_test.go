package tabular

import (
	"bytes"
	"cmp"
	"compress/gzip"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/andybalholm/brotli"
	"github.com/parquet-go/parquet-go/encoding/thrift"
	"github.com/parquet-go/parquet-go/format"
)

// Files built to make a reader allocate far beyond their size. Each must
// be refused with an error that names the file, within a hard memory
// limit (TestHostileFilesUnderMemoryLimit), because running out of memory
// is a fatal error no recover() catches: the worker would die, and the
// activity's retries would carry the file to worker after worker.

// hostileCase is one such file and how it reaches granary.
type hostileCase struct {
	name   string
	format Format // "" is parquet
	data   func(t testing.TB) []byte
	// want is part of the error message.
	want string
	// inCorpus puts the file in FuzzParquetInput's seed corpus; files of
	// megabytes stay out of git.
	inCorpus bool
}

func hostileCases() []hostileCase {
	return []hostileCase{
		{name: "footer-list-2^31", data: hostileFooterList, want: "list of 2147483647 elements", inCorpus: true},
		{name: "zstd-frame-32GiB", data: func(t testing.TB) []byte { return hostileZstdFrameSize(t, 32<<30) }, want: "zstd frame declares 34359738368 bytes", inCorpus: true},
		{name: "zstd-no-size-bomb", data: func(t testing.TB) []byte { return hostileZstdBomb(t, 40000) }, want: "decodes to more than the 1024 bytes"},
		{name: "zstd-no-size-bomb-small", data: func(t testing.TB) []byte { return hostileZstdBomb(t, 64) }, want: "decodes to more than the 1024 bytes", inCorpus: true},
		{name: "snappy-length-4GiB", data: hostileSnappyLength, want: "snappy page declares 4294967295 bytes", inCorpus: true},
		{name: "lz4-invalid", data: hostileLz4, want: "corrupt LZ4_RAW page", inCorpus: true},
		{name: "gzip-bomb", data: func(t testing.TB) []byte { return hostileGzipBomb(t, 4096) }, want: "decodes to more than the 1024 bytes"},
		{name: "gzip-bomb-small", data: func(t testing.TB) []byte { return hostileGzipBomb(t, 4) }, want: "decodes to more than the 1024 bytes", inCorpus: true},
		{name: "brotli-bomb", data: hostileBrotliBomb, want: "decodes to more than the 1024 bytes", inCorpus: true},
		{name: "schema-chain", data: func(t testing.TB) []byte { return hostileSchemaChain(t, 30000) }, want: "schema nested more than 16 levels deep"},
		{name: "schema-chain-small", data: func(t testing.TB) []byte { return hostileSchemaChain(t, 40) }, want: "schema nested more than 16 levels deep", inCorpus: true},
		{name: "leaves-times-row-groups", data: func(t testing.TB) []byte { return hostileEmptyRowGroups(t, 20000) }, want: "row group 0 has 0 column chunks for 20000 columns"},
		{name: "leaves-times-row-groups-small", data: func(t testing.TB) []byte { return hostileEmptyRowGroups(t, 50) }, want: "row group 0 has 0 column chunks for 50 columns", inCorpus: true},
		{name: "footer-empty-structs", data: hostileFooterEmptyStructs, want: "MiB to open, more than the 512 MiB allowed"},
		// A record may be 64 MiB: one of separators only is 64M fields.
		{name: "csv-fields", format: CSV, data: func(testing.TB) []byte { return bytes.Repeat([]byte(","), 64<<20-1) }, want: "record has more than 32767 fields"},
		{name: "jsonl-keys", format: JSONL, data: func(testing.TB) []byte {
			return append(append([]byte("{"), bytes.Repeat([]byte(`"a":1,`), 10<<20)...), `"a":1}`...)
		}, want: "object has more than 32767 keys"},
	}
}

// TestHostileFilesUnderMemoryLimit runs each hostile case in a child
// process (this test binary again) under `ulimit -v`: a fatal
// out-of-memory error there kills the child, and the case fails. Go
// reserves about 800 MiB of address space at start-up, so 3 GiB leaves
// the reader about 2 GiB, far more than any of these files justifies and
// far less than any of them asks for.
func TestHostileFilesUnderMemoryLimit(t *testing.T) {
	if name := os.Getenv("GRANARY_HOSTILE_CASE"); name != "" {
		for _, c := range hostileCases() {
			if c.name == name {
				checkHostile(t, c, c.name+"."+cmp.Or(string(c.format), "parquet"), c.data(t))
				fmt.Printf("hostile ok: %s\n", c.name)
				return
			}
		}
		t.Fatalf("no case %q", name)
	}
	if testing.Short() {
		t.Skip("runs a child process per file, some of megabytes; skipped with -short")
	}
	for _, c := range hostileCases() {
		t.Run(c.name, func(t *testing.T) {
			out, err := runUnderMemoryLimit(t, "^TestHostileFilesUnderMemoryLimit$", 3<<20, "GRANARY_HOSTILE_CASE="+c.name)
			if err != nil || !strings.Contains(out, "hostile ok: "+c.name+"\n") {
				t.Fatalf("child under a 3 GiB address-space limit: %v\n%s", err, childReport(out))
			}
		})
	}
}

// runUnderMemoryLimit re-runs this test binary on run, with env added to
// its environment, under an address-space limit of limitKiB, and returns
// its output.
func runUnderMemoryLimit(t *testing.T, run string, limitKiB int, env ...string) (string, error) {
	t.Helper()
	sh, err := exec.LookPath("sh")
	if err != nil {
		t.Skip("no sh to set ulimit")
	}
	if err := exec.Command(sh, "-c", `ulimit -v "$1"`, "sh", fmt.Sprint(limitKiB)).Run(); err != nil {
		t.Skipf("this system cannot limit address space with ulimit -v: %v", err)
	}
	cmd := exec.Command(sh, "-c", `ulimit -v "$1" && exec "$2" -test.run="$3" -test.v -test.count=1`,
		"sh", fmt.Sprint(limitKiB), os.Args[0], run)
	cmd.Env = append(os.Environ(), env...)
	b, err := cmd.CombinedOutput()
	return string(b), err
}

// childReport keeps what explains a child's failure: its test output
// and the runtime's fatal error, without the goroutine dump.
func childReport(out string) string {
	var keep []string
	for _, line := range strings.Split(out, "\n") {
		if strings.HasPrefix(line, "goroutine ") {
			break
		}
		keep = append(keep, line)
	}
	return strings.Join(keep, "\n")
}

// checkHostile feeds data to the import (Convert) and to the reader that
// reads lake blobs back (NewReader, which takes the file's name from the
// ReaderAt): both must refuse it with an InputError naming the file.
func checkHostile(t *testing.T, c hostileCase, file string, data []byte) {
	t.Helper()
	if c.format != "" {
		_, err := InferSchema(context.Background(), bytes.NewReader(data), ReadOptions{File: file, Format: c.format})
		checkHostileError(t, c, file, "InferSchema", err)
		one := Schema{Columns: []Column{{Name: "a", Type: Int64}}}
		_, err = Convert(context.Background(), bytes.NewReader(data), io.Discard, ConvertOptions{File: file, Format: c.format, Schema: one})
		checkHostileError(t, c, file, "Convert", err)
		return
	}
	_, err := Convert(context.Background(), bytes.NewReader(data), io.Discard, ConvertOptions{File: file, Format: Parquet})
	checkHostileError(t, c, file, "Convert", err)
	err = readAllOf(namedReaderAt{bytes.NewReader(data), file}, int64(len(data)))
	checkHostileError(t, c, file, "NewReader", err)
}

func checkHostileError(t *testing.T, c hostileCase, file, via string, err error) {
	t.Helper()
	var ie *InputError
	if !errors.Is(err, ErrBadInput) || !errors.As(err, &ie) {
		t.Fatalf("%s via %s: got %v, want an InputError", c.name, via, err)
	}
	msg := err.Error()
	if !strings.HasPrefix(msg, file+":") || !strings.Contains(msg, c.want) {
		t.Fatalf("%s via %s: error %q does not name %s and say %q", c.name, via, msg, file, c.want)
	}
}

type namedReaderAt struct {
	*bytes.Reader
	name string
}

func (r namedReaderAt) Name() string { return r.name }

func readAllOf(r io.ReaderAt, size int64) error {
	pr, err := NewReader(r, size)
	if err != nil {
		return err
	}
	defer pr.Close()
	for {
		if _, err := pr.Next(); err != nil {
			if err == io.EOF {
				return nil
			}
			return err
		}
	}
}

// parquetFile wraps footer (a thrift FileMetaData) in the parquet framing.
func parquetFile(body, footer []byte) []byte {
	out := append([]byte("PAR1"), body...)
	out = append(out, footer...)
	out = binary.LittleEndian.AppendUint32(out, uint32(len(footer)))
	return append(out, "PAR1"...)
}

// hostileFooterList is 21 bytes: a footer whose schema is a list of
// 2^31-1 structs, which a decoder that believes the length allocates
// (about 200 GB) before reading the first one.
func hostileFooterList(testing.TB) []byte {
	footer := []byte{
		0x15, 0x02, // field 1 (version), i32 1
		0x19, 0xfc, // field 2 (schema), list of structs, size follows
		0xff, 0xff, 0xff, 0xff, 0x07, // 2147483647
	}
	return parquetFile(nil, footer)
}

func marshalThrift(t testing.TB, v any) []byte {
	t.Helper()
	b, err := thrift.Marshal(new(thrift.CompactProtocol), v)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// onePageFile is a parquet file of one REQUIRED BYTE_ARRAY column "x"
// holding a single PLAIN data page (v1) of rows values, compressed with
// codec into data; the page header claims uncompressed bytes.
func onePageFile(t testing.TB, codec format.CompressionCodec, rows int32, uncompressed int32, data []byte) []byte {
	t.Helper()
	return onePageFileWithHeader(t, codec, rows, uncompressed, onePageHeader(t, rows, uncompressed, data), data)
}

func onePageHeader(t testing.TB, rows int32, uncompressed int32, data []byte) []byte {
	return marshalThrift(t, &format.PageHeader{
		Type:                 format.DataPage,
		UncompressedPageSize: uncompressed,
		CompressedPageSize:   int32(len(data)),
		CRC:                  int32(crc32.ChecksumIEEE(data)),
		DataPageHeader: thrift.New(format.DataPageHeader{
			NumValues: rows, Encoding: format.Plain,
			DefinitionLevelEncoding: format.RLE, RepetitionLevelEncoding: format.RLE,
		}),
	})
}

func onePageFileWithHeader(t testing.TB, codec format.CompressionCodec, rows int32, uncompressed int32, header, data []byte) []byte {
	t.Helper()
	chunk := int64(len(header) + len(data))
	footer := marshalThrift(t, &format.FileMetaData{
		Version: 1,
		Schema: []format.SchemaElement{
			{Name: "schema", NumChildren: thrift.New[int32](1)},
			{Name: "x", Type: thrift.New(format.ByteArray), RepetitionType: thrift.New(format.Required)},
		},
		NumRows: int64(rows),
		RowGroups: []format.RowGroup{{
			Columns: []format.ColumnChunk{{
				FileOffset: 4,
				MetaData: format.ColumnMetaData{
					Type: format.ByteArray, Encoding: []format.Encoding{format.Plain}, PathInSchema: []string{"x"},
					Codec: codec, NumValues: int64(rows), TotalUncompressedSize: int64(len(header)) + int64(uncompressed),
					TotalCompressedSize: chunk, DataPageOffset: 4,
				},
			}},
			TotalByteSize: chunk, NumRows: int64(rows),
		}},
	})
	return parquetFile(append(header, data...), footer)
}

// zstd frames are written by hand: an encoder would not write these.
var zstdMagic = []byte{0x28, 0xb5, 0x2f, 0xfd}

const zstdWindow128K = 7 << 3 // window descriptor: 2^(10+7) bytes

func zstdBlockHeader(last bool, typ byte, size int) []byte {
	h := uint32(size)<<3 | uint32(typ)<<1
	if last {
		h |= 1
	}
	return []byte{byte(h), byte(h >> 8), byte(h >> 16)}
}

// hostileZstdBomb is a file whose one page is a zstd frame without a
// content size, made of blocks128K run-length blocks of 128 KiB (4 bytes
// each); the page header says 1024 bytes.
func hostileZstdBomb(t testing.TB, blocks128K int) []byte {
	frame := append(append([]byte(nil), zstdMagic...), 0x00, zstdWindow128K)
	for i := range blocks128K {
		frame = append(frame, zstdBlockHeader(i == blocks128K-1, 1, 128<<10)...)
		frame = append(frame, 'x')
	}
	return onePageFile(t, format.Zstd, 1, 1024, frame)
}

func hostileSnappyLength(t testing.TB) []byte {
	data := binary.AppendUvarint(nil, 0xffffffff)
	data = append(data, 0x00, 'x') // a one-byte literal
	return onePageFile(t, format.Snappy, 1, 16, data)
}

// hostileLz4 is an LZ4 block whose first match has offset 0, invalid
// whatever the size of the output buffer.
func hostileLz4(t testing.TB) []byte {
	return onePageFile(t, format.Lz4Raw, 1, 16, []byte{0x10, 'x', 0x00, 0x00, 0x00, 0x00, 0x00, 0x00})
}

// hostileGzipBomb concatenates members gzip members of 1 MiB of zeros
// (about 1 KiB each): gzip readers decode them all as one stream.
func hostileGzipBomb(t testing.TB, members int) []byte {
	var member bytes.Buffer
	zw, _ := gzip.NewWriterLevel(&member, gzip.BestCompression)
	if _, err := zw.Write(make([]byte, 1<<20)); err != nil {
		t.Fatal(err)
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	data := bytes.Repeat(member.Bytes(), members)
	return onePageFile(t, format.Gzip, 1, 1024, data)
}

func hostileBrotliBomb(t testing.TB) []byte {
	var buf bytes.Buffer
	bw := brotli.NewWriterLevel(&buf, 5) // 16 MiB of zeros in 26 bytes
	if _, err := bw.Write(make([]byte, 16<<20)); err != nil {
		t.Fatal(err)
	}
	if err := bw.Close(); err != nil {
		t.Fatal(err)
	}
	return onePageFile(t, format.Brotli, 1, 1024, buf.Bytes())
}

// hostileSchemaChain is a footer whose schema is depth nested groups of
// one child each: parquet-go gives every element its whole path, so
// memory grows with the square of the depth (30,000 levels, a 200 KB
// footer: about 7 GB).
func hostileSchemaChain(t testing.TB, depth int) []byte {
	schema := make([]format.SchemaElement, depth+1)
	for i := range depth {
		schema[i] = format.SchemaElement{Name: "g", NumChildren: thrift.New[int32](1)}
	}
	schema[depth] = format.SchemaElement{Name: "x", Type: thrift.New(format.Int64), RepetitionType: thrift.New(format.Optional)}
	return parquetFile(nil, marshalThrift(t, &format.FileMetaData{Version: 1, Schema: schema}))
}

// hostileEmptyRowGroups has n columns and n row groups without column
// chunks: parquet-go reserves columns x row groups chunk pointers before
// it notices (20,000 of each: 3.2 GB from a 200 KB footer).
func hostileEmptyRowGroups(t testing.TB, n int) []byte {
	schema := make([]format.SchemaElement, n+1)
	schema[0] = format.SchemaElement{Name: "schema", NumChildren: thrift.New(int32(n))}
	for i := 1; i <= n; i++ {
		schema[i] = format.SchemaElement{Name: fmt.Sprint("c", i), Type: thrift.New(format.Int64), RepetitionType: thrift.New(format.Required)}
	}
	groups := make([]format.RowGroup, n)
	return parquetFile(nil, marshalThrift(t, &format.FileMetaData{Version: 1, Schema: schema, RowGroups: groups}))
}

// hostileFooterEmptyStructs is a 16 MiB footer whose schema list holds
// 16M empty structs: every one is a byte on disk and a SchemaElement of
// 96 bytes (plus parquet-go's column per element) in memory.
func hostileFooterEmptyStructs(testing.TB) []byte {
	const n = 16 << 20
	footer := []byte{0x15, 0x02, 0x19, 0xfc}
	footer = binary.AppendUvarint(footer, n)
	footer = append(footer, make([]byte, n)...) // each 0 is an empty struct
	footer = append(footer, 0)                  // end of FileMetaData
	return parquetFile(nil, footer)
}

// hostileZstdFrameSize takes a small file granary wrote and replaces the
// bytes of its first page with a zstd frame of the same length whose
// header declares size bytes of content, then fixes up the page CRC, so
// that every check of the page framing still passes.
func hostileZstdFrameSize(t testing.TB, size uint64) []byte {
	t.Helper()
	var csv strings.Builder
	csv.WriteString("s\n")
	for i := range 100 {
		fmt.Fprintf(&csv, "value-%d\n", i*7919)
	}
	pq, _ := convertBytes(t, []byte(csv.String()), ConvertOptions{Format: CSV, Schema: Schema{Columns: []Column{{Name: "s", Type: String}}}})
	footerLen := int(binary.LittleEndian.Uint32(pq[len(pq)-8:]))
	var md format.FileMetaData
	if err := thrift.Unmarshal(new(thrift.CompactProtocol), pq[len(pq)-8-footerLen:len(pq)-8], &md); err != nil {
		t.Fatal(err)
	}
	off := int(md.RowGroups[0].Columns[0].MetaData.DataPageOffset)
	var w compactWalker
	hlen, err := w.structLen(pq[off:], 0)
	if err != nil {
		t.Fatal(err)
	}
	var h format.PageHeader
	if err := thrift.Unmarshal(new(thrift.CompactProtocol), pq[off:off+hlen], &h); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(marshalThrift(t, &h), pq[off:off+hlen]) {
		t.Fatal("re-encoding the page header changes its bytes")
	}
	if v := h.DataPageHeaderV2.V; !h.DataPageHeaderV2.Valid || v.DefinitionLevelsByteLength != 0 || v.RepetitionLevelsByteLength != 0 {
		t.Fatalf("expected a v2 data page without levels: %+v", h)
	}
	n := int(h.CompressedPageSize)
	head := append(append([]byte(nil), zstdMagic...), 0xc0, zstdWindow128K) // 8-byte content size, not single-segment
	head = binary.LittleEndian.AppendUint64(head, size)
	if n < len(head)+3 {
		t.Fatalf("page of %d bytes is too small for the frame", n)
	}
	raw := n - len(head) - 3
	for seed := range 1 << 16 {
		frame := append(append([]byte(nil), head...), zstdBlockHeader(true, 0, raw)...)
		for i := range raw {
			frame = append(frame, byte(seed>>(8*(i%2))))
		}
		h2 := h
		h2.CRC = int32(crc32.ChecksumIEEE(frame))
		hb := marshalThrift(t, &h2)
		if len(hb) != hlen {
			continue // the CRC's varint has another length: try other filler
		}
		out := bytes.Clone(pq)
		copy(out[off:], hb)
		copy(out[off+hlen:], frame)
		return out
	}
	t.Fatal("no filler gives a CRC of the same encoded length")
	return nil
}

func unmarshalThrift(b []byte, v any) error {
	return thrift.Unmarshal(new(thrift.CompactProtocol), b, v)
}

// fuzzCorpusEntry encodes a fuzz input in the format of go test's corpus
// files (testdata/fuzz/<Target>/<name>).
func fuzzCorpusEntry(args ...any) []byte {
	var b strings.Builder
	b.WriteString("go test fuzz v1\n")
	for _, a := range args {
		switch v := a.(type) {
		case []byte:
			fmt.Fprintf(&b, "[]byte(%s)\n", strconv.Quote(string(v)))
		case string:
			fmt.Fprintf(&b, "string(%s)\n", strconv.Quote(v))
		case uint8:
			fmt.Fprintf(&b, "byte(%d)\n", v)
		default:
			panic(fmt.Sprintf("fuzzCorpusEntry: %T", a))
		}
	}
	return []byte(b.String())
}

// checkFuzzCorpus keeps the hostile inputs in the fuzz targets' corpora:
// each file testdata/fuzz/<target>/hostile-<name> must hold entry. With
// GRANARY_WRITE_CORPUS=1 it writes the files instead.
func checkFuzzCorpus(t *testing.T, target, name string, entry []byte) {
	t.Helper()
	safe := strings.Map(func(r rune) rune {
		if r >= 'a' && r <= 'z' || r >= '0' && r <= '9' || r == '-' {
			return r
		}
		return '-'
	}, strings.ToLower(name))
	path := filepath.Join("testdata", "fuzz", target, "hostile-"+safe)
	if os.Getenv("GRANARY_WRITE_CORPUS") == "1" {
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, entry, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	got, err := os.ReadFile(path)
	if err != nil || !bytes.Equal(got, entry) {
		t.Errorf("%s is missing or stale (%v); run the test with GRANARY_WRITE_CORPUS=1 to write it", path, err)
	}
}

func TestHostileFilesInFuzzCorpus(t *testing.T) {
	for _, c := range hostileCases() {
		if c.inCorpus {
			checkFuzzCorpus(t, "FuzzParquetInput", c.name, fuzzCorpusEntry(c.data(t)))
		}
	}
	for _, c := range hostileSpillCases() {
		checkFuzzCorpus(t, "FuzzSpillReader", c.name, fuzzCorpusEntry(c.data))
	}
	for _, c := range hostileSchemaYAML() {
		checkFuzzCorpus(t, "FuzzSchemaYAML", c.name, fuzzCorpusEntry([]byte(c.yaml)))
	}
	for _, c := range hostileText() {
		checkFuzzCorpus(t, c.target, c.name, fuzzCorpusEntry([]byte(c.data)))
	}
}

type hostileSpill struct {
	name string
	data []byte
	want string
}

// spillFileOf assembles a spill file from a schema's JSON, raw blocks and
// footer fields.
func spillFileOf(schemaJSON string, blocks []byte, rows uint64, nblocks uint32) []byte {
	out := append([]byte(spillMagic), 0, 0, 0, 0)
	binary.LittleEndian.PutUint32(out[len(spillMagic):], uint32(len(schemaJSON)))
	out = append(out, schemaJSON...)
	out = append(out, blocks...)
	out = binary.LittleEndian.AppendUint64(out, rows)
	out = binary.LittleEndian.AppendUint32(out, nblocks)
	return append(out, spillEndMagic...)
}

func spillBlock(rows, payloadLen uint32, payload []byte) []byte {
	b := binary.LittleEndian.AppendUint32(nil, rows)
	b = binary.LittleEndian.AppendUint32(b, payloadLen)
	b = binary.LittleEndian.AppendUint32(b, crc32.Checksum(payload, crcTable))
	return append(b, payload...)
}

func hostileSpillCases() []hostileSpill {
	const schema = `{"columns":[{"name":"x","type":"int64","nullable":true}]}`
	withLen := spillFileOf(schema, nil, 0, 0)
	binary.LittleEndian.PutUint32(withLen[len(spillMagic):], 0xffffffff)
	return []hostileSpill{
		{"schema-length-4GiB", withLen, "schema length 4294967295 exceeds the file"},
		{"block-4G-rows", spillFileOf(schema, spillBlock(0xffffffff, 8, make([]byte, 8)), 0xffffffff, 1), "column data exceeds the block"},
		{"block-1GiB-payload", spillFileOf(schema, spillBlock(1, 1<<30, nil), 1, 1), "payload of 1073741824 bytes exceeds the file"},
		{"footer-rows", spillFileOf(schema, nil, 1<<63, 0), "row count 9223372036854775808"},
	}
}

// Spill files are written by granary, but a damaged or planted one must
// fail like a hostile parquet file: an error naming the file, no
// allocation by the lengths it claims.
func TestHostileSpillFiles(t *testing.T) {
	for _, c := range hostileSpillCases() {
		t.Run(c.name, func(t *testing.T) {
			err := readAllOf(namedReaderAt{bytes.NewReader(c.data), "part-7"}, int64(len(c.data)))
			var ie *InputError
			if !errors.As(err, &ie) || !strings.HasPrefix(err.Error(), "part-7: corrupt spill file: ") || !strings.Contains(err.Error(), c.want) {
				t.Fatalf("err = %v, want %q", err, c.want)
			}
		})
	}
}

type hostileYAML struct{ name, yaml string }

// hostileSchemaYAML are small members of the families that
// TestParseSchemaYAMLRefusesComplexInput refuses at full size.
func hostileSchemaYAML() []hostileYAML {
	var keys strings.Builder
	for i := range 20 {
		fmt.Fprintf(&keys, "k%d: 1\n", i)
	}
	return []hostileYAML{
		{"keys", keys.String()},
		{"flow-keys", "columns: [{" + strings.Repeat("a: 1, ", 20) + "}]"},
		{"flow-nesting", strings.Repeat("[", 20) + strings.Repeat("]", 20)},
		{"anchors", strings.Repeat("- &a x\n", 110)},
		{"documents", strings.Repeat("---\na: 1\n", 4)},
	}
}

type hostileTextCase struct{ target, name, data string }

// hostileText are the text parsers' corpus entries: records at their
// limits, kept small enough for the fuzzer to mutate.
func hostileText() []hostileTextCase {
	wide := make([]string, maxColumns+1)
	for i := range wide {
		wide[i] = strconv.Itoa(i)
	}
	return []hostileTextCase{
		{"FuzzCSVReader", "header-too-wide", strings.Join(wide, ",") + "\n"},
		{"FuzzCSVReader", "unclosed-quote", "a\n\"" + strings.Repeat("x\n", 1000)},
		{"FuzzJSONLReader", "repeated-key", "{" + strings.Repeat(`"a":1,`, maxColumns) + `"a":1}` + "\n"},
		{"FuzzJSONLReader", "nested", `{"a":` + strings.Repeat("[", 1000) + "\n"},
	}
}

// Records of more fields or keys than any table has columns stop at the
// limit, with the line, in inference and conversion alike.
func TestTextRecordsBoundedByMaxColumns(t *testing.T) {
	one := Schema{Columns: []Column{{Name: "a", Type: Int64}}}
	tests := []struct {
		name   string
		format Format
		data   string
		want   string
	}{
		{"csv header", CSV, strings.Repeat("x,", 40000) + "\n", "w.csv:1: record has more than 32767 fields"},
		{"csv row", CSV, "a\n1\n" + strings.Repeat(",", 40000) + "\n", "w.csv:3: record has more than 32767 fields"},
		{"csv quoted", CSV, "a\n" + strings.Repeat(`"",`, 40000) + "\n", "w.csv:2: record has more than 32767 fields"},
		{"jsonl", JSONL, `{"a":1}` + "\n{" + strings.Repeat(`"a":1,`, 40000) + `"a":1}`, "w.jsonl:2: row 2: object has more than 32767 keys"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			file := "w." + string(tt.format)
			_, err := InferSchema(context.Background(), strings.NewReader(tt.data), ReadOptions{File: file, Format: tt.format})
			if err == nil || !errors.Is(err, ErrBadInput) || !strings.HasPrefix(err.Error(), tt.want) {
				t.Errorf("InferSchema: %v", err)
			}
			_, err = Convert(context.Background(), strings.NewReader(tt.data), io.Discard, ConvertOptions{File: file, Format: tt.format, Schema: one})
			if err == nil || !errors.Is(err, ErrBadInput) || !strings.HasPrefix(err.Error(), tt.want) {
				t.Errorf("Convert: %v", err)
			}
		})
	}
}
