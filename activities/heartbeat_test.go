package activities

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"sync"
	"testing"
	"time"

	"go.temporal.io/sdk/activity"
	"go.temporal.io/sdk/log"
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/testsuite"
)

// trickle yields chunk bytes every pause, chunks times, then blocks: until
// its context ends when honorCtx (a hung HTTP read that cancellation
// reaches), or until release is closed otherwise (one that ignores it).
type trickle struct {
	ctx      context.Context
	chunks   int
	chunk    int
	pause    time.Duration
	honorCtx bool
	release  <-chan struct{}
}

func (r *trickle) Read(p []byte) (int, error) {
	if r.chunks > 0 {
		time.Sleep(r.pause)
		r.chunks--
		return min(len(p), r.chunk), nil
	}
	if r.honorCtx {
		<-r.ctx.Done()
		return 0, r.ctx.Err()
	}
	<-r.release
	return 0, io.ErrUnexpectedEOF
}

type beat struct {
	at time.Time
	p  Progress
}

type probeResult struct {
	err       error
	beats     []beat
	cancelled time.Time // when the activity's context was cancelled
	lastMove  time.Time // when the trickle yielded its last chunk
}

// runProbe runs an activity that copies a trickle under watch, with a
// short stall timeout, recording every heartbeat.
func runProbe(t *testing.T, honorCtx bool, wait time.Duration) *probeResult {
	t.Helper()
	const stall = 600 * time.Millisecond
	a := New(nil, "test")
	a.StallTimeout = stall
	var mu sync.Mutex
	res := &probeResult{}
	a.recordHeartbeat = func(_ context.Context, p Progress) {
		mu.Lock()
		defer mu.Unlock()
		res.beats = append(res.beats, beat{time.Now(), p})
	}
	release := make(chan struct{})
	t.Cleanup(func() { close(release) })
	probe := func(ctx context.Context) error {
		ctx, stop := a.watch(ctx)
		defer stop()
		go func() {
			<-ctx.Done()
			mu.Lock()
			res.cancelled = time.Now()
			mu.Unlock()
		}()
		// Data moves for twice the stall timeout, then the read hangs.
		src := &trickle{ctx: ctx, chunks: 24, chunk: 1024, pause: 50 * time.Millisecond, honorCtx: honorCtx, release: release}
		_, err := io.Copy(writerFunc(func(p []byte) (int, error) {
			mu.Lock()
			res.lastMove = time.Now()
			mu.Unlock()
			return len(p), nil
		}), &progressReader{ctx: ctx, r: src})
		return toTemporal(err)
	}
	var s testsuite.WorkflowTestSuite
	s.SetLogger(log.NewStructuredLogger(slog.New(slog.NewTextHandler(io.Discard, nil))))
	env := s.NewTestActivityEnvironment()
	env.RegisterActivityWithOptions(probe, activity.RegisterOptions{Name: "probe"})
	done := make(chan error, 1)
	go func() {
		_, err := env.ExecuteActivity("probe")
		done <- err
	}()
	select {
	case err := <-done:
		res.err = err
	case <-time.After(wait):
		res.err = errTimeout
	}
	mu.Lock()
	defer mu.Unlock()
	return res
}

var errTimeout = errors.New("the activity did not return")

type writerFunc func([]byte) (int, error)

func (f writerFunc) Write(p []byte) (int, error) { return f(p) }

func TestWatchFailsAStalledReadRetryably(t *testing.T) {
	r := runProbe(t, true, 10*time.Second)
	var app *temporal.ApplicationError
	if !errors.As(r.err, &app) || app.Type() != ErrTypeStalled || app.NonRetryable() {
		t.Fatalf("want a retryable %s application error, got %v", ErrTypeStalled, r.err)
	}
	if r.lastMove.IsZero() || r.cancelled.IsZero() {
		t.Fatalf("no progress or no cancellation seen")
	}
	// Progress for longer than the stall timeout did not count as a stall;
	// the hang did, within the timeout plus a check interval or two.
	if idle := r.cancelled.Sub(r.lastMove); idle < 600*time.Millisecond || idle > 1500*time.Millisecond {
		t.Fatalf("cancelled %v after the last progress, want about the 600ms stall timeout", idle)
	}
	checkBeats(t, r)
}

// A hung read that ignores cancellation keeps the activity from
// returning; then the heartbeats must stop, so the server's heartbeat
// timeout fails the attempt.
func TestWatchStopsHeartbeatingWhenAReadIgnoresCancellation(t *testing.T) {
	r := runProbe(t, false, 3*time.Second)
	if r.err != errTimeout {
		t.Fatalf("the probe was meant to hang, got %v", r.err)
	}
	if r.cancelled.IsZero() {
		t.Fatal("the stall was not detected")
	}
	checkBeats(t, r)
}

func checkBeats(t *testing.T, r *probeResult) {
	t.Helper()
	if len(r.beats) < 5 {
		t.Fatalf("%d heartbeats over more than a second of progress at a 75ms interval", len(r.beats))
	}
	for i, b := range r.beats {
		if i > 0 && b.p.Bytes < r.beats[i-1].p.Bytes {
			t.Fatalf("heartbeat %d went back from %d to %d bytes", i, r.beats[i-1].p.Bytes, b.p.Bytes)
		}
		if b.at.After(r.cancelled) {
			t.Fatalf("heartbeat %d sent %v after the stall was declared", i, b.at.Sub(r.cancelled))
		}
	}
	if last := r.beats[len(r.beats)-1].p.Bytes; last != 24*1024 {
		t.Fatalf("last heartbeat reports %d bytes, want the 24 KiB moved", last)
	}
	if first := r.beats[0].p.Bytes; first >= 24*1024 {
		t.Fatalf("first heartbeat already reports %d bytes: heartbeats do not follow progress", first)
	}
}
