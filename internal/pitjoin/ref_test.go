package pitjoin

import (
	"bytes"
	"fmt"
	"math"
	"math/big"
	"math/bits"
	"slices"
	"time"

	"github.com/granaryml/granary/features"
	"github.com/granaryml/granary/internal/tabular"
)

// This file is the reference the engine is tested against: for every spine
// row and feature it scans every event of the view, keeps those of the
// row's key up to its time and inside the window, and aggregates them the
// obvious way (math/big for sums). It shares nothing with the engine but
// the features package's derived expressions.

// cell is one value of any type; floats are compared by their bits.
type cell struct {
	null bool
	i    int64
	f    float64
	b    bool
	s    string
}

func (c cell) equal(d cell) bool {
	if c.null || d.null {
		return c.null == d.null
	}
	return c.i == d.i && math.Float64bits(c.f) == math.Float64bits(d.f) && c.b == d.b && c.s == d.s
}

func (c cell) String() string {
	switch {
	case c.null:
		return "null"
	case c.s != "":
		return fmt.Sprintf("%q", c.s)
	case c.f != 0 || math.Signbit(c.f):
		return fmt.Sprintf("%v(%#x)", c.f, math.Float64bits(c.f))
	case c.b:
		return "true"
	}
	return fmt.Sprint(c.i)
}

func cellAt(v *tabular.Vector, i int) cell {
	if v.IsNull(i) {
		return cell{null: true}
	}
	switch v.Type {
	case tabular.Int64, tabular.Timestamp:
		return cell{i: v.Ints[i]}
	case tabular.Float64:
		return cell{f: v.Floats[i]}
	case tabular.Bool:
		return cell{b: v.Bools[i]}
	}
	return cell{s: string(v.StringBytes(i))}
}

// refResult is what the reference expects: one column of cells per output
// column, or that the join fails with an int64 overflow.
type refResult struct {
	names    []string
	cols     [][]cell
	overflow bool
}

func refJoin(o Options) (*refResult, error) {
	res := &refResult{}
	m := o.Spine.Len()
	st := o.Spine.Column(o.SpineTimeCol)
	for vi := range o.Views {
		v := &o.Views[vi]
		fv := features.FeatureView{Name: v.Name, TTL: v.TTL, Features: v.Features}
		src := map[string]features.ColumnType{}
		for _, c := range v.Events.Schema().Columns {
			src[c.Name] = features.ColumnType(c.Type)
		}
		derived, err := fv.CompileDerived(src)
		if err != nil {
			return nil, err
		}
		selected := v.Selected
		if selected == nil {
			for _, f := range v.Features {
				selected = append(selected, f.Name)
			}
		}
		cols := make([][]cell, len(selected))
		for c := range cols {
			cols[c] = make([]cell, m)
			res.names = append(res.names, v.Name+"__"+selected[c])
		}
		ets := v.Events.Column(v.TimeCol)
		for r := range m {
			// The row's events, in event order.
			var mine []int
			if !st.IsNull(r) && !anyNull(o.Spine, v.SpineKeyCols, r) {
				t := st.Ints[r]
				for i := range v.Events.Len() {
					if refKeyEqual(o.Spine, v.SpineKeyCols, r, v.Events, v.KeyCols, i) && ets.Ints[i] <= t {
						mine = append(mine, i)
					}
				}
			}
			values := map[string]any{}
			cells := map[string]cell{}
			for _, f := range v.Features {
				if f.Derived() {
					continue
				}
				var window []int
				for _, i := range mine {
					if f.Window == 0 || refBefore(st.Ints[r], ets.Ints[i], f.Window) {
						window = append(window, i)
					}
				}
				c, ovf := refAggregate(f, v.Events, ets, window)
				if len(window) > 0 && v.TTL > 0 {
					newest := window[0]
					for _, i := range window {
						if ets.Ints[i] > ets.Ints[newest] {
							newest = i
						}
					}
					if !refBefore(st.Ints[r], ets.Ints[newest], v.TTL) {
						c, ovf = cell{null: true}, false
					}
				}
				if ovf && slices.Contains(neededFeatures(v, derived), f.Name) {
					res.overflow = true
				}
				cells[f.Name] = c
				values[f.Name] = toAny(c, outType(f, v.Events))
			}
			for _, d := range derived {
				x, err := d.Eval(values)
				if err != nil {
					return nil, err
				}
				values[d.Name] = x
				cells[d.Name] = fromAny(x)
			}
			for c, name := range selected {
				cols[c][r] = cells[name]
			}
		}
		res.cols = append(res.cols, cols...)
	}
	return res, nil
}

