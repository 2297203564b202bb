package pitjoin

import (
	"math"
	"math/bits"
)

// exactSum keeps the exact sum of a multiset of float64 values and supports
// removal, so a sliding window can add and drop values in O(1) without the
// drift of a plain float accumulator: the value it reports is the exact
// sum correctly rounded (to nearest, ties to even) once, which does not
// depend on the order values were added or removed in.
//
// Every finite float64 is an integer multiple of 2^-1074, at most 2^2098
// of them, so the exact sum is a ~2130-bit integer (with headroom for 2^31
// terms). It is held as signed 32-bit "digits" in int64 chunks
// (Σ c[i]·2^(32i) units of 2^-1074) whose carries are propagated lazily:
// each add or remove changes three chunks by less than 2^32, so chunks
// stay far from overflow for 2^30 operations between normalizations.
//
// Infinities and NaNs are counted apart and follow IEEE 754: any NaN, or
// both infinities, give NaN; otherwise an infinity wins. An exact sum of
// zero is -0 only when every value is -0 (as IEEE addition gives).
type exactSum struct {
	c [numChunks]int64
	// Chunks outside [lo, hi] are zero; hi < lo when none is in use.
	lo, hi int
	ops    int // adds and removes since the last normalization

	n          int64 // values in the set
	nan        int64
	pinf, ninf int64
	notNegZero int64 // values other than -0
}

const (
	chunkMask = 1<<32 - 1
	// Bit positions 0..2097 for the values, a 21-bit top piece of the
	// largest, carries of up to 2^52 on top: 68 chunks cover it.
	numChunks   = 68
	renormEvery = 1 << 30
)

func (s *exactSum) reset() {
	if s.hi >= s.lo {
		clear(s.c[s.lo : s.hi+1])
	}
	s.lo, s.hi, s.ops = numChunks, -1, 0
	s.n, s.nan, s.pinf, s.ninf, s.notNegZero = 0, 0, 0, 0, 0
}

// split returns where x's magnitude goes: the chunk index and the three
// 32-bit pieces, or ok=false for zero, infinities and NaN (which the
// caller counts itself).
func split(u uint64) (i int, c0, c1, c2 int64, ok bool) {
	e := int(u>>52) & 0x7ff
	m := u & (1<<52 - 1)
	if e == 0 {
		if m == 0 {
			return 0, 0, 0, 0, false
		}
	} else {
		m |= 1 << 52
		e--
	}
	// The value is m·2^e units of 2^-1074, m < 2^53, e in [0, 2045].
	i, sh := e>>5, uint(e&31)
	low := m << sh
	return i, int64(low & chunkMask), int64(low >> 32), int64(m >> (64 - sh)), true
}

func (s *exactSum) add(x float64) {
	s.n++
	u := math.Float64bits(x)
	if u&(0x7ff<<52) == 0x7ff<<52 {
		s.special(u, 1)
		return
	}
	if u != 1<<63 {
		s.notNegZero++
	}
	i, c0, c1, c2, ok := split(u)
	if !ok {
		return
	}
	if int64(u) < 0 {
		s.c[i] -= c0
		s.c[i+1] -= c1
		s.c[i+2] -= c2
	} else {
		s.c[i] += c0
		s.c[i+1] += c1
		s.c[i+2] += c2
	}
	s.touch(i)
}

func (s *exactSum) remove(x float64) {
	s.n--
	u := math.Float64bits(x)
	if u&(0x7ff<<52) == 0x7ff<<52 {
		s.special(u, -1)
		return
	}
	if u != 1<<63 {
		s.notNegZero--
	}
	i, c0, c1, c2, ok := split(u)
	if !ok {
		return
	}
	if int64(u) < 0 {
		s.c[i] += c0
		s.c[i+1] += c1
		s.c[i+2] += c2
	} else {
		s.c[i] -= c0
		s.c[i+1] -= c1
		s.c[i+2] -= c2
	}
	s.touch(i)
}

func (s *exactSum) touch(i int) {
	if i < s.lo {
		s.lo = i
	}
	if i+2 > s.hi {
		s.hi = i + 2
	}
	if s.ops++; s.ops >= renormEvery {
		s.normalize()
	}
}

func (s *exactSum) special(u uint64, d int64) {
	switch {
	case u&(1<<52-1) != 0:
		s.nan += d
	case int64(u) < 0:
		s.ninf += d
	default:
		s.pinf += d
	}
}

// normalize propagates carries: afterwards chunks below hi are in
// [0, 2^32) and c[hi] holds the signed rest, so the sum's sign is c[hi]'s.
func (s *exactSum) normalize() {
	s.ops = 0
	if s.hi < s.lo {
		return
	}
	var carry int64
	for i := s.lo; i < s.hi; i++ {
		v := s.c[i] + carry
		carry = v >> 32
		s.c[i] = v & chunkMask
	}
	s.c[s.hi] += carry
}

