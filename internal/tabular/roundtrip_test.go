package tabular

import (
	"bytes"
	"context"
	"encoding/json"
	"math"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/parquet-go/parquet-go"
)

var roundTripSchema = Schema{Columns: []Column{
	{Name: "i", Type: Int64, Nullable: true},
	{Name: "f", Type: Float64, Nullable: true},
	{Name: "s", Type: String, Nullable: true},
	{Name: "b", Type: Bool, Nullable: true},
	{Name: "t", Type: Timestamp, Nullable: true},
}}

// roundTripCSV exercises every value class; roundTripExport is what
// ExportCSV must produce for it (the canonical forms).
const roundTripCSV = "i,f,s,b,t\r\n" +
	"0,0.1,\"a,b\",true,2024-03-01T10:00:00+02:00\r\n" +
	"9223372036854775807,1e300,\"he said \"\"hi\"\"\",false,2024-03-01 10:00:00\r\n" +
	"-9223372036854775808,-0.0,\"line1\nline2\",TRUE,2024-03-01\r\n" +
	"+42,NaN,\"crlf\r\ninside\",,1969-12-31T23:59:59.999999Z\r\n" +
	"-1,+Inf,ünïcödé 🚀,False,0000-01-01T00:00:00Z\r\n" +
	",-inf,\"\",,9999-12-31T23:59:59.999999999Z\r\n" +
	"7,5e-324,,true,\r\n" +
	"8,,\" padded \",false,2024-02-29T23:59:59.5-00:30\r\n" +
	"9,1.7976931348623157e308,\"trailing\r\",true,2024-01-01T00:00:00.000001Z\r\n" +
	"10,0.30000000000000004,\"\xEF\xBB\xBFbom\",true,2024-01-01\r\n"

const roundTripExport = "i,f,s,b,t\n" +
	"0,0.1,\"a,b\",true,2024-03-01T08:00:00Z\n" +
	"9223372036854775807,1e+300,\"he said \"\"hi\"\"\",false,2024-03-01T10:00:00Z\n" +
	"-9223372036854775808,-0,\"line1\nline2\",true,2024-03-01T00:00:00Z\n" +
	"42,NaN,\"crlf\r\ninside\",,1969-12-31T23:59:59.999999Z\n" +
	"-1,+Inf,ünïcödé 🚀,false,0000-01-01T00:00:00Z\n" +
	",-Inf,\"\",,9999-12-31T23:59:59.999999Z\n" +
	"7,5e-324,,true,\n" +
	"8,, padded ,false,2024-03-01T00:29:59.5Z\n" + // spaces are data, never trimmed
	"9,1.7976931348623157e+308,\"trailing\r\",true,2024-01-01T00:00:00.000001Z\n" +
	"10,0.30000000000000004,\"\xEF\xBB\xBFbom\",true,2024-01-01T00:00:00Z\n"

func TestRoundTripCSV(t *testing.T) {
	pq, res := convertBytes(t, []byte(roundTripCSV), ConvertOptions{File: "rt.csv", Schema: roundTripSchema})
	if res.Rows != 10 {
		t.Fatalf("rows = %d", res.Rows)
	}
	got := exportBytes(t, pq)
	if got != roundTripExport {
		t.Fatalf("export mismatch\n got: %q\nwant: %q", got, roundTripExport)
	}
	// Export, re-import, export again: the same bytes all the way.
	pq2, res2 := convertBytes(t, []byte(got), ConvertOptions{File: "rt2.csv", Schema: roundTripSchema})
	if !bytes.Equal(pq, pq2) {
		t.Errorf("re-imported parquet differs")
	}
	if !reflect.DeepEqual(res.Stats, res2.Stats) {
		t.Errorf("re-imported stats differ")
	}

	// Values exactly, through the Reader.
	schema, rows := readAll(t, pq)
	if !reflect.DeepEqual(schema, roundTripSchema) {
		t.Errorf("schema read back = %+v", schema)
	}
	r, _ := NewReader(bytes.NewReader(pq), int64(len(pq)))
	b, err := r.Next()
	if err != nil {
		t.Fatal(err)
	}
	if f := b.Vectors[1].Floats[2]; f != 0 || !math.Signbit(f) {
		t.Errorf("-0.0 came back as %v", f)
	}
	if f := b.Vectors[1].Floats[0]; f != 0.1 {
		t.Errorf("0.1 came back as %v", f)
	}
	if !b.Vectors[2].IsNull(6) || b.Vectors[2].IsNull(5) || len(b.Vectors[2].StringBytes(5)) != 0 {
		t.Errorf("null / empty string not kept apart: %v", rows[5:7])
	}
	wantTS := time.Date(2024, 3, 1, 8, 0, 0, 0, time.UTC).UnixMicro()
	if b.Vectors[4].Ints[0] != wantTS {
		t.Errorf("timestamp with zone = %d, want %d", b.Vectors[4].Ints[0], wantTS)
	}
}

