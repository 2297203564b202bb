package tabular

import (
	"encoding/json"
	"fmt"
	"math"
	"math/bits"
	"slices"
	"strings"
	"unicode/utf8"
)

// ColumnStats summarises one column. Text fields use the canonical text form
// of the column type (see the package documentation), so the JSON encoding
// is stable.
//
// Floats: NaN values are counted in NaNs (and in Count) and left out of Min,
// Max, Mean, Distinct and Histogram, like nulls (a NaN is a missing
// measurement more often than a result). ±Inf are values: they take part in
// Min, Max, Distinct and Mean, so the mean of {1, +Inf} is +Inf; with both
// +Inf and -Inf the mean is undefined (NaN in IEEE arithmetic) and absent,
// as it is without any value. Infs counts them, and the Histogram covers
// the finite values only (its buckets would be infinitely wide), so its
// counts add up to Count - NaNs - Infs. The mean of finite values is
// exact to rounding even when their sum overflows float64. In JSON, an
// infinite mean is the string "+Inf" or "-Inf".
type ColumnStats struct {
	Name  string `json:"name"`
	Type  Type   `json:"type"`
	Count int64  `json:"count"` // non-null values
	Nulls int64  `json:"nulls"`
	NaNs  int64  `json:"nans,omitempty"`
	Infs  int64  `json:"infs,omitempty"`
	// Min and Max are the smallest and largest values; strings compare
	// bytewise and are cut to 128 bytes (a prefix of the real value).
	Min *string `json:"min,omitempty"`
	Max *string `json:"max,omitempty"`
	// Mean of int64, float64 (compensated summation) and bool (fraction of
	// true) columns.
	Mean *float64 `json:"mean,omitempty"`
	// Distinct counts distinct non-null values: exact up to 4096 of them
	// (DistinctExact), a HyperLogLog estimate (p=14, ~0.8% error) beyond.
	Distinct      int64 `json:"distinct"`
	DistinctExact bool  `json:"distinct_exact"`
	// Histogram of int64, float64 and timestamp columns: up to 10
	// equal-width buckets from Min to Max (finite values for floats).
	Histogram []Bucket `json:"histogram,omitempty"`
	// Top holds up to 10 most frequent string values, by count then value.
	Top []TopValue `json:"top,omitempty"`
	// Sampled is true when Histogram and Top were estimated from a uniform
	// sample of 8192 values (fixed seed, so still deterministic) instead of
	// counted exactly. Counts are then scaled to the column's total.
	Sampled bool `json:"sampled,omitempty"`
}

// MarshalJSON writes a mean that is not finite, which a JSON number cannot
// hold, as the string "+Inf", "-Inf" or "NaN"; anything else exactly as
// encoding/json would (manifests, whose ids hash these bytes, keep them).
func (s ColumnStats) MarshalJSON() ([]byte, error) {
	type plain ColumnStats
	if s.Mean == nil || (!math.IsInf(*s.Mean, 0) && !math.IsNaN(*s.Mean)) {
		return json.Marshal(plain(s))
	}
	return json.Marshal(struct {
		plain
		Mean string `json:"mean"`
	}{plain(s), string(appendFloat64(nil, *s.Mean))})
}

// UnmarshalJSON reads what MarshalJSON writes.
func (s *ColumnStats) UnmarshalJSON(b []byte) error {
	type plain ColumnStats
	var aux struct {
		plain
		Mean json.RawMessage `json:"mean"`
	}
	if err := json.Unmarshal(b, &aux); err != nil {
		return err
	}
	*s = ColumnStats(aux.plain)
	s.Mean = nil
	if len(aux.Mean) == 0 || string(aux.Mean) == "null" {
		return nil
	}
	var mean float64
	if aux.Mean[0] == '"' {
		var text string
		if err := json.Unmarshal(aux.Mean, &text); err != nil {
			return err
		}
		switch text {
		case "+Inf":
			mean = math.Inf(1)
		case "-Inf":
			mean = math.Inf(-1)
		case "NaN":
			mean = math.NaN()
		default:
			return fmt.Errorf("tabular: column stats: mean %q is not a number", text)
		}
	} else if err := json.Unmarshal(aux.Mean, &mean); err != nil {
		return err
	}
	s.Mean = &mean
	return nil
}

// Bucket is one histogram bucket: values v with Lower <= v < Upper, and
// Lower <= v <= Upper for the last bucket.
type Bucket struct {
	Lower string `json:"lower"`
	Upper string `json:"upper"`
	Count int64  `json:"count"`
}

