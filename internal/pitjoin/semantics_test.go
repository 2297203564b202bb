package pitjoin

import (
	"context"
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/granaryml/granary/features"
	"github.com/granaryml/granary/internal/tabular"
)

// Hand-written cases for the rules of the package documentation, each
// with the value a person computes from the spec's wording.

var (
	simpleEvents = tabular.Schema{Columns: []tabular.Column{
		{Name: "user", Type: tabular.Int64},
		{Name: "ts", Type: tabular.Timestamp},
		{Name: "amount", Type: tabular.Float64, Nullable: true},
		{Name: "qty", Type: tabular.Int64, Nullable: true},
		{Name: "cat", Type: tabular.String, Nullable: true},
	}}
	simpleSpine = tabular.Schema{Columns: []tabular.Column{
		{Name: "user", Type: tabular.Int64, Nullable: true},
		{Name: "t", Type: tabular.Timestamp, Nullable: true},
	}}
)

type ev struct {
	user, ts int64
	amount   *float64
	qty      *int64
	cat      *string
}

func f64(x float64) *float64 { return &x }
func i64(x int64) *int64     { return &x }
func str(x string) *string   { return &x }

const day = int64(24 * time.Hour / time.Microsecond)

// simpleJoin joins spine rows (user, t; nil = null) with events (in
// source order; sorted here) and returns the named output column's cells.
func simpleJoin(t *testing.T, evs []ev, spine [][2]*int64, ttl time.Duration, fs []features.Feature) (map[string][]cell, error) {
	t.Helper()
	cols := make([][]cell, 5)
	for _, e := range evs {
		cols[0] = append(cols[0], cell{i: e.user})
		cols[1] = append(cols[1], cell{i: e.ts})
		c := cell{null: e.amount == nil}
		if e.amount != nil {
			c.f = *e.amount
		}
		cols[2] = append(cols[2], c)
		c = cell{null: e.qty == nil}
		if e.qty != nil {
			c.i = *e.qty
		}
		cols[3] = append(cols[3], c)
		c = cell{null: e.cat == nil}
		if e.cat != nil {
			c.s = *e.cat
		}
		cols[4] = append(cols[4], c)
	}
	sp := make([][]cell, 2)
	for _, r := range spine {
		for c := range 2 {
			if r[c] == nil {
				sp[c] = append(sp[c], cell{null: true})
			} else {
				sp[c] = append(sp[c], cell{i: *r[c]})
			}
		}
	}
	o := Options{
		Spine:        buildTable(simpleSpine, sp),
		SpineTimeCol: 1,
		Views: []ViewInput{{
			Name: "v", Features: fs, TTL: ttl,
			Events:  sortedEvents(simpleEvents, cols, []int{0}, 1),
			KeyCols: []int{0}, TimeCol: 1, SpineKeyCols: []int{0},
		}},
	}
	res, err := Join(t.Context(), o)
	if err != nil {
		return nil, err
	}
	// The reference must agree with every hand-written expectation too.
	checkAgainstReference(t, "simple", o)
	out := map[string][]cell{}
	for c, col := range res.Schema.Columns {
		for r := range res.Len {
			out[col.Name] = append(out[col.Name], cellAt(&res.Vectors[c], r))
		}
	}
	return out, nil
}

func expectCells(t *testing.T, got map[string][]cell, want map[string][]cell) {
	t.Helper()
	for name, w := range want {
		g := got["v__"+name]
		if len(g) != len(w) {
			t.Errorf("%s: %d values, want %d", name, len(g), len(w))
			continue
		}
		for r := range w {
			if !g[r].equal(w[r]) {
				t.Errorf("%s row %d: got %v, want %v", name, r, g[r], w[r])
			}
		}
	}
}

var null = cell{null: true}

func ci(x int64) cell   { return cell{i: x} }
func cf(x float64) cell { return cell{f: x} }
func cs(x string) cell  { return cell{s: x} }

