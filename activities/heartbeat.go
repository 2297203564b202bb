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
