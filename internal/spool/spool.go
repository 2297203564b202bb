// Package spool gives each worker process its own directory for the
// temporary files activities stream through (conversions, partitions,
// shard sorts), and removes the directories of worker processes that are
// gone. A worker killed mid-activity cannot clean up after itself; the
// next worker on the machine does, so SIGKILLs never fill the disk.
package spool

import (
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
)

const prefix = "granary-worker-"

// ProcessDir creates <base>/granary-worker-<pid> (base "" = os.TempDir())
// after removing every sibling whose process no longer exists. It returns
// the directory and how many stale ones it removed.
func ProcessDir(base string) (dir string, swept int, err error) {
	if base == "" {
		base = os.TempDir()
	}
	entries, err := os.ReadDir(base)
	if err != nil {
		return "", 0, fmt.Errorf("spool: %w", err)
	}
	self := os.Getpid()
	for _, e := range entries {
		pid, ok := strings.CutPrefix(e.Name(), prefix)
		if !ok || !e.IsDir() {
			continue
		}
		n, err := strconv.Atoi(pid)
		if err != nil || n == self || alive(n) {
			continue
		}
		if os.RemoveAll(filepath.Join(base, e.Name())) == nil {
			swept++
		}
	}
	dir = filepath.Join(base, prefix+strconv.Itoa(self))
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return "", swept, fmt.Errorf("spool: %w", err)
	}
	return dir, swept, nil
}
