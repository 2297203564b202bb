// Package devstack starts and stops the local servers granary depends on —
// the Temporal dev server and MinIO — for `granary dev` and for
// integration tests. Servers run as child processes of the pinned binaries
// built into ./bin by `make tools`, in their own process group, and are
// killed with the parent if it dies.
package devstack

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
)

// EnvBinDir names a directory searched for server binaries before any
// other, so CI and packagers can point at prebuilt ones.
const EnvBinDir = "GRANARY_BIN_DIR"

// ErrBinaryNotFound means a server binary is in none of the places
// FindBinary looks.
var ErrBinaryNotFound = errors.New("server binary not found")

// FindBinary locates an executable by name, preferring the pinned build:
// $GRANARY_BIN_DIR, then bin/ of the enclosing Go module (found by walking
// up from the working directory to go.mod), then the directory of the
// running executable (an installed granary ships its servers beside it),
// then $PATH.
func FindBinary(name string) (string, error) {
	var looked []string
	try := func(dir string) (string, bool) {
		p := filepath.Join(dir, name)
		looked = append(looked, p)
		return p, isExecutable(p)
	}
	if dir := os.Getenv(EnvBinDir); dir != "" {
		if p, ok := try(dir); ok {
			return p, nil
		}
	}
	if mod, ok := moduleRoot(); ok {
		if p, ok := try(filepath.Join(mod, "bin")); ok {
			return p, nil
		}
	}
	if exe, err := os.Executable(); err == nil {
		if p, ok := try(filepath.Dir(exe)); ok {
			return p, nil
		}
	}
	if p, err := exec.LookPath(name); err == nil {
		return p, nil
	}
	looked = append(looked, "$PATH")
	return "", fmt.Errorf("%w: %s (looked in %s); run `make tools` to build the pinned servers into ./bin",
		ErrBinaryNotFound, name, strings.Join(looked, ", "))
}

func moduleRoot() (string, bool) {
	dir, err := os.Getwd()
	if err != nil {
		return "", false
	}
	for {
		if fi, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil && fi.Mode().IsRegular() {
			return dir, true
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", false
		}
		dir = parent
	}
}

func isExecutable(path string) bool {
	fi, err := os.Stat(path)
	return err == nil && fi.Mode().IsRegular() && fi.Mode().Perm()&0o111 != 0
}
