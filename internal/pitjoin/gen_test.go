package pitjoin

import (
	"math"
	"math/rand/v2"
	"slices"
	"time"

	"github.com/granaryml/granary/features"
	"github.com/granaryml/granary/internal/shard"
	"github.com/granaryml/granary/internal/tabular"
)

// buildTable makes a table from columns of cells.
func buildTable(schema tabular.Schema, cols [][]cell) *tabular.Table {
	n := 0
	if len(cols) > 0 {
		n = len(cols[0])
	}
	b := &tabular.Batch{Len: n, Vectors: make([]tabular.Vector, len(cols))}
	for c, col := range cols {
		v := &b.Vectors[c]
		v.Type = schema.Columns[c].Type
		if schema.Columns[c].Nullable {
			v.Nulls = make([]bool, n)
		}
		v.Offsets = []uint32{0}
		for i, x := range col {
			if x.null {
				if v.Nulls == nil {
					panic("null in non-nullable column " + schema.Columns[c].Name)
				}
				v.Nulls[i] = true
			}
			v.Ints = append(v.Ints, x.i)
			v.Floats = append(v.Floats, x.f)
			v.Bools = append(v.Bools, x.b)
			v.Bytes = append(v.Bytes, x.s...)
			v.Offsets = append(v.Offsets, uint32(len(v.Bytes)))
		}
	}
	t := tabular.NewTable(schema)
	all := make([]int, len(cols))
	for i := range all {
		all[i] = i
	}
	for i := range n {
		t.AppendRow(b, i, all)
	}
	return t
}

// sortedEvents sorts source-order event columns by (keys, ts) the way
// extraction does.
func sortedEvents(schema tabular.Schema, cols [][]cell, keyCols []int, timeCol int) *tabular.Table {
	src := buildTable(schema, cols)
	order := shard.SortOrder(src, keyCols, timeCol)
	out := make([][]cell, len(cols))
	for c := range cols {
		for _, i := range order {
			out[c] = append(out[c], cols[c][i])
		}
	}
	return buildTable(schema, out)
}

var eventSchema = tabular.Schema{Columns: []tabular.Column{
	{Name: "user", Type: tabular.Int64},
	{Name: "cat", Type: tabular.String},
	{Name: "fk", Type: tabular.Float64},
	{Name: "bk", Type: tabular.Bool},
	{Name: "ts", Type: tabular.Timestamp},
	{Name: "vi", Type: tabular.Int64, Nullable: true},
	{Name: "vf", Type: tabular.Float64, Nullable: true},
	{Name: "vb", Type: tabular.Bool, Nullable: true},
	{Name: "vs", Type: tabular.String, Nullable: true},
	{Name: "vt", Type: tabular.Timestamp, Nullable: true},
	{Name: "wf", Type: tabular.Float64}, // non-nullable columns take other code paths
	{Name: "wi", Type: tabular.Int64},
	{Name: "nf", Type: tabular.Float64, Nullable: true}, // narrow and plain: fixed-point prefix sums
	{Name: "xf", Type: tabular.Float64},                 // narrow with NaN, Inf, -0: sliding fixed-point sums
}}

const evTime = 4

var spineSchema = tabular.Schema{Columns: []tabular.Column{
	{Name: "user", Type: tabular.Int64, Nullable: true},
	{Name: "cat", Type: tabular.String, Nullable: true},
	{Name: "fk", Type: tabular.Float64, Nullable: true},
	{Name: "bk", Type: tabular.Bool, Nullable: true},
	{Name: "t", Type: tabular.Timestamp, Nullable: true},
	{Name: "label", Type: tabular.Int64},
}}

const spTime = 4

// views: name, key columns (same positions in events and spine).
var genViews = []struct {
	name string
	keys []int
}{
	{"u", []int{0}},
	{"uc", []int{0, 1}}, // composite, int + string
	{"c", []int{1}},
	{"fb", []int{3, 2}}, // bool + float, with -0 and NaN keys
}

type gen struct {
	rng         *rand.Rand
	users       int
	extremeInts bool
	extremeTime bool
	nullP       float64
	timeSlots   int64
}

const hourMicros = int64(time.Hour / time.Microsecond)

func (g *gen) maybeNull() bool { return g.rng.Float64() < g.nullP }

