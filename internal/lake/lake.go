// Package lake is granary's versioned, content-addressed layout on top of
// an objstore.Store:
//
//	objects/sha256/ab/<64 hex>              immutable blobs
//	datasets/<name>/versions/<id>.json      immutable manifests (PutIfAbsent)
//	datasets/<name>/runs/<id>/<run>.json    provenance, unhashed
//	datasets/<name>/refs/<alias>            {"version": id, "seq": n} moved by CAS only
//	datasets/<name>/log/<alias>/<seq>.json  one entry per ref move (PutIfAbsent)
//
// Commit protocol: write blobs, PutIfAbsent the manifest, then CAS the
// ref. Readers only follow refs and manifests, so a crash at any point
// leaves no half-visible version; orphan blobs are removed by GC.
package lake

import (
	"context"
	"fmt"
	"regexp"
	"sync/atomic"
	"time"

	"github.com/granaryml/granary/internal/objstore"
)

// Lake is a handle on one lake. It is safe for concurrent use.
type Lake struct {
	store objstore.Store
	now   func() time.Time
	sleep func(context.Context, time.Duration)
	seq   atomic.Uint64 // orders the pin and sweep records this handle writes
	// parallel bounds the store requests one call makes at once.
	parallel int
}

// Options configures NewWithOptions. Only tests need it: the gc race test
// runs writers and gc on a clock it controls.
type Options struct {
	// Now is the lake's clock (nil: time.Now). Blob holds and gc compare
	// it with the store's modification times.
	Now func() time.Time
	// Sleep waits between polls of a sweep in progress (nil: a timer).
	Sleep func(context.Context, time.Duration)
	// Parallel bounds the store requests one call makes at once (0: 16).
	// The race test sets 1, so that every interleaving is reproducible.
	Parallel int
}

// New returns the lake stored in s.
func New(s objstore.Store) *Lake { return NewWithOptions(s, Options{}) }

// NewWithOptions returns the lake stored in s, with a clock of the
// caller's choosing.
func NewWithOptions(s objstore.Store, o Options) *Lake {
	l := &Lake{store: s, now: o.Now, sleep: o.Sleep, parallel: o.Parallel}
	if l.parallel <= 0 {
		l.parallel = 16
	}
	if l.now == nil {
		l.now = time.Now
	}
	if l.sleep == nil {
		l.sleep = sleepCtx
	}
	return l
}

func sleepCtx(ctx context.Context, d time.Duration) {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
	case <-t.C:
	}
}

// Store exposes the underlying object store (for streaming blob reads).
func (l *Lake) Store() objstore.Store { return l.store }

// Kind separates the two versioned namespaces; they share every mechanism.
type Kind string

const (
	KindDataset Kind = "datasets"
	KindModel   Kind = "models"
	// KindSpec versions feature specs: one name per project, each version's
	// artifact is the spec file as applied; refs/latest is the registry.
	KindSpec Kind = "specs"
	// KindIndex versions materialized serving indexes: one name per
	// feature view, files are online index shards (package online).
	KindIndex Kind = "indexes"
)

var namePattern = regexp.MustCompile(`^[a-z0-9][a-z0-9_.-]{0,127}$`)

// ValidateName checks a dataset, model or alias name. Names become key
// segments, so the pattern excludes '/', '..' and anything that would need
// escaping in a URL or shell.
func ValidateName(what, name string) error {
	if !namePattern.MatchString(name) || name == "." || name == ".." || containsDotDot(name) {
		return fmt.Errorf("%w: %s %q must be 1-128 characters of a-z, 0-9, '_', '.', '-', starting with a letter or digit", ErrInvalidName, what, name)
	}
	return nil
}

func containsDotDot(s string) bool {
	for i := 0; i+1 < len(s); i++ {
		if s[i] == '.' && s[i+1] == '.' {
			return true
		}
	}
	return false
}

func versionKey(k Kind, name, id string) string {
	return fmt.Sprintf("%s/%s/versions/%s.json", k, name, id)
}

func versionsPrefix(k Kind, name string) string {
	return fmt.Sprintf("%s/%s/versions/", k, name)
}

func refKey(k Kind, name, alias string) string {
	return fmt.Sprintf("%s/%s/refs/%s", k, name, alias)
}

func logPrefix(k Kind, name string) string {
	return fmt.Sprintf("%s/%s/log/", k, name)
}

func logKey(k Kind, name, alias string, seq int64) string {
	return fmt.Sprintf("%s%s/%012d.json", logPrefix(k, name), alias, seq)
}

func runKey(k Kind, name, id, run string) string {
	return fmt.Sprintf("%s/%s/runs/%s/%s.json", k, name, id, run)
}
