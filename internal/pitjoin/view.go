package pitjoin

import (
	"context"
	"fmt"
	"hash/maphash"
	"math"
	"sync"
	"sync/atomic"

	"github.com/granaryml/granary/internal/tabular"
)

// joiner holds what the views of one Join share: the spine's times and
// scratch memory reused from view to view.
type joiner struct {
	ctx         context.Context
	workers     int
	m           int
	spineT      []int64
	spineTNulls []bool
	timeSorted  bool // the spine is in time order (then so is each entity's bucket)
	seed        maphash.Seed
	chunk       int32 // positions per task
	// maxPrefixSpan bounds the events a task builds prefix sums over.
	maxPrefixSpan int32

	// Per view. Positions k = 0..M-1 list the spine rows that have an
	// entity and a time, ordered by (entity, time); entity e's are
	// [bstart[e], bstart[e+1]).
	ent    []int32 // spine row -> entity, -1 for none
	hist   []int32 // per worker and entity: counts, then where the next goes
	bstart []int32
	rows   []int32 // position -> spine row
	st     []int64 // position -> spine time
	// Position k's window for windows[w] is events [lows[w][k], hi[k]):
	// hi is the first event after t (same for every window). Both only
	// grow with k (entities' events follow one another), which is what
	// lets aggregates slide.
	hi    []int32
	lows  [][]int32
	stale []bool // the newest event at or before t is ttl old

	x         *entities
	startsBuf []int32
	workersSt []*worker
}

// defaultChunkPositions is about how many positions one task takes:
// small enough to balance the workers and keep a task's intervals in
// cache.
const defaultChunkPositions = 1 << 14

func (j *joiner) runView(p *viewPlan) error {
	starts, err := scanEvents(p, j.startsBuf)
	if err != nil {
		return err
	}
	j.startsBuf = starts
	if len(starts) > 1 { // some events
		j.x = newEntities(p.keys, starts, j.seed, j.x)
		if err := j.aggregate(p); err != nil {
			return err
		}
		for _, a := range p.aggs {
			if a.typ == tabular.String {
				if err := j.gatherStrings(a); err != nil {
					return fmt.Errorf("view '%s', feature '%s': %w", p.name, a.name, err)
				}
			}
		}
	}
	return j.evalDerived(p)
}

func (j *joiner) aggregate(p *viewPlan) error {
	x, m := j.x, j.m
	ne := x.count()
	ent := resize(j.ent, m)
	j.ent = ent

	// Counting sort of the spine rows by entity, in parallel: each
	// worker looks up a static range of rows and counts them per entity,
	// then places them after the earlier ranges' rows of each entity.
	// Within an entity the rows are sorted by time later, per task.
	nw := max(1, min(j.workers, m/(1<<15)))
	hist := resize(j.hist, nw*ne)
	clear(hist)
	j.hist = hist
	rangeOf := func(w int) (int, int) { return w * m / nw, (w + 1) * m / nw }
	tNulls := j.spineTNulls
	if err := j.static(nw, func(w int) {
		h := hist[w*ne : (w+1)*ne]
		a, b := rangeOf(w)
		for r := a; r < b; r++ {
			e := int32(-1)
			if tNulls == nil || !tNulls[r] {
				e = x.lookup(p.spineKeys, r)
			}
			ent[r] = e
			if e >= 0 {
				h[e]++
			}
		}
	}); err != nil {
		return err
	}
	bstart := resize(j.bstart, ne+1)
	var npos int32
	for e := range ne {
		bstart[e] = npos
		for w := range nw {
			c := hist[w*ne+e]
			hist[w*ne+e] = npos
			npos += c
		}
	}
	bstart[ne] = npos
	rows, st := resize(j.rows, int(npos)), resize(j.st, int(npos))
	j.bstart, j.rows, j.st = bstart, rows, st
	if err := j.static(nw, func(w int) {
		h := hist[w*ne : (w+1)*ne]
		a, b := rangeOf(w)
		for r := a; r < b; r++ {
			if e := ent[r]; e >= 0 {
				k := h[e]
				h[e]++
				rows[k] = int32(r)
				st[k] = j.spineT[r]
			}
		}
	}); err != nil {
		return err
	}

	j.hi = resize(j.hi, int(npos))
	for len(j.lows) < len(p.windows) {
		j.lows = append(j.lows, nil)
	}
	for w := range p.windows {
		j.lows[w] = resize(j.lows[w], int(npos))
	}
	if p.ttl > 0 {
		j.stale = resize(j.stale, int(npos))
	}
	for _, a := range p.aggs {
		if a.typ == tabular.String {
			a.sel = resize(a.sel, int(npos))
			for k := range a.sel {
				a.sel[k] = -1
			}
		}
		if a.kind == kSumFloat || a.kind == kMeanFloat {
			a.fixedBase, a.plain = fixedBase(a.col, p.n)
		}
		if a.kind == kCountDistinct && a.ids == nil {
			a.ids, a.nids = denseIDs(a.col, p.n, j.seed)
			for _, b := range p.aggs { // share with other count_distinct of the column
				if b.kind == kCountDistinct && b.col == a.col {
					b.ids, b.nids = a.ids, a.nids
				}
			}
		}
	}

	// Tasks: runs of whole entities of about j.chunk positions.
	var bounds []int // entity boundaries
	for e := 0; e < ne; {
		bounds = append(bounds, e)
		target := bstart[e] + j.chunk
		lo, hi := e+1, ne
		for lo < hi { // first entity starting at or after target
			mid := (lo + hi) / 2
			if bstart[mid] >= target {
				hi = mid
			} else {
				lo = mid + 1
			}
		}
		e = lo
	}
	bounds = append(bounds, ne)
	return j.parallel(len(bounds)-1, func(w *worker, a, b int) error {
		for c := a; c < b; c++ {
			if err := w.chunk(p, bounds[c], bounds[c+1]); err != nil {
				return err
			}
		}
		return nil
	})
}

