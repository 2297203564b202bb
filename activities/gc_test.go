package activities

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"log/slog"
	"sync"
	"testing"
	"time"

	"go.temporal.io/sdk/log"
	"go.temporal.io/sdk/testsuite"

	"github.com/granaryml/granary/internal/lake"
	"github.com/granaryml/granary/internal/objstore"
	"github.com/granaryml/granary/internal/objstore/filestore"
)

// slowListing serves listings a few keys at a time, slowly: a big lake on
// a remote store, where listing every blob reads no object's bytes.
type slowListing struct {
	objstore.Store
	pause time.Duration
}

func (s slowListing) List(ctx context.Context, o objstore.ListOptions) (objstore.ListPage, error) {
	time.Sleep(s.pause)
	o.Limit = 2
	return s.Store.List(ctx, o)
}

// A gc whose listing moves no bytes for longer than the stall timeout is
// still progressing: it must heartbeat its listed objects and finish, not
// be cancelled as stalled.
func TestGCHeartbeatsWhileListing(t *testing.T) {
	fs, err := filestore.New(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	l := lake.New(fs)
	for i := range 12 {
		b := []byte(fmt.Sprint("orphan ", i))
		d, _, _ := lake.HashReader(bytes.NewReader(b))
		if _, err := l.PutBlob(t.Context(), d, bytes.NewReader(b), int64(len(b))); err != nil {
			t.Fatal(err)
		}
	}
	a := New(slowListing{Store: fs, pause: 60 * time.Millisecond}, "test")
	a.StallTimeout = 300 * time.Millisecond // the listing alone takes about 400ms
	var mu sync.Mutex
	var beats []Progress
	a.recordHeartbeat = func(_ context.Context, p Progress) {
		mu.Lock()
		defer mu.Unlock()
		beats = append(beats, p)
	}
	var s testsuite.WorkflowTestSuite
	s.SetLogger(log.NewStructuredLogger(slog.New(slog.NewTextHandler(io.Discard, nil))))
	env := s.NewTestActivityEnvironment()
	env.RegisterActivity(a)
	v, err := env.ExecuteActivity(a.GC, GCInput{Grace: 0, Force: true})
	if err != nil {
		t.Fatalf("gc failed (stalled?): %v", err)
	}
	var res GCResult
	if err := v.Get(&res); err != nil {
		t.Fatal(err)
	}
	if res.Deleted != 12 {
		t.Fatalf("want the 12 orphans deleted, got %+v", res)
	}
	mu.Lock()
	defer mu.Unlock()
	if len(beats) == 0 || beats[len(beats)-1].Items == 0 {
		t.Fatalf("heartbeats must carry the objects visited: %+v", beats)
	}
}
