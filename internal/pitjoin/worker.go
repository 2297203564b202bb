package pitjoin

import (
	"bytes"
	"cmp"
	"fmt"
	"math"
	"math/bits"
	"slices"

	"github.com/granaryml/granary/internal/tabular"
)

// worker holds one goroutine's aggregation state.
type worker struct {
	j        *joiner
	sum      exactSum
	fixed    fixedSum
	deque    []int32
	suffix   []int32
	keys     []int64
	cnt      []int32 // prefix counts
	cnt2     []int32
	pre      []int128             // prefix sums
	counts   map[*feature][]int32 // count_distinct multiplicities, all zero between tasks
	pairs    []spineAt
	sortKeys []uint64
	sortRows []int32
}

type spineAt struct {
	t   int64
	row int32
}

// sortBucket sorts one entity's positions by time.
func (w *worker) sortBucket(rows []int32, st []int64) {
	n := len(st)
	sorted := true
	lo, hi := st[0], st[0]
	for k := 1; k < n; k++ {
		sorted = sorted && st[k-1] <= st[k]
		lo, hi = min(lo, st[k]), max(hi, st[k])
	}
	if sorted {
		return
	}
	if n <= 32 {
		for k := 1; k < n; k++ {
			t, r := st[k], rows[k]
			i := k
			for ; i > 0 && st[i-1] > t; i-- {
				st[i], rows[i] = st[i-1], rows[i-1]
			}
			st[i], rows[i] = t, r
		}
		return
	}
	// Usually times fit in few enough bits to pack (time - lo, index)
	// into a uint64 and use the fast ordered sort.
	shift := uint(bits.Len(uint(n)))
	if uint64(hi-lo) < 1<<(64-shift) {
		keys := resize(w.sortKeys, n)
		for k := range n {
			keys[k] = uint64(st[k]-lo)<<shift | uint64(k)
		}
		slices.Sort(keys)
		tmp := resize(w.sortRows, n)
		copy(tmp, rows)
		mask := uint64(1)<<shift - 1
		for k, key := range keys {
			rows[k] = tmp[key&mask]
			st[k] = lo + int64(key>>shift)
		}
		w.sortKeys, w.sortRows = keys, tmp
		return
	}
	ps := resize(w.pairs, n)
	for k := range n {
		ps[k] = spineAt{st[k], rows[k]}
	}
	slices.SortFunc(ps, func(a, b spineAt) int { return cmp.Compare(a.t, b.t) })
	for k, p := range ps {
		st[k], rows[k] = p.t, p.row
	}
	w.pairs = ps
}

// chunk computes the windows of entities [e0, e1)'s spine rows, then every
// aggregate over them.
func (w *worker) chunk(p *viewPlan, e0, e1 int) error {
	j := w.j
	starts, bstart, st, ts, hi := j.x.starts, j.bstart, j.st, p.ts, j.hi
	for e := e0; e < e1; e++ {
		b0, b1 := int(bstart[e]), int(bstart[e+1])
		if b0 == b1 {
			continue
		}
		if !j.timeSorted {
			w.sortBucket(j.rows[b0:b1], st[b0:b1])
		}
		s, end := starts[e], starts[e+1]
		h := s
		for k := b0; k < b1; k++ {
			t := st[k]
			for h < end && ts[h] <= t {
				h++
			}
			hi[k] = h
		}
		for wi, win := range p.windows {
			lo := j.lows[wi][b0:b1]
			if win == 0 {
				for k := range lo {
					lo[k] = s
				}
				continue
			}
			// ts[q] <= t - win, without overflow: t - ts[q] as unsigned is
			// exact because ts[q] <= t.
			q, uw := s, uint64(win)
			for k := b0; k < b1; k++ {
				t, hk := st[k], hi[k]
				for q < hk && uint64(t-ts[q]) >= uw {
					q++
				}
				lo[k-b0] = q
			}
		}
		if p.ttl > 0 {
			ut := uint64(p.ttl)
			for k := b0; k < b1; k++ {
				hk := hi[k]
				j.stale[k] = hk > s && uint64(st[k]-ts[hk-1]) >= ut
			}
		}
	}
	p0, p1 := int(bstart[e0]), int(bstart[e1])
	if p0 == p1 {
		return nil
	}
	for _, a := range p.aggs {
		if err := w.aggregate(p, a, p0, p1); err != nil {
			return err
		}
	}
	return nil
}

// span is what every aggregate loop reads: positions [p0, p1), their
// windows, spine rows and staleness.
type span struct {
	lo, hi  []int32
	rows    []int32
	stale   []bool // nil when the feature cannot expire
	p0, p1  int
	outNull []bool // the output's null flags
}

