package lake_test

import (
	"bytes"
	"fmt"
	"io"
	"math/rand/v2"
	"strings"
	"sync"
	"testing"

	"github.com/granaryml/granary/internal/lake"
	"github.com/granaryml/granary/internal/objstore/filestore"
	"github.com/granaryml/granary/internal/objstore/memstore"
	"github.com/granaryml/granary/internal/tabular"
)

func TestBlobReaderAtReturnsExactBytesForAnyRange(t *testing.T) {
	s, err := filestore.New(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	l := lake.New(s)
	data := make([]byte, 9<<20+123) // spans several read-ahead blocks
	rng := rand.New(rand.NewPCG(1, 2))
	for i := range data {
		data[i] = byte(rng.IntN(256))
	}
	d, n, _ := lake.HashReader(bytes.NewReader(data))
	if _, err := l.PutBlob(t.Context(), d, bytes.NewReader(data), n); err != nil {
		t.Fatal(err)
	}
	rr, err := l.BlobReaderAt(t.Context(), d)
	if err != nil {
		t.Fatal(err)
	}
	for range 300 {
		off := rng.Int64N(int64(len(data)))
		size := rng.IntN(64 << 10)
		if rng.IntN(20) == 0 {
			size = 5 << 20 // larger than a block: read directly
		}
		buf := make([]byte, size)
		got, err := rr.ReadAt(buf, off)
		end := min(off+int64(size), int64(len(data)))
		if got != int(end-off) || !bytes.Equal(buf[:got], data[off:end]) {
			t.Fatalf("ReadAt(%d, %d) returned %d bytes that differ", size, off, got)
		}
		if end < off+int64(size) && err != io.EOF {
			t.Fatalf("short read at the end must return io.EOF, got %v", err)
		}
		if end == off+int64(size) && err != nil {
			t.Fatalf("full read returned %v", err)
		}
	}
}

// TestBlobReaderAtConcurrentReadsAcrossEvictions reads a blob many times
// larger than the block cache from several goroutines at once, so blocks
// are evicted (and their memory handed to other blocks) while other
// readers are still copying out of them. Every read must still return the
// blob's bytes; before blocks were copied out under the lock, this gave
// wrong bytes and the race detector flagged the overlapping copy and fetch.
func TestBlobReaderAtConcurrentReadsAcrossEvictions(t *testing.T) {
	s, err := filestore.New(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	l := lake.New(s)
	data := make([]byte, 12<<20+77) // 49 blocks: three times the cache
	rng := rand.New(rand.NewPCG(3, 4))
	for i := range data {
		data[i] = byte(rng.IntN(256))
	}
	d, n, _ := lake.HashReader(bytes.NewReader(data))
	if _, err := l.PutBlob(t.Context(), d, bytes.NewReader(data), n); err != nil {
		t.Fatal(err)
	}
	rr, err := l.BlobReaderAt(t.Context(), d)
	if err != nil {
		t.Fatal(err)
	}
	const readers, reads = 8, 400
	errs := make(chan error, readers)
	var wg sync.WaitGroup
	for g := range readers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			rng := rand.New(rand.NewPCG(uint64(g), 99))
			buf := make([]byte, 600<<10)
			for range reads {
				// Reads up to a few blocks long (below the direct-read
				// threshold), so they always go through the cache.
				size := 1 + rng.IntN(len(buf))
				off := rng.Int64N(int64(len(data) - size))
				got, err := rr.ReadAt(buf[:size], off)
				if err != nil || got != size {
					errs <- fmt.Errorf("ReadAt(%d, %d) = %d, %v", size, off, got, err)
					return
				}
				if !bytes.Equal(buf[:size], data[off:off+int64(size)]) {
					errs <- fmt.Errorf("ReadAt(%d, %d) returned bytes that differ from the blob's", size, off)
					return
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
}

// A parquet reader's error on a lake blob names the blob's key.
func TestBlobReaderAtNamesTheBlobInReaderErrors(t *testing.T) {
	l := lake.New(memstore.New(memstore.Options{}))
	data := bytes.Repeat([]byte("not parquet "), 100)
	d, n, err := lake.HashReader(bytes.NewReader(data))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := l.PutBlob(t.Context(), d, bytes.NewReader(data), n); err != nil {
		t.Fatal(err)
	}
	rr, err := l.BlobReaderAt(t.Context(), d)
	if err != nil {
		t.Fatal(err)
	}
	_, err = tabular.NewReader(rr, rr.Size())
	if err == nil || !strings.Contains(err.Error(), lake.BlobKey(d)) {
		t.Fatalf("error %v does not name %s", err, lake.BlobKey(d))
	}
}
