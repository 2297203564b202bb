package shard

import (
	"cmp"
	"math"
	"math/bits"
	"slices"
)

// countingIntKey returns the stable (key, time) order of rows when the
// keys span a small range (entity ids usually do): one counting-sort pass
// groups the rows by key, carrying (time, row) in 16-byte records, and
// each key's rows are then sorted by (time, row), which within one entity
// is a small sort on contiguous memory. ok=false when the range is too
// wide for a table of counters.
func countingIntKey(keys, ts []int64) (order []int, ok bool) {
	n := len(keys)
	if n == 0 || n > math.MaxUint32 {
		return nil, false
	}
	kmin, kmax := keys[0], keys[0]
	for _, k := range keys {
		kmin, kmax = min(kmin, k), max(kmax, k)
	}
	span := uint64(kmax) - uint64(kmin)
	if span >= uint64(min(4*n+1<<16, 1<<22)) {
		return nil, false
	}
	starts := make([]uint32, span+2)
	for _, k := range keys {
		starts[uint64(k)-uint64(kmin)+1]++
	}
	for d := 1; d < len(starts); d++ {
		starts[d] += starts[d-1]
	}
	type rec struct {
		t int64
		i uint32
	}
	recs := make([]rec, n)
	next := slices.Clone(starts[:span+1])
	for i, k := range keys {
		d := uint64(k) - uint64(kmin)
		recs[next[d]] = rec{ts[i], uint32(i)}
		next[d]++
	}
	for d := range span + 1 {
		g := recs[starts[d]:starts[d+1]]
		if len(g) <= 24 {
			// Insertion sort: stable, and rows come in row order.
			for j := 1; j < len(g); j++ {
				for x := j; x > 0 && g[x].t < g[x-1].t; x-- {
					g[x], g[x-1] = g[x-1], g[x]
				}
			}
			continue
		}
		slices.SortFunc(g, func(a, b rec) int {
			if a.t != b.t {
				return cmp.Compare(a.t, b.t)
			}
			return cmp.Compare(a.i, b.i)
		})
	}
	order = make([]int, n)
	for j, r := range recs {
		order[j] = int(r.i)
	}
	return order, true
}

// radixIntKey returns the stable (key, time) order of rows by LSD radix
// sort, or ok=false when it does not apply. Key and time are offset by
// their minimum and packed into one uint64 (key bits above time bits),
// which needs their ranges to fit in 64 bits together: entity ids and a
// few years of microseconds do (17 + 45 bits for 100k ids over a year).
// LSD radix sort is stable, so rows with equal key and time keep their
// order, which the comparison sort got by comparing row indexes last. It
// makes ceil(bits/11) passes over 16-byte records instead of
// O(n log n) comparisons: about 4x faster on a shard of 1.7M rows.
func radixIntKey(keys, ts []int64) (order []int, ok bool) {
	n := len(keys)
	if n < 1024 || n > math.MaxUint32 {
		return nil, false
	}
	kmin, kmax := keys[0], keys[0]
	tmin, tmax := ts[0], ts[0]
	for i, k := range keys {
		kmin, kmax = min(kmin, k), max(kmax, k)
		t := ts[i]
		tmin, tmax = min(tmin, t), max(tmax, t)
	}
	kbits := bits.Len64(uint64(kmax) - uint64(kmin))
	tbits := bits.Len64(uint64(tmax) - uint64(tmin))
	total := kbits + tbits
	if total > 64 {
		return nil, false
	}
	type rec struct {
		u uint64
		i uint32
	}
	a := make([]rec, n)
	for i, k := range keys {
		u := uint64(ts[i]) - uint64(tmin)
		if kbits > 0 {
			u |= (uint64(k) - uint64(kmin)) << tbits
		}
		a[i] = rec{u, uint32(i)}
	}
	const digit = 11
	const buckets = 1 << digit
	passes := (total + digit - 1) / digit
	// All histograms in one read of the data.
	counts := make([][buckets]int, passes)
	for _, r := range a {
		for p := range counts {
			counts[p][(r.u>>(p*digit))&(buckets-1)]++
		}
	}
	b := make([]rec, n)
	for p := range counts {
		c := &counts[p]
		if c[(a[0].u>>(p*digit))&(buckets-1)] == n {
			continue // every row has the same digit: the pass would not move anything
		}
		sum := 0
		for d := range c {
			c[d], sum = sum, sum+c[d]
		}
		shift := p * digit
		for _, r := range a {
			d := (r.u >> shift) & (buckets - 1)
			b[c[d]] = r
			c[d]++
		}
		a, b = b, a
	}
	order = make([]int, n)
	for j, r := range a {
		order[j] = int(r.i)
	}
	return order, true
}
