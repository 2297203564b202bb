package shard

import (
	"math"
	"math/rand/v2"
	"slices"
	"testing"
)

// TestRadixIntKeyMatchesComparisonSort: the radix order is exactly the
// comparison sort's stable order, on inputs with many ties, negative and
// extreme values, one distinct key, and ranges that do not fit (where it
// must decline).
func TestRadixIntKeyMatchesComparisonSort(t *testing.T) {
	rng := rand.New(rand.NewPCG(5, 8))
	type gen struct {
		name  string
		key   func() int64
		ts    func() int64
		radix bool // expected to apply
	}
	minute := int64(60_000_000)
	gens := []gen{
		{"entities over a year, whole minutes (ties)", func() int64 { return 1 + rng.Int64N(5000) }, func() int64 { return 1704067200000000 + rng.Int64N(525600)*minute }, true},
		{"one entity", func() int64 { return 42 }, func() int64 { return rng.Int64N(100) }, true},
		{"few entities, long histories", func() int64 { return rng.Int64N(3) }, func() int64 { return rng.Int64N(1000) }, true},
		{"one timestamp", func() int64 { return rng.Int64N(1000) - 500 }, func() int64 { return -7 }, true},
		{"negative keys and times", func() int64 { return -rng.Int64N(1 << 20) }, func() int64 { return -rng.Int64N(1 << 40) }, true},
		{"full int64 range", func() int64 { return rng.Int64() - math.MaxInt64/2 }, func() int64 { return rng.Int64() }, false},
		{"extremes", func() int64 { return []int64{math.MinInt64, math.MaxInt64}[rng.IntN(2)] }, func() int64 { return 0 }, true},
	}
	for _, g := range gens {
		for _, n := range []int{1024, 5000, 40000} {
			keys, ts := make([]int64, n), make([]int64, n)
			for i := range n {
				keys[i], ts[i] = g.key(), g.ts()
			}
			if c, ok := countingIntKey(keys, ts); ok && !slices.Equal(c, compareSortIntKey(keys, ts)) {
				t.Fatalf("%s, n=%d: counting order differs from the stable comparison order", g.name, n)
			}
			got, ok := radixIntKey(keys, ts)
			if ok != g.radix {
				t.Fatalf("%s, n=%d: radix applies = %v, want %v", g.name, n, ok, g.radix)
			}
			want := compareSortIntKey(keys, ts)
			if ok && !slices.Equal(got, want) {
				t.Fatalf("%s, n=%d: radix order differs from the stable comparison order", g.name, n)
			}
			if all := sortIntKey(keys, ts); !slices.Equal(all, want) {
				t.Fatalf("%s, n=%d: sortIntKey differs from the comparison order", g.name, n)
			}
		}
	}
}

func BenchmarkSortIntKey(b *testing.B) {
	rng := rand.New(rand.NewPCG(1, 1))
	n := 1_700_000
	keys, ts := make([]int64, n), make([]int64, n)
	for i := range n {
		keys[i] = 1 + rng.Int64N(100_000)
		ts[i] = 1704067200000000 + rng.Int64N(525600)*60_000_000
	}
	b.Run("radix", func(b *testing.B) {
		for b.Loop() {
			radixIntKey(keys, ts)
		}
	})
	b.Run("counting", func(b *testing.B) {
		for b.Loop() {
			countingIntKey(keys, ts)
		}
	})
	b.Run("compare", func(b *testing.B) {
		for b.Loop() {
			compareSortIntKey(keys, ts)
		}
	})
}
