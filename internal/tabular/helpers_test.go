package tabular

import (
	"bytes"
	"context"
	"io"
	"testing"
)

// convertBytes converts in and returns the parquet bytes and the result.
func convertBytes(t testing.TB, in []byte, opts ConvertOptions) ([]byte, Result) {
	t.Helper()
	var out bytes.Buffer
	res, err := Convert(context.Background(), bytes.NewReader(in), &out, opts)
	if err != nil {
		t.Fatalf("Convert: %v", err)
	}
	if res.Bytes != int64(out.Len()) {
		t.Fatalf("Result.Bytes = %d, wrote %d", res.Bytes, out.Len())
	}
	return out.Bytes(), res
}

func exportBytes(t testing.TB, pq []byte) string {
	t.Helper()
	var out bytes.Buffer
	if err := ExportCSV(context.Background(), bytes.NewReader(pq), int64(len(pq)), &out); err != nil {
		t.Fatalf("ExportCSV: %v", err)
	}
	return out.String()
}

// readAll reads every row of a parquet file as canonical text per value
// ("<null>" for null), through the Reader API.
func readAll(t testing.TB, pq []byte) (Schema, [][]string) {
	t.Helper()
	r, err := NewReader(bytes.NewReader(pq), int64(len(pq)))
	if err != nil {
		t.Fatalf("NewReader: %v", err)
	}
	defer r.Close()
	var rows [][]string
	for {
		b, err := r.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatalf("Next: %v", err)
		}
		for i := range b.Len {
			row := make([]string, len(b.Vectors))
			for c := range b.Vectors {
				v := &b.Vectors[c]
				if v.IsNull(i) {
					row[c] = "<null>"
					continue
				}
				switch v.Type {
				case Int64:
					row[c] = string(appendInt64(nil, v.Ints[i]))
				case Timestamp:
					row[c] = string(appendTimestamp(nil, v.Ints[i]))
				case Float64:
					row[c] = string(appendFloat64(nil, v.Floats[i]))
				case Bool:
					row[c] = string(appendBool(nil, v.Bools[i]))
				case String:
					row[c] = "s:" + string(v.StringBytes(i))
				}
			}
			rows = append(rows, row)
		}
	}
	return r.Schema(), rows
}
