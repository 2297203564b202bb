package features

import (
	"container/heap"
	"fmt"
	"math"
	"slices"
	"sync"

	"github.com/expr-lang/expr/vm"
)

// Derived is a compiled derived-feature expression. Compile it once and
// evaluate it per row; Eval is safe for concurrent use.
//
// Inputs are Go values of the features' types (int64, float64, string,
// bool, time.Time) or nil for null; a missing input is null.
//
// Nulls propagate as in SQL: if an input the expression reads is null, the
// result is null and the expression is not evaluated, unless it mentions
// nil (spend_30d ?? 0, x == nil ? 0 : x), in which case it is evaluated with
// nulls as nil and gives null if it then fails. Division by zero gives null:
// x / 0 and 0 / 0 (division is in floating point; they would be ±Inf and
// NaN) as well as x % 0, so no Inf or NaN ever reaches training data. Any other failure is an
// error matching ErrEval.
type Derived struct {
	src       string
	program   *vm.Program
	inputs    []string
	typ       ColumnType
	nullAware bool
	vms       sync.Pool
}

// CompileDerived compiles and type-checks a derived expression over inputs
// (feature name -> type). The result must be a number, bool or string.
// Errors are *ExprError values.
func CompileDerived(src string, inputs map[string]ColumnType) (*Derived, error) {
	info, xerr := analyze(src)
	if xerr != nil {
		return nil, xerr
	}
	env, err := typedEnv(inputs, info.idents)
	if err != nil {
		return nil, err
	}
	for _, id := range info.idents {
		if _, ok := inputs[id]; !ok {
			return nil, &ExprError{Offset: info.identCol[id], Msg: fmt.Sprintf("unknown feature '%s'%s", id, didYouMean(id, sortedKeys(inputs)))}
		}
	}
	prog, err := compileExpr(src, env)
	if err != nil {
		return nil, err
	}
	typ, terr := columnTypeOf(prog.Node().Type())
	if terr != nil {
		return nil, &ExprError{Offset: -1, Msg: terr.Error()}
	}
	in := slices.Clone(info.idents)
	slices.Sort(in)
	return &Derived{src: src, program: prog, inputs: in, typ: typ, nullAware: info.nullAware}, nil
}

// String returns the expression's source.
func (d *Derived) String() string { return d.src }

// Type is the type of the values Eval returns (apart from nil).
func (d *Derived) Type() ColumnType { return d.typ }

// Inputs lists the features the expression reads, sorted.
func (d *Derived) Inputs() []string { return slices.Clone(d.inputs) }

// Eval computes the feature from values (feature name -> value); the result
// is nil (null) or a value of Type(): int64, float64, bool or string.
func (d *Derived) Eval(values map[string]any) (any, error) {
	hasNull := false
	for _, c := range d.inputs {
		if values[c] == nil {
			if !d.nullAware {
				return nil, nil
			}
			hasNull = true
		}
	}
	m, _ := d.vms.Get().(*vm.VM)
	if m == nil {
		m = newVM()
	}
	out, err := m.Run(d.program, values)
	d.vms.Put(m)
	if err != nil {
		if hasNull || divisionByZero(err) {
			return nil, nil
		}
		return nil, fmt.Errorf("%w: expression '%s': %s", ErrEval, d.src, evalMessage(err))
	}
	return d.normalize(out)
}

// normalize converts the VM's result to the feature's column type.
func (d *Derived) normalize(out any) (any, error) {
	if out == nil {
		return nil, nil
	}
	switch d.typ {
	case Int64:
		switch x := out.(type) {
		case int:
			return int64(x), nil
		case int64:
			return x, nil
		case int32:
			return int64(x), nil
		}
	case Float64:
		var f float64
		switch x := out.(type) {
		case float64:
			f = x
		case float32:
			f = float64(x)
		case int:
			f = float64(x)
		case int64:
			f = float64(x)
		default:
			return nil, d.mismatch(out)
		}
		if math.IsInf(f, 0) || math.IsNaN(f) {
			return nil, nil // a division by zero
		}
		return f, nil
	case Bool:
		if b, ok := out.(bool); ok {
			return b, nil
		}
	case String:
		if s, ok := out.(string); ok {
			return s, nil
		}
	}
	return nil, d.mismatch(out)
}

func (d *Derived) mismatch(out any) error {
	return fmt.Errorf("%w: expression '%s' gave %T, want %s (are the inputs of the declared types?)", ErrEval, d.src, out, d.typ)
}

// DerivedFeature is one compiled derived feature of a view.
type DerivedFeature struct {
	Name string
	*Derived
}

