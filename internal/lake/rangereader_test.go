package lake_test

import (
	"bytes"
	"io"
	"math/rand/v2"
	"testing"

	"github.com/granaryml/granary/internal/lake"
	"github.com/granaryml/granary/internal/objstore/filestore"
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
