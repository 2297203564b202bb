package lake

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/granaryml/granary/internal/objstore"
)

// GCOptions controls garbage collection.
type GCOptions struct {
	// Grace protects recent blobs: a blob written, or held by a writer
	// (see HoldBlobs), within Grace of Now is kept even if no manifest
	// names it yet. The CLI defaults to 24h. It must be at least
	// MinGCGrace unless Force is set.
	Grace time.Duration
	// Force accepts a Grace shorter than MinGCGrace, at the risk of
	// collecting what a running workflow still needs (a test lake, or one
	// with no workflow running). A dry run deletes nothing and needs none.
	Force  bool
	DryRun bool
	Now    time.Time
}

// GCResult reports what GC found and did.
type GCResult struct {
	Scanned    int `json:"scanned"`
	Referenced int `json:"referenced"`
	// TooRecent counts unreferenced blobs kept because they were written
	// or held within the grace period.
	TooRecent    int      `json:"too_recent"`
	Deleted      int      `json:"deleted"`
	DeletedBytes int64    `json:"deleted_bytes"`
	Candidates   []Digest `json:"candidates,omitempty"`
	// Deferred counts candidates left for the next run because a sweep
	// ran out of its time budget (a slow store).
	Deferred int  `json:"deferred,omitempty"`
	DryRun   bool `json:"dry_run"`
}

// ErrGraceTooShort: see GCOptions.Force.
var ErrGraceTooShort = errors.New("gc grace period too short")

// sweepBatch is how many blobs one sweep record announces: small enough
// that a sweep ends well within sweepBudget, and writers waiting on it wait
// little.
const sweepBatch = 100

// GC deletes blobs that no manifest references, that were last written
// more than Grace ago and that no writer holds. Manifests, refs, logs and
// provenance are never touched: versions are immutable and GC only removes
// what no version can reach.
//
// GC is safe to run at any time, concurrently with commits, running
// workflows and other GCs:
//
//   - A blob named by a manifest that exists when GC lists the manifests is
//     live. Manifests that land later were written by CommitManifest, which
//     held their blobs first.
//   - A writer relying on a blob it did not just write holds it (PutBlob's
//     and Spool.Commit's dedup, CommitManifest, activities reading scratch
//     files). GC announces each batch in a sweep record, then reads the pin
//     records, then re-checks each blob's modification time, and deletes
//     only within sweepBudget of the announcement. A holder pins, then
//     looks for sweeps naming its blobs, then checks they exist: either GC
//     reads the pin (and spares the blob) or the holder sees the sweep
//     (and waits for it, then finds the blob or learns it is gone). A hold
//     lasts HoldFor, which Grace >= MinGCGrace covers with MaxClockSkew to
//     spare.
//   - A fresh write needs no pin: its modification time is within the
//     grace period. A writer that wrote while a sweep naming its blob was
//     under way re-checks after it (see storeBlob).
//
// What this assumes: a store whose listings and reads see every completed
// write (S3 and MinIO are strongly consistent; so is the file store), clocks
// within MaxClockSkew of each other, and no process that stalls between
// its check and its write for longer than sweepStale (GC) or HoldFor (a
// writer).
func (l *Lake) GC(ctx context.Context, o GCOptions) (GCResult, error) {
	if o.Grace < 0 || (o.Grace < MinGCGrace && !o.Force && !o.DryRun) {
		return GCResult{}, fmt.Errorf("%w: %s is shorter than %s, the longest an activity may rely on a blob it has not committed yet (force it only when no workflow is running)", ErrGraceTooShort, o.Grace, MinGCGrace)
	}
	if o.Now.IsZero() {
		o.Now = l.now()
	}
	cutoff := o.Now.Add(-o.Grace)
	res := GCResult{DryRun: o.DryRun}
	seen := map[string]bool{}
	live := map[Digest]bool{}
	if err := l.liveBlobs(ctx, live, seen); err != nil {
		return res, err
	}
	pins := &pinSet{read: map[string]bool{}, held: map[Digest]bool{}}
	if err := l.readPins(ctx, cutoff, pins); err != nil {
		return res, err
	}
	var candidates []objstore.ObjectInfo
	for obj, err := range objstore.All(ctx, l.store, BlobsPrefix) {
		if err != nil {
			return res, err
		}
		res.Scanned++
		d, ok := DigestFromBlobKey(obj.Key)
		if !ok || live[d] {
			continue
		}
		if !obj.ModTime.Before(cutoff) || pins.held[d] {
			res.TooRecent++
			continue
		}
		candidates = append(candidates, obj)
	}
	// Manifests committed while we listed: their writers held their blobs,
	// but one that does not hold (an older granary) is caught here.
	if err := l.liveBlobs(ctx, live, seen); err != nil {
		return res, err
	}
	res.Referenced = len(live)
	kept := candidates[:0]
	for _, c := range candidates {
		if d, _ := DigestFromBlobKey(c.Key); !live[d] {
			kept = append(kept, c)
			res.Candidates = append(res.Candidates, d)
		}
	}
	candidates = kept
	if o.DryRun {
		return res, nil
	}
	for len(candidates) > 0 {
		n := min(sweepBatch, len(candidates))
		if err := l.sweep(ctx, candidates[:n], cutoff, pins, &res); err != nil {
			return res, err
		}
		candidates = candidates[n:]
	}
	return res, l.removeStaleRecords(ctx, pins.stale)
}