func (g *gen) time() int64 {
	base := int64(1_700_000_000_000_000)
	if g.extremeTime {
		switch g.rng.IntN(3) {
		case 0:
			base = math.MinInt64 + 5
		case 1:
			base = math.MaxInt64 - (g.timeSlots+2)*hourMicros
		}
	}
	t := base + g.rng.Int64N(g.timeSlots)*hourMicros
	if g.rng.IntN(5) == 0 {
		t += g.rng.Int64N(3) - 1
		if t < base {
			t = base
		}
	}
	return t
}

var catValues = []string{"", "a", "b", "ab", "zz", "é"}
var fkValues = []float64{math.Copysign(0, -1), 0, 1.5, math.NaN(), math.Inf(-1)}

func (g *gen) int() int64 {
	if g.extremeInts && g.rng.IntN(12) == 0 {
		return []int64{math.MaxInt64, math.MinInt64, math.MaxInt64 - 1, math.MinInt64 + 1, 1 << 62, -(1 << 62)}[g.rng.IntN(6)]
	}
	return g.rng.Int64N(11) - 5
}

func (g *gen) float() float64 {
	r := g.rng
	sign := 1.0
	if r.IntN(2) == 0 {
		sign = -1
	}
	switch p := r.IntN(100); {
	case p < 40:
		return float64(r.IntN(7) - 3)
	case p < 60:
		return sign * r.Float64() * math.Ldexp(1, r.IntN(121)-60)
	case p < 75:
		return sign * math.Ldexp(1+r.Float64(), r.IntN(2046)-1022) // any exponent
	case p < 80:
		return math.Copysign(0, -1)
	case p < 84:
		return sign * math.Float64frombits(r.Uint64N(1<<52)) // subnormal
	case p < 87:
		return sign * math.MaxFloat64
	case p < 90:
		return sign * 0.1
	case p < 91:
		return math.NaN()
	case p < 92:
		return math.Inf(int(sign))
	}
	return sign * float64(r.IntN(1000)) / 8
}

// narrow gives values of a few binades, like amounts; with specials,
// also NaN, ±Inf and -0 now and then.
func (g *gen) narrow(specials bool) float64 {
	if specials && g.rng.IntN(15) == 0 {
		return []float64{math.NaN(), math.Inf(1), math.Inf(-1), math.Copysign(0, -1)}[g.rng.IntN(4)]
	}
	return float64(g.rng.IntN(1001)-500) / 100
}

func (g *gen) events(n int) [][]cell {
	cols := make([][]cell, len(eventSchema.Columns))
	for range n {
		row := []cell{
			{i: g.rng.Int64N(int64(g.users))},
			{s: catValues[g.rng.IntN(len(catValues))]},
			{f: fkValues[g.rng.IntN(len(fkValues))]},
			{b: g.rng.IntN(2) == 0},
			{i: g.time()},
			{i: g.int()},
			{f: g.float()},
			{b: g.rng.IntN(2) == 0},
			{s: catValues[g.rng.IntN(len(catValues))]},
			{i: g.time()},
			{f: g.float()},
			{i: g.int()},
			{f: g.narrow(false)},
			{f: g.narrow(true)},
		}
		if g.rng.Float64() < g.nullP {
			row[12] = cell{null: true}
		}
		for c := 5; c <= 9; c++ {
			if g.maybeNull() {
				row[c] = cell{null: true}
			}
		}
		for c := range row {
			cols[c] = append(cols[c], row[c])
		}
	}
	return cols
}

func (g *gen) spine(n int) *tabular.Table {
	cols := make([][]cell, len(spineSchema.Columns))
	for r := range n {
		row := []cell{
			{i: g.rng.Int64N(int64(g.users) + 2)}, // some users have no events
			{s: catValues[g.rng.IntN(len(catValues))]},
			{f: fkValues[g.rng.IntN(len(fkValues))]},
			{b: g.rng.IntN(2) == 0},
			{i: g.time()},
			{i: int64(r)},
		}
		if g.rng.IntN(3) == 0 {
			row[spTime].i += g.rng.Int64N(3) * hourMicros / 2 // between slots too
		}
		for c := range 5 {
			if g.rng.Float64() < g.nullP/3 {
				row[c] = cell{null: true}
			}
		}
		for c := range row {
			cols[c] = append(cols[c], row[c])
		}
	}
	return buildTable(spineSchema, cols)
}

