package lake_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"testing"

	"github.com/granaryml/granary/internal/lake"
	"github.com/granaryml/granary/internal/objstore/filestore"
	"github.com/granaryml/granary/internal/tabular"
)

// benchParquetBlob stores a parquet file of rows rows (an int key, a
// float, a low- and a high-cardinality string, a timestamp) in a fresh
// file:// lake.
func benchParquetBlob(b *testing.B, rows int) (*lake.Lake, lake.Digest, tabular.Schema) {
	b.Helper()
	var csv bytes.Buffer
	csv.WriteString("id,amount,category,note,event_time\n")
	rng := rand.New(rand.NewPCG(5, 6))
	for i := range rows {
		fmt.Fprintf(&csv, "%d,%.3f,cat%d,note-%x,2024-01-%02dT%02d:%02d:00Z\n",
			i, rng.Float64()*1000, rng.IntN(20), rng.Uint64(), 1+i%28, i%24, i%60)
	}
	ctx := context.Background()
	schema, err := tabular.InferSchema(ctx, bytes.NewReader(csv.Bytes()), tabular.ReadOptions{Format: tabular.CSV})
	if err != nil {
		b.Fatal(err)
	}
	var pq bytes.Buffer
	if _, err := tabular.Convert(ctx, bytes.NewReader(csv.Bytes()), &pq, tabular.ConvertOptions{Format: tabular.CSV, Schema: schema}); err != nil {
		b.Fatal(err)
	}
	s, err := filestore.New(b.TempDir())
	if err != nil {
		b.Fatal(err)
	}
	l := lake.New(s)
	d, n, _ := lake.HashReader(bytes.NewReader(pq.Bytes()))
	if _, err := l.PutBlob(ctx, d, bytes.NewReader(pq.Bytes()), n); err != nil {
		b.Fatal(err)
	}
	return l, d, schema
}

// BenchmarkRangeReaderParquet reads a stored parquet blob through
// lake.BlobReaderAt the two ways activities do: statistics over every
// column chunk (ComputeStats) and a full scan with read-ahead (SortShard,
// Assemble, export); "large" is read in ranged blocks, "small" (under
// 4 MiB) whole and verified.
func BenchmarkRangeReaderParquet(b *testing.B) {
	for _, size := range []struct {
		name string
		rows int
	}{{"large", 1_000_000}, {"small", 200_000}} {
		l, d, schema := benchParquetBlob(b, size.rows)
		ctx := context.Background()
		b.Run(size.name+"/stats", func(b *testing.B) {
			for b.Loop() {
				rr, err := l.BlobReaderAt(ctx, d)
				if err != nil {
					b.Fatal(err)
				}
				b.SetBytes(rr.Size())
				if err := tabular.NewStatsAccumulator(schema).AddParquet(ctx, rr, rr.Size()); err != nil {
					b.Fatal(err)
				}
			}
		})
		b.Run(size.name+"/scan", func(b *testing.B) {
			for b.Loop() {
				rr, err := l.BlobReaderAt(ctx, d)
				if err != nil {
					b.Fatal(err)
				}
				b.SetBytes(rr.Size())
				r, err := tabular.NewReader(rr, rr.Size())
				if err != nil {
					b.Fatal(err)
				}
				if err := r.ReadAhead(); err != nil {
					b.Fatal(err)
				}
				for {
					if _, err := r.Next(); errors.Is(err, io.EOF) {
						break
					} else if err != nil {
						b.Fatal(err)
					}
				}
				r.Close()
			}
		})
	}
}
