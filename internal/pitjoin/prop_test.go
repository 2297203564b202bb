package pitjoin

import (
	"errors"
	"flag"
	"fmt"
	"math/rand/v2"
	"testing"
)

// -long runs the property tests on more seeds and bigger inputs (a minute
// or so); by default they take a few seconds.
var long = flag.Bool("long", false, "run the property tests on more and bigger inputs")

// scale picks the number of seeds: fewer with -short, more with -long.
func scale(n int) int {
	switch {
	case *long:
		return 10 * n
	case testing.Short():
		return max(1, n/4)
	}
	return n
}

// checkAgainstReference runs Join and the reference on o and reports
// every difference.
func checkAgainstReference(t *testing.T, label string, o Options) {
	t.Helper()
	want, err := refJoin(o)
	if err != nil {
		t.Fatalf("%s: reference: %v", label, err)
	}
	got, err := Join(t.Context(), o)
	if want.overflow {
		if !errors.Is(err, ErrOverflow) {
			t.Fatalf("%s: want ErrOverflow, got %v", label, err)
		}
		return
	}
	if err != nil {
		t.Fatalf("%s: Join: %v", label, err)
	}
	if len(got.Schema.Columns) != len(want.names) || len(got.Vectors) != len(want.names) || got.Len != o.Spine.Len() {
		t.Fatalf("%s: %d columns (%d vectors, %d rows), want %d", label, len(got.Schema.Columns), len(got.Vectors), got.Len, len(want.names))
	}
	bad := 0
	for c, name := range want.names {
		col := got.Schema.Columns[c]
		if col.Name != name {
			t.Fatalf("%s: column %d is %s, want %s", label, c, col.Name, name)
		}
		v := &got.Vectors[c]
		if v.Type != col.Type || (v.Nulls != nil) != col.Nullable {
			t.Fatalf("%s: column %s: vector %s nullable=%v, schema %s %v", label, name, v.Type, v.Nulls != nil, col.Type, col.Nullable)
		}
		for r, w := range want.cols[c] {
			g := cellAt(v, r)
			if !g.equal(w) {
				if bad++; bad <= 10 {
					t.Errorf("%s: %s at spine row %d (t=%d): got %v, want %v", label, name, r, o.Spine.Column(o.SpineTimeCol).Ints[r], g, w)
				}
			}
		}
	}
	if bad > 0 {
		t.Fatalf("%s: %d mismatches", label, bad)
	}
}

func TestJoinMatchesReference(t *testing.T) {
	type size struct {
		seeds, events, spine, users int
		slots                       int64
	}
	sizes := []size{
		{seeds: scale(300), events: 40, spine: 30, users: 4, slots: 12},
		{seeds: scale(20), events: 600, spine: 200, users: 15, slots: 60},
	}
	if *long {
		sizes = append(sizes, size{seeds: 8, events: 5000, spine: 2000, users: 50, slots: 400})
	}
	for _, sz := range sizes {
		for seed := range sz.seeds {
			rng := rand.New(rand.NewPCG(uint64(seed), uint64(sz.events)))
			g := &gen{
				rng:         rng,
				users:       1 + rng.IntN(sz.users),
				extremeInts: rng.IntN(5) == 0,
				extremeTime: rng.IntN(6) == 0,
				nullP:       []float64{0, 0.1, 0.5}[rng.IntN(3)],
				timeSlots:   1 + rng.Int64N(sz.slots),
			}
			o := g.options(sz.events, rng.IntN(sz.spine+1))
			label := fmt.Sprintf("events %d seed %d", sz.events, seed)
			checkAgainstReference(t, label, o)
		}
	}
}
