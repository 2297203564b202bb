package tabular

import (
	"bytes"
	"context"
	"errors"
	"reflect"
	"testing"
	"time"

	"github.com/parquet-go/parquet-go"
)

// checkBadInput fails unless err is a user-data error.
func checkBadInput(t *testing.T, err error) {
	t.Helper()
	var ie *InputError
	if !errors.Is(err, ErrBadInput) || !errors.As(err, &ie) {
		t.Fatalf("error is not an *InputError matching ErrBadInput: %#v", err)
	}
	_ = err.Error()
}

// checkRoundTrip infers, converts, exports to CSV and converts that CSV
// again: every step succeeds once inference did, and the second parquet file
// equals the first byte for byte, stats included.
func checkRoundTrip(t *testing.T, data []byte, format Format) {
	ctx := context.Background()
	schema, err := InferSchema(ctx, bytes.NewReader(data), ReadOptions{File: "fuzz", Format: format})
	if err != nil {
		checkBadInput(t, err)
		return
	}
	if err := schema.Validate(); err != nil {
		t.Fatalf("inferred schema is invalid: %v", err)
	}
	opts := ConvertOptions{File: "fuzz", Format: format, Schema: schema, RowGroupRows: 3}
	var pq bytes.Buffer
	res, err := Convert(ctx, bytes.NewReader(data), &pq, opts)
	if err != nil {
		t.Fatalf("inference succeeded but Convert failed: %v", err)
	}
	var csv bytes.Buffer
	if err := ExportCSV(ctx, bytes.NewReader(pq.Bytes()), int64(pq.Len()), &csv); err != nil {
		t.Fatalf("ExportCSV: %v", err)
	}
	var pq2 bytes.Buffer
	opts.Format = CSV
	res2, err := Convert(ctx, bytes.NewReader(csv.Bytes()), &pq2, opts)
	if err != nil {
		t.Fatalf("exported CSV does not convert: %v\n%q", err, csv.Bytes())
	}
	if !bytes.Equal(pq.Bytes(), pq2.Bytes()) {
		t.Fatalf("round trip changed the data\ninput:  %q\nexport: %q", data, csv.Bytes())
	}
	if !reflect.DeepEqual(res.Stats, res2.Stats) {
		t.Fatalf("round trip changed the stats")
	}
}

func FuzzCSVReader(f *testing.F) {
	for _, s := range []string{
		"a,b\n1,2\n",
		roundTripCSV,
		"\xEF\xBB\xBFa\r\n\"x\"\"y\"\r\n\r\n",
		"a\n\n\n",
		"a,b\n,\n\"\",\"\"\n",
		"a,b\n\"multi\nline\",1\n\"crlf\r\nx\",2\n",
		"a\nNaN\n-0\n+Inf\n1e308\n4.9e-324\n",
		"t\n2024-03-01T10:00:00+02:00\n2024-03-01 10:00:00\n2024-03-01\n",
		"a\n9223372036854775807\n-9223372036854775808\n9223372036854775808\n",
		"a,b\nx\"y,1\n",
		"a,b\n\"unterminated,1\n",
		"a,a\n1,2\n",
		",\n",
		"a\n\xff\n",
		"a\ntrue\nFALSE\n",
		"a,b\n1,2,3\n",
		"a\n\"trailing\r\"\n",
		"a\r",
		"",
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		checkRoundTrip(t, data, CSV)
	})
}

func FuzzJSONLReader(f *testing.F) {
	for _, s := range []string{
		`{"a":1,"b":"x"}`,
		"{\"i\":9223372036854775807,\"f\":-0.0,\"s\":\"\\u00e9\\ud83d\\ude80\",\"b\":true,\"t\":\"2024-03-01T10:00:00+02:00\"}\n{\"i\":null}\n",
		"{\"a\":1}\n{\"a\":1.5}\n{\"a\":\"x\"}\n",
		"{\"a\":{\"b\":1}}",
		"{\"a\":[1]}",
		"[1,2]",
		"{\"a\":1,\"a\":2}",
		"\n\n{}\n",
		"{\"\":1}",
		"{\"a\":\"\\ud800\"}",
		"{\"a\":1e400}",
		"{\"a\":\"line\\nbreak\\r\\n,\\\"q\\\"\"}",
		"\xEF\xBB\xBF{\"a\":true}\r\n",
		"{\"a\":1} x",
		"",
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		checkRoundTrip(t, data, JSONL)
	})
}

// FuzzParquetInput feeds arbitrary bytes as parquet: the conversion either
// fails with a bad-input error or gives rows that survive a CSV round trip.
func FuzzParquetInput(f *testing.F) {
	type row struct {
		I   int64     `parquet:"i"`
		S   *string   `parquet:"s,optional"`
		F   float32   `parquet:"f"`
		B   bool      `parquet:"b"`
		T   time.Time `parquet:"t,timestamp(millisecond)"`
		D   string    `parquet:"d,dict"`
		I32 int32     `parquet:"i32"`
	}
	x := "x"
	rows := []row{{I: 1, S: &x, F: 1.5, B: true, T: time.Unix(1, 0), D: "a", I32: -3}, {I: -1, D: "b"}, {I: 7, D: "a"}}
	var buf bytes.Buffer
	w := parquet.NewGenericWriter[row](&buf, parquet.MaxRowsPerRowGroup(2))
	if _, err := w.Write(rows); err != nil {
		f.Fatal(err)
	}
	if err := w.Close(); err != nil {
		f.Fatal(err)
	}
	f.Add(buf.Bytes())
	var canonical bytes.Buffer
	if _, err := Convert(context.Background(), bytes.NewReader([]byte(roundTripCSV)), &canonical, ConvertOptions{Format: CSV, Schema: roundTripSchema, RowGroupRows: 4}); err != nil {
		f.Fatal(err)
	}
	f.Add(canonical.Bytes())
	f.Add([]byte("PAR1PAR1"))
	f.Add([]byte("PAR1\x00\x00\x00\x00\x04\x00\x00\x00PAR1"))
	f.Fuzz(func(t *testing.T, data []byte) {
		ctx := context.Background()
		var pq bytes.Buffer
		res, err := Convert(ctx, bytes.NewReader(data), &pq, ConvertOptions{File: "fuzz.parquet", Format: Parquet})
		if err != nil {
			checkBadInput(t, err)
			return
		}
		var csv bytes.Buffer
		if err := ExportCSV(ctx, bytes.NewReader(pq.Bytes()), int64(pq.Len()), &csv); err != nil {
			t.Fatalf("ExportCSV of our own output: %v", err)
		}
		var pq2, csv2 bytes.Buffer
		if _, err := Convert(ctx, bytes.NewReader(csv.Bytes()), &pq2, ConvertOptions{Format: CSV, Schema: res.Schema}); err != nil {
			t.Fatalf("exported CSV does not convert: %v", err)
		}
		if err := ExportCSV(ctx, bytes.NewReader(pq2.Bytes()), int64(pq2.Len()), &csv2); err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(csv.Bytes(), csv2.Bytes()) {
			t.Fatalf("round trip changed the data")
		}
	})
}
