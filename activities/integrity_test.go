package activities_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"strings"
	"testing"
	"time"

	"go.temporal.io/sdk/log"
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/testsuite"

	"github.com/granaryml/granary/activities"
	"github.com/granaryml/granary/internal/lake"
	"github.com/granaryml/granary/internal/objstore"
	"github.com/granaryml/granary/internal/objstore/filestore"
	"github.com/granaryml/granary/internal/tabular"
)

func newActivityEnv(t *testing.T, store objstore.Store) (*testsuite.TestActivityEnvironment, *activities.Activities) {
	t.Helper()
	var s testsuite.WorkflowTestSuite
	s.SetLogger(log.NewStructuredLogger(slog.New(slog.NewTextHandler(io.Discard, nil))))
	env := s.NewTestActivityEnvironment()
	acts := activities.New(store, "test-worker")
	acts.TempDir = t.TempDir()
	env.RegisterActivity(acts)
	return env, acts
}

func newFileStore(t *testing.T) objstore.Store {
	t.Helper()
	s, err := filestore.New(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// putDamaged stores data as a blob, then replaces its stored bytes with a
// copy that has one byte changed, returning the digest the lake expects.
func putDamaged(t *testing.T, s objstore.Store, data []byte) lake.Digest {
	t.Helper()
	l := lake.New(s)
	d, n, _ := lake.HashReader(bytes.NewReader(data))
	if _, err := l.PutBlob(t.Context(), d, bytes.NewReader(data), n); err != nil {
		t.Fatal(err)
	}
	bad := bytes.Clone(data)
	bad[len(bad)/2] ^= 1
	if _, err := s.Put(t.Context(), lake.BlobKey(d), bytes.NewReader(bad), int64(len(bad))); err != nil {
		t.Fatal(err)
	}
	return d
}

func wantCorruptBlob(t *testing.T, err error, d lake.Digest) {
	t.Helper()
	var app *temporal.ApplicationError
	if !errors.As(err, &app) || app.Type() != activities.ErrTypeCorruptBlob || !app.NonRetryable() {
		t.Fatalf("want a non-retryable %s application error, got %v", activities.ErrTypeCorruptBlob, err)
	}
	if !strings.Contains(app.Message(), string(d)) || !strings.Contains(app.Message(), lake.BlobKey(d)) {
		t.Fatalf("message must name the blob digest and lake key: %q", app.Message())
	}
}

func csvData(rows int) []byte {
	var b bytes.Buffer
	b.WriteString("user_id,amount\n")
	for i := range rows {
		fmt.Fprintf(&b, "%d,%d.5\n", i%97, i)
	}
	return b.Bytes()
}

// A raw CSV whose stored copy rotted must not be imported as if it were
// the user's data: every full read of it fails, naming the blob.
func TestImportOfCorruptSourceFailsNonRetryable(t *testing.T) {
	store := newFileStore(t)
	env, acts := newActivityEnv(t, store)
	d := putDamaged(t, store, csvData(5000))
	src := activities.Source{Name: "orders.csv", Digest: d}

	_, err := env.ExecuteActivity(acts.InferSchema, activities.InferSchemaInput{Source: src, Format: tabular.CSV})
	wantCorruptBlob(t, err, d)

	schema := tabular.Schema{Columns: []tabular.Column{{Name: "user_id", Type: tabular.Int64}, {Name: "amount", Type: tabular.Float64}}}
	_, err = env.ExecuteActivity(acts.ConvertSource, activities.ConvertSourceInput{Dataset: "orders", Source: src, Format: tabular.CSV, Schema: schema})
	wantCorruptBlob(t, err, d)
}

// A small parquet blob is verified when a reader opens it, so stats over
// a damaged version fail instead of describing damaged rows.
func TestStatsOfCorruptParquetFailNonRetryable(t *testing.T) {
	store := newFileStore(t)
	env, acts := newActivityEnv(t, store)
	var pq bytes.Buffer
	schema := tabular.Schema{Columns: []tabular.Column{{Name: "user_id", Type: tabular.Int64}, {Name: "amount", Type: tabular.Float64}}}
	if _, err := tabular.Convert(context.Background(), bytes.NewReader(csvData(5000)), &pq, tabular.ConvertOptions{Format: tabular.CSV, Schema: schema}); err != nil {
		t.Fatal(err)
	}
	d := putDamaged(t, store, pq.Bytes())
	_, err := env.ExecuteActivity(acts.ComputeStats, activities.ComputeStatsInput{Schema: schema, Files: []lake.File{{Digest: d, Bytes: int64(pq.Len())}}})
	wantCorruptBlob(t, err, d)
}

// hangingStore's object streams deliver nothing and end only when the
// caller's context does, like an S3 read stuck on a dead connection.
type hangingStore struct {
	objstore.Store
}

func (s *hangingStore) Get(ctx context.Context, key string, o objstore.GetOptions) (io.ReadCloser, objstore.ObjectInfo, error) {
	rc, info, err := s.Store.Get(ctx, key, o)
	if err != nil {
		return nil, info, err
	}
	rc.Close()
	return io.NopCloser(readerFunc(func([]byte) (int, error) {
		<-ctx.Done()
		return 0, ctx.Err()
	})), info, nil
}

type readerFunc func([]byte) (int, error)

func (f readerFunc) Read(p []byte) (int, error) { return f(p) }

// An import whose lake read hangs fails with a retryable Stalled error
// soon after the stall timeout, instead of holding the activity until
// its six-hour start-to-close timeout.
func TestHungLakeReadFailsTheActivityAsStalled(t *testing.T) {
	store := newFileStore(t)
	l := lake.New(store)
	data := csvData(2000)
	d, n, _ := lake.HashReader(bytes.NewReader(data))
	if _, err := l.PutBlob(t.Context(), d, bytes.NewReader(data), n); err != nil {
		t.Fatal(err)
	}
	env, acts := newActivityEnv(t, &hangingStore{Store: store})
	acts.StallTimeout = 500 * time.Millisecond
	start := time.Now()
	done := make(chan error, 1)
	go func() {
		_, err := env.ExecuteActivity(acts.InferSchema, activities.InferSchemaInput{Source: activities.Source{Name: "orders.csv", Digest: d}, Format: tabular.CSV})
		done <- err
	}()
	var err error
	select {
	case err = <-done:
	case <-time.After(20 * time.Second):
		t.Fatal("the activity still hangs 20s after its read stalled")
	}
	took := time.Since(start)
	var app *temporal.ApplicationError
	if !errors.As(err, &app) || app.Type() != activities.ErrTypeStalled || app.NonRetryable() {
		t.Fatalf("want a retryable %s application error, got %v", activities.ErrTypeStalled, err)
	}
	if took < 500*time.Millisecond || took > 5*time.Second {
		t.Fatalf("failed after %v, want shortly after the 500ms stall timeout", took)
	}
}