// expired reports whether position k's value is nulled by ttl: its
// window is not empty and the newest event in it is too old.
func (s *span) expired(k int) bool { return s.stale != nil && s.lo[k] < s.hi[k] && s.stale[k] }

func (w *worker) aggregate(p *viewPlan, a *feature, p0, p1 int) error {
	j := w.j
	s := &span{lo: j.lows[a.win], hi: j.hi, rows: j.rows, p0: p0, p1: p1, outNull: a.vec.Nulls}
	if p.ttl > 0 && (a.window == 0 || a.window > p.ttl) {
		s.stale = j.stale
	}
	first, last := s.events()
	prefix := last-first <= w.j.maxPrefixSpan
	switch a.kind {
	case kCountRows:
		countRows(s, a.vec.Ints)
	case kCountNonNull:
		if prefix {
			w.prefixCountNonNull(s, a)
		} else {
			countNonNull(s, a.col.Nulls, a.vec.Ints)
		}
	case kCountDistinct:
		w.countDistinct(s, a)
	case kSumInt, kMeanInt:
		if prefix {
			return w.prefixSumInt(s, a, p)
		}
		return sumInt(s, a, p)
	case kSumBool, kMeanBool:
		if prefix {
			w.prefixSumBool(s, a)
		} else {
			sumBool(s, a)
		}
	case kSumFloat, kMeanFloat:
		if prefix && a.plain && a.fixedBase >= 0 {
			w.prefixSumFloat(s, a)
		} else {
			w.sumFloat(s, a)
		}
	case kMin, kMax:
		flip := int64(0) // max
		if a.kind == kMin {
			flip = -1 // ^x reverses the order
		}
		switch a.col.Type {
		case tabular.Int64, tabular.Timestamp:
			w.slideExtreme(s, a, a.col.Ints, 0, flip)
		case tabular.Float64:
			// Keys for the events the windows cover (scratch of at most 8
			// bytes per event of the shard).
			w.keys = resize(w.keys, int(last-first))
			for i, f := range a.col.Floats[first:last] {
				w.keys[i] = floatOrderKey(f)
			}
			w.slideExtreme(s, a, w.keys, first, flip)
		default:
			w.slideExtremeString(s, a.col, a.kind == kMax, a.sel)
		}
	case kFirst, kLast:
		firstLast(s, a)
	}
	return nil
}

func countRows(s *span, out []int64) {
	for k := s.p0; k < s.p1; k++ {
		r := s.rows[k]
		if s.expired(k) {
			s.outNull[r] = true
			continue
		}
		out[r] = int64(s.hi[k] - s.lo[k])
	}
}

// The sliding loops below share one shape: the previous window was
// events [cl, ch), the new one is [l, h) with l and h no smaller; a
// window that starts past the previous one's end (another entity, or a
// gap) resets the state instead of adding and removing the events
// between.

func countNonNull(s *span, nulls []bool, out []int64) {
	var cl, ch int32
	var c int64
	for k := s.p0; k < s.p1; k++ {
		l, h := s.lo[k], s.hi[k]
		if l >= ch {
			c, cl, ch = 0, l, l
		}
		for ; ch < h; ch++ {
			if !nulls[ch] {
				c++
			}
		}
		for ; cl < l; cl++ {
			if !nulls[cl] {
				c--
			}
		}
		r := s.rows[k]
		if s.expired(k) {
			s.outNull[r] = true
			continue
		}
		out[r] = c
	}
}

func (w *worker) countDistinct(s *span, a *feature) {
	if w.counts == nil {
		w.counts = make(map[*feature][]int32)
	}
	counts := w.counts[a]
	if counts == nil {
		counts = make([]int32, a.nids)
		w.counts[a] = counts
	}
	ids, out := a.ids, a.vec.Ints
	var cl, ch int32
	var d int64
	for k := s.p0; k < s.p1; k++ {
		l, h := s.lo[k], s.hi[k]
		if l >= ch {
			for ; cl < ch; cl++ {
				if id := ids[cl]; id >= 0 {
					counts[id]--
				}
			}
			d, cl, ch = 0, l, l
		}
		for ; ch < h; ch++ {
			if id := ids[ch]; id >= 0 {
				if counts[id] == 0 {
					d++
				}
				counts[id]++
			}
		}
		for ; cl < l; cl++ {
			if id := ids[cl]; id >= 0 {
				if counts[id]--; counts[id] == 0 {
					d--
				}
			}
		}
		r := s.rows[k]
		if s.expired(k) {
			s.outNull[r] = true
			continue
		}
		out[r] = d
	}
	for ; cl < ch; cl++ { // leave the counts at zero for the next task
		if id := ids[cl]; id >= 0 {
			counts[id]--
		}
	}
}

