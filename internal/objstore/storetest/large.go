package storetest

import (
	"bytes"
	"crypto/sha256"
	"io"
	"math/rand/v2"
	"runtime"
	"runtime/metrics"
	"sync"
	"testing"
	"time"

	"github.com/granaryml/granary/internal/objstore"
)

const (
	largeSize = 256 << 20
	// heapBudget is what a streaming backend may hold while moving a
	// largeSize object: a few buffers, not the object.
	heapBudget = 64 << 20
)

func testLargeObject(t *testing.T, s objstore.Store) {
	if testing.Short() {
		t.Skip("256 MiB round trip: skipped with -short")
	}
	ctx := t.Context()
	const key = "objects/sha256/large"

	wantSum := sha256.New()
	src := io.TeeReader(io.LimitReader(rand.NewChaCha8([32]byte{7}), largeSize), wantSum)
	var info objstore.ObjectInfo
	putPeak, putAlloc, putTime := measureHeap(t, func() {
		var err error
		info, err = s.Put(ctx, key, src, largeSize)
		if err != nil {
			t.Fatalf("Put: %v", err)
		}
	})
	if info.Size != largeSize {
		t.Fatalf("Put info.Size = %d", info.Size)
	}

	gotSum := sha256.New()
	var n int64
	getPeak, getAlloc, getTime := measureHeap(t, func() {
		rc, _, err := s.Get(ctx, key, objstore.GetOptions{})
		if err != nil {
			t.Fatalf("Get: %v", err)
		}
		defer rc.Close()
		if n, err = io.CopyBuffer(gotSum, rc, make([]byte, 256<<10)); err != nil {
			t.Fatalf("reading back: %v", err)
		}
	})
	if n != largeSize || !bytes.Equal(gotSum.Sum(nil), wantSum.Sum(nil)) {
		t.Fatalf("read back %d bytes with a different checksum", n)
	}

	const mib = 1 << 20
	t.Logf("256 MiB Put: %v (%.0f MiB/s), heap growth peak %.1f MiB, allocated %.1f MiB",
		putTime.Round(time.Millisecond), largeSize/mib/putTime.Seconds(), float64(putPeak)/mib, float64(putAlloc)/mib)
	t.Logf("256 MiB Get: %v (%.0f MiB/s), heap growth peak %.1f MiB, allocated %.1f MiB",
		getTime.Round(time.Millisecond), largeSize/mib/getTime.Seconds(), float64(getPeak)/mib, float64(getAlloc)/mib)
	for _, m := range []struct {
		op   string
		peak uint64
	}{{"Put", putPeak}, {"Get", getPeak}} {
		if m.peak >= heapBudget {
			t.Errorf("%s grew the heap by %d MiB while streaming 256 MiB; budget %d MiB", m.op, m.peak/mib, heapBudget/mib)
		}
	}
	if err := s.Delete(ctx, key); err != nil {
		t.Fatal(err)
	}
}

// measureHeap runs fn and samples heap memory every few milliseconds,
// returning the peak above the starting (post-GC) heap, the bytes
// allocated, and fn's duration. runtime/metrics is used instead of
// ReadMemStats because it doesn't stop the world on every sample.
func measureHeap(t *testing.T, fn func()) (peakGrowth, allocated uint64, elapsed time.Duration) {
	t.Helper()
	samples := []metrics.Sample{
		{Name: "/memory/classes/heap/objects:bytes"}, // live + not yet swept
		{Name: "/gc/heap/allocs:bytes"},
	}
	read := func() (heap, allocs uint64) {
		metrics.Read(samples)
		return samples[0].Value.Uint64(), samples[1].Value.Uint64()
	}
	runtime.GC()
	base, allocs0 := read()
	peak := base
	done := make(chan struct{})
	var wg sync.WaitGroup
	wg.Go(func() {
		tick := time.NewTicker(2 * time.Millisecond)
		defer tick.Stop()
		for {
			select {
			case <-done:
				return
			case <-tick.C:
				if h, _ := read(); h > peak {
					peak = h
				}
			}
		}
	})
	start := time.Now()
	func() {
		// Stop the sampler even when fn fails the test with t.Fatal.
		defer func() { close(done); wg.Wait() }()
		fn()
	}()
	elapsed = time.Since(start)
	h, allocs1 := read()
	peak = max(peak, h)
	return peak - base, allocs1 - allocs0, elapsed
}
