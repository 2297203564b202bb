package lake_test

import (
	"bytes"
	"math/rand/v2"
	"testing"

	"github.com/granaryml/granary/internal/lake"
	"github.com/granaryml/granary/internal/objstore/filestore"
)

// BenchmarkPutBlob compares, on a file lake, writing a new 64 MiB blob
// with re-putting one that exists, which now reads the stored copy back
// to check it (the cost of repairing damage on re-upload).
func BenchmarkPutBlob(b *testing.B) {
	data := make([]byte, 64<<20)
	rand.NewChaCha8([32]byte{1}).Read(data)
	s, err := filestore.New(b.TempDir())
	if err != nil {
		b.Fatal(err)
	}
	l := lake.New(s)
	b.Run("new", func(b *testing.B) {
		b.SetBytes(int64(len(data)))
		for i := 0; b.Loop(); i++ {
			data[0] = byte(i) // a new digest each time
			d, _, _ := lake.HashReader(bytes.NewReader(data))
			if _, err := l.PutBlob(b.Context(), d, bytes.NewReader(data), int64(len(data))); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("existing", func(b *testing.B) {
		d, _, _ := lake.HashReader(bytes.NewReader(data))
		if _, err := l.PutBlob(b.Context(), d, bytes.NewReader(data), int64(len(data))); err != nil {
			b.Fatal(err)
		}
		b.SetBytes(int64(len(data)))
		for b.Loop() {
			written, err := l.PutBlob(b.Context(), d, bytes.NewReader(data), int64(len(data)))
			if err != nil || written {
				b.Fatalf("written=%v, %v", written, err)
			}
		}
	})
}
