package lake

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"time"

	"github.com/granaryml/granary/internal/objstore"
)

// Ref is the content of a ref (dataset alias or model alias). Seq counts
// moves; it names the log entry of each move, which makes the log
// gap-free and lets a retried move write its entry exactly once.
type Ref struct {
	Version string `json:"version"`
	Seq     int64  `json:"seq"`
	// Move is the move that set this value. The log entry is written
	// from it, by the mover or, if the mover died after its CAS, by the
	// next caller to touch the ref: either way the entry credits the move
	// that was made, never the caller that found it unlogged. Refs written
	// before granary kept it have none.
	Move *RefMove `json:"move,omitempty"`
}

// RefMove is one entry of a name's log: who moved which ref from where to
// where, and why.
type RefMove struct {
	Ref      string    `json:"ref"`
	Seq      int64     `json:"seq"`
	From     string    `json:"from,omitempty"`
	To       string    `json:"to"`
	At       time.Time `json:"at"`
	By       string    `json:"by,omitempty"`
	Reason   string    `json:"reason,omitempty"`
	Workflow string    `json:"workflow,omitempty"`
	// Recovered marks an entry rebuilt from a ref that did not record its
	// move (written by an older granary whose log write was lost): who
	// moved it, and why, is unknown; At is when the ref was written.
	Recovered bool `json:"recovered,omitempty"`
}

// MoveOptions describes one ref move.
type MoveOptions struct {
	Kind Kind
	Name string
	Ref  string
	To   string
	// Expect, when set, is the version the caller believes the ref points
	// at ("" with ExpectAbsent for a new ref); a different current value
	// fails with ErrConflict instead of overwriting someone else's move.
	Expect       string
	ExpectAbsent bool
	By           string
	Reason       string
	Workflow     string
	At           time.Time
}

// GetRef reads a ref; ErrNotFound if it does not exist.
func (l *Lake) GetRef(ctx context.Context, k Kind, name, ref string) (Ref, string, error) {
	r, info, err := l.getRef(ctx, k, name, ref)
	return r, info.ETag, err
}

func (l *Lake) getRef(ctx context.Context, k Kind, name, ref string) (Ref, objstore.ObjectInfo, error) {
	rc, info, err := l.store.Get(ctx, refKey(k, name, ref), objstore.GetOptions{})
	if errors.Is(err, objstore.ErrNotFound) {
		return Ref{}, info, fmt.Errorf("%w: %s %s has no ref %q", ErrNotFound, kindNoun(k), name, ref)
	}
	if err != nil {
		return Ref{}, info, err
	}
	defer rc.Close()
	var r Ref
	if err := json.NewDecoder(io.LimitReader(rc, 1<<20)).Decode(&r); err != nil {
		return Ref{}, info, fmt.Errorf("%w: ref %s/%s/%s: %v", ErrCorrupt, k, name, ref, err)
	}
	return r, info, nil
}

// MoveRef points a ref at a version by compare-and-swap and records the
// move in the log. Concurrent movers serialize: each CAS that loses
// re-reads and tries again, so every move lands and is logged once. It is
// idempotent: if the ref already points at To (a retried activity whose
// first attempt moved it), it only makes sure that move's log entry exists
// and returns it.
func (l *Lake) MoveRef(ctx context.Context, o MoveOptions) (RefMove, error) {
	if err := ValidateName(string(o.Kind), o.Name); err != nil {
		return RefMove{}, err
	}
	if err := ValidateName("ref", o.Ref); err != nil {
		return RefMove{}, err
	}
	if _, err := l.GetManifest(ctx, o.Kind, o.Name, o.To); err != nil {
		return RefMove{}, err
	}
	if o.At.IsZero() {
		o.At = l.now().UTC()
	}
	for attempt := 0; ; attempt++ {
		if err := ctx.Err(); err != nil {
			return RefMove{}, err
		}
		cur, info, err := l.getRef(ctx, o.Kind, o.Name, o.Ref)
		exists := err == nil
		if err != nil && !errors.Is(err, ErrNotFound) {
			return RefMove{}, err
		}
		var last RefMove
		if exists {
			// The move that set the current value may have lost its log
			// write (its mover died right after the CAS); log it now, from
			// the ref, before the ref moves on and the gap stays.
			if last, err = l.ensureLogged(ctx, o.Kind, o.Name, o.Ref, cur, info); err != nil {
				return RefMove{}, err
			}
		}
		if exists && cur.Version == o.To {
			return last, nil
		}
		if o.ExpectAbsent && exists {
			return RefMove{}, fmt.Errorf("%w: ref %s@%s already exists (points at %s)", ErrConflict, o.Name, o.Ref, ShortID(cur.Version))
		}
		if o.Expect != "" && (!exists || cur.Version != o.Expect) {
			return RefMove{}, fmt.Errorf("%w: ref %s@%s points at %s, not the expected %s (moved by someone else; re-read it or use --force)", ErrConflict, o.Name, o.Ref, ShortID(cur.Version), ShortID(o.Expect))
		}
		mv := RefMove{Ref: o.Ref, Seq: cur.Seq + 1, From: cur.Version, To: o.To, At: o.At, By: o.By, Reason: o.Reason, Workflow: o.Workflow}
		b, _ := json.Marshal(Ref{Version: o.To, Seq: mv.Seq, Move: &mv})
		if exists {
			_, err = l.store.CompareAndSwap(ctx, refKey(o.Kind, o.Name, o.Ref), info.ETag, bytes.NewReader(b), int64(len(b)))
		} else {
			_, err = l.store.PutIfAbsent(ctx, refKey(o.Kind, o.Name, o.Ref), bytes.NewReader(b), int64(len(b)))
		}
		if errors.Is(err, objstore.ErrPreconditionFailed) || errors.Is(err, objstore.ErrAlreadyExists) || errors.Is(err, objstore.ErrNotFound) {
			backoff(ctx, attempt)
			continue // lost a race: re-read and decide again
		}
		if err != nil {
			return RefMove{}, err
		}
		return mv, l.appendLog(ctx, o.Kind, o.Name, mv)
	}
}