// sweep deletes one batch of candidates that are still unreferenced,
// unheld and old once the batch has been announced.
func (l *Lake) sweep(ctx context.Context, batch []objstore.ObjectInfo, cutoff time.Time, pins *pinSet, res *GCResult) (err error) {
	ds := make([]Digest, len(batch))
	for i, c := range batch {
		ds[i], _ = DigestFromBlobKey(c.Key)
	}
	// The budget runs from before the announcement can be visible, so a
	// holder that judges it by the record's time never waits too little.
	start := l.now()
	key := l.recordKey(sweepsPrefix)
	if err := l.putRecord(ctx, key, ds); err != nil {
		return fmt.Errorf("announce sweep: %w", err)
	}
	defer func() {
		// Holders wait while the record exists: remove it even when the
		// sweep was cancelled.
		derr := l.store.Delete(context.WithoutCancel(ctx), key)
		err = errors.Join(err, derr)
	}()
	if err := l.readPins(ctx, cutoff, pins); err != nil {
		return err
	}
	for i, d := range ds {
		if pins.held[d] {
			res.TooRecent++
			continue
		}
		info, err := l.store.Stat(ctx, BlobKey(d))
		if errors.Is(err, objstore.ErrNotFound) {
			continue // another gc took it
		}
		if err != nil {
			return err
		}
		if !info.ModTime.Before(cutoff) {
			res.TooRecent++ // rewritten meanwhile
			continue
		}
		if l.now().Sub(start) > sweepBudget {
			res.Deferred += len(ds) - i
			return nil
		}
		if err := l.store.Delete(ctx, BlobKey(d)); err != nil {
			return err
		}
		res.Deleted++
		res.DeletedBytes += info.Size
	}
	return nil
}

// pinSet accumulates the pin records GC has read.
type pinSet struct {
	read  map[string]bool
	held  map[Digest]bool
	stale []string // records older than the grace period: their holds ended
}

// readPins reads the pin records not read yet. A record written within
// the grace period holds its digests.
func (l *Lake) readPins(ctx context.Context, cutoff time.Time, p *pinSet) error {
	for o, err := range objstore.All(ctx, l.store, pinsPrefix) {
		if err != nil {
			return err
		}
		if p.read[o.Key] {
			continue
		}
		p.read[o.Key] = true
		if o.ModTime.Before(cutoff) {
			p.stale = append(p.stale, o.Key)
			continue
		}
		r, err := l.readRecord(ctx, o.Key)
		if errors.Is(err, objstore.ErrNotFound) {
			continue // another gc found it stale
		}
		if err != nil {
			// An unreadable pin might be all that holds some blob.
			return err
		}
		for _, d := range r.Digests {
			p.held[d] = true
		}
	}
	return nil
}

// removeStaleRecords deletes pin records whose holds have ended (no
// writer rewrites a record, so stale stays stale) and sweep records of
// gcs that died mid-sweep.
func (l *Lake) removeStaleRecords(ctx context.Context, pins []string) error {
	for _, k := range pins {
		if err := l.store.Delete(ctx, k); err != nil {
			return err
		}
	}
	for o, err := range objstore.All(ctx, l.store, sweepsPrefix) {
		if err != nil {
			return err
		}
		if l.now().Sub(o.ModTime) > sweepStale {
			if err := l.store.Delete(ctx, o.Key); err != nil {
				return err
			}
		}
	}
	return nil
}

// liveBlobs adds every digest named by a dataset, model, spec or serving
// index manifest not in seen to live, and the manifests' keys to seen.
func (l *Lake) liveBlobs(ctx context.Context, live map[Digest]bool, seen map[string]bool) error {
	for _, k := range []Kind{KindDataset, KindModel, KindSpec, KindIndex} {
		prefix := string(k) + "/"
		for obj, err := range objstore.All(ctx, l.store, prefix) {
			if err != nil {
				return err
			}
			parts := strings.Split(strings.TrimPrefix(obj.Key, prefix), "/")
			if len(parts) != 3 || parts[1] != "versions" || !strings.HasSuffix(parts[2], ".json") || seen[obj.Key] {
				continue
			}
			m, err := l.GetManifest(ctx, k, parts[0], strings.TrimSuffix(parts[2], ".json"))
			if err != nil {
				// Refuse to collect anything while a manifest is unreadable
				// (ErrCorrupt included): it might be the only thing
				// referencing some blob.
				return err
			}
			seen[obj.Key] = true
			for _, f := range m.Files {
				live[f.Digest] = true
			}
			if m.Artifact != nil {
				live[m.Artifact.Digest] = true
			}
			for _, in := range m.Inputs {
				if in.Digest != "" {
					live[in.Digest] = true
				}
			}
		}
	}
	return nil
}
