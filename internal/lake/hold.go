package lake

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/granaryml/granary/internal/objstore"
)

// How writers and gc agree on which blobs may go (see gc.go for the whole
// argument):
//
//   - A writer that relies on a blob it did not just write (a dedup skip, a
//     blob it is about to name in a manifest, a scratch file an activity is
//     about to read) first writes a pin record naming it, then waits out any
//     sweep that names it, then checks the blob is still there. From then on
//     the blob is safe for HoldFor.
//   - gc announces each batch it is about to delete in a sweep record, then
//     reads the pin records and re-checks each blob, and deletes only blobs
//     that are neither pinned nor modified within the grace period, within
//     sweepBudget of the announcement.
//
// Either the writer's pin is written before gc reads the pins (gc spares
// the blob), or the writer's look at the sweeps comes after gc announced
// its batch (the writer waits for the sweep to end and then finds the blob
// either present, and safe, or gone, and uploads it again or fails). A
// fresh upload needs no pin: its own modification time protects it.
const (
	// LongestActivity is the longest start-to-close timeout of any granary
	// activity. An activity holds the blobs it reads when it starts, so a
	// hold must last this long.
	LongestActivity = 6 * time.Hour
	// MaxClockSkew is how far the clocks of workers, the gc host and the
	// object store may disagree.
	MaxClockSkew = 5 * time.Minute
	// HoldFor is how long a hold (or a fresh write) protects a blob.
	HoldFor = LongestActivity
	// MinGCGrace is the shortest grace period gc accepts without Force: a
	// shorter one could collect a blob a running activity still holds.
	MinGCGrace = HoldFor + MaxClockSkew

	pinsPrefix   = "_granary/pins/"
	sweepsPrefix = "_granary/gc/sweeps/"

	// sweepBudget bounds how long after announcing a batch gc may still
	// delete from it; sweepStale is when a writer stops waiting for a sweep
	// (its gc must have died), which must exceed the budget by more than
	// the clock skew.
	sweepBudget = 30 * time.Second
	sweepStale  = sweepBudget + 2*MaxClockSkew
)

// ErrCollected means a blob the caller relied on was removed by gc, which
// happens when a workflow outlives the gc grace period between making a
// blob and using it. It wraps ErrNotFound.
var ErrCollected = fmt.Errorf("%w: blob collected by gc", ErrNotFound)

// digestRecord is the content of a pin record and of a sweep record.
type digestRecord struct {
	Digests []Digest `json:"digests"`
}

// recordKey names a new pin or sweep record. Keys sort by creation time,
// so listings (and the order in which gc reads them) follow the clock.
func (l *Lake) recordKey(prefix string) string {
	var b [6]byte
	rand.Read(b[:])
	return fmt.Sprintf("%s%020d-%08d-%s.json", prefix, l.now().UnixNano(), l.seq.Add(1), hex.EncodeToString(b[:]))
}

func (l *Lake) putRecord(ctx context.Context, key string, ds []Digest) error {
	b, err := json.Marshal(digestRecord{Digests: ds})
	if err != nil {
		return err
	}
	_, err = l.store.PutIfAbsent(ctx, key, bytes.NewReader(b), int64(len(b)))
	return err
}

func (l *Lake) readRecord(ctx context.Context, key string) (digestRecord, error) {
	rc, _, err := l.store.Get(ctx, key, objstore.GetOptions{})
	if err != nil {
		return digestRecord{}, err
	}
	defer rc.Close()
	var r digestRecord
	if err := json.NewDecoder(io.LimitReader(rc, 64<<20)).Decode(&r); err != nil {
		return digestRecord{}, fmt.Errorf("%w: %s: %v", ErrCorrupt, key, err)
	}
	return r, nil
}

// HoldBlobs protects blobs the caller is about to rely on (read in an
// activity, or name in a manifest) from gc for HoldFor, and fails with
// ErrCollected if any of them is already gone.
func (l *Lake) HoldBlobs(ctx context.Context, ds ...Digest) error {
	return l.hold(ctx, ds, nil)
}

