package filestore

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"syscall"

	"github.com/granaryml/granary/internal/objstore"
)

// publish says how a finished temp file becomes the object.
type publish int

const (
	replace     publish = iota // Put: rename over whatever is there
	createOnly                 // PutIfAbsent: link, which fails if the key exists
	swapIfMatch                // CompareAndSwap: check the ETag, then rename
)

func (s *Store) Put(ctx context.Context, key string, r io.Reader, size int64) (objstore.ObjectInfo, error) {
	return s.write(ctx, "put", key, "", r, size, replace)
}

func (s *Store) PutIfAbsent(ctx context.Context, key string, r io.Reader, size int64) (objstore.ObjectInfo, error) {
	return s.write(ctx, "put-if-absent", key, "", r, size, createOnly)
}

func (s *Store) CompareAndSwap(ctx context.Context, key, etag string, r io.Reader, size int64) (objstore.ObjectInfo, error) {
	return s.write(ctx, "compare-and-swap", key, etag, r, size, swapIfMatch)
}

func (s *Store) write(ctx context.Context, op, key, etag string, r io.Reader, size int64, mode publish) (objstore.ObjectInfo, error) {
	if err := checkKey(op, key); err != nil {
		return objstore.ObjectInfo{}, err
	}
	// A write bound to fail should not first copy and fsync its content:
	// under contention that wasted I/O is what limits CAS throughput. The
	// check is repeated under the lock, where it counts.
	if err := s.precheck(key, etag, mode); err != nil {
		return objstore.ObjectInfo{}, opErr(op, key, err)
	}
	tmp, err := s.writeTemp(ctx, r, size)
	if err != nil {
		return objstore.ObjectInfo{}, opErr(op, key, err)
	}
	// Whatever happens, the temp name must go: after a rename it no longer
	// exists, after a link it is a second name for the object.
	defer s.root.Remove(tmp)

	info, dirs, err := s.publish(ctx, key, etag, tmp, mode)
	if err != nil {
		return objstore.ObjectInfo{}, opErr(op, key, err)
	}
	if err := s.syncDirs(dirs); err != nil {
		return objstore.ObjectInfo{}, opErr(op, key, err)
	}
	return info, nil
}

// syncDirs makes a published name survive a crash: the rename (or link)
// is visible already, but only fsyncing the key's directory, every
// directory the write created and the one holding the topmost of them
// makes the whole path durable. It runs outside the lock so it doesn't
// serialize writers.
func (s *Store) syncDirs(dirs []string) error {
	for _, dir := range dirs {
		if err := s.syncDir(dir); err != nil && !isAbsent(err) {
			// Absent: a concurrent Delete removed the object and its
			// emptied directories, leaving nothing to make durable.
			return fmt.Errorf("sync directory %s: %w", dir, err)
		}
	}
	return nil
}

// mkdirs creates key's parent directories and returns the directories to
// sync for key, deepest first: its parent, then the parent of each
// directory it created (the last one existed before).
func (s *Store) mkdirs(key string) ([]string, error) {
	dirs := []string{path.Dir(key)}
	for dir := path.Dir(key); dir != "."; dir = path.Dir(dir) {
		if _, err := s.root.Lstat(dir); !isAbsent(err) {
			break
		}
		dirs = append(dirs, path.Dir(dir))
	}
	if err := s.root.MkdirAll(path.Dir(key), 0o755); err != nil {
		if errors.Is(err, syscall.ENOTDIR) || errors.Is(err, fs.ErrExist) {
			return nil, errParentIsObject
		}
		return nil, err
	}
	return dirs, nil
}

func (s *Store) precheck(key, etag string, mode publish) error {
	if mode == replace {
		return nil
	}
	fi, err := s.root.Lstat(key)
	exists := err == nil && fi.Mode().IsRegular()
	switch {
	case mode == createOnly && exists:
		return objstore.ErrAlreadyExists
	case mode == swapIfMatch && !exists && (err == nil || isAbsent(err)):
		return objstore.ErrNotFound
	case mode == swapIfMatch && exists && etagOf(fi) != etag:
		return objstore.ErrPreconditionFailed
	}
	return nil
}

