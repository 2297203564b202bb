package pitjoin

import (
	"fmt"
	"math/rand/v2"
	"testing"

	"github.com/granaryml/granary/internal/tabular"
)

// eventsUpTo copies a (sorted) events table without the rows after t.
func eventsUpTo(events *tabular.Table, timeCol int, t int64) *tabular.Table {
	s := events.Schema()
	cols := make([][]cell, len(s.Columns))
	ts := events.Column(timeCol).Ints
	for i := range events.Len() {
		if ts[i] > t {
			continue
		}
		for c := range cols {
			cols[c] = append(cols[c], cellAt(events.Column(c), i))
		}
	}
	return buildTable(s, cols)
}

// No leakage, in its strongest form: every spine row's output equals the
// output of a join in which every event after the row's time was deleted.
// This holds for any data, so it is checked on the engine alone, with no
// reference in between.
func TestNoLeakage(t *testing.T) {
	for seed := range scale(50) {
		rng := rand.New(rand.NewPCG(uint64(seed), 99))
		g := &gen{rng: rng, users: 1 + rng.IntN(4), nullP: 0.1, timeSlots: 2 + rng.Int64N(10), extremeTime: seed%10 == 0}
		o := g.options(60, 25)
		full, err := Join(t.Context(), o)
		if err != nil {
			t.Fatalf("seed %d: %v", seed, err)
		}
		st := o.Spine.Column(o.SpineTimeCol)
		done := map[int64]bool{}
		for r := range o.Spine.Len() {
			if st.IsNull(r) || done[st.Ints[r]] {
				continue
			}
			cut := st.Ints[r]
			done[cut] = true
			past := o
			past.Views = append([]ViewInput(nil), o.Views...)
			for v := range past.Views {
				past.Views[v].Events = eventsUpTo(o.Views[v].Events, o.Views[v].TimeCol, cut)
			}
			got, err := Join(t.Context(), past)
			if err != nil {
				t.Fatalf("seed %d, cut %d: %v", seed, cut, err)
			}
			for q := range o.Spine.Len() {
				if st.IsNull(q) || st.Ints[q] != cut {
					continue
				}
				for c, col := range full.Schema.Columns {
					a, b := cellAt(&full.Vectors[c], q), cellAt(&got.Vectors[c], q)
					if !a.equal(b) {
						t.Fatalf("seed %d: %s at spine row %d (t=%d) is %v, but %v without the events after t: leakage", seed, col.Name, q, cut, a, b)
					}
				}
			}
		}
	}
}

// Events far in the future of every spine row change nothing at all.
func TestFutureEventsChangeNothing(t *testing.T) {
	for seed := range scale(40) {
		rng := rand.New(rand.NewPCG(uint64(seed), 7))
		g := &gen{rng: rng, users: 3, nullP: 0.2, timeSlots: 8}
		o := g.options(50, 30)
		before, err := Join(t.Context(), o)
		if err != nil {
			t.Fatal(err)
		}
		future := o
		future.Views = append([]ViewInput(nil), o.Views...)
		for v := range future.Views {
			vi := &future.Views[v]
			src := o.Views[v].Events
			cols := make([][]cell, len(src.Schema().Columns))
			for i := range src.Len() {
				for c := range cols {
					cols[c] = append(cols[c], cellAt(src.Column(c), i))
				}
			}
			extra := g.events(40)
			for i := range extra[evTime] {
				extra[evTime][i].i += 1000 * hourMicros
			}
			for c := range cols {
				cols[c] = append(cols[c], extra[c]...)
			}
			vi.Events = sortedEvents(src.Schema(), cols, vi.KeyCols, vi.TimeCol)
		}
		after, err := Join(t.Context(), future)
		if err != nil {
			t.Fatal(err)
		}
		for c, col := range before.Schema.Columns {
			for r := range before.Len {
				if a, b := cellAt(&before.Vectors[c], r), cellAt(&after.Vectors[c], r); !a.equal(b) {
					t.Fatalf("%s: %s row %d: %v became %v after adding future events", fmt.Sprint(seed), col.Name, r, a, b)
				}
			}
		}
	}
}
