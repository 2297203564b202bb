package tabular

import (
	"context"
	"io"
	"runtime"
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