// writeTemp copies exactly size bytes into a fresh, fsynced temp file and
// returns its root-relative name. Content is copied outside the lock, so
// large uploads don't block other writers.
func (s *Store) writeTemp(ctx context.Context, r io.Reader, size int64) (name string, err error) {
	name = path.Join(tmpDir, randomName())
	f, err := s.root.OpenFile(name, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o644)
	if err != nil {
		return "", err
	}
	defer func() {
		if cerr := f.Close(); err == nil {
			err = cerr
		}
		if err != nil {
			s.root.Remove(name)
		}
	}()
	src := objstore.NewExactReader(ctxReader{ctx, r}, size)
	// Hiding File.ReadFrom makes io.CopyBuffer use our larger buffer: fewer
	// syscalls than the generic 32 KiB path.
	if _, err := io.CopyBuffer(struct{ io.Writer }{f}, src, make([]byte, 256<<10)); err != nil {
		return "", err
	}
	return name, f.Sync()
}

// publish makes the temp file the object under the store lock, the only
// place visible changes happen.
func (s *Store) publish(ctx context.Context, key, etag, tmp string, mode publish) (info objstore.ObjectInfo, dirs []string, err error) {
	err = s.locked(ctx, func() error {
		// Under the lock, so a Delete cannot remove a directory between
		// its creation and the rename into it.
		if dirs, err = s.mkdirs(key); err != nil {
			return err
		}
		mtime, err := s.nextModTime()
		if err != nil {
			return err
		}
		if err := s.root.Chtimes(tmp, mtime, mtime); err != nil {
			return err
		}
		switch mode {
		case createOnly:
			if err := s.root.Link(tmp, key); err != nil {
				if errors.Is(err, fs.ErrExist) {
					if fi, serr := s.root.Lstat(key); serr == nil && fi.IsDir() {
						return keyIsPrefix(key)
					}
					return objstore.ErrAlreadyExists
				}
				return err
			}
		case swapIfMatch:
			fi, err := s.root.Lstat(key)
			if isAbsent(err) || (err == nil && !fi.Mode().IsRegular()) {
				return objstore.ErrNotFound
			}
			if err != nil {
				return err
			}
			if etagOf(fi) != etag {
				return objstore.ErrPreconditionFailed
			}
			fallthrough
		case replace:
			if err := s.root.Rename(tmp, key); err != nil {
				if fi, serr := s.root.Lstat(key); serr == nil && fi.IsDir() {
					return keyIsPrefix(key)
				}
				return err
			}
		}
		fi, err := s.root.Lstat(key)
		if err != nil {
			return err
		}
		info = infoOf(key, fi)
		return nil
	})
	return info, dirs, err
}

// A directory tree cannot hold both "a" and "a/b" (S3 can); the lake's
// layout never needs both.
var errParentIsObject = fmt.Errorf("%w: a parent of the key is an object, and the file backend cannot store keys beneath an object", objstore.ErrInvalidKey)

func keyIsPrefix(key string) error {
	return fmt.Errorf("%w: other keys start with %q, and the file backend cannot store an object there", objstore.ErrInvalidKey, key+"/")
}

// locked runs fn holding the process mutex and the cross-process flock.
func (s *Store) locked(ctx context.Context, fn func() error) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := ctx.Err(); err != nil {
		return err
	}
	if err := flock(s.lockFile); err != nil {
		return fmt.Errorf("lock store: %w", err)
	}
	defer funlock(s.lockFile)
	return fn()
}

func (s *Store) syncDir(dir string) error {
	if s.synced != nil {
		s.synced(dir)
	}
	d, err := s.root.Open(dir)
	if err != nil {
		return err
	}
	defer d.Close()
	return d.Sync()
}

func randomName() string {
	var b [12]byte
	rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

// ctxReader stops a long upload when its context is cancelled.
type ctxReader struct {
	ctx context.Context
	r   io.Reader
}

func (c ctxReader) Read(p []byte) (int, error) {
	if err := c.ctx.Err(); err != nil {
		return 0, err
	}
	return c.r.Read(p)
}
