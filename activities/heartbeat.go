package activities

import (
	"context"
	"errors"
	"fmt"
	"io"
	"sync"
	"sync/atomic"
	"time"

	"go.temporal.io/sdk/activity"
)

// heartbeatInterval keeps heartbeats well inside the workflows' 20-second
// heartbeat timeout without flooding the server.
const heartbeatInterval = 3 * time.Second

// DefaultStallTimeout is how long a long-running activity may move
// nothing (no byte read from or written to the lake or a local spool, no
// row processed) before it is declared stalled and fails, to be retried.
// It is well above any legitimate pause (one ranged Get, one in-memory
// sort of a shard) and, with the detection interval, keeps a hung S3 read
// from holding an activity for more than a minute.
const DefaultStallTimeout = 45 * time.Second

// ErrStalled is matched by the error of an activity that moved nothing for
// its stall timeout. It is retryable: a hung read is infrastructure.
var ErrStalled = errors.New("activity stalled")

// StallError is the cause an activity's context is cancelled with when it
// stalls, and the error it then fails with.
type StallError struct {
	Idle     time.Duration
	Progress Progress // what had moved before the stall
}

func (e *StallError) Error() string {
	return fmt.Sprintf("%v: nothing read, written or processed for %s (after %d bytes and %d rows); a lake read or write hung, so this attempt gives up and is retried",
		ErrStalled, e.Idle.Round(time.Second), e.Progress.Bytes, e.Progress.Rows)
}

func (e *StallError) Is(target error) bool { return target == ErrStalled }

// Progress is what a long activity's heartbeats carry, so the Temporal UI
// (pending activity, heartbeat details) shows how far it got.
type Progress struct {
	// Bytes read from or written to the lake, a staged source or a local
	// spool file by this attempt.
	Bytes int64 `json:"bytes"`
	// Rows the current step reports having processed.
	Rows int64 `json:"rows"`
	// Items done out of Of, for work counted in units other than rows
	// (lake verify: blobs checked).
	Items int64 `json:"items,omitempty"`
	Of    int64 `json:"of,omitempty"`
}

// tracker counts one activity attempt's progress; everything that moves
// data finds it in the context (see addBytes, noteRows, progressStore).
type tracker struct {
	bytes, rows, items, of atomic.Int64
	// resume, when set, is a second heartbeat detail: where a retried
	// attempt picks up.
	resume atomic.Pointer[any]
}

func (t *tracker) snapshot() Progress {
	return Progress{Bytes: t.bytes.Load(), Rows: t.rows.Load(), Items: t.items.Load(), Of: t.of.Load()}
}

type trackerKey struct{}

func trackerOf(ctx context.Context) *tracker {
	t, _ := ctx.Value(trackerKey{}).(*tracker)
	return t
}

// addBytes counts n bytes moved by the activity running in ctx.
func addBytes(ctx context.Context, n int) {
	if t := trackerOf(ctx); t != nil && n > 0 {
		t.bytes.Add(int64(n))
	}
}

// noteRows records the row count the current step has reached.
func noteRows(ctx context.Context, rows int64) {
	if t := trackerOf(ctx); t != nil {
		t.rows.Store(rows)
	}
}

// heartbeatDetails is the one value each heartbeat records: Progress
// (its fields at the top level, so readers may decode just a Progress)
// and, for activities that resume, where a retry picks up.
type heartbeatDetails struct {
	Progress
	Resume any `json:"resume,omitempty"`
}

func (a *Activities) heartbeat(ctx context.Context, p Progress, resume *any) {
	if a.recordHeartbeat != nil {
		a.recordHeartbeat(ctx, p)
		return
	}
	d := heartbeatDetails{Progress: p}
	if resume != nil {
		d.Resume = *resume
	}
	activity.RecordHeartbeat(ctx, d)
}

// noteItems records items done out of of.
func noteItems(ctx context.Context, done, of int64) {
	if t := trackerOf(ctx); t != nil {
		t.items.Store(done)
		t.of.Store(of)
	}
}

