package pitjoin

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"testing"
	"time"

	"github.com/granaryml/granary/features"
	"github.com/granaryml/granary/internal/tabular"
)

// benchData builds a shard like a training build's: events sorted by
// (user, ts) over one year, and a spine in random order.
func benchData(b *testing.B, entities, events, spineRows int) (*tabular.Table, *tabular.Table) {
	b.Helper()
	rng := rand.New(rand.NewPCG(1, 2))
	const year = 365 * day
	start := int64(1_700_000_000_000_000)
	cats := []string{"books", "toys", "garden", "food", "music", "tools", "sports", "games"}

	es := tabular.Schema{Columns: []tabular.Column{
		{Name: "user_id", Type: tabular.Int64},
		{Name: "event_time", Type: tabular.Timestamp},
		{Name: "amount", Type: tabular.Float64, Nullable: true},
		{Name: "category", Type: tabular.String},
	}}
	eb := &tabular.Batch{Len: events, Vectors: []tabular.Vector{
		{Type: tabular.Int64, Ints: make([]int64, 0, events)},
		{Type: tabular.Timestamp, Ints: make([]int64, 0, events)},
		{Type: tabular.Float64, Floats: make([]float64, 0, events), Nulls: make([]bool, 0, events)},
		{Type: tabular.String, Offsets: []uint32{0}},
	}}
	ts := make([]int64, 0, 2*events/entities)
	for u := range entities {
		n := events / entities
		if u < events%entities {
			n++
		}
		ts = ts[:0]
		for range n {
			ts = append(ts, start+rng.Int64N(year))
		}
		slices.Sort(ts)
		for _, t := range ts {
			v := eb.Vectors
			v[0].Ints = append(v[0].Ints, int64(u)*7919)
			v[1].Ints = append(v[1].Ints, t)
			v[2].Floats = append(v[2].Floats, float64(rng.IntN(100000))/100)
			v[2].Nulls = append(v[2].Nulls, rng.IntN(50) == 0)
			v[3].Bytes = append(v[3].Bytes, cats[rng.IntN(len(cats))]...)
			v[3].Offsets = append(v[3].Offsets, uint32(len(v[3].Bytes)))
		}
	}
	ev := tabular.NewTable(es)
	all := []int{0, 1, 2, 3}
	for i := range events {
		ev.AppendRow(eb, i, all)
	}

	ss := tabular.Schema{Columns: []tabular.Column{
		{Name: "user_id", Type: tabular.Int64},
		{Name: "event_timestamp", Type: tabular.Timestamp},
		{Name: "label", Type: tabular.Bool},
	}}
	sb := &tabular.Batch{Len: spineRows, Vectors: []tabular.Vector{
		{Type: tabular.Int64}, {Type: tabular.Timestamp}, {Type: tabular.Bool},
	}}
	for range spineRows {
		sb.Vectors[0].Ints = append(sb.Vectors[0].Ints, int64(rng.IntN(entities))*7919)
		sb.Vectors[1].Ints = append(sb.Vectors[1].Ints, start+rng.Int64N(year+30*day))
		sb.Vectors[2].Bools = append(sb.Vectors[2].Bools, rng.IntN(2) == 0)
	}
	sp := tabular.NewTable(ss)
	for i := range spineRows {
		sp.AppendRow(sb, i, []int{0, 1, 2})
	}
	return ev, sp
}

var benchFeatures = []features.Feature{
	{Name: "orders_7d", Agg: features.Count, Window: 7 * 24 * time.Hour},
	{Name: "spend_30d", Agg: features.Sum, Column: "amount", Window: 30 * 24 * time.Hour},
	{Name: "max_30d", Agg: features.Max, Column: "amount", Window: 30 * 24 * time.Hour},
	{Name: "last_cat", Agg: features.Last, Column: "category"},
}

// BenchmarkJoin: 1M spine rows over 20k entities and 4M events, the
// design's example view (count 7d, sum 30d, max 30d, last).
func BenchmarkJoin(b *testing.B) {
	const entities, events, spineRows = 20_000, 4_000_000, 1_000_000
	ev, sp := benchData(b, entities, events, spineRows)
	run := func(b *testing.B, fs []features.Feature, ttl time.Duration, workers int) {
		o := Options{Spine: sp, SpineTimeCol: 1, Workers: workers, Views: []ViewInput{{
			Name: "user_orders", Features: fs, TTL: ttl, Events: ev,
			KeyCols: []int{0}, TimeCol: 1, SpineKeyCols: []int{0},
		}}}
		b.ReportAllocs()
		b.ResetTimer()
		for b.Loop() {
			if _, err := Join(b.Context(), o); err != nil {
				b.Fatal(err)
			}
		}
		perRow := float64(b.Elapsed().Nanoseconds()) / float64(b.N) / spineRows
		b.ReportMetric(perRow, "ns/row")
		b.ReportMetric(1e3/perRow, "Mrows/s")
	}
	for _, workers := range []int{0, 1} {
		b.Run(fmt.Sprintf("design-view/workers=%d", workers), func(b *testing.B) { run(b, benchFeatures, 0, workers) })
	}
	b.Run("design-view-ttl", func(b *testing.B) { run(b, benchFeatures, 14*24*time.Hour, 0) })
	for _, f := range benchFeatures {
		b.Run("only-"+f.Name, func(b *testing.B) { run(b, []features.Feature{f}, 0, 0) })
	}
	b.Run("design-view+derived", func(b *testing.B) {
		run(b, append(slices.Clone(benchFeatures), features.Feature{Name: "avg_order", Expr: "spend_30d / max(orders_7d, 1)"}), 0, 0)
	})
	b.Run("mean-90d+count_distinct-30d", func(b *testing.B) {
		run(b, []features.Feature{
			{Name: "mean_90d", Agg: features.Mean, Column: "amount", Window: 90 * 24 * time.Hour},
			{Name: "cats_30d", Agg: features.CountDistinct, Column: "category", Window: 30 * 24 * time.Hour},
		}, 0, 0)
	})
}
