package activities_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"slices"
	"strings"
	"sync"
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

// countingStore counts the Gets of each key.
type countingStore struct {
	objstore.Store
	mu   sync.Mutex
	gets map[string]int
}

func (s *countingStore) Get(ctx context.Context, key string, o objstore.GetOptions) (io.ReadCloser, objstore.ObjectInfo, error) {
	s.mu.Lock()
	s.gets[key]++
	s.mu.Unlock()
	return s.Store.Get(ctx, key, o)
}

// A retried LakeVerify resumes from its last heartbeat: blobs up to the
// recorded digest are not read again, and what was found before the
// retry is still reported.
func TestLakeVerifyResumesFromItsHeartbeat(t *testing.T) {
	base := newFileStore(t)
	l := lake.New(base)
	var files []lake.File
	for i := range 4 {
		data := csvData(100 + i)
		d, n, _ := lake.HashReader(bytes.NewReader(data))
		if _, err := l.PutBlob(t.Context(), d, bytes.NewReader(data), n); err != nil {
			t.Fatal(err)
		}
		files = append(files, lake.File{Digest: d, Bytes: n})
	}
	slices.SortFunc(files, func(a, b lake.File) int { return strings.Compare(string(a.Digest), string(b.Digest)) })
	if _, _, err := l.CommitManifest(t.Context(), &lake.Manifest{Kind: lake.KindDataset, Name: "d", Files: files}); err != nil {
		t.Fatal(err)
	}
	// The last blob rots after the interrupted attempt checked the first
	// two; the first one it found corrupt is carried in the heartbeat.
	last := files[3].Digest
	if _, err := base.Put(t.Context(), lake.BlobKey(last), strings.NewReader("rot"), 3); err != nil {
		t.Fatal(err)
	}
	earlier := lake.BlobProblem{Digest: files[0].Digest, Key: lake.BlobKey(files[0].Digest), Problem: lake.ProblemCorrupt}
	store := &countingStore{Store: base, gets: map[string]int{}}
	env, acts := newActivityEnv(t, store)
	env.SetHeartbeatDetails(map[string]any{"bytes": 1, "resume": map[string]any{"after": files[1].Digest, "bytes": 777, "found": []lake.BlobProblem{earlier}}})
	v, err := env.ExecuteActivity(acts.LakeVerify, activities.LakeVerifyInput{Report: activities.LakeVerifyReportPrefix + "resume.json"})
	if err != nil {
		t.Fatal(err)
	}
	var res activities.LakeVerifyResult
	if err := v.Get(&res); err != nil {
		t.Fatal(err)
	}
	for _, f := range files[:2] {
		if n := store.gets[lake.BlobKey(f.Digest)]; n != 0 {
			t.Errorf("blob %s before the resume point was read %d times", f.Digest, n)
		}
	}
	if n := store.gets[lake.BlobKey(files[2].Digest)]; n != 1 {
		t.Errorf("blob after the resume point read %d times, want 1", n)
	}
	if len(res.BlobProblems) != 2 || res.BlobProblems[0].Digest != files[0].Digest || res.BlobProblems[1].Digest != last || !res.Damaged {
		t.Fatalf("want the carried problem and the new one, got %+v", res.BlobProblems)
	}
	if want := 777 + files[2].Bytes + 3; res.Bytes != want {
		t.Fatalf("bytes = %d, want %d (carried 777 + this attempt's)", res.Bytes, want)
	}
}