func TestRoundTripInferredCSV(t *testing.T) {
	in := "id,price,label,flag,when\n1,0.5,x,true,2024-01-01\n2,,\"\",,\n3,2,\"q,\"\"r\",false,2024-01-02T03:04:05Z\n"
	pq, res := convertBytes(t, []byte(in), ConvertOptions{File: "inf.csv"}) // schema inferred (bytes.Reader seeks)
	want := []Column{{Name: "id", Type: Int64}, {Name: "price", Type: Float64, Nullable: true},
		{Name: "label", Type: String}, {Name: "flag", Type: Bool, Nullable: true}, {Name: "when", Type: Timestamp, Nullable: true}}
	if !reflect.DeepEqual(res.Schema.Columns, want) {
		t.Fatalf("schema %+v", res.Schema.Columns)
	}
	got := exportBytes(t, pq)
	wantCSV := "id,price,label,flag,when\n1,0.5,x,true,2024-01-01T00:00:00Z\n2,,\"\",,\n3,2,\"q,\"\"r\",false,2024-01-02T03:04:05Z\n"
	if got != wantCSV {
		t.Errorf("got %q\nwant %q", got, wantCSV)
	}
}

func TestSingleColumnNulls(t *testing.T) {
	in := "x\n1\n\n3\n\n"
	s := Schema{Columns: []Column{{Name: "x", Type: Int64, Nullable: true}}}
	pq, res := convertBytes(t, []byte(in), ConvertOptions{Schema: s, Format: CSV})
	if res.Rows != 4 || res.Stats[0].Nulls != 2 {
		t.Fatalf("rows %d nulls %d", res.Rows, res.Stats[0].Nulls)
	}
	if got := exportBytes(t, pq); got != in {
		t.Errorf("got %q", got)
	}
	// A single string column: null and "" stay apart.
	in = "s\n\"\"\n\nx\n"
	s = Schema{Columns: []Column{{Name: "s", Type: String, Nullable: true}}}
	pq, _ = convertBytes(t, []byte(in), ConvertOptions{Schema: s, Format: CSV})
	if got := exportBytes(t, pq); got != in {
		t.Errorf("got %q", got)
	}
}

func TestHeaderOnly(t *testing.T) {
	pq, res := convertBytes(t, []byte("a,b\n"), ConvertOptions{File: "h.csv"})
	if res.Rows != 0 || res.RowGroups != 0 {
		t.Fatalf("rows %d groups %d", res.Rows, res.RowGroups)
	}
	if got := exportBytes(t, pq); got != "a,b\n" {
		t.Errorf("got %q", got)
	}
}

func TestRoundTripJSONL(t *testing.T) {
	in := `{"i": 9223372036854775807, "f": 0.1, "s": "a\"b\\n\u00e9\ud83d\ude80", "b": true, "t": "2024-03-01T10:00:00+02:00"}
{"i": -9223372036854775808, "f": -0.0, "s": "", "b": false, "t": null}

{"f": 1e300, "s": null}
{"s": 12.50, "i": 3, "f": 2}
`
	pq, res := convertBytes(t, []byte(in), ConvertOptions{File: "rt.jsonl"})
	want := []Column{{Name: "i", Type: Int64, Nullable: true}, {Name: "f", Type: Float64}, {Name: "s", Type: String, Nullable: true},
		{Name: "b", Type: Bool, Nullable: true}, {Name: "t", Type: Timestamp, Nullable: true}}
	if !reflect.DeepEqual(res.Schema.Columns, want) {
		t.Fatalf("schema %+v", res.Schema.Columns)
	}
	got := exportBytes(t, pq)
	wantCSV := "i,f,s,b,t\n" +
		"9223372036854775807,0.1,\"a\"\"b\\né🚀\",true,2024-03-01T08:00:00Z\n" +
		"-9223372036854775808,-0,\"\",false,\n" +
		",1e+300,,,\n" +
		"3,2,12.50,,\n"
	if got != wantCSV {
		t.Errorf("got  %q\nwant %q", got, wantCSV)
	}
	// The export converts back to the same parquet.
	pq2, _ := convertBytes(t, []byte(got), ConvertOptions{Format: CSV, Schema: res.Schema})
	if !bytes.Equal(pq, pq2) {
		t.Errorf("CSV of the JSONL import converts to different parquet")
	}
}