func sumInt(s *span, a *feature, p *viewPlan) error {
	vals, nulls := a.col.Ints, a.col.Nulls
	mean := a.kind == kMeanInt
	var cl, ch int32
	var sum int128
	var n int64
	for k := s.p0; k < s.p1; k++ {
		l, h := s.lo[k], s.hi[k]
		if l >= ch {
			sum, n, cl, ch = int128{}, 0, l, l
		}
		for ; ch < h; ch++ {
			if nulls == nil || !nulls[ch] {
				sum.add(vals[ch])
				n++
			}
		}
		for ; cl < l; cl++ {
			if nulls == nil || !nulls[cl] {
				sum.sub(vals[cl])
				n--
			}
		}
		r := s.rows[k]
		if n == 0 || s.expired(k) {
			continue
		}
		s.outNull[r] = false
		if mean {
			a.vec.Floats[r] = sum.float64() / float64(n)
			continue
		}
		v, ok := sum.int64()
		if !ok {
			return fmt.Errorf("%w: view '%s', feature '%s': the sum at spine row %d (%d values) does not fit an int64", ErrOverflow, p.name, a.name, r, n)
		}
		a.vec.Ints[r] = v
	}
	return nil
}

func sumBool(s *span, a *feature) {
	vals, nulls := a.col.Bools, a.col.Nulls
	mean := a.kind == kMeanBool
	var cl, ch int32
	var trues, n int64
	for k := s.p0; k < s.p1; k++ {
		l, h := s.lo[k], s.hi[k]
		if l >= ch {
			trues, n, cl, ch = 0, 0, l, l
		}
		for ; ch < h; ch++ {
			if nulls == nil || !nulls[ch] {
				n++
				if vals[ch] {
					trues++
				}
			}
		}
		for ; cl < l; cl++ {
			if nulls == nil || !nulls[cl] {
				n--
				if vals[cl] {
					trues--
				}
			}
		}
		r := s.rows[k]
		if n == 0 || s.expired(k) {
			continue
		}
		s.outNull[r] = false
		if mean {
			a.vec.Floats[r] = float64(trues) / float64(n)
		} else {
			a.vec.Ints[r] = trues
		}
	}
}

// sumFloat slides an exact sum: fixedSum when the column allows it,
// else exactSum (a predictable branch, so both calls stay direct).
func (w *worker) sumFloat(s *span, a *feature) {
	vals, nulls := a.col.Floats, a.col.Nulls
	mean := a.kind == kMeanFloat
	fast := a.fixedBase >= 0
	fx, ex := &w.fixed, &w.sum
	fx.base = a.fixedBase
	fx.reset()
	ex.reset()
	var cl, ch int32
	for k := s.p0; k < s.p1; k++ {
		l, h := s.lo[k], s.hi[k]
		if l >= ch {
			if fast {
				fx.reset()
			} else {
				ex.reset()
			}
			cl, ch = l, l
		}
		for ; ch < h; ch++ {
			if nulls == nil || !nulls[ch] {
				if fast {
					fx.add(vals[ch])
				} else {
					ex.add(vals[ch])
				}
			}
		}
		for ; cl < l; cl++ {
			if nulls == nil || !nulls[cl] {
				if fast {
					fx.remove(vals[cl])
				} else {
					ex.remove(vals[cl])
				}
			}
		}
		n := fx.n
		if !fast {
			n = ex.n
		}
		if n == 0 {
			if !fast {
				ex.reset() // exactly zero: keep the chunk range tight
			}
			continue
		}
		if s.expired(k) {
			continue
		}
		r := s.rows[k]
		s.outNull[r] = false
		var v float64
		if fast {
			v = fx.value()
		} else {
			v = ex.value()
		}
		if mean {
			v /= float64(n)
		}
		a.vec.Floats[r] = v
	}
}

// floatOrderKey maps floats to int64s in the order min and max use:
// numeric, with -0 equal to 0, and NaN (any payload) above +Inf, as SQL
// engines order them.
func floatOrderKey(f float64) int64 {
	switch {
	case f != f:
		return math.MaxInt64
	case f == 0:
		return 0
	}
	b := int64(math.Float64bits(f))
	return b ^ (b >> 63 & math.MaxInt64) // negatives: reverse the magnitude order
}

