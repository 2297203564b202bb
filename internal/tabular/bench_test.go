package tabular

import (
	"bytes"
	"context"
	"io"
	"testing"
)

func BenchmarkConvertCSV(b *testing.B) {
	const rows = 200_000
	var in bytes.Buffer
	genCSV(&in, rows)
	data := in.Bytes()
	b.SetBytes(int64(len(data)))
	b.ReportAllocs()
	ctx := context.Background()
	for b.Loop() {
		if _, err := Convert(ctx, bytes.NewReader(data), io.Discard, ConvertOptions{File: "bench.csv", Schema: benchSchema}); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(rows)*float64(b.N)/b.Elapsed().Seconds(), "rows/s")
}
