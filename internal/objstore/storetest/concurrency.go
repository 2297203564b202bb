package storetest

import (
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/granaryml/granary/internal/objstore"
)

const (
	casWorkers    = 16
	casIncrements = 200
)

// Increment adds one to the decimal counter at key with a read-modify-CAS
// loop, returning how many attempts lost to another writer. Exported for
// backend tests that race several processes on one counter.
func Increment(t testing.TB, s objstore.Store, key string) (conflicts int) {
	ctx := t.Context()
	for {
		rc, info, err := s.Get(ctx, key, objstore.GetOptions{})
		if err != nil {
			t.Errorf("Get(%q): %v", key, err)
			return conflicts
		}
		b, err := io.ReadAll(rc)
		rc.Close()
		if err != nil {
			t.Errorf("reading %q: %v", key, err)
			return conflicts
		}
		n, err := strconv.Atoi(string(b))
		if err != nil {
			t.Errorf("counter %q holds %q: %v", key, b, err)
			return conflicts
		}
		next := strconv.Itoa(n + 1)
		_, err = s.CompareAndSwap(ctx, key, info.ETag, strings.NewReader(next), int64(len(next)))
		switch {
		case err == nil:
			return conflicts
		case errors.Is(err, objstore.ErrPreconditionFailed):
			conflicts++
		default:
			t.Errorf("CompareAndSwap(%q): %v", key, err)
			return conflicts
		}
	}
}

func testConcurrentCAS(t *testing.T, s objstore.Store) {
	const key = "counters/builds"
	put(t, s, key, "0")

	// Uncontended first: the latency floor that contention adds to.
	const solo = 50
	start := time.Now()
	for range solo {
		if c := Increment(t, s, key); c != 0 {
			t.Fatalf("%d conflicts without contention", c)
		}
	}
	elapsed := time.Since(start)
	t.Logf("CAS: %d uncontended increments in %v: %.0f CAS/s (%v per read-modify-CAS)",
		solo, elapsed.Round(time.Millisecond), solo/elapsed.Seconds(), (elapsed / solo).Round(time.Microsecond))
	put(t, s, key, "0")

	var claimed, conflicts atomic.Int64
	var wg sync.WaitGroup
	start = time.Now()
	for range casWorkers {
		wg.Go(func() {
			for claimed.Add(1) <= casIncrements && !t.Failed() {
				conflicts.Add(int64(Increment(t, s, key)))
			}
		})
	}
	wg.Wait()
	elapsed = time.Since(start)
	wantContent(t, s, key, strconv.Itoa(casIncrements))
	c := conflicts.Load()
	t.Logf("CAS: %d increments by %d goroutines in %v: %.0f successful CAS/s, %d conflicts (%.1f%% of %d attempts)",
		casIncrements, casWorkers, elapsed.Round(time.Millisecond), casIncrements/elapsed.Seconds(),
		c, 100*float64(c)/float64(c+casIncrements), c+casIncrements)
}

func testPutIfAbsentRace(t *testing.T, s objstore.Store) {
	const racers = 16
	ctx := t.Context()
	for round := range 5 {
		key := fmt.Sprintf("race/%d/manifest.json", round)
		var (
			wg      sync.WaitGroup
			ready   = make(chan struct{})
			winners atomic.Int64
			winner  atomic.Value
		)
		errs := make([]error, racers)
		for i := range racers {
			wg.Go(func() {
				content := fmt.Sprintf("writer-%02d", i)
				<-ready
				_, err := s.PutIfAbsent(ctx, key, strings.NewReader(content), int64(len(content)))
				if err == nil {
					winners.Add(1)
					winner.Store(content)
				}
				errs[i] = err
			})
		}
		close(ready)
		wg.Wait()
		if n := winners.Load(); n != 1 {
			t.Fatalf("round %d: %d writers won, want exactly 1", round, n)
		}
		for i, err := range errs {
			if err != nil && !errors.Is(err, objstore.ErrAlreadyExists) {
				t.Errorf("round %d: writer %d: %v, want ErrAlreadyExists", round, i, err)
			}
		}
		wantContent(t, s, key, winner.Load().(string))
	}
}