// ensureLogged returns the log entry of the move that set cur, writing it
// from the ref if it is missing.
func (l *Lake) ensureLogged(ctx context.Context, k Kind, name, ref string, cur Ref, info objstore.ObjectInfo) (RefMove, error) {
	key := logKey(k, name, ref, cur.Seq)
	if existing, err := l.readMove(ctx, key); err == nil {
		return existing, nil
	} else if !errors.Is(err, ErrNotFound) {
		return RefMove{}, err
	}
	var mv RefMove
	if cur.Move != nil && cur.Move.Seq == cur.Seq && cur.Move.To == cur.Version {
		mv = *cur.Move
		mv.Ref = ref
	} else {
		mv = RefMove{Ref: ref, Seq: cur.Seq, To: cur.Version, At: info.ModTime.UTC(), Recovered: true}
		if cur.Seq > 1 {
			if prev, err := l.readMove(ctx, logKey(k, name, ref, cur.Seq-1)); err == nil {
				mv.From = prev.To
			}
		}
	}
	if err := l.appendLog(ctx, k, name, mv); err != nil {
		return RefMove{}, err
	}
	// A concurrent caller may have written the entry first; theirs and
	// ours describe the same move, but return what the log holds.
	return l.readMove(ctx, key)
}

func (l *Lake) appendLog(ctx context.Context, k Kind, name string, mv RefMove) error {
	b, _ := json.Marshal(mv)
	_, err := l.store.PutIfAbsent(ctx, logKey(k, name, mv.Ref, mv.Seq), bytes.NewReader(b), int64(len(b)))
	if errors.Is(err, objstore.ErrAlreadyExists) {
		return nil
	}
	return err
}

func (l *Lake) readMove(ctx context.Context, key string) (RefMove, error) {
	rc, _, err := l.store.Get(ctx, key, objstore.GetOptions{})
	if errors.Is(err, objstore.ErrNotFound) {
		return RefMove{}, ErrNotFound
	}
	if err != nil {
		return RefMove{}, err
	}
	defer rc.Close()
	var mv RefMove
	if err := json.NewDecoder(io.LimitReader(rc, 1<<20)).Decode(&mv); err != nil {
		return RefMove{}, fmt.Errorf("%w: %s: %v", ErrCorrupt, key, err)
	}
	return mv, nil
}

// Log returns every ref move of a name, oldest first.
func (l *Lake) Log(ctx context.Context, k Kind, name string) ([]RefMove, error) {
	var out []RefMove
	for o, err := range objstore.All(ctx, l.store, logPrefix(k, name)) {
		if err != nil {
			return nil, err
		}
		mv, err := l.readMove(ctx, o.Key)
		if err != nil {
			return nil, err
		}
		out = append(out, mv)
	}
	sortMoves(out)
	return out, nil
}

func backoff(ctx context.Context, attempt int) {
	d := time.Duration(1<<min(attempt, 6)) * time.Millisecond
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
	case <-t.C:
	}
}
