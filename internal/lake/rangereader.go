package lake

import (
	"context"
	"io"

	"github.com/granaryml/granary/internal/objstore"
)

// RangeReader adapts a stored object to io.ReaderAt with one ranged Get
// per call. Parquet readers issue few, large reads (footer, then column
// chunks), which is the access pattern object stores are good at.
type RangeReader struct {
	ctx   context.Context
	store objstore.Store
	key   string
	size  int64
}

// Size is the object's length.
func (r *RangeReader) Size() int64 { return r.size }

// ReadAt implements io.ReaderAt.
func (r *RangeReader) ReadAt(p []byte, off int64) (int, error) {
	if off >= r.size {
		return 0, io.EOF
	}
	want := int64(len(p))
	if off+want > r.size {
		want = r.size - off
	}
	rc, _, err := r.store.Get(r.ctx, r.key, objstore.GetOptions{Offset: off, Length: want})
	if err != nil {
		return 0, err
	}
	defer rc.Close()
	n, err := io.ReadFull(rc, p[:want])
	if err == nil && int64(n) < int64(len(p)) {
		err = io.EOF
	}
	return n, err
}
