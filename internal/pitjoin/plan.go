package pitjoin

import (
	"fmt"
	"math"

	"github.com/granaryml/granary/features"
	"github.com/granaryml/granary/internal/tabular"
)

// aggKind is an aggregation specialised to its input's type.
type aggKind int

const (
	kCountRows     aggKind = iota // count without a column, or of a non-nullable one
	kCountNonNull                 // count of a nullable column
	kCountDistinct                // count_distinct
	kSumInt                       // sum of int64
	kSumBool                      // sum of bool: trues
	kSumFloat                     // sum of float64
	kMeanInt
	kMeanBool
	kMeanFloat
	kMin
	kMax
	kFirst
	kLast
)

// feature is one feature of a view being computed.
type feature struct {
	name string
	typ  tabular.Type    // output type
	vec  *tabular.Vector // values in spine order

	// Aggregated features.
	kind   aggKind
	col    *tabular.Vector // input column; nil for count without a column
	win    int             // index into viewPlan.windows
	window int64           // microseconds, 0 = unbounded
	// sel holds, for string-valued min/max/first/last, the event whose
	// value each position gets (-1: null); the strings are copied into
	// the vector afterwards.
	sel []int32
	// ids numbers the column's distinct values for count_distinct (-1 for
	// null); nids is how many there are.
	ids  []int32
	nids int
	// fixedBase is the unit of fixedSum for float sums, -1 for exactSum;
	// plain columns (no NaN, infinity or -0) can use prefix sums.
	fixedBase int
	plain     bool

	// Derived features.
	derived *features.Derived
}

// viewPlan is a validated view with its output vectors.
type viewPlan struct {
	in        *ViewInput
	name      string
	n         int // events
	keys      []*tabular.Vector
	spineKeys []*tabular.Vector
	ts        []int64
	ttl       int64   // microseconds, 0 = none
	windows   []int64 // distinct windows of the aggregates, microseconds, 0 = unbounded

	aggs    []*feature // the aggregated features needed, spec order
	derived []*feature // the derived features needed, in DerivedOrder
	reads   []*feature // aggregates the derived features read
	outputs []*feature
}

func newViewPlan(in *ViewInput, spine *tabular.Table, m int) (*viewPlan, error) {
	bad := func(format string, args ...any) error {
		return fmt.Errorf("%w: view '%s': %s", ErrInvalid, in.Name, fmt.Sprintf(format, args...))
	}
	if in.Events == nil {
		return nil, bad("no events")
	}
	p := &viewPlan{in: in, name: in.Name, n: in.Events.Len()}
	if p.n >= math.MaxInt32 {
		return nil, bad("%d events, more than %d", p.n, math.MaxInt32-1)
	}
	if err := checkTimeCol(in.Events, in.TimeCol, "view '"+in.Name+"' events"); err != nil {
		return nil, err
	}
	p.ts = in.Events.Column(in.TimeCol).Ints
	es, ss := in.Events.Schema(), spine.Schema()
	if len(in.KeyCols) == 0 || len(in.KeyCols) != len(in.SpineKeyCols) {
		return nil, bad("%d join key columns in events, %d in the spine", len(in.KeyCols), len(in.SpineKeyCols))
	}
	for i, c := range in.KeyCols {
		sc := in.SpineKeyCols[i]
		if c < 0 || c >= len(es.Columns) || sc < 0 || sc >= len(ss.Columns) {
			return nil, bad("join key column %d out of range", i)
		}
		if es.Columns[c].Type != ss.Columns[sc].Type {
			return nil, bad("join key '%s' is %s in events but '%s' is %s in the spine", es.Columns[c].Name, es.Columns[c].Type, ss.Columns[sc].Name, ss.Columns[sc].Type)
		}
		p.keys = append(p.keys, in.Events.Column(c))
		p.spineKeys = append(p.spineKeys, spine.Column(sc))
	}
	if in.TTL < 0 {
		return nil, bad("negative ttl %s", in.TTL)
	}
	p.ttl = micros(in.TTL)

	// Every feature, validated.
	byName := make(map[string]*features.Feature, len(in.Features))
	srcTypes := make(map[string]features.ColumnType, len(es.Columns))
	for _, c := range es.Columns {
		srcTypes[c.Name] = features.ColumnType(c.Type)
	}
	hasDerived := false
	for i := range in.Features {
		f := &in.Features[i]
		if _, dup := byName[f.Name]; dup || f.Name == "" {
			return nil, bad("feature name '%s' empty or repeated", f.Name)
		}
		byName[f.Name] = f
		if f.Derived() {
			if f.Agg != "" {
				return nil, bad("feature '%s' has both agg and expr", f.Name)
			}
			hasDerived = true
			continue
		}
		if !f.Agg.Valid() {
			return nil, bad("feature '%s': unknown aggregation '%s'", f.Name, f.Agg)
		}
		if f.Window < 0 {
			return nil, bad("feature '%s': negative window %s", f.Name, f.Window)
		}
		if f.Column == "" {
			if f.Agg != features.Count {
				return nil, bad("feature '%s': %s needs a column", f.Name, f.Agg)
			}
			continue
		}
		ct, ok := srcTypes[f.Column]
		if !ok {
			return nil, bad("feature '%s': no column '%s' in the events", f.Name, f.Column)
		}
		if features.OutputType(f.Agg, ct) == "" {
			return nil, bad("feature '%s': %s does not apply to column '%s' of type %s", f.Name, f.Agg, f.Column, ct)
		}
	}
	compiled := map[string]*features.Derived{}
	var derivedOrder []string
	if hasDerived {
		fv := features.FeatureView{Name: in.Name, TTL: in.TTL, Features: in.Features}
		ds, err := fv.CompileDerived(srcTypes)
		if err != nil {
			return nil, fmt.Errorf("%w: %w", ErrInvalid, err)
		}
		for _, d := range ds {
			compiled[d.Name] = d.Derived
			derivedOrder = append(derivedOrder, d.Name)
		}
	}

	// What to output, and what that needs.
	selected := in.Selected
	if selected == nil {
		for _, f := range in.Features {
			selected = append(selected, f.Name)
		}
	}
	needed := make(map[string]bool)
	var need func(name string) error
	need = func(name string) error {
		if needed[name] {
			return nil
		}
		f := byName[name]
		if f == nil {
			return bad("unknown feature '%s'", name)
		}
		needed[name] = true
		if f.Derived() {
			d := compiled[name]
			if d == nil {
				return bad("derived feature '%s' is not computable (a cycle?)", name)
			}
			for _, input := range d.Inputs() {
				if err := need(input); err != nil {
					return err
				}
			}
		}
		return nil
	}
	outSeen := make(map[string]bool, len(selected))
	for _, name := range selected {
		if outSeen[name] {
			return nil, bad("feature '%s' selected twice", name)
		}
		outSeen[name] = true
		if err := need(name); err != nil {
			return nil, err
		}
	}

	built := make(map[string]*feature)
	for i := range in.Features {
		f := &in.Features[i]
		if !needed[f.Name] || f.Derived() {
			continue
		}
		a := p.aggFeature(f, m, es)
		built[f.Name] = a
		p.aggs = append(p.aggs, a)
	}
	for _, name := range derivedOrder {
		if !needed[name] {
			continue
		}
		d := compiled[name]
		typ := tabular.Type(d.Type())
		df := &feature{name: name, typ: typ, derived: d, vec: newVector(typ, m, true)}
		built[name] = df
		p.derived = append(p.derived, df)
		for _, input := range d.Inputs() {
			if a := built[input]; a != nil && a.derived == nil && !contains(p.reads, a) {
				p.reads = append(p.reads, a)
			}
		}
	}
	for _, name := range selected {
		p.outputs = append(p.outputs, built[name])
	}
	return p, nil
}

