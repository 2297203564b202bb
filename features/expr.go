package features

import (
	"errors"
	"fmt"
	"reflect"
	"sort"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/expr-lang/expr"
	"github.com/expr-lang/expr/ast"
	"github.com/expr-lang/expr/builtin"
	"github.com/expr-lang/expr/file"
	"github.com/expr-lang/expr/parser"
	"github.com/expr-lang/expr/vm"
)

// maxExprLen bounds one expression; specs are written by hand.
const maxExprLen = 16 << 10

// ExprError is a problem in a filter or derived expression.
type ExprError struct {
	// Offset is the 0-based character (not byte) offset in the expression
	// where the problem is, or -1 when it has no single place.
	Offset int
	Msg    string
}

// Is makes an ExprError match ErrInvalidSpec: the expression is part of the
// spec.
func (e *ExprError) Is(target error) bool { return target == ErrInvalidSpec }

func (e *ExprError) Error() string {
	if e.Offset < 0 {
		return e.Msg
	}
	return fmt.Sprintf("%s (at character %d of the expression)", e.Msg, e.Offset+1)
}

// exprInfo is what static analysis finds in an expression.
type exprInfo struct {
	// idents are the free identifiers (columns or features it reads) in
	// order of first use; identCol their first character offsets.
	idents   []string
	identCol map[string]int
	// nullAware expressions mention nil (== nil, ??): they are evaluated
	// even when an input is null. Others give null for a null input.
	nullAware bool
}

// analyze parses src and lists the names it reads. It rejects what would make
// results irreproducible (now()) or depend on the runtime environment ($env).
func analyze(src string) (*exprInfo, *ExprError) {
	if strings.TrimSpace(src) == "" {
		return nil, &ExprError{Offset: -1, Msg: "empty expression"}
	}
	if len(src) > maxExprLen {
		return nil, &ExprError{Offset: -1, Msg: fmt.Sprintf("expression longer than %d bytes", maxExprLen)}
	}
	if !utf8.ValidString(src) {
		return nil, &ExprError{Offset: -1, Msg: "expression is not valid UTF-8"}
	}
	tree, err := parseExpr(src)
	if err != nil {
		return nil, toExprError("syntax error: ", err)
	}
	w := &identWalker{info: &exprInfo{identCol: make(map[string]int)}, bound: make(map[string]bool), callees: make(map[*ast.IdentifierNode]bool)}
	ast.Walk(&tree.Node, w)
	if w.err == nil {
		w.finish()
	}
	if w.err != nil {
		return nil, w.err
	}
	return w.info, nil
}

// parseExpr guards the third-party parser: user input must not crash a
// worker.
func parseExpr(src string) (tree *parser.Tree, err error) {
	defer func() {
		if r := recover(); r != nil {
			tree, err = nil, fmt.Errorf("cannot parse expression: %v", r)
		}
	}()
	return parser.Parse(src)
}

type identWalker struct {
	info    *exprInfo
	bound   map[string]bool // let-bound names (scope is ignored: a name used as a let variable anywhere is not a column)
	callees map[*ast.IdentifierNode]bool
	err     *ExprError
	pending []*ast.IdentifierNode
}

func (w *identWalker) Visit(node *ast.Node) {
	if w.err != nil {
		return
	}
	switch n := (*node).(type) {
	case *ast.IdentifierNode:
		// Post-order: a call's callee is visited before the CallNode, so
		// decide about identifiers at the end.
		w.pending = append(w.pending, n)
	case *ast.CallNode:
		if id, ok := n.Callee.(*ast.IdentifierNode); ok {
			// Builtins parse as BuiltinNode, and specs define no
			// functions, so a named call is a typo.
			w.callees[id] = true
			w.err = &ExprError{Offset: id.Location().From, Msg: fmt.Sprintf("unknown function '%s'%s", id.Value, suggestFunc(id.Value))}
		}
	case *ast.VariableDeclaratorNode:
		w.bound[n.Name] = true
	case *ast.NilNode:
		w.info.nullAware = true
	case *ast.BinaryNode:
		if n.Operator == "??" {
			w.info.nullAware = true
		}
	case *ast.BuiltinNode:
		if n.Name == "now" {
			w.err = &ExprError{Offset: n.Location().From, Msg: "now() is not allowed: a feature must give the same value whenever it is computed"}
		}
	case *ast.MemberNode:
		if n.Optional {
			w.info.nullAware = true
		}
	}
}