// neededFeatures lists what a view's selection reads, transitively.
func neededFeatures(v *ViewInput, derived []features.DerivedFeature) []string {
	sel := v.Selected
	if sel == nil {
		for _, f := range v.Features {
			sel = append(sel, f.Name)
		}
	}
	seen := map[string]bool{}
	var visit func(string)
	visit = func(n string) {
		if seen[n] {
			return
		}
		seen[n] = true
		for _, d := range derived {
			if d.Name == n {
				for _, in := range d.Inputs() {
					visit(in)
				}
			}
		}
	}
	for _, n := range sel {
		visit(n)
	}
	var out []string
	for n := range seen {
		out = append(out, n)
	}
	return out
}

func outType(f features.Feature, events *tabular.Table) tabular.Type {
	if f.Column == "" {
		return tabular.Int64
	}
	s := events.Schema()
	return tabular.Type(features.OutputType(f.Agg, features.ColumnType(s.Columns[s.Index(f.Column)].Type)))
}

func anyNull(t *tabular.Table, cols []int, r int) bool {
	for _, c := range cols {
		if t.Column(c).IsNull(r) {
			return true
		}
	}
	return false
}

// refKeyEqual is SQL equality of join keys, with NaN equal to NaN as
// DuckDB has it.
func refKeyEqual(a *tabular.Table, ac []int, r int, b *tabular.Table, bc []int, i int) bool {
	for k := range ac {
		x, y := a.Column(ac[k]), b.Column(bc[k])
		switch x.Type {
		case tabular.Int64, tabular.Timestamp:
			if x.Ints[r] != y.Ints[i] {
				return false
			}
		case tabular.Float64:
			p, q := x.Floats[r], y.Floats[i]
			if !(p == q || (math.IsNaN(p) && math.IsNaN(q))) {
				return false
			}
		case tabular.Bool:
			if x.Bools[r] != y.Bools[i] {
				return false
			}
		default:
			if string(x.StringBytes(r)) != string(y.StringBytes(i)) {
				return false
			}
		}
	}
	return true
}

// refBefore reports t - d < ts for microsecond t and ts (ts <= t) and a
// duration d in nanoseconds, exactly.
func refBefore(t, ts int64, d time.Duration) bool {
	if (t >= 0) == (ts >= 0) { // t - ts cannot overflow: 128-bit product
		hi, lo := bits.Mul64(uint64(t-ts), 1000)
		return hi == 0 && lo < uint64(d)
	}
	diff := new(big.Int).Sub(big.NewInt(t), big.NewInt(ts))
	diff.Mul(diff, big.NewInt(1000))
	return diff.Cmp(big.NewInt(int64(d))) < 0
}

