package features

import (
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"

	"github.com/expr-lang/expr"
	"github.com/expr-lang/expr/vm"
)

// ErrEval matches (errors.Is) a filter or derived expression that failed on
// a row for a reason other than a null input or a division by zero, e.g.
// int("abc").
var ErrEval = errors.New("expression evaluation failed")

// Filter is a compiled source filter. Compile it once and evaluate it for
// every row; Eval is safe for concurrent use, an Evaluator is the faster
// form for one goroutine.
//
// Row values are Go values of the column types: int64, float64, string,
// bool, time.Time (UTC) for timestamps, and nil for null. A column missing
// from the row is null.
//
// Nulls: a filter that does not mention nil drops every row in which a
// column it reads is null, without evaluating it (SQL's WHERE keeps only
// rows where the predicate is true, and a comparison with null is not). A
// filter that mentions nil (amount == nil || amount > 0, amount ?? 0 > 1)
// is evaluated with nulls as nil, and a row on which it then fails (nil > 0)
// is dropped. A modulo by zero (x % 0) drops the row too; division (/) is
// always in floating point and follows IEEE 754 (x/0 is ±Inf, 0/0 is NaN,
// and NaN compares false). Any other failure is an error matching ErrEval.
type Filter struct {
	src       string
	program   *vm.Program
	columns   []string
	nullAware bool
	vms       sync.Pool
}

// CompileFilter compiles and type-checks a filter over columns (name ->
// type): it must read only those columns and give a bool. Errors are
// *ExprError values.
func CompileFilter(src string, columns map[string]ColumnType) (*Filter, error) {
	info, xerr := analyze(src)
	if xerr != nil {
		return nil, xerr
	}
	env, err := typedEnv(columns, info.idents)
	if err != nil {
		return nil, err
	}
	for _, id := range info.idents {
		if _, ok := columns[id]; !ok {
			return nil, &ExprError{Offset: info.identCol[id], Msg: fmt.Sprintf("unknown column '%s'%s", id, didYouMean(id, sortedKeys(columns)))}
		}
	}
	prog, err := compileExpr(src, env, expr.AsBool())
	if err != nil {
		return nil, err
	}
	cols := slices.Clone(info.idents)
	slices.Sort(cols)
	return &Filter{src: src, program: prog, columns: cols, nullAware: info.nullAware}, nil
}

// typedEnv declares the names an expression reads with their types. Only
// those: a column named like a builtin (max, count) must not hide the
// builtin from an expression that does not read the column.
func typedEnv(columns map[string]ColumnType, reads []string) (map[string]any, error) {
	env := make(map[string]any, len(reads))
	for _, name := range reads {
		t, ok := columns[name]
		if !ok {
			continue // reported as unknown by the caller
		}
		if !t.Valid() {
			return nil, &ExprError{Offset: -1, Msg: fmt.Sprintf("'%s' has unknown type '%s'", name, t)}
		}
		env[name] = zeroValue(t)
	}
	return env, nil
}

// String returns the filter's source.
func (f *Filter) String() string { return f.src }

// Columns lists the columns the filter reads, sorted.
func (f *Filter) Columns() []string { return slices.Clone(f.columns) }

// Eval reports whether row passes the filter; see Filter for nulls.
func (f *Filter) Eval(row map[string]any) (bool, error) {
	if !f.nullAware {
		for _, c := range f.columns {
			if row[c] == nil {
				return false, nil
			}
		}
	}
	m, _ := f.vms.Get().(*vm.VM)
	if m == nil {
		m = newVM()
	}
	out, err := m.Run(f.program, row)
	f.vms.Put(m)
	return f.result(out, err, row)
}

func (f *Filter) result(out any, err error, row map[string]any) (bool, error) {
	if err != nil {
		if divisionByZero(err) {
			return false, nil
		}
		for _, c := range f.columns {
			if row[c] == nil {
				return false, nil
			}
		}
		return false, fmt.Errorf("%w: filter '%s': %s", ErrEval, f.src, evalMessage(err))
	}
	b, _ := out.(bool)
	return b, nil
}

// FilterEvaluator evaluates one Filter over rows given as slices, reusing
// its memory; it is not safe for concurrent use.
type FilterEvaluator struct {
	f   *Filter
	vm  vm.VM
	env map[string]any
}

// Evaluator returns a FilterEvaluator for f.
func (f *Filter) Evaluator() *FilterEvaluator {
	e := &FilterEvaluator{f: f, env: make(map[string]any, len(f.columns))}
	e.vm.MemoryBudget = exprMemoryBudget
	return e
}

// Eval reports whether the row passes; values[i] is the value of column
// Columns()[i].
func (e *FilterEvaluator) Eval(values []any) (bool, error) {
	f := e.f
	if len(values) != len(f.columns) {
		return false, fmt.Errorf("%w: filter '%s' reads %d columns, got %d values", ErrEval, f.src, len(f.columns), len(values))
	}
	for i, c := range f.columns {
		if values[i] == nil && !f.nullAware {
			return false, nil
		}
		e.env[c] = values[i]
	}
	out, err := e.vm.Run(f.program, e.env)
	return f.result(out, err, e.env)
}

// divisionByZero recognises the runtime panic of an integer division or
// modulo by zero, which the expression VM turns into an error.
func divisionByZero(err error) bool {
	return strings.Contains(err.Error(), "integer divide by zero")
}

// evalMessage is the first line of an expression runtime error (the rest is
// a source snippet).
func evalMessage(err error) string {
	msg, _, _ := strings.Cut(err.Error(), "\n")
	return msg
}
