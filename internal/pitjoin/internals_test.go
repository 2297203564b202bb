package pitjoin

import (
	"cmp"
	"math"
	"math/rand/v2"
	"slices"
	"testing"
)

// sortBucket's three paths (insertion, packed keys, comparison sort)
// against slices.SortStableFunc, on sorted, narrow and extreme times.
func TestSortBucket(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	w := &worker{}
	for round := range 3000 {
		n := 1 + rng.IntN(200)
		st := make([]int64, n)
		rows := make([]int32, n)
		for k := range st {
			switch round % 4 {
			case 0:
				st[k] = rng.Int64N(10)
			case 1:
				st[k] = 1_700_000_000_000_000 + rng.Int64N(1<<45)
			case 2:
				st[k] = []int64{math.MinInt64, math.MaxInt64, 0, -1}[rng.IntN(4)] + rng.Int64N(3) - 1
			case 3:
				st[k] = int64(k) // sorted already
			}
			rows[k] = int32(k)
		}
		want := make([]spineAt, n)
		for k := range st {
			want[k] = spineAt{st[k], rows[k]}
		}
		slices.SortStableFunc(want, func(a, b spineAt) int { return cmp.Compare(a.t, b.t) })
		w.sortBucket(rows, st)
		seen := make([]bool, n)
		for k := range st {
			if st[k] != want[k].t || seen[rows[k]] {
				t.Fatalf("round %d: position %d has time %d, want %d", round, k, st[k], want[k].t)
			}
			seen[rows[k]] = true
		}
		// Each row kept its own time.
		orig := map[int32]int64{}
		for _, p := range want {
			orig[p.row] = p.t
		}
		for k := range st {
			if orig[rows[k]] != st[k] {
				t.Fatalf("round %d: row %d moved with time %d, had %d", round, rows[k], st[k], orig[rows[k]])
			}
		}
	}
}

// Windows, ttl and the counting sort see the same data whether the spine
// arrives in time order (no bucket sorting) or not.
func TestSpineOrderDoesNotMatter(t *testing.T) {
	for seed := range scale(30) {
		rng := rand.New(rand.NewPCG(uint64(seed), 5))
		g := &gen{rng: rng, users: 4, nullP: 0.1, timeSlots: 10}
		o := g.options(80, 60)
		got, err := Join(t.Context(), o)
		if err != nil {
			t.Fatal(err)
		}
		// The same spine sorted by time (nulls first), then compared row
		// by row through the permutation.
		st := o.Spine.Column(o.SpineTimeCol)
		perm := make([]int, o.Spine.Len())
		for i := range perm {
			perm[i] = i
		}
		slices.SortStableFunc(perm, func(a, b int) int {
			ka, kb := int64(math.MinInt64), int64(math.MinInt64)
			if !st.IsNull(a) {
				ka = st.Ints[a]
			}
			if !st.IsNull(b) {
				kb = st.Ints[b]
			}
			return cmp.Compare(ka, kb)
		})
		cols := make([][]cell, len(spineSchema.Columns))
		for _, r := range perm {
			for c := range cols {
				cols[c] = append(cols[c], cellAt(o.Spine.Column(c), r))
			}
		}
		sorted := o
		sorted.Spine = buildTable(spineSchema, cols)
		got2, err := Join(t.Context(), sorted)
		if err != nil {
			t.Fatal(err)
		}
		for c, col := range got.Schema.Columns {
			for k, r := range perm {
				if a, b := cellAt(&got.Vectors[c], r), cellAt(&got2.Vectors[c], k); !a.equal(b) {
					t.Fatalf("seed %d: %s of spine row %d: %v unsorted, %v sorted", seed, col.Name, r, a, b)
				}
			}
		}
	}
}

// A spine big enough for the parallel counting sort and many tasks gives
// the same result on one worker and on several.
func TestWorkersAgree(t *testing.T) {
	if testing.Short() {
		t.Skip("70k spine rows")
	}
	rng := rand.New(rand.NewPCG(8, 8))
	g := &gen{rng: rng, users: 300, nullP: 0.1, timeSlots: 200}
	o := g.options(10000, 66000)
	o.Workers, o.chunkPositions, o.maxPrefixSpan = 1, 0, 0
	one, err := Join(t.Context(), o)
	if err != nil {
		t.Fatal(err)
	}
	o.Workers, o.chunkPositions = 3, 500
	many, err := Join(t.Context(), o)
	if err != nil {
		t.Fatal(err)
	}
	for c, col := range one.Schema.Columns {
		for r := range one.Len {
			if a, b := cellAt(&one.Vectors[c], r), cellAt(&many.Vectors[c], r); !a.equal(b) {
				t.Fatalf("%s row %d: %v on one worker, %v on three", col.Name, r, a, b)
			}
		}
	}
}