func contains(fs []*feature, f *feature) bool {
	for _, g := range fs {
		if g == f {
			return true
		}
	}
	return false
}

// aggFeature specialises an aggregated feature to its column's type.
func (p *viewPlan) aggFeature(f *features.Feature, m int, es tabular.Schema) *feature {
	a := &feature{name: f.Name, window: micros(f.Window)}
	a.win = -1
	for i, w := range p.windows {
		if w == a.window {
			a.win = i
		}
	}
	if a.win < 0 {
		a.win = len(p.windows)
		p.windows = append(p.windows, a.window)
	}
	var ct tabular.Type
	if f.Column != "" {
		c := es.Index(f.Column)
		a.col = p.in.Events.Column(c)
		ct = es.Columns[c].Type
	}
	a.typ = tabular.Type(features.OutputType(f.Agg, features.ColumnType(ct)))
	switch f.Agg {
	case features.Count:
		a.kind = kCountRows
		if a.col != nil && a.col.Nulls != nil {
			a.kind = kCountNonNull
		}
	case features.CountDistinct:
		a.kind = kCountDistinct
	case features.Sum, features.Mean:
		k := map[tabular.Type]aggKind{tabular.Int64: kSumInt, tabular.Bool: kSumBool, tabular.Float64: kSumFloat}[ct]
		if f.Agg == features.Mean {
			k += kMeanInt - kSumInt
		}
		a.kind = k
	case features.Min:
		a.kind = kMin
	case features.Max:
		a.kind = kMax
	case features.First:
		a.kind = kFirst
	case features.Last:
		a.kind = kLast
	}
	if a.kind == kCountRows || a.kind == kCountNonNull || a.kind == kCountDistinct {
		// Counts are 0, not null, for an empty window; only ttl nulls
		// them, and only when the window is longer than ttl.
		canExpire := p.ttl > 0 && (a.window == 0 || a.window > p.ttl)
		a.vec = newVector(a.typ, m, false)
		if canExpire {
			a.vec.Nulls = make([]bool, m)
		}
	} else {
		a.vec = newVector(a.typ, m, true)
	}
	return a
}

// newVector makes a vector of m values, all null when nullable (the
// aggregations then fill in what is not).
func newVector(t tabular.Type, m int, nullable bool) *tabular.Vector {
	v := &tabular.Vector{Type: t}
	if nullable {
		v.Nulls = make([]bool, m)
		for i := range v.Nulls {
			v.Nulls[i] = true
		}
	}
	switch t {
	case tabular.Int64, tabular.Timestamp:
		v.Ints = make([]int64, m)
	case tabular.Float64:
		v.Floats = make([]float64, m)
	case tabular.Bool:
		v.Bools = make([]bool, m)
	case tabular.String:
		v.Offsets = make([]uint32, m+1) // filled once the values are known
	}
	return v
}
