package pitjoin

import (
	"github.com/granaryml/granary/internal/tabular"
)

// sortByTime returns the spine rows with a timestamp, ordered by it: an
// LSD radix sort on 11-bit digits that skips digits all rows share (the
// high bits of timestamps mostly). Each view then orders them by entity
// with a stable counting sort, which gives (entity, time) order in linear
// time.
func sortByTime(t *tabular.Vector, m int) []int32 {
	keys := make([]uint64, 0, m)
	rows := make([]int32, 0, m)
	sorted := true
	for r := 0; r < m; r++ {
		if t.Nulls != nil && t.Nulls[r] {
			continue
		}
		k := uint64(t.Ints[r]) ^ 1<<63 // order-preserving: signed to unsigned
		if len(keys) > 0 && k < keys[len(keys)-1] {
			sorted = false
		}
		keys = append(keys, k)
		rows = append(rows, int32(r))
	}
	if sorted {
		return rows
	}
	const digitBits, digits = 11, 6
	var hist [digits][1 << digitBits]int32
	for _, k := range keys {
		for d := range digits {
			hist[d][(k>>(d*digitBits))&(1<<digitBits-1)]++
		}
	}
	n := int32(len(keys))
	keys2 := make([]uint64, len(keys))
	rows2 := make([]int32, len(rows))
	for d := range digits {
		h := &hist[d]
		if h[(keys[0]>>(d*digitBits))&(1<<digitBits-1)] == n {
			continue // every key has this digit
		}
		var sum int32
		for i, c := range h {
			h[i] = sum
			sum += c
		}
		shift := uint(d * digitBits)
		for i, k := range keys {
			b := (k >> shift) & (1<<digitBits - 1)
			at := h[b]
			h[b]++
			keys2[at] = k
			rows2[at] = rows[i]
		}
		keys, keys2 = keys2, keys
		rows, rows2 = rows2, rows
	}
	return rows
}