// CompileDerived compiles the view's derived features in DerivedOrder,
// each type-checked against its inputs' types: the aggregations' OutputType
// over the source's columns (source: column -> type) and the results of the
// derived features before it. Evaluate them in the order returned, storing
// each result under its Name, so later ones see earlier ones.
func (v *FeatureView) CompileDerived(source map[string]ColumnType) ([]DerivedFeature, error) {
	types, err := v.aggTypes(source)
	if err != nil {
		return nil, err
	}
	order := v.DerivedOrder()
	if n := v.derivedCount(); len(order) != n {
		return nil, fmt.Errorf("%w: feature view '%s': derived features form a cycle", ErrInvalidSpec, v.Name)
	}
	exprs := make(map[string]string, len(order))
	for _, f := range v.Features {
		if _, seen := exprs[f.Name]; !seen && f.Derived() {
			exprs[f.Name] = f.Expr
		}
	}
	out := make([]DerivedFeature, 0, len(order))
	for _, name := range order {
		d, err := CompileDerived(exprs[name], types)
		if err != nil {
			return nil, fmt.Errorf("feature view '%s', feature '%s': %w", v.Name, name, err)
		}
		types[name] = d.Type()
		out = append(out, DerivedFeature{Name: name, Derived: d})
	}
	return out, nil
}

// FeatureTypes gives the type of every feature of the view over the
// source's columns (column -> type).
func (v *FeatureView) FeatureTypes(source map[string]ColumnType) (map[string]ColumnType, error) {
	types, err := v.aggTypes(source)
	if err != nil {
		return nil, err
	}
	ds, err := v.CompileDerived(source)
	if err != nil {
		return nil, err
	}
	for _, d := range ds {
		types[d.Name] = d.Type()
	}
	return types, nil
}

// aggTypes gives the output types of the view's aggregated features.
func (v *FeatureView) aggTypes(source map[string]ColumnType) (map[string]ColumnType, error) {
	types := make(map[string]ColumnType, len(v.Features))
	for _, f := range v.Features {
		if f.Derived() {
			continue
		}
		if f.Agg == Count && f.Column == "" {
			types[f.Name] = Int64
			continue
		}
		ct, ok := source[f.Column]
		if !ok {
			return nil, fmt.Errorf("%w: feature view '%s', feature '%s': unknown column '%s'%s", ErrSchemaMismatch, v.Name, f.Name, f.Column, didYouMean(f.Column, sortedKeys(source)))
		}
		t := OutputType(f.Agg, ct)
		if t == "" {
			return nil, fmt.Errorf("%w: feature view '%s', feature '%s': %s", ErrSchemaMismatch, v.Name, f.Name, aggTypeProblem(f.Agg, f.Column, ct))
		}
		types[f.Name] = t
	}
	return types, nil
}

func (v *FeatureView) derivedCount() int {
	n := 0
	for _, f := range v.Features {
		if f.Derived() {
			n++
		}
	}
	return n
}

// DerivedOrder lists the view's derived features so that each comes after
// the derived features it reads; among those free to go next, the one
// declared first goes first, so the order is deterministic and follows the
// spec where it can. Features in a cycle, or whose expression does not
// parse, are left out (Parse rejects such specs).
func (v *FeatureView) DerivedOrder() []string {
	// Kahn's algorithm with the ready features in a heap by declaration
	// index.
	index := make(map[string]int)
	var names []string
	var reads [][]string
	for _, f := range v.Features {
		if !f.Derived() {
			continue
		}
		if _, dup := index[f.Name]; dup {
			continue
		}
		info, err := analyze(f.Expr)
		if err != nil {
			continue
		}
		index[f.Name] = len(names)
		names = append(names, f.Name)
		reads = append(reads, info.idents)
	}
	waiting := make([]int, len(names))   // derived inputs not yet placed
	readers := make([][]int, len(names)) // who reads each
	for i, rs := range reads {
		for _, r := range rs {
			if j, ok := index[r]; ok {
				waiting[i]++
				readers[j] = append(readers[j], i)
			}
		}
	}
	ready := &intHeap{}
	for i, w := range waiting {
		if w == 0 {
			heap.Push(ready, i)
		}
	}
	order := make([]string, 0, len(names))
	for ready.Len() > 0 {
		i := heap.Pop(ready).(int)
		order = append(order, names[i])
		for _, r := range readers[i] {
			if waiting[r]--; waiting[r] == 0 {
				heap.Push(ready, r)
			}
		}
	}
	return order
}

type intHeap []int

func (h intHeap) Len() int           { return len(h) }
func (h intHeap) Less(i, j int) bool { return h[i] < h[j] }
func (h intHeap) Swap(i, j int)      { h[i], h[j] = h[j], h[i] }
func (h *intHeap) Push(x any)        { *h = append(*h, x.(int)) }
func (h *intHeap) Pop() any {
	old := *h
	x := old[len(old)-1]
	*h = old[:len(old)-1]
	return x
}
