package activities

import (
	"context"
	"io"

	"github.com/granaryml/granary/internal/objstore"
)

// progressStore counts the bytes every Get streams and every write
// consumes as progress of the activity whose context the call carries,
// and reports a call that failed because that activity stalled as the
// stall. Counting at the store catches every lake read and write (ranged
// parquet reads, blob streams, uploads) without each activity wiring it.
type progressStore struct {
	objstore.Store
}

// adoptingProgressStore keeps a store's ability to adopt local files
// (spool commits on a local lake link the file instead of copying it).
type adoptingProgressStore struct {
	*progressStore
	objstore.FileAdopter
}

// countProgress wraps s; see progressStore.
func countProgress(s objstore.Store) objstore.Store {
	switch s.(type) {
	case *progressStore, *adoptingProgressStore, nil:
		return s
	}
	p := &progressStore{Store: s}
	if ad, ok := s.(objstore.FileAdopter); ok {
		return &adoptingProgressStore{progressStore: p, FileAdopter: ad}
	}
	return p
}

func (s *progressStore) Get(ctx context.Context, key string, o objstore.GetOptions) (io.ReadCloser, objstore.ObjectInfo, error) {
	rc, info, err := s.Store.Get(ctx, key, o)
	if err != nil {
		return nil, info, stalled(ctx, err)
	}
	if trackerOf(ctx) == nil {
		return rc, info, nil
	}
	return struct {
		io.Reader
		io.Closer
	}{&progressReader{ctx: ctx, r: rc}, rc}, info, nil
}

func (s *progressStore) counted(ctx context.Context, r io.Reader) io.Reader {
	if trackerOf(ctx) == nil {
		return r
	}
	return &progressReader{ctx: ctx, r: r}
}

func (s *progressStore) Put(ctx context.Context, key string, r io.Reader, size int64) (objstore.ObjectInfo, error) {
	info, err := s.Store.Put(ctx, key, s.counted(ctx, r), size)
	return info, stalled(ctx, err)
}

func (s *progressStore) PutIfAbsent(ctx context.Context, key string, r io.Reader, size int64) (objstore.ObjectInfo, error) {
	info, err := s.Store.PutIfAbsent(ctx, key, s.counted(ctx, r), size)
	return info, stalled(ctx, err)
}

func (s *progressStore) CompareAndSwap(ctx context.Context, key, etag string, r io.Reader, size int64) (objstore.ObjectInfo, error) {
	info, err := s.Store.CompareAndSwap(ctx, key, etag, s.counted(ctx, r), size)
	return info, stalled(ctx, err)
}

func (s *progressStore) Stat(ctx context.Context, key string) (objstore.ObjectInfo, error) {
	info, err := s.Store.Stat(ctx, key)
	return info, stalled(ctx, err)
}

func (s *progressStore) List(ctx context.Context, o objstore.ListOptions) (objstore.ListPage, error) {
	page, err := s.Store.List(ctx, o)
	return page, stalled(ctx, err)
}

func (s *progressStore) Delete(ctx context.Context, key string) error {
	return stalled(ctx, s.Store.Delete(ctx, key))
}
