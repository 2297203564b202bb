package lake

import (
	"context"
	"crypto/sha256"
	"errors"
	"hash"
	"io"
	"os"

	"github.com/granaryml/granary/internal/objstore"
)

// Spool is a local temp file that hashes what is written to it. Outputs
// an activity produces (converted parquet, sorted shards, joined shards,
// split files) are written once, and their digest — the blob's key — is
// known when writing ends, so the upload reads the file once instead of
// hashing it first and reading it again.
type Spool struct {
	f *os.File
	h hash.Hash
	n int64
}

// NewSpool creates a spool file in dir ("" = the system temp dir).
func NewSpool(dir, pattern string) (*Spool, error) {
	f, err := os.CreateTemp(dir, pattern)
	if err != nil {
		return nil, err
	}
	return &Spool{f: f, h: sha256.New()}, nil
}

// Write implements io.Writer.
func (s *Spool) Write(p []byte) (int, error) {
	n, err := s.f.Write(p)
	s.h.Write(p[:n])
	s.n += int64(n)
	return n, err
}

// Commit stores the spooled bytes as a blob and returns its digest and
// size. A store that can adopt the file (a local lake on the same file
// system) links it in place; otherwise it is uploaded, verified against
// the digest as it goes. When the blob already exists, Commit checks the
// stored bytes and replaces them if they are damaged, and holds the blob
// against gc (see PutBlob). The spool must not be written after Commit.
func (s *Spool) Commit(ctx context.Context, l *Lake) (Digest, int64, error) {
	d := digestOf(s.h)
	key := BlobKey(d)
	fromFile := func(put func(context.Context, string, io.Reader, int64) (objstore.ObjectInfo, error)) func(context.Context) error {
		return func(ctx context.Context) error {
			if _, err := s.f.Seek(0, io.SeekStart); err != nil {
				return err
			}
			return putVerified(ctx, put, key, d, s.f, s.n)
		}
	}
	create := fromFile(l.store.PutIfAbsent)
	if ad, ok := l.store.(objstore.FileAdopter); ok {
		upload := create
		create = func(ctx context.Context) error {
			_, err := ad.AdoptFileIfAbsent(ctx, key, s.f.Name())
			if errors.Is(err, objstore.ErrCannotAdopt) {
				return upload(ctx)
			}
			return err
		}
	}
	if _, err := l.storeBlob(ctx, d, blobSource{size: s.n, create: create, replace: fromFile(l.store.Put)}); err != nil {
		return "", 0, err
	}
	return d, s.n, nil
}

// Close removes the spool file; call it (deferred) whether or not Commit
// ran.
func (s *Spool) Close() error {
	s.f.Close()
	return os.Remove(s.f.Name())
}
