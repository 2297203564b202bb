package activities

import (
	"bytes"
	"context"
	"crypto/rand"
	"fmt"
	"io"
	"time"

	"github.com/granaryml/granary/internal/objstore"
)

// LakeCheckInput asks for one write/read/delete round trip in the lake.
type LakeCheckInput struct {
	// Probe names the probe object; the workflow passes its own id so a
	// retried attempt overwrites the same key instead of leaking objects.
	Probe string
	Bytes int
}

// LakeCheckResult reports what the round trip saw and how long each step
// took, so operators can tell a slow lake from a broken one.
type LakeCheckResult struct {
	Store        string  `json:"store"`
	Key          string  `json:"key"`
	Bytes        int     `json:"bytes"`
	WriteMillis  float64 `json:"write_ms"`
	ReadMillis   float64 `json:"read_ms"`
	DeleteMillis float64 `json:"delete_ms"`
	Worker       string  `json:"worker,omitempty"`
}

// LakeCheckPrefix is where probes live; nothing else uses it, so a probe
// left behind by a crashed attempt can never be mistaken for data.
const LakeCheckPrefix = "_granary/lakecheck/"

// LakeCheck writes random bytes, reads them back, compares and deletes.
func (a *Activities) LakeCheck(ctx context.Context, in LakeCheckInput) (LakeCheckResult, error) {
	if in.Bytes <= 0 {
		in.Bytes = 4096
	}
	if in.Bytes > 64<<20 {
		return LakeCheckResult{}, toTemporal(fmt.Errorf("%w: lake check payload %d bytes is over 64 MiB", objstore.ErrInvalidKey, in.Bytes))
	}
	key := LakeCheckPrefix + in.Probe
	if err := objstore.ValidateKey(key); err != nil {
		return LakeCheckResult{}, toTemporal(err)
	}
	payload := make([]byte, in.Bytes)
	if _, err := rand.Read(payload); err != nil {
		return LakeCheckResult{}, err
	}
	res := LakeCheckResult{Store: a.Store.String(), Key: key, Bytes: in.Bytes, Worker: a.Identity}

	start := time.Now()
	if _, err := a.Store.Put(ctx, key, bytes.NewReader(payload), int64(len(payload))); err != nil {
		return res, toTemporal(fmt.Errorf("lake check write: %w", err))
	}
	res.WriteMillis = millisSince(start)

	start = time.Now()
	rc, _, err := a.Store.Get(ctx, key, objstore.GetOptions{})
	if err != nil {
		return res, toTemporal(fmt.Errorf("lake check read: %w", err))
	}
	got, err := io.ReadAll(rc)
	rc.Close()
	if err != nil {
		return res, fmt.Errorf("lake check read: %w", err)
	}
	res.ReadMillis = millisSince(start)
	if !bytes.Equal(got, payload) {
		// Retryable on purpose: a torn read is a storage fault, not bad input.
		return res, fmt.Errorf("lake check: read back %d bytes that differ from the %d written to %s", len(got), len(payload), key)
	}

	start = time.Now()
	if err := a.Store.Delete(ctx, key); err != nil {
		return res, toTemporal(fmt.Errorf("lake check delete: %w", err))
	}
	res.DeleteMillis = millisSince(start)
	return res, nil
}

func millisSince(t time.Time) float64 {
	return float64(time.Since(t).Microseconds()) / 1000
}