// static runs f(0), ..., f(n-1) on n goroutines (n <= j.workers).
func (j *joiner) static(n int, f func(w int)) error {
	if n == 1 {
		f(0)
	} else {
		var wg sync.WaitGroup
		for w := range n {
			wg.Go(func() { f(w) })
		}
		wg.Wait()
	}
	return j.ctx.Err()
}

// parallel runs f over [0, n) split in ranges, on up to j.workers
// goroutines, each with its own worker; the first error stops the rest.
func (j *joiner) parallel(n int, f func(w *worker, a, b int) error) error {
	if n == 0 {
		return j.ctx.Err()
	}
	nw := min(j.workers, n)
	for len(j.workersSt) < nw {
		j.workersSt = append(j.workersSt, &worker{j: j})
	}
	step := max(1, n/(nw*8))
	if step > 1<<16 {
		step = 1 << 16
	}
	var next atomic.Int64
	var failed atomic.Bool
	var first error
	var once sync.Once
	run := func(w *worker) {
		for !failed.Load() {
			if err := j.ctx.Err(); err != nil {
				once.Do(func() { first = err })
				failed.Store(true)
				return
			}
			a := int(next.Add(int64(step))) - step
			if a >= n {
				return
			}
			if err := f(w, a, min(a+step, n)); err != nil {
				once.Do(func() { first = err })
				failed.Store(true)
				return
			}
		}
	}
	if nw == 1 {
		run(j.workersSt[0])
		return first
	}
	var wg sync.WaitGroup
	for i := range nw {
		wg.Go(func() { run(j.workersSt[i]) })
	}
	wg.Wait()
	return first
}

// gatherStrings copies the selected events' strings into the vector
// (whose Offsets are still zero) in spine order. It walks positions, not
// rows, so reads from the events are in order; only writes scatter.
func (j *joiner) gatherStrings(a *feature) error {
	v, col, sel, rows := a.vec, a.col, a.sel, j.rows
	total := 0
	for k, i := range sel {
		if i >= 0 {
			n := col.Offsets[i+1] - col.Offsets[i]
			r := rows[k]
			v.Offsets[r+1] = n
			v.Nulls[r] = false
			total += int(n)
		}
	}
	if total > math.MaxUint32 {
		return fmt.Errorf("%w: %d bytes of strings in one column, more than %d", ErrInvalid, total, uint32(math.MaxUint32))
	}
	for r := range j.m {
		v.Offsets[r+1] += v.Offsets[r]
	}
	v.Bytes = make([]byte, total)
	return j.parallel(len(sel), func(_ *worker, p0, p1 int) error {
		for k, i := range sel[p0:p1] {
			if i >= 0 {
				copy(v.Bytes[v.Offsets[rows[p0+k]]:], col.Bytes[col.Offsets[i]:col.Offsets[i+1]])
			}
		}
		return nil
	})
}
