package activities

import (
	"context"
	"io"
	"time"

	"go.temporal.io/sdk/activity"
)

// heartbeatInterval keeps heartbeats well inside the workflows' 20-second
// heartbeat timeout without flooding the server.
const heartbeatInterval = 3 * time.Second

// heartbeat records progress details at most every heartbeatInterval, and
// only inside an activity (plain unit tests call methods directly).
type heartbeat struct {
	ctx  context.Context
	last time.Time
}

func (h *heartbeat) beat(details ...any) {
	if !activity.IsActivity(h.ctx) || time.Since(h.last) < heartbeatInterval {
		return
	}
	h.last = time.Now()
	activity.RecordHeartbeat(h.ctx, details...)
}

// heartbeatReader heartbeats with the byte count while a copy streams.
type heartbeatReader struct {
	ctx context.Context
	r   io.Reader
	n   int64
	hb  heartbeat
}

func (h *heartbeatReader) Read(p []byte) (int, error) {
	n, err := h.r.Read(p)
	h.n += int64(n)
	h.hb.ctx = h.ctx
	h.hb.beat(h.n)
	return n, err
}

// keepAlive heartbeats every heartbeatInterval until the returned stop is
// called, so a step with no natural progress points (sorting a shard in
// memory, uploading a large blob, hashing an artifact) is never mistaken
// for a dead worker by the 20 s heartbeat timeout. A worker that really
// dies stops heartbeating with it.
func keepAlive(ctx context.Context) (stop func()) {
	if !activity.IsActivity(ctx) {
		return func() {}
	}
	done := make(chan struct{})
	go func() {
		t := time.NewTicker(heartbeatInterval)
		defer t.Stop()
		for {
			select {
			case <-done:
				return
			case <-ctx.Done():
				return
			case <-t.C:
				activity.RecordHeartbeat(ctx)
			}
		}
	}()
	return func() { close(done) }
}