func TestWindowBoundaries(t *testing.T) {
	t0 := 100 * day
	evs := []ev{
		{user: 1, ts: t0 - 7*day, amount: f64(1)},     // exactly t - 7d: out
		{user: 1, ts: t0 - 7*day + 1, amount: f64(2)}, // just inside
		{user: 1, ts: t0, amount: f64(4)},             // exactly t: in
		{user: 1, ts: t0 + 1, amount: f64(8)},         // after t: never
		{user: 1, ts: t0 - 1, amount: f64(16)},        // 1µs before t
		{user: 1, ts: t0 - 2, amount: f64(32)},        // 2µs before t
	}
	got, err := simpleJoin(t, evs, [][2]*int64{{i64(1), i64(t0)}}, 0, []features.Feature{
		{Name: "cnt_7d", Agg: features.Count, Window: 7 * 24 * time.Hour},
		{Name: "sum_7d", Agg: features.Sum, Column: "amount", Window: 7 * 24 * time.Hour},
		{Name: "sum_all", Agg: features.Sum, Column: "amount"},
		{Name: "sum_1500ns", Agg: features.Sum, Column: "amount", Window: 1500 * time.Nanosecond}, // t-1µs in, t-2µs out
		{Name: "sum_1ns", Agg: features.Sum, Column: "amount", Window: time.Nanosecond},           // only ts == t
		{Name: "max_7d", Agg: features.Max, Column: "amount", Window: 7 * 24 * time.Hour},
		{Name: "first_7d", Agg: features.First, Column: "amount", Window: 7 * 24 * time.Hour},
		{Name: "last", Agg: features.Last, Column: "amount"},
	})
	if err != nil {
		t.Fatal(err)
	}
	expectCells(t, got, map[string][]cell{
		"cnt_7d":     {ci(4)},
		"sum_7d":     {cf(2 + 4 + 16 + 32)},
		"sum_all":    {cf(1 + 2 + 4 + 16 + 32)},
		"sum_1500ns": {cf(4 + 16)},
		"sum_1ns":    {cf(4)},
		"max_7d":     {cf(32)},
		"first_7d":   {cf(2)},
		"last":       {cf(4)},
	})
}

func TestTiesKeepSourceOrder(t *testing.T) {
	evs := []ev{
		{user: 1, ts: 10, cat: str("first-at-10")},
		{user: 1, ts: 5, cat: str("at-5")},
		{user: 1, ts: 10, cat: str("second-at-10")},
		{user: 1, ts: 20, cat: str("at-20")},
	}
	got, err := simpleJoin(t, evs, [][2]*int64{{i64(1), i64(10)}, {i64(1), i64(19)}, {i64(1), i64(20)}}, 0, []features.Feature{
		{Name: "last", Agg: features.Last, Column: "cat"},
		{Name: "first_tie", Agg: features.First, Column: "cat", Window: time.Microsecond}, // ts == t only
		{Name: "last_tie", Agg: features.Last, Column: "cat", Window: time.Microsecond},
	})
	if err != nil {
		t.Fatal(err)
	}
	expectCells(t, got, map[string][]cell{
		"last":      {cs("second-at-10"), cs("second-at-10"), cs("at-20")},
		"first_tie": {cs("first-at-10"), null, cs("at-20")},
		"last_tie":  {cs("second-at-10"), null, cs("at-20")},
	})
}