func refAggregate(f features.Feature, events *tabular.Table, ets *tabular.Vector, window []int) (c cell, overflow bool) {
	if f.Column == "" {
		return cell{i: int64(len(window))}, false
	}
	col := events.Column(events.Schema().Index(f.Column))
	var vals []int // the non-null ones
	for _, i := range window {
		if !col.IsNull(i) {
			vals = append(vals, i)
		}
	}
	switch f.Agg {
	case features.Count:
		return cell{i: int64(len(vals))}, false
	case features.CountDistinct:
		seen := map[string]bool{}
		for _, i := range vals {
			seen[distinctKey(col, i)] = true
		}
		return cell{i: int64(len(seen))}, false
	case features.First, features.Last:
		if len(window) == 0 {
			return cell{null: true}, false
		}
		// Oldest / newest by (timestamp, source order): the events are
		// stably sorted, so index order is source order among ties.
		pick := window[0]
		for _, i := range window[1:] {
			older := ets.Ints[i] < ets.Ints[pick] || ets.Ints[i] == ets.Ints[pick] && i < pick
			if older == (f.Agg == features.First) {
				pick = i
			}
		}
		return cellAt(col, pick), false
	}
	if len(vals) == 0 {
		return cell{null: true}, false
	}
	switch f.Agg {
	case features.Sum, features.Mean:
		var sum cell
		var asFloat float64
		switch col.Type {
		case tabular.Int64:
			b := new(big.Int)
			for _, i := range vals {
				b.Add(b, big.NewInt(col.Ints[i]))
			}
			if b.IsInt64() {
				sum.i = b.Int64()
			} else if f.Agg == features.Sum {
				return cell{null: true}, true
			}
			asFloat, _ = new(big.Float).SetInt(b).Float64()
		case tabular.Bool:
			for _, i := range vals {
				if col.Bools[i] {
					sum.i++
				}
			}
			asFloat = float64(sum.i)
		case tabular.Float64:
			fs := make([]float64, len(vals))
			for k, i := range vals {
				fs[k] = col.Floats[i]
			}
			sum.f = refFloatSum(fs)
			asFloat = sum.f
		}
		if f.Agg == features.Mean {
			return cell{f: asFloat / float64(len(vals))}, false
		}
		return sum, false
	case features.Min, features.Max:
		best := vals[0]
		for _, i := range vals[1:] {
			// Replace on ties: the newest of equal values wins.
			if f.Agg == features.Max && !refGreater(col, best, i) || f.Agg == features.Min && !refGreater(col, i, best) {
				best = i
			}
		}
		return cellAt(col, best), false
	}
	panic("unknown aggregation " + f.Agg)
}

// refGreater: NaN is above every number; -0 equals 0.
func refGreater(col *tabular.Vector, a, b int) bool {
	switch col.Type {
	case tabular.Int64, tabular.Timestamp:
		return col.Ints[a] > col.Ints[b]
	case tabular.Float64:
		x, y := col.Floats[a], col.Floats[b]
		if math.IsNaN(x) {
			return !math.IsNaN(y)
		}
		return !math.IsNaN(y) && x > y
	}
	return bytes.Compare(col.StringBytes(a), col.StringBytes(b)) > 0
}

func distinctKey(col *tabular.Vector, i int) string {
	switch col.Type {
	case tabular.Int64, tabular.Timestamp:
		return fmt.Sprint("i", col.Ints[i])
	case tabular.Float64:
		f := col.Floats[i]
		switch {
		case math.IsNaN(f):
			return "nan"
		case f == 0:
			return "zero"
		}
		return fmt.Sprint("f", math.Float64bits(f))
	case tabular.Bool:
		return fmt.Sprint(col.Bools[i])
	}
	return "s" + string(col.StringBytes(i))
}

// refFloatSum is the exact sum rounded once, by math/big.
func refFloatSum(fs []float64) float64 {
	nan, pinf, ninf, allNegZero := false, false, false, true
	acc := new(big.Float).SetPrec(4400)
	for _, f := range fs {
		switch {
		case math.IsNaN(f):
			nan = true
		case math.IsInf(f, 1):
			pinf = true
		case math.IsInf(f, -1):
			ninf = true
		default:
			acc.Add(acc, new(big.Float).SetFloat64(f))
		}
		if !(f == 0 && math.Signbit(f)) {
			allNegZero = false
		}
	}
	switch {
	case nan || pinf && ninf:
		return math.NaN()
	case pinf:
		return math.Inf(1)
	case ninf:
		return math.Inf(-1)
	}
	f, _ := acc.Float64()
	if f == 0 && acc.Sign() == 0 {
		if allNegZero {
			return math.Copysign(0, -1)
		}
		return 0
	}
	return f
}

func toAny(c cell, t tabular.Type) any {
	if c.null {
		return nil
	}
	switch t {
	case tabular.Int64:
		return c.i
	case tabular.Timestamp:
		return time.UnixMicro(c.i).UTC()
	case tabular.Float64:
		return c.f
	case tabular.Bool:
		return c.b
	}
	return c.s
}

func fromAny(x any) cell {
	switch v := x.(type) {
	case nil:
		return cell{null: true}
	case int64:
		return cell{i: v}
	case float64:
		return cell{f: v}
	case bool:
		return cell{b: v}
	case string:
		return cell{s: v}
	}
	panic(fmt.Sprintf("derived value %T", x))
}
