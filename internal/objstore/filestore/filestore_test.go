package filestore_test

import (
	"errors"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/granaryml/granary/internal/objstore"
	"github.com/granaryml/granary/internal/objstore/filestore"
	"github.com/granaryml/granary/internal/objstore/storetest"
)

func newStore(t testing.TB, root string) *filestore.Store {
	t.Helper()
	s, err := filestore.New(root)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

func TestConformance(t *testing.T) {
	storetest.Run(t, func(t *testing.T) objstore.Store {
		return newStore(t, t.TempDir())
	})
}

func TestNewRejectsRelativeRoot(t *testing.T) {
	if _, err := filestore.New("relative/dir"); err == nil {
		t.Fatal("New accepted a relative root")
	}
}

// Invalid keys must not create anything, inside the root or next to it.
func TestInvalidKeysStayInsideRoot(t *testing.T) {
	parent := t.TempDir()
	root := filepath.Join(parent, "root")
	s := newStore(t, root)
	ctx := t.Context()
	keys := append(slices.Clone(storetest.InvalidKeys), ".objstore/lock", ".objstore/tmp/x", ".objstore")
	for _, key := range keys {
		s.Put(ctx, key, strings.NewReader("x"), 1)
		s.PutIfAbsent(ctx, key, strings.NewReader("x"), 1)
		s.CompareAndSwap(ctx, key, "", strings.NewReader("x"), 1)
		s.Delete(ctx, key)
		if _, err := s.Stat(ctx, key); !errors.Is(err, objstore.ErrInvalidKey) {
			t.Errorf("Stat(%q) = %v, want ErrInvalidKey", key, err)
		}
	}
	var found []string
	filepath.WalkDir(parent, func(path string, d fs.DirEntry, err error) error {
		rel, _ := filepath.Rel(parent, path)
		found = append(found, filepath.ToSlash(rel))
		return nil
	})
	want := []string{".", "root", "root/.objstore", "root/.objstore/lock", "root/.objstore/tmp"}
	if !slices.Equal(found, want) {
		t.Fatalf("tree after invalid writes = %q, want %q", found, want)
	}
}

func TestListHidesStoreFiles(t *testing.T) {
	s := newStore(t, t.TempDir())
	ctx := t.Context()
	if _, err := s.Put(ctx, "a", strings.NewReader("x"), 1); err != nil {
		t.Fatal(err)
	}
	for _, prefix := range []string{"", ".", ".obj", ".objstore", ".objstore/", ".objstore/tmp/"} {
		page, err := s.List(ctx, objstore.ListOptions{Prefix: prefix})
		if err != nil {
			continue // an invalid prefix is fine too
		}
		for _, o := range page.Objects {
			if strings.HasPrefix(o.Key, ".objstore") {
				t.Errorf("List(%q) returned %q", prefix, o.Key)
			}
		}
	}
}

// A symlink planted inside the root must not lead writes or reads outside.
func TestSymlinksDoNotEscapeRoot(t *testing.T) {
	parent := t.TempDir()
	outside := filepath.Join(parent, "outside")
	if err := os.Mkdir(outside, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(outside, "secret"), []byte("s3cr3t"), 0o644); err != nil {
		t.Fatal(err)
	}
	root := filepath.Join(parent, "root")
	s := newStore(t, root)
	if err := os.Symlink(outside, filepath.Join(root, "link")); err != nil {
		t.Fatal(err)
	}
	ctx := t.Context()
	if _, _, err := s.Get(ctx, "link/secret", objstore.GetOptions{}); err == nil {
		t.Error("Get read a file outside the root through a symlink")
	}
	if _, err := s.Put(ctx, "link/planted", strings.NewReader("x"), 1); err == nil {
		t.Error("Put wrote through a symlink")
	}
	if _, err := os.Stat(filepath.Join(outside, "planted")); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("file created outside the root: %v", err)
	}

	// Only regular files are objects, so a symlink to one inside the root
	// is not: Get must agree with Stat and List.
	if _, err := s.Put(ctx, "real", strings.NewReader("x"), 1); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink("real", filepath.Join(root, "alias")); err != nil {
		t.Fatal(err)
	}
	if _, _, err := s.Get(ctx, "alias", objstore.GetOptions{}); !errors.Is(err, objstore.ErrNotFound) {
		t.Errorf("Get(alias) = %v, want ErrNotFound", err)
	}
	if _, err := s.Stat(ctx, "alias"); !errors.Is(err, objstore.ErrNotFound) {
		t.Errorf("Stat(alias) = %v, want ErrNotFound", err)
	}
	page, err := s.List(ctx, objstore.ListOptions{})
	if err != nil || len(page.Objects) != 1 || page.Objects[0].Key != "real" {
		t.Errorf("List = %+v, %v; want just \"real\"", page.Objects, err)
	}
}