func TestTTL(t *testing.T) {
	ttl := 30 * 24 * time.Hour
	t0 := 1000 * day
	evs := []ev{
		{user: 1, ts: t0 - 30*day, amount: f64(1)},     // exactly ttl old at t0: expired
		{user: 2, ts: t0 - 30*day + 1, amount: f64(2)}, // 1µs younger: fresh
		{user: 3, ts: t0 - 40*day, amount: f64(3)},     // old...
		{user: 3, ts: t0 - 35*day, amount: nil},        // ...and its newest row has a null amount: still expired
	}
	spine := [][2]*int64{{i64(1), i64(t0)}, {i64(2), i64(t0)}, {i64(3), i64(t0)}, {i64(4), i64(t0)}, {i64(1), i64(t0 - 1)}}
	got, err := simpleJoin(t, evs, spine, ttl, []features.Feature{
		{Name: "cnt", Agg: features.Count},                                // unbounded: can expire
		{Name: "cnt_7d", Agg: features.Count, Window: 7 * 24 * time.Hour}, // within ttl: never expires
		{Name: "cnt_90d", Agg: features.Count, Column: "amount", Window: 90 * 24 * time.Hour},
		{Name: "sum", Agg: features.Sum, Column: "amount"},
		{Name: "last", Agg: features.Last, Column: "amount"},
		{Name: "cd", Agg: features.CountDistinct, Column: "amount"},
		{Name: "orders", Expr: "int(cnt ?? -1)"},
	})
	if err != nil {
		t.Fatal(err)
	}
	expectCells(t, got, map[string][]cell{
		"cnt":     {null, ci(1), null, ci(0), ci(1)}, // user 4 has no events: 0, not null
		"cnt_7d":  {ci(0), ci(0), ci(0), ci(0), ci(0)},
		"cnt_90d": {null, ci(1), null, ci(0), ci(1)},
		"sum":     {null, cf(2), null, null, cf(1)},
		"last":    {null, cf(2), null, null, cf(1)},
		"cd":      {null, ci(1), null, ci(0), ci(1)},
		"orders":  {ci(-1), ci(1), ci(-1), ci(0), ci(1)},
	})
}

func TestNullsAndMissingHistory(t *testing.T) {
	evs := []ev{
		{user: 1, ts: 10, amount: f64(1), qty: i64(3), cat: str("a")},
		{user: 1, ts: 20, amount: nil, qty: nil, cat: nil},
	}
	spine := [][2]*int64{
		{nil, i64(30)},     // null key
		{i64(1), nil},      // null time
		{i64(1), i64(5)},   // before any event
		{i64(9), i64(30)},  // no history
		{i64(1), i64(30)},  // newest row is all nulls
		{i64(1), i64(15)},  // one row
		{i64(0), i64(100)}, // zero key, no history (null slots hold zero)
	}
	got, err := simpleJoin(t, evs, spine, 0, []features.Feature{
		{Name: "cnt", Agg: features.Count},
		{Name: "cnt_amount", Agg: features.Count, Column: "amount"},
		{Name: "sum", Agg: features.Sum, Column: "amount"},
		{Name: "mean_qty", Agg: features.Mean, Column: "qty"},
		{Name: "last_cat", Agg: features.Last, Column: "cat"}, // null value, not the older "a"
		{Name: "min_cat", Agg: features.Min, Column: "cat"},
		{Name: "cd_cat", Agg: features.CountDistinct, Column: "cat"},
		{Name: "has", Expr: "cnt > 0"},
		{Name: "avg", Expr: "sum / cnt"}, // null when sum is null; division by zero is null too
	})
	if err != nil {
		t.Fatal(err)
	}
	expectCells(t, got, map[string][]cell{
		"cnt":        {ci(0), ci(0), ci(0), ci(0), ci(2), ci(1), ci(0)},
		"cnt_amount": {ci(0), ci(0), ci(0), ci(0), ci(1), ci(1), ci(0)},
		"sum":        {null, null, null, null, cf(1), cf(1), null},
		"mean_qty":   {null, null, null, null, cf(3), cf(3), null},
		"last_cat":   {null, null, null, null, null, cs("a"), null},
		"min_cat":    {null, null, null, null, cs("a"), cs("a"), null},
		"cd_cat":     {ci(0), ci(0), ci(0), ci(0), ci(1), ci(1), ci(0)},
		"has":        {{b: false}, {b: false}, {b: false}, {b: false}, {b: true}, {b: true}, {b: false}},
		"avg":        {null, null, null, null, cf(0.5), cf(1), null},
	})
}

