package filestore_test

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/granaryml/granary/internal/objstore/filestore"
)

// A write that creates directories fsyncs each of them and the directory
// holding the topmost one, up to the store root: otherwise a crash can
// lose a directory entry, and the object with it, although the write
// returned. Directories that existed already need no sync beyond the
// key's parent.
func TestWritesSyncEveryDirectoryTheyCreate(t *testing.T) {
	root := t.TempDir()
	s := newStore(t, root)
	var mu sync.Mutex
	var synced []string
	filestore.OnSync(s, func(dir string) {
		mu.Lock()
		synced = append(synced, dir)
		mu.Unlock()
	})
	expect := func(what string, want ...string) {
		t.Helper()
		mu.Lock()
		got := slices.Clone(synced)
		synced = nil
		mu.Unlock()
		slices.Sort(got)
		slices.Sort(want)
		if !slices.Equal(got, want) {
			t.Fatalf("%s synced %q, want %q", what, got, want)
		}
	}
	ctx := t.Context()
	if _, err := s.Put(ctx, "a/b/c/key", strings.NewReader("x"), 1); err != nil {
		t.Fatal(err)
	}
	expect("Put into three new directories", "a/b/c", "a/b", "a", ".")
	if _, err := s.PutIfAbsent(ctx, "a/b/d/key", strings.NewReader("x"), 1); err != nil {
		t.Fatal(err)
	}
	expect("PutIfAbsent into one new directory", "a/b/d", "a/b")
	if _, err := s.Put(ctx, "a/b/d/other", strings.NewReader("x"), 1); err != nil {
		t.Fatal(err)
	}
	expect("Put into an existing directory", "a/b/d")
	file := filepath.Join(t.TempDir(), "spooled")
	if err := os.WriteFile(file, []byte("x"), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := s.AdoptFileIfAbsent(ctx, "e/f/key", file); err != nil {
		t.Fatal(err)
	}
	expect("AdoptFileIfAbsent into two new directories", "e/f", "e", ".")
}