// TopValue is a frequent value and its count (cut to 128 bytes).
type TopValue struct {
	Value string `json:"value"`
	Count int64  `json:"count"`
}

const (
	statsTextLimit   = 128
	sampleSize       = 8192
	exactDistinct    = 4096
	histogramBuckets = 10
	topValues        = 10
)

// columnStats accumulates the statistics of one column, batch by batch.
type columnStats struct {
	name string
	typ  Type

	count, nulls, nans int64

	hasMinMax  bool
	minI, maxI int64   // int64, timestamp, bool (0/1)
	minF, maxF float64 // float64, ±Inf included

	hasFinite      bool
	finMin, finMax float64
	finCount       int64
	posInf, negInf int64
	sum, comp      float64 // Neumaier summation of finite floats
	scaled         bool    // sum and comp are of values times sumScale
	sumHi          int64   // 128-bit sum of int64 values
	sumLo          uint64
	trues          int64

	minS, maxS []byte

	values valueCounter
	sample reservoir
}

func newColumnStats(c Column, index int) *columnStats {
	s := &columnStats{name: c.Name, typ: c.Type}
	s.values.init(c.Type == String)
	s.sample.state = uint64(index)*0x9E3779B97F4A7C15 + 1
	return s
}

func (s *columnStats) add(v *Vector, n int) {
	nulls := v.Nulls
	for i := range n {
		if nulls != nil && nulls[i] {
			s.nulls++
			continue
		}
		switch s.typ {
		case Int64:
			s.addInt(v.Ints[i], true)
		case Timestamp:
			s.addInt(v.Ints[i], false)
		case Float64:
			s.addFloat(v.Floats[i])
		case Bool:
			s.addBool(v.Bools[i])
		case String:
			s.addString(v.StringBytes(i))
		}
	}
}

func (s *columnStats) addInt(x int64, sum bool) {
	s.count++
	if !s.hasMinMax {
		s.hasMinMax, s.minI, s.maxI = true, x, x
	} else if x < s.minI {
		s.minI = x
	} else if x > s.maxI {
		s.maxI = x
	}
	if sum {
		lo, carry := bits.Add64(s.sumLo, uint64(x), 0)
		s.sumLo = lo
		s.sumHi += int64(carry) + x>>63
	}
	s.values.add(hashInt64(x), nil)
	if j := s.sample.slot(); j >= 0 {
		if j == len(s.sample.ints) {
			s.sample.ints = append(s.sample.ints, x)
		} else {
			s.sample.ints[j] = x
		}
	}
}

func (s *columnStats) addFloat(x float64) {
	s.count++
	if x != x {
		s.nans++
		return
	}
	if !s.hasMinMax {
		s.hasMinMax, s.minF, s.maxF = true, x, x
	} else if x < s.minF {
		s.minF = x
	} else if x > s.maxF {
		s.maxF = x
	}
	s.values.add(hashFloat64(x), nil)
	if math.IsInf(x, 1) {
		s.posInf++
		return
	}
	if math.IsInf(x, -1) {
		s.negInf++
		return
	}
	s.finCount++
	if !s.hasFinite {
		s.hasFinite, s.finMin, s.finMax = true, x, x
	} else if x < s.finMin {
		s.finMin = x
	} else if x > s.finMax {
		s.finMax = x
	}
	s.addToSum(x)
	if j := s.sample.slot(); j >= 0 {
		if j == len(s.sample.floats) {
			s.sample.floats = append(s.sample.floats, x)
		} else {
			s.sample.floats[j] = x
		}
	}
}

// sumScale brings finite floats down far enough that 2^63 of them cannot
// overflow a sum. Scaling by a power of two is exact, except for values
// below 2^-958, which only a sum that already overflowed would meet.
const sumScale = 0x1p-64

// addToSum adds a finite x by Neumaier summation. When the sum would
// overflow, it goes on with every value scaled by sumScale, so that the
// mean of values near the largest float64 is still found.
func (s *columnStats) addToSum(x float64) {
	if s.scaled {
		x *= sumScale
	}
	t := s.sum + x
	if math.IsInf(t, 0) && !s.scaled {
		s.scaled = true
		s.sum *= sumScale
		s.comp *= sumScale
		s.addToSum(x)
		return
	}
	if math.Abs(s.sum) >= math.Abs(x) {
		s.comp += (s.sum - t) + x
	} else {
		s.comp += (x - t) + s.sum
	}
	s.sum = t
}

