// Package filestore is the local-directory objstore backend: every key is a
// regular file under a root directory. Writers publish with an atomic rename
// (or link, for create-only writes) while holding an flock on
// <root>/.objstore/lock, so conditional writes are correct across processes
// sharing the directory, not just across goroutines.
package filestore

import (
	"errors"
	"fmt"
	"io/fs"
	"net/url"
	"os"
	"path"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/granaryml/granary/internal/objstore"
)

// metaDir holds the store's own files; its name is reserved, so no key may
// start with it.
const metaDir = ".objstore"

const (
	tmpDir   = metaDir + "/tmp"
	lockName = metaDir + "/lock"
)

// staleTempAge is how old an upload's temp file must be before New deletes
// it: far longer than any upload, so a live writer in another process never
// loses its file.
const staleTempAge = 24 * time.Hour

// Store is a Store on a local directory. Create it with New.
type Store struct {
	dir string
	// root confines every file operation beneath dir, even if someone plants
	// a symlink inside it.
	root *os.Root

	// mu serializes this process's writers: flock locks belong to the open
	// file, so goroutines sharing lockFile would not exclude each other.
	mu       sync.Mutex
	lockFile *os.File
	// granularity is the filesystem's timestamp resolution; issued mtimes
	// are multiples of it so storing one never rounds two writes together.
	granularity time.Duration
	// synced, if set, is told of every directory fsync (tests).
	synced func(dir string)
}

var _ objstore.Store = (*Store)(nil)

// New opens (creating if needed) a store rooted at the absolute directory
// root.
func New(root string) (*Store, error) {
	if !filepath.IsAbs(root) {
		return nil, fmt.Errorf("filestore: root %q must be an absolute path", root)
	}
	root = filepath.Clean(root)
	if err := mkdirAllSynced(filepath.Join(root, filepath.FromSlash(tmpDir))); err != nil {
		return nil, fmt.Errorf("filestore: create root: %w", err)
	}
	r, err := os.OpenRoot(root)
	if err != nil {
		return nil, fmt.Errorf("filestore: open root: %w", err)
	}
	lock, err := r.OpenFile(lockName, os.O_RDWR|os.O_CREATE, 0o644)
	if err != nil {
		r.Close()
		return nil, fmt.Errorf("filestore: open lock file: %w", err)
	}
	s := &Store{dir: root, root: r, lockFile: lock}
	if s.granularity, err = probeGranularity(r); err != nil {
		s.Close()
		return nil, fmt.Errorf("filestore: probe timestamp resolution: %w", err)
	}
	s.removeStaleTemps()
	return s, nil
}

// mkdirAllSynced is os.MkdirAll that also fsyncs the directory holding
// each directory it creates, so a new store's root survives a crash.
func mkdirAllSynced(dir string) error {
	var parents []string
	for d := dir; ; d = filepath.Dir(d) {
		if _, err := os.Lstat(d); err == nil || filepath.Dir(d) == d {
			break
		}
		parents = append(parents, filepath.Dir(d))
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	for _, p := range parents {
		f, err := os.Open(p)
		if err != nil {
			return err
		}
		err = f.Sync()
		f.Close()
		if err != nil {
			return fmt.Errorf("sync directory %s: %w", p, err)
		}
	}
	return nil
}

// Close releases the store's directory and lock handles.
func (s *Store) Close() error {
	return errors.Join(s.lockFile.Close(), s.root.Close())
}

// Dir is the store's absolute root directory.
func (s *Store) Dir() string { return s.dir }

func (s *Store) String() string {
	return (&url.URL{Scheme: "file", Path: filepath.ToSlash(s.dir)}).String()
}

func (s *Store) removeStaleTemps() {
	f, err := s.root.Open(tmpDir)
	if err != nil {
		return
	}
	defer f.Close()
	entries, _ := f.ReadDir(-1)
	for _, e := range entries {
		if info, err := e.Info(); err == nil && time.Since(info.ModTime()) > staleTempAge {
			_ = s.root.Remove(path.Join(tmpDir, e.Name()))
		}
	}
}

// checkKey adds the backend's one reservation to the shared key rules.
func checkKey(op, key string) error {
	if err := objstore.ValidateKey(key); err != nil {
		return fmt.Errorf("filestore: %s: %w", op, err)
	}
	if first, _, _ := strings.Cut(key, "/"); first == metaDir {
		return fmt.Errorf("filestore: %s %q: %w: %q is reserved for the store's own files", op, key, objstore.ErrInvalidKey, metaDir)
	}
	return nil
}

func opErr(op, key string, err error) error {
	return fmt.Errorf("filestore: %s %q: %w", op, key, err)
}

// isAbsent reports errors meaning "no object at this key": missing file,
// or a path component that is a file (ENOTDIR) or a symlink we refuse to
// follow (ELOOP).
func isAbsent(err error) bool {
	return errors.Is(err, fs.ErrNotExist) || errors.Is(err, syscall.ENOTDIR) || errors.Is(err, syscall.ELOOP)
}