func TestDeterminism(t *testing.T) {
	var in bytes.Buffer
	genCSV(&in, 50_000)
	opts := ConvertOptions{File: "d.csv", Schema: benchSchema, RowGroupRows: 7000}
	var (
		wg      sync.WaitGroup
		outs    [4][]byte
		results [4]Result
	)
	for i := range outs { // concurrently, to catch shared state
		wg.Add(1)
		go func() {
			defer wg.Done()
			outs[i], results[i] = convertBytes(t, in.Bytes(), opts)
		}()
	}
	wg.Wait()
	j0, _ := json.Marshal(results[0])
	for i := 1; i < len(outs); i++ {
		if !bytes.Equal(outs[0], outs[i]) {
			t.Errorf("run %d: parquet bytes differ", i)
		}
		if ji, _ := json.Marshal(results[i]); !bytes.Equal(j0, ji) {
			t.Errorf("run %d: results differ", i)
		}
	}
	if results[0].RowGroups != 8 {
		t.Errorf("row groups = %d, want 8", results[0].RowGroups)
	}
	f, err := parquet.OpenFile(bytes.NewReader(outs[0]), int64(len(outs[0])))
	if err != nil {
		t.Fatal(err)
	}
	for i, rg := range f.RowGroups() {
		if rg.NumRows() > 7000 {
			t.Errorf("row group %d has %d rows", i, rg.NumRows())
		}
	}
	// Inferring the schema gives the same result as passing it.
	inferred, _ := convertBytes(t, in.Bytes(), ConvertOptions{File: "d.csv", RowGroupRows: 7000})
	if !bytes.Equal(inferred, outs[0]) {
		t.Errorf("inferred-schema conversion differs from the explicit one")
	}
}

func TestCanonicalParquetLayout(t *testing.T) {
	s := Schema{Columns: []Column{{Name: "zeta", Type: Int64}, {Name: "alpha", Type: String, Nullable: true},
		{Name: "mid", Type: Timestamp}, {Name: "b", Type: Bool}, {Name: "f", Type: Float64, Nullable: true}}}
	pq, _ := convertBytes(t, []byte("zeta,alpha,mid,b,f\n1,x,2024-01-01,true,1.5\n"), ConvertOptions{Schema: s, Format: CSV})
	f, err := parquet.OpenFile(bytes.NewReader(pq), int64(len(pq)))
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, c := range f.Root().Columns() {
		names = append(names, c.Name())
	}
	if strings.Join(names, ",") != "zeta,alpha,mid,b,f" {
		t.Errorf("column order %v", names)
	}
	md := f.Metadata()
	for _, rg := range md.RowGroups {
		for _, cc := range rg.Columns {
			if cc.MetaData.Codec.String() != "ZSTD" {
				t.Errorf("column %v codec %v", cc.MetaData.PathInSchema, cc.MetaData.Codec)
			}
		}
	}
	cols := f.Root().Columns()
	if cols[0].Optional() || !cols[1].Optional() {
		t.Errorf("repetition: zeta optional=%v alpha optional=%v", cols[0].Optional(), cols[1].Optional())
	}
	if lt := cols[2].Type().LogicalType(); lt == nil || lt.String() != "TIMESTAMP(isAdjustedToUTC=true,unit=MICROS)" {
		t.Errorf("timestamp logical type %v", lt)
	}
	if lt := cols[1].Type().LogicalType(); lt == nil || lt.String() != "STRING" {
		t.Errorf("string logical type %v", lt)
	}
}

func TestConvertProgressAndCancel(t *testing.T) {
	var in bytes.Buffer
	genCSV(&in, 10_000)
	var calls []int64
	_, res := convertBytes(t, in.Bytes(), ConvertOptions{Format: CSV, Schema: benchSchema, RowGroupRows: 3000,
		Progress: func(rows int64) { calls = append(calls, rows) }})
	if !reflect.DeepEqual(calls, []int64{3000, 6000, 9000, 10000}) || res.RowGroups != 4 {
		t.Errorf("progress calls %v, groups %d", calls, res.RowGroups)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	_, err := Convert(ctx, bytes.NewReader(in.Bytes()), &bytes.Buffer{}, ConvertOptions{Format: CSV, Schema: benchSchema})
	if err != context.Canceled {
		t.Errorf("err = %v, want context.Canceled", err)
	}
}

// A writer failure ends the conversion with that error, and the reading
// goroutine does not leak or block.
func TestConvertWriterError(t *testing.T) {
	var in bytes.Buffer
	genCSV(&in, 20_000)
	_, err := Convert(context.Background(), bytes.NewReader(in.Bytes()), failingWriter{}, ConvertOptions{Format: CSV, Schema: benchSchema, RowGroupRows: 1000})
	if err == nil || !strings.Contains(err.Error(), "disk full") {
		t.Fatalf("err = %v", err)
	}
}

type failingWriter struct{}

func (failingWriter) Write([]byte) (int, error) { return 0, errDiskFull }

var errDiskFull = &diskFull{}

type diskFull struct{}

func (*diskFull) Error() string { return "disk full" }