var genWindows = []time.Duration{0, time.Hour, 2 * time.Hour, 3 * time.Hour, 5 * time.Hour, 24 * time.Hour,
	time.Hour + time.Nanosecond, 2*time.Hour - time.Nanosecond, time.Nanosecond, 1500 * time.Nanosecond, time.Microsecond, features.MaxWindow}

var genTTLs = []time.Duration{0, 0, time.Hour, 2*time.Hour + 500*time.Nanosecond, 4 * time.Hour, 100 * time.Hour}

// genFeatures is every aggregation over every column type it applies to,
// with random windows, and derived features over them.
func (g *gen) features() []features.Feature {
	var fs []features.Feature
	add := func(name string, agg features.Agg, col string) {
		fs = append(fs, features.Feature{Name: name, Agg: agg, Column: col, Window: genWindows[g.rng.IntN(len(genWindows))]})
	}
	add("cnt", features.Count, "")
	add("cnt_vi", features.Count, "vi")
	add("cnt_vs", features.Count, "vs")
	add("cnt_wf", features.Count, "wf")
	add("cnt_nf", features.Count, "nf")
	for _, c := range []string{"vi", "vf", "vb", "vs", "vt", "wf"} {
		add("cd_"+c, features.CountDistinct, c)
	}
	for _, c := range []string{"vi", "vf", "vb", "wf", "wi", "nf", "xf"} {
		add("sum_"+c, features.Sum, c)
		add("mean_"+c, features.Mean, c)
	}
	for _, c := range []string{"vi", "vf", "vs", "vt", "wf", "wi", "nf"} {
		add("min_"+c, features.Min, c)
		add("max_"+c, features.Max, c)
	}
	for _, c := range []string{"vi", "vf", "vb", "vs", "vt", "wf"} {
		add("first_"+c, features.First, c)
		add("last_"+c, features.Last, c)
	}
	for _, d := range [][2]string{
		{"d_chain", "d_ratio * 2"}, // declared before what it reads
		{"d_ratio", "sum_vf / max(cnt, 1)"},
		{"d_len", "len(last_vs)"},
		{"d_flag", "cnt > 2 && last_vb"},
		{"d_coal", "int(max_vi ?? 0) + 1"},
		{"d_ts", "last_vt.Unix()"},
		{"d_str", `last_vs + "!"`},
		{"d_div", "sum_wi / cnt_vi"},
		{"d_mod", "cd_vs % cnt"},
		{"d_span", "(last_vt - first_vt).Hours()"},
	} {
		fs = append(fs, features.Feature{Name: d[0], Expr: d[1]})
	}
	g.rng.Shuffle(len(fs), func(i, j int) { fs[i], fs[j] = fs[j], fs[i] })
	return fs
}

// options builds a random join: 1-4 views over their own events.
func (g *gen) options(nEvents, nSpine int) Options {
	o := Options{Spine: g.spine(nSpine), SpineTimeCol: spTime}
	views := slices.Clone(genViews)
	g.rng.Shuffle(len(views), func(i, j int) { views[i], views[j] = views[j], views[i] })
	views = views[:1+g.rng.IntN(len(views))]
	for _, v := range views {
		n := nEvents
		if n > 0 {
			n = g.rng.IntN(nEvents + 1)
		}
		fs := g.features()
		var sel []string
		if g.rng.IntN(2) == 0 {
			for _, f := range fs {
				if g.rng.IntN(3) == 0 {
					sel = append(sel, f.Name)
				}
			}
			if !slices.Contains(sel, "d_chain") {
				sel = append(sel, "d_chain") // reads unselected ones
			}
		}
		o.Views = append(o.Views, ViewInput{
			Name:         v.name,
			Features:     fs,
			TTL:          genTTLs[g.rng.IntN(len(genTTLs))],
			Events:       sortedEvents(eventSchema, g.events(n), v.keys, evTime),
			KeyCols:      v.keys,
			TimeCol:      evTime,
			SpineKeyCols: v.keys,
			Selected:     sel,
		})
	}
	o.Workers = 1 + g.rng.IntN(4)
	o.chunkPositions = []int{0, 1, 2, 7}[g.rng.IntN(4)]
	o.maxPrefixSpan = []int{0, -1, 5}[g.rng.IntN(3)] // prefix sums always, never, for small tasks
	return o
}
