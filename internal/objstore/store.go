// Package objstore is granary's storage abstraction: a small, S3-shaped
// interface with conditional writes, implemented by a local-directory
// backend (filestore) and an S3/MinIO backend (s3store). Everything above
// it — the lake's commit protocol in particular — relies only on the
// guarantees documented here, and every backend proves them by passing the
// conformance suite in objstore/storetest.
package objstore

import (
	"context"
	"io"
	"time"
)

// ObjectInfo describes one stored object.
type ObjectInfo struct {
	Key     string
	Size    int64
	ETag    string // opaque; changes whenever the object's content is replaced
	ModTime time.Time
}

// GetOptions selects a byte range. Length <= 0 means "to the end"; a range
// running past the end is cut at the end (as HTTP ranges are). Offset equal
// to the size yields no bytes; a negative Offset or one beyond the size is
// ErrInvalidRange.
type GetOptions struct {
	Offset int64
	Length int64
}

// ListOptions selects one page of a listing. Keys are returned in
// lexicographic (byte) order, strictly after After.
type ListOptions struct {
	Prefix string
	After  string
	Limit  int // page size; <= 0 means the backend default (1000)
}

// ListPage is one page of a listing. More is false on the last page; the
// next page starts After the last key of this one.
type ListPage struct {
	Objects []ObjectInfo
	More    bool
}

// Store is the storage contract granary is built on.
//
// Keys are slash-separated relative paths checked by ValidateKey; a backend
// rejects any other key with ErrInvalidKey before touching storage.
type Store interface {
	// Get streams an object (or a byte range of it). ErrNotFound if absent.
	Get(ctx context.Context, key string, opts GetOptions) (io.ReadCloser, ObjectInfo, error)
	// Put replaces an object with exactly size bytes read from r. Readers
	// see the old or the new content, never a partial write.
	Put(ctx context.Context, key string, r io.Reader, size int64) (ObjectInfo, error)
	// PutIfAbsent creates an object only if the key does not exist; when
	// writers race, exactly one wins and the rest get ErrAlreadyExists.
	PutIfAbsent(ctx context.Context, key string, r io.Reader, size int64) (ObjectInfo, error)
	// CompareAndSwap replaces an object only if its current ETag equals
	// etag; otherwise ErrPreconditionFailed (ErrNotFound if it is absent).
	CompareAndSwap(ctx context.Context, key, etag string, r io.Reader, size int64) (ObjectInfo, error)
	// Stat returns an object's metadata. ErrNotFound if absent.
	Stat(ctx context.Context, key string) (ObjectInfo, error)
	// List returns one page of keys under a prefix, in order.
	List(ctx context.Context, opts ListOptions) (ListPage, error)
	// Delete removes an object; deleting an absent key is not an error.
	Delete(ctx context.Context, key string) error
	// String names the store for humans (a URL without credentials).
	String() string
}

// DefaultListLimit is the page size used when ListOptions.Limit is unset.
const DefaultListLimit = 1000

// FileAdopter is implemented by stores that can make a finished local file
// an object without copying its bytes (the file backend: a hard link on the
// same file system). Activities spool every output to a local file first,
// so on a local lake this saves writing each output twice.
type FileAdopter interface {
	// AdoptFileIfAbsent makes the file at path the object key, unless key
	// exists (ErrAlreadyExists). The file must not change afterwards; its
	// name may be removed. ErrCannotAdopt means the store cannot take this
	// file (another file system) and the caller should upload a copy.
	AdoptFileIfAbsent(ctx context.Context, key, path string) (ObjectInfo, error)
}
