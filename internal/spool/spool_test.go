package spool_test

import (
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"testing"

	"github.com/granaryml/granary/internal/spool"
)

func TestProcessDirSweepsDeadWorkersOnly(t *testing.T) {
	base := t.TempDir()
	// A process that has exited: its pid is free (or reused, which only
	// makes us keep the directory, the safe side).
	cmd := exec.Command("true")
	if err := cmd.Run(); err != nil {
		t.Fatal(err)
	}
	dead := filepath.Join(base, "granary-worker-"+strconv.Itoa(cmd.Process.Pid))
	live := filepath.Join(base, "granary-worker-1") // pid 1 always exists
	other := filepath.Join(base, "unrelated")
	for _, d := range []string{dead, live, other} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(d, "granary-convert-1.parquet"), []byte("x"), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	dir, swept, err := spool.ProcessDir(base)
	if err != nil {
		t.Fatal(err)
	}
	if swept != 1 {
		t.Fatalf("swept %d directories, want 1", swept)
	}
	if _, err := os.Stat(dead); !os.IsNotExist(err) {
		t.Fatal("the dead worker's spool survived")
	}
	for _, d := range []string{live, other, dir} {
		if _, err := os.Stat(d); err != nil {
			t.Fatalf("%s must remain: %v", d, err)
		}
	}
	if filepath.Base(dir) != "granary-worker-"+strconv.Itoa(os.Getpid()) {
		t.Fatalf("unexpected dir %s", dir)
	}
}
