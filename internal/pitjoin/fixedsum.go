package pitjoin

import (
	"math"
	"math/bits"

	"github.com/granaryml/granary/internal/tabular"
)

// fixedSum is exactSum's fast path for the usual float column, whose
// values span few binades (amounts, prices, scores): each value is an
// integer multiple of the smallest value's unit 2^(base-1074), so the
// window's exact sum is a 128-bit integer of such units. Rounding it to
// float64 and scaling by the unit gives the same correctly rounded sum as
// exactSum; the unit is at least 2^-1022, so the scaled result is never
// subnormal and scaling does not round a second time.
type fixedSum struct {
	acc  int128
	base int // p of the column's smallest finite non-zero value, >= 52

	n          int64
	nan        int64
	pinf, ninf int64
	notNegZero int64
}

// fixedSpan bounds the column's spread of binades: a value is below
// 2^(53+fixedSpan) units and a window has fewer than 2^31 of them, so sums
// stay within an int128.
const fixedSpan = 42

// fixedBase returns the unit exponent for fixedSum over column v, or -1
// when the column needs exactSum (subnormals, tiny values or a wide
// spread). plain reports that the column has no NaN, infinity or -0,
// which prefix sums need (they keep no counts of those).
func fixedBase(v *tabular.Vector, n int) (base int, plain bool) {
	lo, hi := math.MaxInt, -1
	plain = true
	for i, x := range v.Floats[:n] {
		if v.Nulls != nil && v.Nulls[i] {
			continue
		}
		u := math.Float64bits(x)
		e := int(u>>52) & 0x7ff
		if e == 0x7ff || u == 1<<63 {
			plain = false
			continue
		}
		if x == 0 {
			continue
		}
		if e == 0 {
			return -1, false // subnormal
		}
		lo, hi = min(lo, e-1), max(hi, e-1)
	}
	if hi < 0 {
		return 52, plain
	}
	if lo < 52 || hi-lo > fixedSpan {
		return -1, false
	}
	return lo, plain
}

func (s *fixedSum) reset() {
	s.acc = int128{}
	s.n, s.nan, s.pinf, s.ninf, s.notNegZero = 0, 0, 0, 0, 0
}

// add and remove are small enough to inline for a normal value; zeros
// and specials take the slow path.
func (s *fixedSum) add(x float64) {
	u := math.Float64bits(x)
	e := u >> 52 & 0x7ff
	if e == 0 || e == 0x7ff {
		s.slow(u, 1)
		return
	}
	s.n++
	s.notNegZero++
	m, sh := u&(1<<52-1)|1<<52, uint(int(e)-1-s.base)&63
	if int64(u) < 0 {
		s.acc.sub128(m>>(64-sh), m<<sh)
	} else {
		s.acc.add128(m>>(64-sh), m<<sh)
	}
}

func (s *fixedSum) remove(x float64) {
	u := math.Float64bits(x)
	e := u >> 52 & 0x7ff
	if e == 0 || e == 0x7ff {
		s.slow(u, -1)
		return
	}
	s.n--
	s.notNegZero--
	m, sh := u&(1<<52-1)|1<<52, uint(int(e)-1-s.base)&63
	if int64(u) < 0 {
		s.acc.add128(m>>(64-sh), m<<sh)
	} else {
		s.acc.sub128(m>>(64-sh), m<<sh)
	}
}

// slow counts zeros (the column has no subnormals) and specials.
//
//go:noinline
func (s *fixedSum) slow(u uint64, d int64) {
	s.n += d
	switch {
	case u<<1 == 0: // ±0
		if u == 0 {
			s.notNegZero += d
		}
	case u&(1<<52-1) != 0:
		s.nan += d
		s.notNegZero += d
	case int64(u) < 0:
		s.ninf += d
		s.notNegZero += d
	default:
		s.pinf += d
		s.notNegZero += d
	}
}

func (s *fixedSum) value() float64 {
	switch {
	case s.nan > 0 || (s.pinf > 0 && s.ninf > 0):
		return math.NaN()
	case s.pinf > 0:
		return math.Inf(1)
	case s.ninf > 0:
		return math.Inf(-1)
	}
	if s.acc == (int128{}) {
		if s.n > 0 && s.notNegZero == 0 {
			return math.Copysign(0, -1)
		}
		return 0
	}
	return math.Ldexp(s.acc.float64(), s.base-1074)
}

func (a *int128) add128(hi, lo uint64) {
	var c uint64
	a.lo, c = bits.Add64(a.lo, lo, 0)
	a.hi += int64(hi + c)
}

func (a *int128) sub128(hi, lo uint64) {
	var b uint64
	a.lo, b = bits.Sub64(a.lo, lo, 0)
	a.hi -= int64(hi + b)
}
