package activities

import (
	"context"
	"sync/atomic"
	"time"

	"github.com/granaryml/granary/internal/lake"
	"github.com/granaryml/granary/internal/objstore"
)

// maxGCCandidatesReported bounds the digests a GC result carries: the
// result is a workflow payload (2 MB at most), and a lake with many
// orphans would exceed it. The counts stay exact.
const maxGCCandidatesReported = 1000

// GCInput asks to collect unreferenced blobs (see lake.GCOptions).
type GCInput struct {
	Grace time.Duration `json:"grace"`
	Force bool          `json:"force,omitempty"`
}

// GCResult is lake's report, with the candidates' digests cut to
// maxGCCandidatesReported.
type GCResult struct {
	lake.GCResult
	CandidatesOmitted int `json:"candidates_omitted,omitempty"`
}

// GC deletes the blobs no manifest references and no writer holds, older
// than the grace period. It heartbeats on every completed lake call: gc
// lists, stats and deletes far more than it reads, and the stall watchdog
// would otherwise take a long listing for a hung one. A retry starts over,
// which is safe: gc is idempotent.
func (a *Activities) GC(ctx context.Context, in GCInput) (GCResult, error) {
	ctx, stop := a.watch(ctx)
	defer stop()
	res, err := lake.New(&callCountingStore{Store: a.Store}).GC(ctx, lake.GCOptions{Grace: in.Grace, Force: in.Force})
	out := GCResult{GCResult: res}
	if n := len(out.Candidates); n > maxGCCandidatesReported {
		out.Candidates, out.CandidatesOmitted = out.Candidates[:maxGCCandidatesReported], n-maxGCCandidatesReported
	}
	return out, toTemporal(err)
}

// callCountingStore counts completed metadata calls (objects listed,
// stats, deletes) as the activity's progress items.
type callCountingStore struct {
	objstore.Store
	calls atomic.Int64
}

func (s *callCountingStore) note(ctx context.Context, n int) {
	noteItems(ctx, s.calls.Add(int64(n)), 0)
}

func (s *callCountingStore) List(ctx context.Context, o objstore.ListOptions) (objstore.ListPage, error) {
	page, err := s.Store.List(ctx, o)
	if err == nil {
		s.note(ctx, len(page.Objects)+1)
	}
	return page, err
}

func (s *callCountingStore) Stat(ctx context.Context, key string) (objstore.ObjectInfo, error) {
	info, err := s.Store.Stat(ctx, key)
	if err == nil {
		s.note(ctx, 1)
	}
	return info, err
}

func (s *callCountingStore) Delete(ctx context.Context, key string) error {
	err := s.Store.Delete(ctx, key)
	if err == nil {
		s.note(ctx, 1)
	}
	return err
}