func TestMinMaxFloatOrder(t *testing.T) {
	negZero := math.Copysign(0, -1)
	evs := []ev{
		{user: 1, ts: 1, amount: f64(math.Inf(-1))},
		{user: 1, ts: 2, amount: f64(math.NaN())},
		{user: 1, ts: 3, amount: f64(0)},
		{user: 1, ts: 4, amount: f64(negZero)},
		{user: 1, ts: 5, amount: f64(math.Inf(1))},
	}
	got, err := simpleJoin(t, evs, [][2]*int64{{i64(1), i64(1)}, {i64(1), i64(3)}, {i64(1), i64(4)}, {i64(1), i64(5)}}, 0, []features.Feature{
		{Name: "max", Agg: features.Max, Column: "amount"},
		{Name: "min_recent", Agg: features.Min, Column: "amount", Window: 2 * time.Microsecond},
		{Name: "sum", Agg: features.Sum, Column: "amount"},
	})
	if err != nil {
		t.Fatal(err)
	}
	expectCells(t, got, map[string][]cell{
		"max":        {cf(math.Inf(-1)), cf(math.NaN()), cf(math.NaN()), cf(math.NaN())}, // NaN is the greatest
		"min_recent": {cf(math.Inf(-1)), cf(0), cf(negZero), cf(negZero)},                // -0 = 0: the newest wins
		"sum":        {cf(math.Inf(-1)), cf(math.NaN()), cf(math.NaN()), cf(math.NaN())},
	})
}

func TestIntSums(t *testing.T) {
	evs := []ev{
		{user: 1, ts: 0, qty: i64(math.MaxInt64)},
		{user: 1, ts: 2 * day, qty: i64(math.MaxInt64)},
		{user: 1, ts: 2 * day, qty: i64(-5)},
	}
	// The sliding state passes through MaxInt64 + MaxInt64, but each
	// one-day window's total fits.
	got, err := simpleJoin(t, evs, [][2]*int64{{i64(1), i64(0)}, {i64(1), i64(2 * day)}}, 0, []features.Feature{
		{Name: "sum_1d", Agg: features.Sum, Column: "qty", Window: 24 * time.Hour},
		{Name: "mean_all", Agg: features.Mean, Column: "qty"},
	})
	if err != nil {
		t.Fatal(err)
	}
	expectCells(t, got, map[string][]cell{
		"sum_1d":   {ci(math.MaxInt64), ci(math.MaxInt64 - 5)},
		"mean_all": {cf(math.MaxInt64), cf((2*float64(math.MaxInt64) - 5) / 3)},
	})
	// An unbounded sum that leaves the int64 range is an error.
	_, err = simpleJoin(t, evs, [][2]*int64{{i64(1), i64(2 * day)}}, 0, []features.Feature{
		{Name: "sum_all", Agg: features.Sum, Column: "qty"},
	})
	if !errors.Is(err, ErrOverflow) {
		t.Fatalf("want ErrOverflow, got %v", err)
	}
}

