package tabular

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"
)

// TestMemoryBounded converts a 1M-row CSV (~90 MB) streamed from a generator
// and checks that the live heap stays bounded by a row group, not by the
// input: a sampler forces a GC and reads runtime.MemStats every 20 ms.
func TestMemoryBounded(t *testing.T) {
	if testing.Short() {
		t.Skip("1M rows; skipped with -short")
	}
	const rows = 1_000_000
	runtime.GC()
	var base runtime.MemStats
	runtime.ReadMemStats(&base)

	var (
		peak uint64
		wg   sync.WaitGroup
	)
	done := make(chan struct{})
	wg.Add(1)
	go func() {
		defer wg.Done()
		tick := time.NewTicker(20 * time.Millisecond)
		defer tick.Stop()
		for {
			select {
			case <-done:
				return
			case <-tick.C:
			}
			runtime.GC()
			var m runtime.MemStats
			runtime.ReadMemStats(&m)
			peak = max(peak, m.HeapAlloc)
		}
	}()
	res, err := Convert(context.Background(), newGenReader(rows), io.Discard, ConvertOptions{Format: CSV, Schema: benchSchema})
	close(done)
	wg.Wait()
	if err != nil {
		t.Fatal(err)
	}
	if res.Rows != rows || res.RowGroups != 8 {
		t.Fatalf("rows = %d, row groups = %d", res.Rows, res.RowGroups)
	}
	growth := int64(peak) - int64(base.HeapAlloc)
	t.Logf("1M rows -> %d MiB parquet in %d row groups; peak live heap growth %d MiB", res.Bytes>>20, res.RowGroups, growth>>20)
	// A row group of this table is ~3 MiB compressed; the rest is batches,
	// statistics and the zstd encoder. The input is ~90 MB.
	if growth > 40<<20 {
		t.Errorf("peak live heap grew by %d MiB", growth>>20)
	}
}

// A wide table stays within a bounded heap too: per-column buffers shrink
// as the number of columns grows.
func TestMemoryWideTable(t *testing.T) {
	if testing.Short() {
		t.Skip("skipped with -short")
	}
	const cols, rows = 2000, 300
	var b strings.Builder
	for c := range cols {
		if c > 0 {
			b.WriteByte(',')
		}
		fmt.Fprintf(&b, "c%d", c)
	}
	b.WriteByte('\n')
	for r := range rows {
		for c := range cols {
			if c > 0 {
				b.WriteByte(',')
			}
			fmt.Fprintf(&b, "%d", (r*31+c)%97)
		}
		b.WriteByte('\n')
	}
	data := []byte(b.String())
	runtime.GC()
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	res, err := Convert(context.Background(), bytes.NewReader(data), io.Discard, ConvertOptions{File: "wide.csv"})
	if err != nil {
		t.Fatal(err)
	}
	runtime.ReadMemStats(&after)
	if res.Rows != rows || len(res.Stats) != cols {
		t.Fatalf("rows %d, stats %d", res.Rows, len(res.Stats))
	}
	alloc := after.TotalAlloc - before.TotalAlloc
	t.Logf("%d columns x %d rows: %d MiB allocated in total", cols, rows, alloc>>20)
	if alloc > 300<<20 {
		t.Errorf("allocated %d MiB", alloc>>20)
	}
}
