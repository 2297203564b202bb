package devstack

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestFindBinary(t *testing.T) {
	const name = "granary-fake-server"
	tests := []struct {
		name    string
		envDir  bool // binary in $GRANARY_BIN_DIR
		modBin  bool // binary in <module>/bin
		pathDir bool // binary on $PATH
		want    string
	}{
		{name: "env dir wins", envDir: true, modBin: true, pathDir: true, want: "env"},
		{name: "module bin before PATH", modBin: true, pathDir: true, want: "module/bin"},
		{name: "PATH last", pathDir: true, want: "path"},
		{name: "env dir set but empty falls through", modBin: true, want: "module/bin"},
		{name: "missing", want: ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			base := t.TempDir()
			for _, d := range []string{"env", "module/bin", "module/pkg/sub", "path"} {
				if err := os.MkdirAll(filepath.Join(base, d), 0o755); err != nil {
					t.Fatal(err)
				}
			}
			writeFile(t, filepath.Join(base, "module/go.mod"), "module example.com/m\n", 0o644)
			for _, c := range []struct {
				on  bool
				dir string
			}{{tc.envDir, "env"}, {tc.modBin, "module/bin"}, {tc.pathDir, "path"}} {
				if c.on {
					writeFile(t, filepath.Join(base, c.dir, name), "#!/bin/sh\n", 0o755)
				}
			}
			t.Setenv(EnvBinDir, filepath.Join(base, "env"))
			t.Setenv("PATH", filepath.Join(base, "path"))
			t.Chdir(filepath.Join(base, "module/pkg/sub"))

			got, err := FindBinary(name)
			if tc.want == "" {
				if !errors.Is(err, ErrBinaryNotFound) {
					t.Fatalf("FindBinary = %q, %v; want ErrBinaryNotFound", got, err)
				}
				if !strings.Contains(err.Error(), "make tools") {
					t.Errorf("error %q does not tell the user to run make tools", err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if want := filepath.Join(base, tc.want, name); got != want {
				t.Errorf("FindBinary = %q, want %q", got, want)
			}
		})
	}
}

func TestFindBinaryIgnoresNonExecutable(t *testing.T) {
	dir := t.TempDir()
	writeFile(t, filepath.Join(dir, "granary-fake-server"), "data", 0o644)
	t.Setenv(EnvBinDir, dir)
	t.Setenv("PATH", "")
	t.Chdir(dir)
	if _, err := FindBinary("granary-fake-server"); !errors.Is(err, ErrBinaryNotFound) {
		t.Fatalf("err = %v, want ErrBinaryNotFound", err)
	}
}

func writeFile(t *testing.T, path, content string, mode os.FileMode) {
	t.Helper()
	if err := os.WriteFile(path, []byte(content), mode); err != nil {
		t.Fatal(err)
	}
}