func TestInvalidInputs(t *testing.T) {
	evs := buildTable(simpleEvents, [][]cell{{ci(2), ci(1)}, {ci(0), ci(0)}, {null, null}, {null, null}, {null, null}})
	spine := buildTable(simpleSpine, [][]cell{{ci(1)}, {ci(0)}})
	base := func() Options {
		return Options{Spine: spine, SpineTimeCol: 1, Views: []ViewInput{{
			Name: "v", Features: []features.Feature{{Name: "n", Agg: features.Count}},
			Events: buildTable(simpleEvents, [][]cell{{ci(1), ci(2)}, {ci(0), ci(0)}, {null, null}, {null, null}, {null, null}}), KeyCols: []int{0}, TimeCol: 1, SpineKeyCols: []int{0},
		}}}
	}
	if _, err := Join(t.Context(), base()); err != nil {
		t.Fatalf("valid input: %v", err)
	}
	tests := []struct {
		name   string
		modify func(o *Options)
		want   error
	}{
		{"unsorted keys", func(o *Options) { o.Views[0].Events = evs }, ErrUnsorted},
		{"unsorted time", func(o *Options) {
			o.Views[0].Events = buildTable(simpleEvents, [][]cell{{ci(1), ci(1)}, {ci(5), ci(4)}, {null, null}, {null, null}, {null, null}})
		}, ErrUnsorted},
		{"null key", func(o *Options) {
			s := simpleEvents
			s.Columns = append([]tabular.Column{{Name: "user", Type: tabular.Int64, Nullable: true}}, s.Columns[1:]...)
			o.Views[0].Events = buildTable(s, [][]cell{{null, ci(1)}, {ci(0), ci(0)}, {null, null}, {null, null}, {null, null}})
		}, ErrInvalid},
		{"key type", func(o *Options) { o.Views[0].KeyCols = []int{4} }, ErrInvalid},
		{"spine time type", func(o *Options) { o.SpineTimeCol = 0 }, ErrInvalid},
		{"no keys", func(o *Options) { o.Views[0].KeyCols, o.Views[0].SpineKeyCols = nil, nil }, ErrInvalid},
		{"unknown column", func(o *Options) { o.Views[0].Features[0].Column = "nope" }, ErrInvalid},
		{"sum of string", func(o *Options) {
			o.Views[0].Features[0] = features.Feature{Name: "s", Agg: features.Sum, Column: "cat"}
		}, ErrInvalid},
		{"unknown selection", func(o *Options) { o.Views[0].Selected = []string{"zz"} }, ErrInvalid},
		{"bad expression", func(o *Options) {
			o.Views[0].Features = append(o.Views[0].Features, features.Feature{Name: "d", Expr: "n +"})
		}, ErrInvalid},
		{"negative window", func(o *Options) { o.Views[0].Features[0].Window = -1 }, ErrInvalid},
		{"same view twice", func(o *Options) { o.Views = append(o.Views, o.Views[0]) }, ErrInvalid},
		{"selected twice", func(o *Options) { o.Views[0].Selected = []string{"n", "n"} }, ErrInvalid},
		{"no events", func(o *Options) { o.Views[0].Events = nil }, ErrInvalid},
		{"no spine", func(o *Options) { o.Spine = nil }, ErrInvalid},
	}
	for _, tc := range tests {
		o := base()
		tc.modify(&o)
		if _, err := Join(t.Context(), o); !errors.Is(err, tc.want) {
			t.Errorf("%s: got %v, want %v", tc.name, err, tc.want)
		}
	}
}

func TestCanceled(t *testing.T) {
	g := &gen{rng: newRand(1), users: 3, timeSlots: 5}
	o := g.options(50, 50)
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	if _, err := Join(ctx, o); !errors.Is(err, context.Canceled) {
		t.Fatalf("got %v", err)
	}
}

func newRand(seed uint64) *rand.Rand { return rand.New(rand.NewPCG(seed, seed)) }

// A long entity history with wide windows: the deques and stacks of min
// and max grow past their compaction threshold, and tasks span many
// events.
func TestLongHistory(t *testing.T) {
	rng := newRand(3)
	var evs []ev
	for i := range 4000 {
		e := ev{user: 1, ts: int64(i / 2), amount: f64(float64(rng.IntN(1000)) / 8), qty: i64(rng.Int64N(100) - 50), cat: str(catValues[rng.IntN(len(catValues))])}
		if rng.IntN(10) == 0 {
			e.amount = nil
		}
		evs = append(evs, e)
	}
	var spine [][2]*int64
	for range 150 {
		spine = append(spine, [2]*int64{i64(1), i64(int64(rng.IntN(2050)))})
	}
	var fs []features.Feature
	for _, w := range []time.Duration{0, 800 * time.Microsecond, 1900 * time.Microsecond} {
		for _, agg := range []features.Agg{features.Min, features.Max, features.Sum, features.Count, features.CountDistinct} {
			for _, col := range []string{"amount", "qty", "cat"} {
				if col == "cat" && agg == features.Sum {
					continue
				}
				fs = append(fs, features.Feature{Name: fmt.Sprintf("%s_%s_%d", agg, col, w.Microseconds()), Agg: agg, Column: col, Window: w})
			}
		}
	}
	if _, err := simpleJoin(t, evs, spine, 0, fs); err != nil {
		t.Fatal(err)
	}
}
