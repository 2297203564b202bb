// Package activities holds granary's Temporal activities: methods on one
// struct that owns the clients they need (the lake's object store), each
// taking one input struct and returning one output struct. Activities do
// all of granary's I/O; workflows only orchestrate them.
package activities

import (
	"context"
	"time"

	"github.com/granaryml/granary/internal/objstore"
	"github.com/granaryml/granary/internal/objstore/storeurl"
)

// Activities is registered with a worker; its exported methods are the
// activities. It holds no per-call state, so one value serves every
// concurrent activity execution.
type Activities struct {
	// Store is the lake's store. New wraps it so that every byte an
	// activity moves through it counts as that activity's progress (see
	// watch); set it through New.
	Store objstore.Store
	// Identity names this worker process (host and pid) in results and
	// provenance, so an operator can tell which machine did the work.
	Identity string
	// Clock overrides time.Now in tests; nil means the real clock.
	Clock func() time.Time
	// TempDir holds the files activities spool through; "" means the
	// system temp dir. Workers use a per-process directory (package
	// spool) so a killed worker's leftovers are swept by the next one.
	TempDir string
	// ServeURLs are serving endpoints to notify when a model alias moves
	// (GRANARY_SERVE_NOTIFY, comma separated); ServeToken authenticates.
	ServeURLs  []string
	ServeToken string
	// PrefixRows is how many rows of a CSV a schema-less import infers
	// from before converting (0: 100,000); tests make it small.
	PrefixRows int64
	// AllowedEndpoints are the S3 endpoints import sources (s3:// URLs) may
	// be read from with this worker's credentials; the zero value allows
	// none. Workers default it to the lake's own endpoint.
	AllowedEndpoints storeurl.Allowlist
	// StallTimeout fails a long activity that moved nothing for this long
	// (0: DefaultStallTimeout).
	StallTimeout time.Duration

	// recordHeartbeat replaces activity.RecordHeartbeat in tests, which
	// cannot see heartbeats the SDK throttles.
	recordHeartbeat func(context.Context, Progress)
}

// New returns the activities bound to a lake store.
func New(store objstore.Store, identity string) *Activities {
	return &Activities{Store: countProgress(store), Identity: identity}
}

// now is the wall clock for provenance and log entries. Activities may
// read it (workflows may not); it is a method so tests can pin it.
func (a *Activities) now() time.Time {
	if a.Clock != nil {
		return a.Clock().UTC()
	}
	return time.Now().UTC()
}