// hold pins required and optional digests, waits out sweeps naming them,
// then checks that every required blob exists. Optional digests may not
// be blobs at all (a model's artifact digest hashes its file list), so
// only their pins matter.
func (l *Lake) hold(ctx context.Context, required, optional []Digest) error {
	all := uniqueDigests(append(slices.Clone(required), optional...))
	if len(all) == 0 {
		return nil
	}
	if err := l.putRecord(ctx, l.recordKey(pinsPrefix), all); err != nil {
		return fmt.Errorf("pin blobs: %w", err)
	}
	if _, err := l.waitSweeps(ctx, all); err != nil {
		return err
	}
	missing, err := l.missingBlobs(ctx, uniqueDigests(required))
	if err != nil {
		return err
	}
	if len(missing) > 0 {
		return fmt.Errorf("%w (the gc grace period is shorter than the work that needed it): %s", ErrCollected, strings.Join(missing, ", "))
	}
	return nil
}

// missingBlobs stats ds, l.parallel at a time (a version can have a
// thousand files, and a HEAD on S3 takes milliseconds), and returns the
// absent ones in ds's order.
func (l *Lake) missingBlobs(ctx context.Context, ds []Digest) ([]string, error) {
	absent := make([]bool, len(ds))
	errs := make([]error, len(ds))
	next := make(chan int)
	var wg sync.WaitGroup
	for range min(l.parallel, len(ds)) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range next {
				_, err := l.store.Stat(ctx, BlobKey(ds[i]))
				if errors.Is(err, objstore.ErrNotFound) {
					absent[i] = true
				} else {
					errs[i] = err
				}
			}
		}()
	}
	for i := range ds {
		if ctx.Err() != nil {
			break
		}
		next <- i
	}
	close(next)
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	var missing []string
	for i, a := range absent {
		if a {
			missing = append(missing, string(ds[i]))
		}
	}
	return missing, nil
}

// waitSweeps returns once no live sweep names any of ds. waited tells the
// caller that a sweep was under way, so a blob it saw before may be gone.
func (l *Lake) waitSweeps(ctx context.Context, ds []Digest) (waited bool, err error) {
	want := make(map[Digest]bool, len(ds))
	for _, d := range ds {
		want[d] = true
	}
	delay := 50 * time.Millisecond
	for {
		busy, err := l.sweepNames(ctx, want)
		if err != nil || !busy {
			return waited, err
		}
		waited = true
		l.sleep(ctx, delay)
		if err := ctx.Err(); err != nil {
			return waited, err
		}
		delay = min(2*delay, 2*time.Second)
	}
}

// sweepNames reports whether a live sweep record names one of want.
func (l *Lake) sweepNames(ctx context.Context, want map[Digest]bool) (bool, error) {
	for o, err := range objstore.All(ctx, l.store, sweepsPrefix) {
		if err != nil {
			return false, err
		}
		if l.now().Sub(o.ModTime) > sweepStale {
			continue // its gc died; gc removes it
		}
		r, err := l.readRecord(ctx, o.Key)
		if errors.Is(err, objstore.ErrNotFound) {
			continue // that sweep just ended
		}
		if errors.Is(err, ErrCorrupt) {
			return true, nil // cannot tell what it covers: wait until it goes stale
		}
		if err != nil {
			return false, err
		}
		for _, d := range r.Digests {
			if want[d] {
				return true, nil
			}
		}
	}
	return false, nil
}

func uniqueDigests(ds []Digest) []Digest {
	out := slices.DeleteFunc(slices.Clone(ds), func(d Digest) bool { return d == "" })
	slices.Sort(out)
	return slices.Compact(out)
}

// holdManifestBlobs holds every blob m names until its manifest is
// written, so no gc can remove one between the check and the commit: a
// version never names a blob that is gone. A spec's artifact is its blob;
// a model's artifact digest hashes its file list and input digests may be
// spec digests, so those are only pinned, not required.
func (l *Lake) holdManifestBlobs(ctx context.Context, m *Manifest) error {
	var required, optional []Digest
	for _, f := range m.Files {
		required = append(required, f.Digest)
	}
	if m.Artifact != nil {
		if len(m.Files) == 0 {
			required = append(required, m.Artifact.Digest)
		} else {
			optional = append(optional, m.Artifact.Digest)
		}
	}
	for _, in := range m.Inputs {
		optional = append(optional, in.Digest)
	}
	return l.hold(ctx, required, optional)
}

// Digests lists the blobs of files, for HoldBlobs.
func Digests(files []File) []Digest {
	out := make([]Digest, len(files))
	for i, f := range files {
		out[i] = f.Digest
	}
	return out
}