// floatMean is the mean of the non-NaN values, and false when there are
// none or it is undefined (+Inf and -Inf both present).
func (s *columnStats) floatMean() (float64, bool) {
	switch {
	case s.posInf > 0 && s.negInf > 0:
		return 0, false
	case s.posInf > 0:
		return math.Inf(1), true
	case s.negInf > 0:
		return math.Inf(-1), true
	case s.finCount == 0:
		return 0, false
	}
	mean := (s.sum + s.comp) / float64(s.finCount)
	if s.scaled {
		// The mean lies within the values, but rounding can carry a mean
		// of values at the largest float64 just past it.
		mean = math.Max(-math.MaxFloat64, math.Min(math.MaxFloat64, mean/sumScale))
	}
	return mean, true
}

func (s *columnStats) addBool(x bool) {
	s.count++
	var i int64
	if x {
		i = 1
		s.trues++
	}
	if !s.hasMinMax {
		s.hasMinMax, s.minI, s.maxI = true, i, i
	} else {
		s.minI, s.maxI = min(s.minI, i), max(s.maxI, i)
	}
	s.values.add(hashInt64(i), nil)
}

func (s *columnStats) addString(b []byte) {
	s.count++
	if !s.hasMinMax {
		s.hasMinMax = true
		s.minS = append(s.minS[:0], b...)
		s.maxS = append(s.maxS[:0], b...)
	} else if string(b) < string(s.minS) {
		s.minS = append(s.minS[:0], b...)
	} else if string(b) > string(s.maxS) {
		s.maxS = append(s.maxS[:0], b...)
	}
	h := hashBytes(b)
	s.values.add(h, b)
	if j := s.sample.slot(); j >= 0 {
		e := sampledString{hash: h, text: truncateText(b)}
		if j == len(s.sample.strs) {
			s.sample.strs = append(s.sample.strs, e)
		} else {
			s.sample.strs[j] = e
		}
	}
}

func truncateText(b []byte) string {
	if len(b) <= statsTextLimit {
		return string(b)
	}
	cut := statsTextLimit
	for cut > 0 && !utf8.RuneStart(b[cut]) {
		cut--
	}
	return string(b[:cut])
}

func (s *columnStats) result() ColumnStats {
	out := ColumnStats{Name: s.name, Type: s.typ, Count: s.count, Nulls: s.nulls, NaNs: s.nans}
	out.Distinct, out.DistinctExact = s.values.distinct()
	if !s.hasMinMax {
		return out
	}
	text := func(b []byte) *string { t := string(b); return &t }
	switch s.typ {
	case Int64:
		out.Min, out.Max = text(appendInt64(nil, s.minI)), text(appendInt64(nil, s.maxI))
		mean := int128ToFloat(s.sumHi, s.sumLo) / float64(s.count)
		out.Mean = &mean
		out.Histogram, out.Sampled = intHistogram(s.sample.ints, s.count, s.minI, s.maxI, appendInt64)
	case Timestamp:
		out.Min, out.Max = text(appendTimestamp(nil, s.minI)), text(appendTimestamp(nil, s.maxI))
		out.Histogram, out.Sampled = intHistogram(s.sample.ints, s.count, s.minI, s.maxI, appendTimestamp)
	case Float64:
		out.Min, out.Max = text(appendFloat64(nil, s.minF)), text(appendFloat64(nil, s.maxF))
		out.Infs = s.posInf + s.negInf
		if mean, ok := s.floatMean(); ok {
			out.Mean = &mean
		}
		if s.hasFinite {
			out.Histogram, out.Sampled = floatHistogram(s.sample.floats, s.finCount, s.finMin, s.finMax)
		}
	case Bool:
		out.Min, out.Max = text(appendBool(nil, s.minI == 1)), text(appendBool(nil, s.maxI == 1))
		mean := float64(s.trues) / float64(s.count)
		out.Mean = &mean
	case String:
		minS, maxS := truncateText(s.minS), truncateText(s.maxS)
		out.Min, out.Max = &minS, &maxS
		out.Top, out.Sampled = s.top()
	}
	return out
}

func int128ToFloat(hi int64, lo uint64) float64 {
	return float64(float64(hi)*0x1p64) + float64(lo)
}

// scaleCounts turns sample counts into estimates that add up to total
// (largest remainder, ties to the lower index), exactly and without floats.
func scaleCounts(counts []int64, sampled, total int64) []int64 {
	out := make([]int64, len(counts))
	if sampled == total {
		copy(out, counts)
		return out
	}
	rem := make([]uint64, len(counts))
	var assigned int64
	for i, c := range counts {
		hi, lo := bits.Mul64(uint64(c), uint64(total))
		q, r := bits.Div64(hi, lo, uint64(sampled))
		out[i], rem[i] = int64(q), r
		assigned += int64(q)
	}
	order := make([]int, len(counts))
	for i := range order {
		order[i] = i
	}
	slices.SortStableFunc(order, func(a, b int) int {
		switch {
		case rem[a] > rem[b]:
			return -1
		case rem[a] < rem[b]:
			return 1
		}
		return a - b
	})
	for k := 0; assigned < total && k < len(order); k++ {
		out[order[k]]++
		assigned++
	}
	return out
}

