package pitjoin

import (
	"context"
	"errors"
	"fmt"
	"hash/maphash"
	"math"
	"runtime"
	"time"

	"github.com/granaryml/granary/features"
	"github.com/granaryml/granary/internal/tabular"
)

var (
	// ErrInvalid matches errors about the inputs' shape: column indexes,
	// types, feature definitions, selections.
	ErrInvalid = errors.New("pitjoin: invalid input")
	// ErrUnsorted matches a view whose events are not sorted by (join
	// keys, timestamp), or that has a null join key or timestamp.
	ErrUnsorted = errors.New("pitjoin: events not sorted by (keys, timestamp)")
	// ErrOverflow matches an int64 sum whose window total does not fit
	// an int64.
	ErrOverflow = errors.New("pitjoin: int64 sum out of range")
)

// ViewInput is one feature view's shard.
type ViewInput struct {
	// Name prefixes the output columns: Name + "__" + feature name.
	Name string
	// Features are the view's aggregated and derived features, in spec
	// order.
	Features []features.Feature
	// TTL, when positive, makes a feature null when the newest row in its
	// window is ttl or more older than the spine row (ts <= t - ttl).
	TTL time.Duration
	// Events holds the join keys, the timestamp and the aggregated
	// columns, sorted by (keys, timestamp), ties in source order
	// (extraction's shard.SortOrder), with no null key or timestamp.
	Events  *tabular.Table
	KeyCols []int // join key columns in Events
	TimeCol int   // timestamp column in Events
	// SpineKeyCols are the same keys' columns in the spine, same order
	// and types.
	SpineKeyCols []int
	// Selected names the features to output, in output order; nil means
	// all of them in spec order. Derived features may read unselected
	// ones, which are computed but not output.
	Selected []string
}

// Options describe one join: a spine and the views to join onto it.
type Options struct {
	// Spine rows in their original order; outputs follow it.
	Spine        *tabular.Table
	SpineTimeCol int // a timestamp column
	Views        []ViewInput
	// Workers bounds parallelism; 0 means GOMAXPROCS.
	Workers int

	// Tests: task size (0: defaultChunkPositions) and the largest span
	// of events for prefix sums (0: defaultMaxPrefixSpan, <0: none).
	chunkPositions int
	maxPrefixSpan  int
}

// Result holds the feature columns, one vector per column, aligned with
// the spine's rows (Len of them).
type Result struct {
	Schema  tabular.Schema
	Vectors []tabular.Vector
	Len     int
}

// Batch views the result as a batch (sharing memory), e.g. for
// tabular.Batch.AppendCell when assembling output rows.
func (r *Result) Batch() *tabular.Batch { return &tabular.Batch{Len: r.Len, Vectors: r.Vectors} }

// Join computes every selected feature at every spine row's timestamp;
// see the package documentation for the semantics.
func Join(ctx context.Context, o Options) (*Result, error) {
	if o.Spine == nil {
		return nil, fmt.Errorf("%w: no spine", ErrInvalid)
	}
	m := o.Spine.Len()
	if m >= math.MaxInt32 {
		return nil, fmt.Errorf("%w: %d spine rows, more than %d", ErrInvalid, m, math.MaxInt32-1)
	}
	if err := checkTimeCol(o.Spine, o.SpineTimeCol, "spine"); err != nil {
		return nil, err
	}
	workers := o.Workers
	if workers <= 0 {
		workers = runtime.GOMAXPROCS(0)
	}
	plans := make([]*viewPlan, len(o.Views))
	for i := range o.Views {
		p, err := newViewPlan(&o.Views[i], o.Spine, m)
		if err != nil {
			return nil, err
		}
		plans[i] = p
	}
	res := &Result{Len: m}
	names := make(map[string]bool)
	for _, p := range plans {
		for _, f := range p.outputs {
			name := p.name + "__" + f.name
			if names[name] {
				return nil, fmt.Errorf("%w: two output columns named '%s'", ErrInvalid, name)
			}
			names[name] = true
			res.Schema.Columns = append(res.Schema.Columns, tabular.Column{Name: name, Type: f.typ, Nullable: f.vec.Nulls != nil})
		}
	}
	if len(plans) == 0 {
		return res, nil
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	spineTime := o.Spine.Column(o.SpineTimeCol)
	j := &joiner{
		ctx:         ctx,
		workers:     workers,
		m:           m,
		spineT:      spineTime.Ints,
		spineTNulls: spineTime.Nulls,
		timeSorted:  isSorted(spineTime.Ints[:m]),
		chunk:       int32(o.chunkPositions),
		seed:        maphash.MakeSeed(), // only places keys in hash tables
	}
	if j.chunk <= 0 {
		j.chunk = defaultChunkPositions
	}
	switch {
	case o.maxPrefixSpan == 0:
		j.maxPrefixSpan = defaultMaxPrefixSpan
	case o.maxPrefixSpan < 0:
		j.maxPrefixSpan = -1
	default:
		j.maxPrefixSpan = int32(o.maxPrefixSpan)
	}
	for _, p := range plans {
		if err := j.runView(p); err != nil {
			return nil, err
		}
	}
	for _, p := range plans {
		for _, f := range p.outputs {
			res.Vectors = append(res.Vectors, *f.vec)
		}
	}
	return res, nil
}

func checkTimeCol(t *tabular.Table, col int, what string) error {
	s := t.Schema()
	if col < 0 || col >= len(s.Columns) {
		return fmt.Errorf("%w: %s time column %d out of range", ErrInvalid, what, col)
	}
	if s.Columns[col].Type != tabular.Timestamp {
		return fmt.Errorf("%w: %s time column '%s' is %s, not a timestamp", ErrInvalid, what, s.Columns[col].Name, s.Columns[col].Type)
	}
	return nil
}

// micros converts a window or ttl to whole microseconds, rounding up:
// timestamps are whole microseconds, so t - d < ts is the same as
// t - ts < ceil(d), and ts <= t - d the same as t - ts >= ceil(d).
func micros(d time.Duration) int64 {
	us := int64(d / time.Microsecond)
	if d%time.Microsecond != 0 {
		us++
	}
	return us
}

func isSorted(ts []int64) bool {
	for i := 1; i < len(ts); i++ {
		if ts[i] < ts[i-1] {
			return false
		}
	}
	return true
}