func TestDeleteRemovesEmptyFolders(t *testing.T) {
	root := t.TempDir()
	s := newStore(t, root)
	ctx := t.Context()
	for _, k := range []string{"a/b/c/one", "a/b/two"} {
		if _, err := s.Put(ctx, k, strings.NewReader("x"), 1); err != nil {
			t.Fatal(err)
		}
	}
	if err := s.Delete(ctx, "a/b/c/one"); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(root, "a/b/c")); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("empty folder a/b/c survived: %v", err)
	}
	if err := s.Delete(ctx, "a/b/two"); err != nil {
		t.Fatal(err)
	}
	entries, _ := os.ReadDir(root)
	if len(entries) != 1 || entries[0].Name() != ".objstore" {
		t.Errorf("root holds %v after deleting everything, want only .objstore", entries)
	}
}

func TestKeyAndFolderConflict(t *testing.T) {
	s := newStore(t, t.TempDir())
	ctx := t.Context()
	if _, err := s.Put(ctx, "a/b", strings.NewReader("x"), 1); err != nil {
		t.Fatal(err)
	}
	for _, key := range []string{"a", "a/b/c"} {
		if _, err := s.Put(ctx, key, strings.NewReader("x"), 1); !errors.Is(err, objstore.ErrInvalidKey) {
			t.Errorf("Put(%q) next to a/b: %v, want ErrInvalidKey", key, err)
		}
		if _, err := s.PutIfAbsent(ctx, key, strings.NewReader("x"), 1); !errors.Is(err, objstore.ErrInvalidKey) {
			t.Errorf("PutIfAbsent(%q) next to a/b: %v, want ErrInvalidKey", key, err)
		}
	}
}

func TestStaleTempFilesAreRemoved(t *testing.T) {
	root := t.TempDir()
	newStore(t, root)
	tmp := filepath.Join(root, ".objstore", "tmp")
	old, fresh := filepath.Join(tmp, "crashed-upload"), filepath.Join(tmp, "live-upload")
	for _, p := range []string{old, fresh} {
		if err := os.WriteFile(p, []byte("partial"), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	longAgo := time.Now().Add(-48 * time.Hour)
	os.Chtimes(old, longAgo, longAgo)
	newStore(t, root)
	if _, err := os.Stat(old); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("day-old temp file survived New: %v", err)
	}
	if _, err := os.Stat(fresh); err != nil {
		t.Errorf("New removed a fresh temp file another process may be writing: %v", err)
	}
}

const (
	envHelperRoot = "FILESTORE_CAS_HELPER_ROOT"
	helperIncr    = 100
)

// TestCASHelperProcess is not a test on its own: TestCrossProcessCAS runs
// the test binary as helper processes that increment a shared counter.
func TestCASHelperProcess(t *testing.T) {
	root := os.Getenv(envHelperRoot)
	if root == "" {
		t.Skip("helper process for TestCrossProcessCAS")
	}
	s := newStore(t, root)
	var wg sync.WaitGroup
	conflicts := make([]int, 4)
	for w := range conflicts {
		wg.Go(func() {
			for range helperIncr / len(conflicts) {
				conflicts[w] += storetest.Increment(t, s, "counter")
			}
		})
	}
	wg.Wait()
	total := 0
	for _, c := range conflicts {
		total += c
	}
	t.Logf("conflicts=%d", total)
}

// flock, unlike a mutex, must exclude other processes: two processes (of
// four goroutines each) race on one counter.
func TestCrossProcessCAS(t *testing.T) {
	if testing.Short() {
		t.Skip("spawns processes: skipped with -short")
	}
	root := t.TempDir()
	s := newStore(t, root)
	if _, err := s.Put(t.Context(), "counter", strings.NewReader("0"), 1); err != nil {
		t.Fatal(err)
	}
	const procs = 2
	start := time.Now()
	cmds := make([]*exec.Cmd, procs)
	outs := make([]strings.Builder, procs)
	for i := range cmds {
		cmds[i] = exec.Command(os.Args[0], "-test.run=^TestCASHelperProcess$", "-test.v", "-test.count=1")
		cmds[i].Env = append(os.Environ(), envHelperRoot+"="+root)
		cmds[i].Stdout, cmds[i].Stderr = &outs[i], &outs[i]
		if err := cmds[i].Start(); err != nil {
			t.Fatal(err)
		}
	}
	for i, c := range cmds {
		if err := c.Wait(); err != nil {
			t.Fatalf("helper %d: %v\n%s", i, err, outs[i].String())
		}
	}
	elapsed := time.Since(start)
	rc, _, err := s.Get(t.Context(), "counter", objstore.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer rc.Close()
	b := make([]byte, 16)
	n, _ := rc.Read(b)
	if got, want := string(b[:n]), strconv.Itoa(procs*helperIncr); got != want {
		t.Fatalf("counter = %s after %d processes x %d increments, want %s", got, procs, helperIncr, want)
	}
	var conflicts []string
	for i := range outs {
		for _, line := range strings.Split(outs[i].String(), "\n") {
			if _, c, ok := strings.Cut(line, "conflicts="); ok {
				conflicts = append(conflicts, c)
			}
		}
	}
	t.Logf("cross-process CAS: %d increments from %d processes in %v (%.0f CAS/s incl. process start), conflicts per process %v",
		procs*helperIncr, procs, elapsed.Round(time.Millisecond), float64(procs*helperIncr)/elapsed.Seconds(), conflicts)
}
