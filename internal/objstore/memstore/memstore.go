// Package memstore is an objstore backend held in memory, for tests that
// need many fast, deterministic store operations (the lake's gc race test
// runs thousands of interleavings) or a clock they control. It passes the
// conformance suite except for the large-object memory bound, since it
// keeps every object in memory by design. Never use it for real data.
package memstore

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"slices"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/granaryml/granary/internal/objstore"
)

// Options configures New.
type Options struct {
	// Now stamps each write's ModTime; nil means time.Now. A test that
	// owns the clock makes objects old without waiting.
	Now func() time.Time
}

// Store is an in-memory Store. The zero value is not usable; call New.
type Store struct {
	now func() time.Time

	mu      sync.Mutex
	objects map[string]object
	keys    []string // sorted, for List
	seq     uint64   // makes every write's ETag new
}

type object struct {
	data    []byte
	etag    string
	modTime time.Time
}

var _ objstore.Store = (*Store)(nil)

// New returns an empty store.
func New(o Options) *Store {
	now := o.Now
	if now == nil {
		now = time.Now
	}
	return &Store{now: now, objects: map[string]object{}}
}

func (s *Store) String() string { return "mem://" }

func opErr(op, key string, err error) error {
	return fmt.Errorf("memstore: %s %q: %w", op, key, err)
}

func checkKey(op, key string) error {
	if err := objstore.ValidateKey(key); err != nil {
		return fmt.Errorf("memstore: %s: %w", op, err)
	}
	return nil
}

func (s *Store) Get(ctx context.Context, key string, opts objstore.GetOptions) (io.ReadCloser, objstore.ObjectInfo, error) {
	if err := checkKey("get", key); err != nil {
		return nil, objstore.ObjectInfo{}, err
	}
	if err := ctx.Err(); err != nil {
		return nil, objstore.ObjectInfo{}, err
	}
	s.mu.Lock()
	o, ok := s.objects[key]
	s.mu.Unlock()
	if !ok {
		return nil, objstore.ObjectInfo{}, opErr("get", key, objstore.ErrNotFound)
	}
	size := int64(len(o.data))
	if opts.Offset < 0 || opts.Offset > size {
		return nil, objstore.ObjectInfo{}, opErr("get", key, objstore.ErrInvalidRange)
	}
	end := size
	if opts.Length > 0 {
		end = min(size, opts.Offset+opts.Length)
	}
	// Objects are never modified in place (writes replace the slice), so
	// the reader can share it.
	return io.NopCloser(bytes.NewReader(o.data[opts.Offset:end])), infoOf(key, o), nil
}

func (s *Store) Stat(ctx context.Context, key string) (objstore.ObjectInfo, error) {
	if err := checkKey("stat", key); err != nil {
		return objstore.ObjectInfo{}, err
	}
	if err := ctx.Err(); err != nil {
		return objstore.ObjectInfo{}, err
	}
	s.mu.Lock()
	o, ok := s.objects[key]
	s.mu.Unlock()
	if !ok {
		return objstore.ObjectInfo{}, opErr("stat", key, objstore.ErrNotFound)
	}
	return infoOf(key, o), nil
}

func (s *Store) Put(ctx context.Context, key string, r io.Reader, size int64) (objstore.ObjectInfo, error) {
	return s.write(ctx, "put", key, r, size, func(o object, exists bool) error { return nil })
}

func (s *Store) PutIfAbsent(ctx context.Context, key string, r io.Reader, size int64) (objstore.ObjectInfo, error) {
	return s.write(ctx, "put-if-absent", key, r, size, func(o object, exists bool) error {
		if exists {
			return objstore.ErrAlreadyExists
		}
		return nil
	})
}

func (s *Store) CompareAndSwap(ctx context.Context, key, etag string, r io.Reader, size int64) (objstore.ObjectInfo, error) {
	return s.write(ctx, "compare-and-swap", key, r, size, func(o object, exists bool) error {
		switch {
		case !exists:
			return objstore.ErrNotFound
		case o.etag != etag:
			return objstore.ErrPreconditionFailed
		}
		return nil
	})
}

// write reads the whole body first (a failed read publishes nothing), then
// applies the condition and the write atomically.
func (s *Store) write(ctx context.Context, op, key string, r io.Reader, size int64, cond func(o object, exists bool) error) (objstore.ObjectInfo, error) {
	if err := checkKey(op, key); err != nil {
		return objstore.ObjectInfo{}, err
	}
	if err := ctx.Err(); err != nil {
		return objstore.ObjectInfo{}, err
	}
	data, err := io.ReadAll(objstore.NewExactReader(r, size))
	if err != nil {
		return objstore.ObjectInfo{}, opErr(op, key, err)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	old, exists := s.objects[key]
	if err := cond(old, exists); err != nil {
		return objstore.ObjectInfo{}, opErr(op, key, err)
	}
	s.seq++
	o := object{data: data, etag: fmt.Sprintf("m%d", s.seq), modTime: s.now()}
	s.objects[key] = o
	if !exists {
		i := sort.SearchStrings(s.keys, key)
		s.keys = slices.Insert(s.keys, i, key)
	}
	return infoOf(key, o), nil
}

func (s *Store) List(ctx context.Context, opts objstore.ListOptions) (objstore.ListPage, error) {
	if err := objstore.ValidatePrefix(opts.Prefix); err != nil {
		return objstore.ListPage{}, fmt.Errorf("memstore: list: %w", err)
	}
	if err := ctx.Err(); err != nil {
		return objstore.ListPage{}, err
	}
	limit := opts.Limit
	if limit <= 0 {
		limit = objstore.DefaultListLimit
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	start := max(sort.SearchStrings(s.keys, opts.Prefix), sort.SearchStrings(s.keys, opts.After))
	var page objstore.ListPage
	for _, k := range s.keys[start:] {
		if k <= opts.After {
			continue
		}
		if !strings.HasPrefix(k, opts.Prefix) {
			break
		}
		if len(page.Objects) == limit {
			page.More = true
			break
		}
		page.Objects = append(page.Objects, infoOf(k, s.objects[k]))
	}
	return page, nil
}

func (s *Store) Delete(ctx context.Context, key string) error {
	if err := checkKey("delete", key); err != nil {
		return err
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, ok := s.objects[key]; ok {
		delete(s.objects, key)
		i := sort.SearchStrings(s.keys, key)
		s.keys = slices.Delete(s.keys, i, i+1)
	}
	return nil
}

func infoOf(key string, o object) objstore.ObjectInfo {
	return objstore.ObjectInfo{Key: key, Size: int64(len(o.data)), ETag: o.etag, ModTime: o.modTime}
}