// setResume sets (nil: clears) the detail a retried attempt resumes from.
func setResume(ctx context.Context, v any) {
	if t := trackerOf(ctx); t != nil {
		if v == nil {
			t.resume.Store(nil)
		} else {
			t.resume.Store(&v)
		}
	}
}

// trackerBytes is the byte count of the activity running in ctx.
func trackerBytes(ctx context.Context) int64 {
	if t := trackerOf(ctx); t != nil {
		return t.bytes.Load()
	}
	return 0
}

// stallTimeout is the configured stall timeout, or the default.
func (a *Activities) stallTimeout() time.Duration {
	if a.StallTimeout > 0 {
		return a.StallTimeout
	}
	return DefaultStallTimeout
}

// watch runs a long activity's heartbeats. Every heartbeat interval it
// records the attempt's Progress, for as long as something moved within
// the stall timeout; once nothing has moved for that long, it stops and
// cancels the returned context with a *StallError, so the hung read
// returns and the activity fails (retryably) instead of waiting for its
// start-to-close timeout. Should the hung call ignore cancellation, the
// missing heartbeats let the server's heartbeat timeout fail the attempt.
// A worker that dies stops heartbeating with it. Call stop when the
// activity returns.
func (a *Activities) watch(ctx context.Context) (_ context.Context, stop func()) {
	if trackerOf(ctx) != nil {
		// An activity calling another (ConvertSource falling back to
		// InferSchema): one watchdog, one count.
		return ctx, func() {}
	}
	t := &tracker{}
	ctx = context.WithValue(ctx, trackerKey{}, t)
	if !activity.IsActivity(ctx) {
		return ctx, func() {}
	}
	stall := a.stallTimeout()
	every := min(heartbeatInterval, stall/8)
	ctx, cancel := context.WithCancelCause(ctx)
	done := make(chan struct{})
	var wg sync.WaitGroup
	wg.Go(func() {
		tick := time.NewTicker(every)
		defer tick.Stop()
		last, moved := t.snapshot(), time.Now()
		for {
			select {
			case <-done:
				return
			case <-ctx.Done():
				return
			case now := <-tick.C:
				cur := t.snapshot()
				if cur != last {
					last, moved = cur, now
				}
				if idle := now.Sub(moved); idle >= stall {
					activity.GetLogger(ctx).Warn("activity stalled; cancelling it", "idle", idle, "bytes", cur.Bytes, "rows", cur.Rows)
					cancel(&StallError{Idle: idle, Progress: cur})
					return
				}
				a.heartbeat(ctx, cur, t.resume.Load())
			}
		}
	})
	return ctx, func() {
		close(done)
		wg.Wait()
		cancel(context.Canceled)
	}
}

// stalled replaces the error of an operation that failed because its
// context was cancelled by a stall with the *StallError (which carries
// the operation's own error in its message), so the activity fails with
// a message saying what happened instead of "context canceled".
func stalled(ctx context.Context, err error) error {
	if err == nil || ctx.Err() == nil {
		return err
	}
	var se *StallError
	if cause := context.Cause(ctx); errors.As(cause, &se) && !errors.Is(err, ErrStalled) {
		return fmt.Errorf("%w (%v)", se, err)
	}
	return err
}

// progressReader counts what is read through it as progress.
type progressReader struct {
	ctx context.Context
	r   io.Reader
}

func (p *progressReader) Read(b []byte) (int, error) {
	n, err := p.r.Read(b)
	addBytes(p.ctx, n)
	return n, stalled(p.ctx, err)
}

// progressWriter counts what is written through it (local spool files)
// as progress: writing a sorted shard or an index involves no lake I/O
// until its upload.
type progressWriter struct {
	ctx context.Context
	w   io.Writer
}

func (p *progressWriter) Write(b []byte) (int, error) {
	n, err := p.w.Write(b)
	addBytes(p.ctx, n)
	return n, err
}