// intHistogram splits [lo, hi] into equal-width buckets: bucket i starts at
// lo + floor(i*span/10) (one bucket per value when there are fewer than 10),
// in exact 128-bit integer arithmetic.
func intHistogram(sample []int64, total, lo, hi int64, format func([]byte, int64) []byte) ([]Bucket, bool) {
	span := uint64(hi) - uint64(lo) // exact even when hi-lo overflows int64
	nb := uint64(histogramBuckets)
	if span < nb {
		nb = span + 1
	}
	offset := func(i uint64) uint64 { // of the lower bound of bucket i
		if nb <= span {
			h, l := bits.Mul64(i, span)
			q, _ := bits.Div64(h, l, nb)
			return q
		}
		return i
	}
	counts := make([]int64, nb)
	for _, x := range sample {
		d := uint64(x) - uint64(lo)
		i := d
		if nb <= span {
			h, l := bits.Mul64(d, nb)
			i, _ = bits.Div64(h, l, span)
		}
		i = min(i, nb-1)
		if i+1 < nb && d >= offset(i+1) {
			i++
		}
		counts[i]++
	}
	est := scaleCounts(counts, int64(len(sample)), total)
	out := make([]Bucket, nb)
	for i := range out {
		lower := int64(uint64(lo) + offset(uint64(i)))
		upper := hi
		if i < len(out)-1 {
			upper = int64(uint64(lo) + offset(uint64(i+1)))
		}
		out[i] = Bucket{Lower: string(format(nil, lower)), Upper: string(format(nil, upper)), Count: est[i]}
	}
	return out, int64(len(sample)) != total
}

func floatHistogram(sample []float64, total int64, lo, hi float64) ([]Bucket, bool) {
	if lo == hi {
		t := string(appendFloat64(nil, lo))
		return []Bucket{{Lower: t, Upper: t, Count: total}}, int64(len(sample)) != total
	}
	// Work on halves so that hi-lo cannot overflow. Explicit float64
	// conversions keep the compiler from fusing multiply-adds, which would
	// change results across architectures.
	halfLo := lo / 2
	halfWidth := float64(hi/2-halfLo) / histogramBuckets
	if !(halfWidth > 0) { // hi and lo are neighbouring subnormals
		t1, t2 := string(appendFloat64(nil, lo)), string(appendFloat64(nil, hi))
		return []Bucket{{Lower: t1, Upper: t2, Count: total}}, int64(len(sample)) != total
	}
	counts := make([]int64, histogramBuckets)
	for _, x := range sample {
		// Clamp before converting: float-to-int conversion of out-of-range
		// values differs between architectures.
		f := float64(x/2-halfLo) / halfWidth
		i := 0
		switch {
		case f >= histogramBuckets-1:
			i = histogramBuckets - 1
		case f > 0:
			i = int(f)
		}
		counts[i]++
	}
	est := scaleCounts(counts, int64(len(sample)), total)
	bound := func(i int) float64 {
		switch i {
		case 0:
			return lo
		case histogramBuckets:
			return hi
		}
		return 2 * (halfLo + float64(float64(i)*halfWidth))
	}
	out := make([]Bucket, histogramBuckets)
	for i := range out {
		out[i] = Bucket{
			Lower: string(appendFloat64(nil, bound(i))),
			Upper: string(appendFloat64(nil, bound(i+1))),
			Count: est[i],
		}
	}
	return out, int64(len(sample)) != total
}

