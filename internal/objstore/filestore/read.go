package filestore

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"

	"github.com/granaryml/granary/internal/objstore"
)

func (s *Store) Get(ctx context.Context, key string, opts objstore.GetOptions) (io.ReadCloser, objstore.ObjectInfo, error) {
	const op = "get"
	if err := checkKey(op, key); err != nil {
		return nil, objstore.ObjectInfo{}, err
	}
	if err := ctx.Err(); err != nil {
		return nil, objstore.ObjectInfo{}, opErr(op, key, err)
	}
	f, fi, err := s.open(key)
	if err != nil {
		return nil, objstore.ObjectInfo{}, opErr(op, key, err)
	}
	size := fi.Size()
	if opts.Offset < 0 || opts.Offset > size {
		f.Close()
		return nil, objstore.ObjectInfo{}, opErr(op, key, fmt.Errorf("%w: offset %d of a %d-byte object", objstore.ErrInvalidRange, opts.Offset, size))
	}
	n := size - opts.Offset
	if opts.Length > 0 {
		n = min(n, opts.Length)
	}
	return &fileRange{SectionReader: io.NewSectionReader(f, opts.Offset, n), f: f}, infoOf(key, fi), nil
}

// open opens the regular file at key. os.Root resolves symlinks itself, so
// O_NOFOLLOW does not stop it following a final one; instead the path is
// lstat'ed first and the opened file must be that same file. A rename in
// between only means another round.
func (s *Store) open(key string) (*os.File, fs.FileInfo, error) {
	for range 10 {
		want, err := s.root.Lstat(key)
		if isAbsent(err) || (err == nil && !want.Mode().IsRegular()) {
			return nil, nil, objstore.ErrNotFound
		}
		if err != nil {
			return nil, nil, err
		}
		f, err := s.root.Open(key)
		if isAbsent(err) {
			continue
		}
		if err != nil {
			return nil, nil, err
		}
		// Stat the open file, not the path: the info must describe the
		// bytes this reader returns even if the key is replaced meanwhile.
		got, err := f.Stat()
		if err == nil && os.SameFile(want, got) {
			return f, got, nil
		}
		f.Close()
		if err != nil {
			return nil, nil, err
		}
	}
	return nil, nil, errors.New("key kept changing while being opened")
}

type fileRange struct {
	*io.SectionReader
	f *os.File
}

func (r *fileRange) Close() error { return r.f.Close() }

func (s *Store) Stat(ctx context.Context, key string) (objstore.ObjectInfo, error) {
	const op = "stat"
	if err := checkKey(op, key); err != nil {
		return objstore.ObjectInfo{}, err
	}
	if err := ctx.Err(); err != nil {
		return objstore.ObjectInfo{}, opErr(op, key, err)
	}
	fi, err := s.root.Lstat(key)
	if isAbsent(err) || (err == nil && !fi.Mode().IsRegular()) {
		return objstore.ObjectInfo{}, opErr(op, key, objstore.ErrNotFound)
	}
	if err != nil {
		return objstore.ObjectInfo{}, opErr(op, key, err)
	}
	return infoOf(key, fi), nil
}
