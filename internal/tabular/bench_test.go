package tabular

import (
	"bytes"
	"context"
	"io"
	"testing"
)

// The benchmark table has 8 columns (2 int64, 2 float64 one of them with
// nulls, a low- and a high-cardinality string, a bool and a timestamp), about
// 90 bytes a row.
const benchRows = 200_000

func benchInput(b *testing.B) []byte {
	var in bytes.Buffer
	genCSV(&in, benchRows)
	return in.Bytes()
}

func reportRows(b *testing.B) {
	b.ReportMetric(float64(benchRows)*float64(b.N)/b.Elapsed().Seconds(), "rows/s")
}

func BenchmarkConvertCSV(b *testing.B) {
	data := benchInput(b)
	b.SetBytes(int64(len(data)))
	b.ReportAllocs()
	ctx := context.Background()
	for b.Loop() {
		if _, err := Convert(ctx, bytes.NewReader(data), io.Discard, ConvertOptions{File: "bench.csv", Schema: benchSchema}); err != nil {
			b.Fatal(err)
		}
	}
	reportRows(b)
}

func BenchmarkInferSchemaCSV(b *testing.B) {
	data := benchInput(b)
	b.SetBytes(int64(len(data)))
	ctx := context.Background()
	for b.Loop() {
		if _, err := InferSchema(ctx, bytes.NewReader(data), ReadOptions{Format: CSV}); err != nil {
			b.Fatal(err)
		}
	}
	reportRows(b)
}

func BenchmarkExportCSV(b *testing.B) {
	var pq bytes.Buffer
	if _, err := Convert(context.Background(), bytes.NewReader(benchInput(b)), &pq, ConvertOptions{Format: CSV, Schema: benchSchema}); err != nil {
		b.Fatal(err)
	}
	b.SetBytes(int64(pq.Len()))
	ctx := context.Background()
	for b.Loop() {
		if err := ExportCSV(ctx, bytes.NewReader(pq.Bytes()), int64(pq.Len()), io.Discard); err != nil {
			b.Fatal(err)
		}
	}
	reportRows(b)
}