// top returns the most frequent strings: exact while the column has at most
// exactDistinct distinct values, estimated from the sample beyond.
func (s *columnStats) top() ([]TopValue, bool) {
	type cand struct {
		hash  uint64
		text  string
		count int64
	}
	var cands []cand
	sampled := s.values.hll != nil
	if !sampled {
		for h, i := range s.values.index {
			cands = append(cands, cand{hash: h, text: s.values.texts[i], count: s.values.counts[i]})
		}
	} else {
		pos := make(map[uint64]int, len(s.sample.strs))
		for _, e := range s.sample.strs {
			if i, ok := pos[e.hash]; ok {
				cands[i].count++
				continue
			}
			pos[e.hash] = len(cands)
			cands = append(cands, cand{hash: e.hash, text: e.text, count: 1})
		}
	}
	// A total order, so that map iteration above cannot leak into the result.
	slices.SortFunc(cands, func(a, b cand) int {
		switch {
		case a.count != b.count:
			if a.count > b.count {
				return -1
			}
			return 1
		case a.text != b.text:
			return strings.Compare(a.text, b.text)
		case a.hash < b.hash:
			return -1
		case a.hash > b.hash:
			return 1
		}
		return 0
	})
	cands = cands[:min(len(cands), topValues)]
	out := make([]TopValue, len(cands))
	for i, c := range cands {
		count := c.count
		if sampled {
			hi, lo := bits.Mul64(uint64(c.count), uint64(s.count))
			q, r := bits.Div64(hi, lo, uint64(len(s.sample.strs)))
			if 2*r >= uint64(len(s.sample.strs)) {
				q++
			}
			count = int64(q)
		}
		out[i] = TopValue{Value: c.text, Count: count}
	}
	return out, sampled
}

// valueCounter counts occurrences per value hash exactly (and keeps a text
// for strings) until exactDistinct distinct values, then switches to a
// HyperLogLog sketch. A direct-mapped cache in front of the map makes
// repeated values cheap.
type valueCounter struct {
	index  map[uint64]int32
	counts []int64
	texts  []string // strings only
	keep   bool
	cacheH []uint64
	cacheI []int32
	hll    []uint8
}

const (
	cacheSlots = 1 << 11
	hllP       = 14
	hllM       = 1 << hllP
)

func (c *valueCounter) init(keepText bool) {
	c.keep = keepText
	c.index = make(map[uint64]int32)
}

func (c *valueCounter) add(h uint64, text []byte) {
	if c.hll != nil {
		c.hllAdd(h)
		return
	}
	if c.cacheH == nil { // allocated on first use: wide tables have many columns
		c.cacheH = make([]uint64, cacheSlots)
		c.cacheI = make([]int32, cacheSlots)
		for i := range c.cacheI {
			c.cacheI[i] = -1
		}
	}
	slot := h & (cacheSlots - 1)
	if i := c.cacheI[slot]; i >= 0 && c.cacheH[slot] == h {
		c.counts[i]++
		return
	}
	i, ok := c.index[h]
	if !ok {
		if len(c.counts) == exactDistinct {
			c.toHLL()
			c.hllAdd(h)
			return
		}
		i = int32(len(c.counts))
		c.index[h] = i
		c.counts = append(c.counts, 0)
		if c.keep {
			c.texts = append(c.texts, truncateText(text))
		}
	}
	c.counts[i]++
	c.cacheH[slot], c.cacheI[slot] = h, i
}

func (c *valueCounter) toHLL() {
	c.hll = make([]uint8, hllM)
	for h := range c.index { // order is irrelevant: registers keep maxima
		c.hllAdd(h)
	}
	c.index, c.counts, c.texts, c.cacheH, c.cacheI = nil, nil, nil, nil, nil
}

func (c *valueCounter) hllAdd(h uint64) {
	idx := h >> (64 - hllP)
	rank := uint8(bits.LeadingZeros64(h<<hllP|1<<(hllP-1))) + 1
	if rank > c.hll[idx] {
		c.hll[idx] = rank
	}
}

func (c *valueCounter) distinct() (int64, bool) {
	if c.hll == nil {
		return int64(len(c.counts)), true
	}
	var sum float64
	zeros := 0
	for _, r := range c.hll {
		sum += math.Ldexp(1, -int(r))
		if r == 0 {
			zeros++
		}
	}
	const m = float64(hllM)
	alpha := 0.7213 / (1 + 1.079/m)
	est := alpha * m * m / sum
	if est <= 2.5*m && zeros > 0 {
		est = m * math.Log(m/float64(zeros))
	}
	return int64(math.Round(est)), false
}

// reservoir keeps a uniform sample (Algorithm R) drawn with a fixed-seed
// generator, so the same input always gives the same sample.
type reservoir struct {
	seen   int64
	state  uint64
	ints   []int64
	floats []float64
	strs   []sampledString
}

type sampledString struct {
	hash uint64
	text string
}

// slot returns where the next value goes in the sample, or -1 to skip it.
func (r *reservoir) slot() int {
	i := r.seen
	r.seen++
	if i < sampleSize {
		return int(i)
	}
	j, _ := bits.Mul64(splitmix64(&r.state), uint64(i+1))
	if j < sampleSize {
		return int(j)
	}
	return -1
}
