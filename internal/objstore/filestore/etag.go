package filestore

import (
	"encoding/binary"
	"fmt"
	"io/fs"
	"os"
	"path"
	"time"

	"github.com/granaryml/granary/internal/objstore"
)

// The ETag is inode, mtime and size, read with one lstat, so Stat and List
// never read content. On its own that triple can repeat: Linux stamps files
// from a coarse clock (one jiffy, 1-10 ms) and reuses a freed inode at once,
// so a key rewritten twice within a tick with equal-sized content could get
// its old ETag back and let a stale CompareAndSwap through (ABA). Hashing
// the content would fix that but cost a full read per Stat. Instead every
// write stamps its file, under the store lock, with an mtime taken from a
// store-wide clock that strictly increases (see nextModTime), so no two
// writes in a store ever share an mtime, across keys, deletes and restarts,
// and even if the wall clock steps back. Inode and size still guard against
// files edited behind the store's back.
func etagOf(fi fs.FileInfo) string {
	return fmt.Sprintf("%x-%x-%x", inode(fi), fi.ModTime().UnixNano(), fi.Size())
}

func infoOf(key string, fi fs.FileInfo) objstore.ObjectInfo {
	return objstore.ObjectInfo{Key: key, Size: fi.Size(), ETag: etagOf(fi), ModTime: fi.ModTime()}
}

// nextModTime issues the mtime for the next write. The last issued value
// lives in the first 8 bytes of the lock file, so every process sharing the
// directory draws from the same sequence. Callers hold the store lock.
func (s *Store) nextModTime() (time.Time, error) {
	var buf [8]byte
	last := int64(0)
	if n, _ := s.lockFile.ReadAt(buf[:], 0); n == len(buf) {
		last = int64(binary.BigEndian.Uint64(buf[:]))
	}
	g := s.granularity.Nanoseconds()
	now := time.Now().UnixNano()
	next := max(now-now%g, last-last%g+g)
	binary.BigEndian.PutUint64(buf[:], uint64(next))
	if _, err := s.lockFile.WriteAt(buf[:], 0); err != nil {
		return time.Time{}, fmt.Errorf("filestore: advance write clock: %w", err)
	}
	return time.Unix(0, next), nil
}

// probeGranularity finds the coarsest unit the filesystem rounds mtimes to,
// by storing a timestamp with every digit set and reading it back.
func probeGranularity(root *os.Root) (time.Duration, error) {
	name := path.Join(tmpDir, "probe-"+randomName())
	f, err := root.OpenFile(name, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o644)
	if err != nil {
		return 0, err
	}
	f.Close()
	defer root.Remove(name)
	want := time.Unix(1_700_000_001, 123_456_789)
	if err := root.Chtimes(name, want, want); err != nil {
		return 0, err
	}
	fi, err := root.Lstat(name)
	if err != nil {
		return 0, err
	}
	got := fi.ModTime()
	for _, g := range []time.Duration{time.Nanosecond, time.Microsecond, time.Millisecond, 10 * time.Millisecond, 100 * time.Millisecond, time.Second, 2 * time.Second} {
		if got.Sub(want).Abs() < g && got.UnixNano()%g.Nanoseconds() == 0 {
			return g, nil
		}
	}
	return 0, fmt.Errorf("filesystem stored mtime %v for %v", got, want)
}