// value is the exact sum rounded to float64; the set must not be empty.
func (s *exactSum) value() float64 {
	switch {
	case s.nan > 0 || (s.pinf > 0 && s.ninf > 0):
		return math.NaN()
	case s.pinf > 0:
		return math.Inf(1)
	case s.ninf > 0:
		return math.Inf(-1)
	}
	s.normalize()
	if s.hi < s.lo {
		return s.zero()
	}
	neg := s.c[s.hi] < 0
	if neg {
		s.negate()
	}
	// Non-negative now: make the top chunk a digit too, growing upwards.
	for s.c[s.hi] > chunkMask {
		s.c[s.hi+1] += s.c[s.hi] >> 32
		s.c[s.hi] &= chunkMask
		s.hi++
	}
	for s.hi >= s.lo && s.c[s.hi] == 0 {
		s.hi--
	}
	for s.lo <= s.hi && s.c[s.lo] == 0 {
		s.lo++
	}
	var f float64
	if s.hi < s.lo {
		f = s.zero()
	} else {
		f = s.magnitude()
	}
	if neg {
		s.negate() // back to the set's sum (normalization does not matter)
		f = -f
	}
	return f
}

func (s *exactSum) negate() {
	for i := s.lo; i <= s.hi; i++ {
		s.c[i] = -s.c[i]
	}
	s.normalize()
}

func (s *exactSum) zero() float64 {
	if s.n > 0 && s.notNegZero == 0 {
		return math.Copysign(0, -1)
	}
	return 0
}

// magnitude rounds the non-negative normalized integer in the chunks
// (units of 2^-1074, c[hi] != 0) to float64.
func (s *exactSum) magnitude() float64 {
	h := s.hi
	dh := uint64(s.c[h])
	var d1, d2 uint64
	if h >= 1 {
		d1 = uint64(s.c[h-1])
	}
	if h >= 2 {
		d2 = uint64(s.c[h-2])
	}
	r := bits.Len64(dh) // 1..32
	length := 32*h + r  // bit length of the integer
	if length <= 53 {
		// Exactly representable (subnormal or just above).
		if h == 0 {
			return math.Ldexp(float64(dh), -1074)
		}
		return math.Ldexp(float64(dh<<32|d1), -1074)
	}
	hiPart := dh<<32 | d1
	top := hiPart<<(32-r) | d2>>r
	sticky := d2&(1<<r-1) != 0
	for i := s.lo; i < h-2 && !sticky; i++ {
		sticky = s.c[i] != 0
	}
	return roundTop(top, sticky, length-64-1074)
}

// roundTop rounds top·2^exp (top's high bit set; sticky: there are more,
// non-zero bits below top) to the nearest float64, ties to even.
func roundTop(top uint64, sticky bool, exp int) float64 {
	mant, rest := top>>11, top&0x7ff
	if rest > 0x400 || (rest == 0x400 && (sticky || mant&1 == 1)) {
		mant++ // may reach 2^53, still exact as a float64
	}
	return math.Ldexp(float64(mant), exp+11)
}

// int128 is a signed 128-bit accumulator for int64 sums: sliding windows
// add and remove values, so intermediate sums may leave the int64 range
// even when the window's sum does not.
type int128 struct {
	hi int64
	lo uint64
}

func (a *int128) add(x int64) {
	var c uint64
	a.lo, c = bits.Add64(a.lo, uint64(x), 0)
	a.hi += x>>63 + int64(c)
}

func (a *int128) sub(x int64) {
	var b uint64
	a.lo, b = bits.Sub64(a.lo, uint64(x), 0)
	a.hi -= x>>63 + int64(b)
}

// int64 returns the value and whether it fits an int64.
func (a int128) int64() (int64, bool) { return int64(a.lo), a.hi == int64(a.lo)>>63 }

// float64 rounds the value to the nearest float64, ties to even.
func (a int128) float64() float64 {
	if v, ok := a.int64(); ok {
		return float64(v) // Go rounds integer conversions to nearest even
	}
	uh, ul := uint64(a.hi), a.lo
	neg := a.hi < 0
	if neg {
		var b uint64
		ul, b = bits.Sub64(0, ul, 0)
		uh, _ = bits.Sub64(0, uh, b)
	}
	r := bits.Len64(uh) // >= 1: the value does not fit 64 bits
	top := uh<<(64-r) | ul>>r
	f := roundTop(top, ul<<(64-r) != 0, r)
	if neg {
		f = -f
	}
	return f
}