// slideExtreme computes a sliding max of keys[i-base] ^ flip (a min when
// flip reverses the order) with two stacks: the window's older part
// ("front", buf[head:mid]) with suffix maxima, the newer part ("back",
// buf[mid:]) with its running maximum. Pushing updates the running
// maximum, popping from an empty front first moves the back over and
// computes suffix maxima: amortized O(1), and unlike a monotonic deque
// its branches are predictable on random data. Among equal keys the
// newest event wins.
func (w *worker) slideExtreme(s *span, a *feature, keys []int64, base int32, flip int64) {
	nulls, col, out := a.col.Nulls, a.col, a.vec
	buf, sm := w.deque[:0], w.suffix[:0]
	head, mid := 0, 0
	bmax, bk := int32(-1), int64(0)
	var ch int32
	for k := s.p0; k < s.p1; k++ {
		l, h := s.lo[k], s.hi[k]
		if l >= ch {
			buf, head, mid, bmax, ch = buf[:0], 0, 0, -1, l
		}
		if ch < h {
			buf, bmax, bk = pushKeys(buf, keys[ch-base:h-base], nulls, ch, flip, bmax, bk)
			ch = h
		}
		for head < len(buf) && buf[head] < l {
			if head == mid { // front empty: the back becomes the front
				mid = len(buf)
				if cap(sm) < mid {
					sm = make([]int32, mid, 2*mid)
				}
				sm = sm[:mid]
				best := buf[mid-1]
				bestKey := keys[best-base] ^ flip
				sm[mid-1] = best
				for p := mid - 2; p >= head; p-- {
					if kk := keys[buf[p]-base] ^ flip; kk > bestKey {
						best, bestKey = buf[p], kk
					}
					sm[p] = best
				}
				bmax = -1
			}
			head++
		}
		if head == len(buf) {
			buf, head, mid, bmax = buf[:0], 0, 0, -1
			continue
		}
		if head > 1024 && 2*head > len(buf) {
			n := copy(buf, buf[head:])
			copy(sm, sm[head:mid])
			buf, sm, mid, head = buf[:n], sm[:mid-head], mid-head, 0
		}
		if s.expired(k) {
			continue
		}
		best := bmax
		if head < mid {
			if f := sm[head]; best < 0 || keys[f-base]^flip > bk {
				best = f
			}
		}
		r := s.rows[k]
		s.outNull[r] = false
		if col.Type == tabular.Float64 {
			out.Floats[r] = col.Floats[best]
		} else {
			out.Ints[r] = col.Ints[best]
		}
	}
	w.deque, w.suffix = buf[:0], sm[:0]
}

// pushKeys appends events first, first+1, ... (keys[i] is their key,
// ^flip) that are not null to the back stack, keeping its running maximum
// (bmax < 0: empty). A function of its own, so its loop keeps its
// variables in registers.
func pushKeys(buf []int32, keys []int64, nulls []bool, first int32, flip int64, bmax int32, bk int64) ([]int32, int32, int64) {
	if nulls != nil {
		nulls = nulls[first : first+int32(len(keys))]
	}
	for i, key := range keys {
		if nulls != nil && nulls[i] {
			continue
		}
		e := first + int32(i)
		if kk := key ^ flip; bmax < 0 || kk >= bk {
			bmax, bk = e, kk
		}
		buf = append(buf, e)
	}
	return buf, bmax, bk
}

func (w *worker) slideExtremeString(s *span, col *tabular.Vector, isMax bool, sel []int32) {
	dq, head := w.deque[:0], 0
	nulls := col.Nulls
	var ch int32
	for k := s.p0; k < s.p1; k++ {
		l, h := s.lo[k], s.hi[k]
		if l >= ch {
			dq, head, ch = dq[:0], 0, l
		}
		for ; ch < h; ch++ {
			if nulls != nil && nulls[ch] {
				continue
			}
			v := col.StringBytes(int(ch))
			for len(dq) > head {
				c := bytes.Compare(col.StringBytes(int(dq[len(dq)-1])), v)
				if (isMax && c > 0) || (!isMax && c < 0) {
					break
				}
				dq = dq[:len(dq)-1]
			}
			dq = append(dq, ch)
		}
		for head < len(dq) && dq[head] < l {
			head++
		}
		if head == len(dq) {
			dq, head = dq[:0], 0
			continue
		}
		if head > 1024 && 2*head > len(dq) {
			dq, head = dq[:copy(dq, dq[head:])], 0
		}
		if s.expired(k) {
			continue
		}
		sel[k] = dq[head]
	}
	w.deque = dq[:0]
}

func firstLast(s *span, a *feature) {
	col, out := a.col, a.vec
	last := a.kind == kLast
	for k := s.p0; k < s.p1; k++ {
		l, h := s.lo[k], s.hi[k]
		if l == h || s.expired(k) {
			continue
		}
		i := l
		if last {
			i = h - 1
		}
		if col.Nulls != nil && col.Nulls[i] {
			continue
		}
		r := s.rows[k]
		switch col.Type {
		case tabular.Int64, tabular.Timestamp:
			out.Ints[r] = col.Ints[i]
		case tabular.Float64:
			out.Floats[r] = col.Floats[i]
		case tabular.Bool:
			out.Bools[r] = col.Bools[i]
		default:
			a.sel[k] = i
			continue // gatherStrings clears the null flag
		}
		out.Nulls[r] = false
	}
}
