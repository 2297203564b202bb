// Package devtest starts real servers for integration tests, with one
// policy for when they cannot run: skipped under -short; when a server
// binary is missing, skipped on a developer machine (with the command that
// builds it) but failed in CI, where a skipped integration test would pass
// unnoticed.
package devtest

import (
	"context"
	"errors"
	"io"
	"os"
	"testing"
	"time"

	"github.com/granaryml/granary/internal/devstack"
)

// EnvVerbose, when non-empty, copies server output to the test's stderr.
const EnvVerbose = "GRANARY_DEVSTACK_VERBOSE"

// startTimeout is generous: CI machines are slow and a cold start of the
// Temporal dev server migrates a fresh SQLite schema.
const startTimeout = 2 * time.Minute

// RequireIntegration skips t under -short and checks that the named server
// binaries exist, skipping (locally) or failing (when $CI is set) if not.
func RequireIntegration(t testing.TB, binaries ...string) {
	t.Helper()
	if testing.Short() {
		t.Skip("integration test: skipped with -short")
	}
	for _, name := range binaries {
		if _, err := devstack.FindBinary(name); err != nil {
			missing(t, err)
		}
	}
}

func missing(t testing.TB, err error) {
	t.Helper()
	if os.Getenv("CI") != "" {
		t.Fatalf("integration test cannot run in CI: %v", err)
	}
	t.Skipf("integration test skipped: %v", err)
}

// Temporal starts a Temporal dev server for the test and stops it in
// t.Cleanup. At most one TemporalOptions may be given; Binary and Log
// default as in devstack, the SQLite file lives in t.TempDir().
func Temporal(t testing.TB, opts ...devstack.TemporalOptions) *devstack.Temporal {
	t.Helper()
	RequireIntegration(t)
	if len(opts) > 1 {
		t.Fatalf("devtest.Temporal: got %d option structs, want at most 1", len(opts))
	}
	var o devstack.TemporalOptions
	if len(opts) == 1 {
		o = opts[0]
	}
	if o.DBFile == "" {
		o.DBFile = t.TempDir() + "/temporal.db"
	}
	if o.Log == nil {
		o.Log = verboseLog()
	}
	ctx, cancel := context.WithTimeout(context.Background(), startTimeout)
	defer cancel()
	srv, err := devstack.StartTemporal(ctx, o)
	if errors.Is(err, devstack.ErrBinaryNotFound) {
		missing(t, err)
	}
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := srv.Stop(); err != nil {
			t.Error(err)
		}
	})
	return srv
}

// Minio starts a MinIO server with a data directory in t.TempDir() and
// stops it in t.Cleanup.
func Minio(t testing.TB) *devstack.Minio {
	t.Helper()
	RequireIntegration(t)
	ctx, cancel := context.WithTimeout(context.Background(), startTimeout)
	defer cancel()
	srv, err := devstack.StartMinio(ctx, devstack.MinioOptions{DataDir: t.TempDir(), Log: verboseLog()})
	if errors.Is(err, devstack.ErrBinaryNotFound) {
		missing(t, err)
	}
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := srv.Stop(); err != nil {
			t.Error(err)
		}
	})
	return srv
}

func verboseLog() io.Writer {
	if os.Getenv(EnvVerbose) != "" {
		return os.Stderr
	}
	return nil
}
