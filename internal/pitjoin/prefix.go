package pitjoin

import (
	"fmt"
	"math"
)

// Prefix sums answer a window [lo, hi) as P[hi] - P[lo]: no loop per
// spine row, so no mispredicted loop exit per row, which is what the
// sliding loops spend most of their time on when each spine row moves
// its window by a few events. They are exact: integer sums (and float
// sums in fixedSum's units) are kept modulo 2^128, and a difference of
// two prefixes is the window's sum modulo 2^128, which is the sum itself
// since that fits. A task builds them over the events its windows cover,
// in worker scratch; a task whose windows span more events than
// maxPrefixSpan (one huge entity) slides instead, to bound that memory.

const defaultMaxPrefixSpan = 1 << 20

// prefixSpan returns the events the task's windows cover.
func (s *span) events() (int32, int32) { return s.lo[s.p0], s.hi[s.p1-1] }

// prefixCounts fills w.cnt with counts of non-null values: cnt[i-first]
// counts events first..i-1.
func (w *worker) prefixCounts(nulls []bool, first, last int32) []int32 {
	cnt := resize(w.cnt, int(last-first)+1)
	cnt[0] = 0
	if nulls == nil {
		for i := range cnt {
			cnt[i] = int32(i)
		}
	} else {
		var c int32
		for i, null := range nulls[first:last] {
			if !null {
				c++
			}
			cnt[i+1] = c
		}
	}
	w.cnt = cnt
	return cnt
}

func (w *worker) prefixCountNonNull(s *span, a *feature) {
	first, last := s.events()
	cnt := w.prefixCounts(a.col.Nulls, first, last)
	out := a.vec.Ints
	for k := s.p0; k < s.p1; k++ {
		r := s.rows[k]
		if s.expired(k) {
			s.outNull[r] = true
			continue
		}
		out[r] = int64(cnt[s.hi[k]-first] - cnt[s.lo[k]-first])
	}
}

// prefixSumFloat is sum and mean of a plain float column in fixedSum's
// units.
func (w *worker) prefixSumFloat(s *span, a *feature) {
	first, last := s.events()
	vals, nulls := a.col.Floats, a.col.Nulls
	cnt := w.prefixCounts(nulls, first, last)
	pre := resize(w.pre, int(last-first)+1)
	w.pre = pre
	base := a.fixedBase
	var acc int128
	pre[0] = acc
	for i := first; i < last; i++ {
		if nulls == nil || !nulls[i] {
			if u := math.Float64bits(vals[i]); u != 0 {
				m, sh := u&(1<<52-1)|1<<52, uint(int(u>>52&0x7ff)-1-base)&63
				if int64(u) < 0 {
					acc.sub128(m>>(64-sh), m<<sh)
				} else {
					acc.add128(m>>(64-sh), m<<sh)
				}
			}
		}
		pre[i-first+1] = acc
	}
	// The unit is at least 2^-1022, so scaling a rounded sum by it is
	// exact (or overflows to ±Inf, as rounding the exact sum would).
	scale := math.Ldexp(1, base-1074)
	mean := a.kind == kMeanFloat
	out := a.vec.Floats
	for k := s.p0; k < s.p1; k++ {
		l, h := s.lo[k]-first, s.hi[k]-first
		n := cnt[h] - cnt[l]
		if n == 0 || s.expired(k) {
			continue
		}
		sum := pre[h]
		sum.subInt128(pre[l])
		v := sum.float64() * scale
		if mean {
			v /= float64(n)
		}
		r := s.rows[k]
		s.outNull[r] = false
		out[r] = v
	}
}

func (w *worker) prefixSumInt(s *span, a *feature, p *viewPlan) error {
	first, last := s.events()
	vals, nulls := a.col.Ints, a.col.Nulls
	cnt := w.prefixCounts(nulls, first, last)
	pre := resize(w.pre, int(last-first)+1)
	w.pre = pre
	var acc int128
	pre[0] = acc
	for i := first; i < last; i++ {
		if nulls == nil || !nulls[i] {
			acc.add(vals[i])
		}
		pre[i-first+1] = acc
	}
	mean := a.kind == kMeanInt
	for k := s.p0; k < s.p1; k++ {
		l, h := s.lo[k]-first, s.hi[k]-first
		n := cnt[h] - cnt[l]
		if n == 0 || s.expired(k) {
			continue
		}
		sum := pre[h]
		sum.subInt128(pre[l])
		r := s.rows[k]
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

func (w *worker) prefixSumBool(s *span, a *feature) {
	first, last := s.events()
	vals, nulls := a.col.Bools, a.col.Nulls
	cnt := w.prefixCounts(nulls, first, last)
	trues := resize(w.cnt2, int(last-first)+1)
	w.cnt2 = trues
	var c int32
	trues[0] = 0
	for i := first; i < last; i++ {
		if vals[i] && (nulls == nil || !nulls[i]) {
			c++
		}
		trues[i-first+1] = c
	}
	mean := a.kind == kMeanBool
	for k := s.p0; k < s.p1; k++ {
		l, h := s.lo[k]-first, s.hi[k]-first
		n := cnt[h] - cnt[l]
		if n == 0 || s.expired(k) {
			continue
		}
		t := trues[h] - trues[l]
		r := s.rows[k]
		s.outNull[r] = false
		if mean {
			a.vec.Floats[r] = float64(t) / float64(n)
		} else {
			a.vec.Ints[r] = int64(t)
		}
	}
}

// subInt128 subtracts b (modulo 2^128).
func (a *int128) subInt128(b int128) {
	a.sub128(uint64(b.hi), b.lo)
}