func (w *identWalker) finish() {
	for _, id := range w.pending {
		if w.callees[id] || w.bound[id.Value] {
			continue
		}
		if id.Value == "$env" {
			w.err = &ExprError{Offset: id.Location().From, Msg: "$env is not allowed; name columns and features directly"}
			return
		}
		if _, seen := w.info.identCol[id.Value]; !seen {
			w.info.identCol[id.Value] = id.Location().From
			w.info.idents = append(w.info.idents, id.Value)
		}
	}
}

func suggestFunc(name string) string {
	if n := nearest(name, builtin.Names); n != "" {
		return "; did you mean '" + n + "'?"
	}
	return ""
}

// toExprError turns an expr-lang error into our position and message.
func toExprError(prefix string, err error) *ExprError {
	var fe *file.Error
	if errors.As(err, &fe) {
		return &ExprError{Offset: fe.From, Msg: prefix + fe.Message}
	}
	return &ExprError{Offset: -1, Msg: prefix + err.Error()}
}

// exprOptions are the options every program is compiled with: dates are UTC
// wherever the worker runs, and now() does not exist.
func exprOptions(env map[string]any, extra ...expr.Option) []expr.Option {
	opts := []expr.Option{expr.Env(env), expr.Timezone("UTC"), expr.DisableBuiltin("now")}
	return append(opts, extra...)
}

// compileExpr type-checks src against env (name -> typed zero value).
func compileExpr(src string, env map[string]any, extra ...expr.Option) (prog *vm.Program, err error) {
	// The expression library is third-party code fed with user input.
	defer func() {
		if r := recover(); r != nil {
			prog, err = nil, &ExprError{Offset: -1, Msg: fmt.Sprintf("cannot compile expression: %v", r)}
		}
	}()
	prog, err = expr.Compile(src, exprOptions(env, extra...)...)
	if err != nil {
		return nil, toExprError("", err)
	}
	return prog, nil
}

// zeroValue is the value that stands for a column of type t when
// type-checking.
func zeroValue(t ColumnType) any {
	switch t {
	case Int64:
		return int64(0)
	case Float64:
		return float64(0)
	case String:
		return ""
	case Bool:
		return false
	case Timestamp:
		return time.Time{}
	}
	return nil
}

var (
	timeType     = reflect.TypeOf(time.Time{})
	durationType = reflect.TypeOf(time.Duration(0))
)

// columnTypeOf maps an expression's static result type to a column type.
func columnTypeOf(t reflect.Type) (ColumnType, error) {
	if t == nil {
		return "", errors.New("the result type cannot be determined")
	}
	switch t {
	case timeType:
		return "", errors.New("the result is a timestamp; features are numbers, booleans or strings (e.g. take .Unix())")
	case durationType:
		return "", errors.New("the result is a duration; convert it, e.g. (a - b).Hours()")
	}
	switch t.Kind() {
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		return Int64, nil
	case reflect.Float32, reflect.Float64:
		return Float64, nil
	case reflect.Bool:
		return Bool, nil
	case reflect.String:
		return String, nil
	case reflect.Interface:
		return "", errors.New("the result type is ambiguous (branches of different types, or ??); make it explicit with float(...), int(...) or string(...)")
	}
	return "", fmt.Errorf("the result is a %s; features are numbers, booleans or strings", t)
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}
