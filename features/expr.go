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

// An expression runs once per row, so its work per row is bounded too.
// exprCost estimates it before compiling: a range or array literal of n
// elements costs n, a predicate builtin (all, filter, map, count, ...)
// costs its collection's size times its predicate, and a collection whose
// size depends on the data (split, a range between columns) counts as
// unknownCollection elements. At run time the VM stops any evaluation
// that builds more than exprMemoryBudget elements in all (expr-lang's
// default is 1e6).
const (
	maxExprCost       = 100_000
	unknownCollection = 1_000
	exprMemoryBudget  = 100_000
)

// newVM returns a VM that enforces exprMemoryBudget.
func newVM() *vm.VM { return &vm.VM{MemoryBudget: exprMemoryBudget} }

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
	c := &costWalker{sizes: make(map[string]int64)}
	if cost, _ := c.cost(tree.Node); cost > maxExprCost {
		return nil, &ExprError{Offset: c.at, Msg: fmt.Sprintf("expression does about %d operations per row, more than the %d allowed (ranges, arrays and predicates such as all() or filter() over them count per element)", cost, maxExprCost)}
	}
	return w.info, nil
}

// costWalker computes exprCost (see maxExprCost). at is where the
// estimate first went over the budget: the innermost expression that
// alone is too expensive.
type costWalker struct {
	sizes map[string]int64 // collections bound by let, by name
	at    int
	over  bool
}

// unknownSize is the size of what is not a collection of known length:
// scalars, and collections that only the data sizes.
const unknownSize = -1

// costCap keeps products of nested sizes from overflowing.
const costCap = 1 << 40

func addCost(a, b int64) int64 { return min(a+b, costCap) }

func mulCost(a, b int64) int64 {
	if a != 0 && b > costCap/a {
		return costCap
	}
	return min(a*b, costCap)
}

// elements is how many times a predicate runs over a collection of size.
func elements(size int64) int64 {
	if size < 0 {
		return unknownCollection
	}
	return size
}

// cost returns the estimated work of evaluating n once and, when n is a
// collection of known length (or a string literal), its length.
func (c *costWalker) cost(n ast.Node) (cost, size int64) {
	cost, size = c.nodeCost(n)
	if cost > maxExprCost && !c.over {
		c.over, c.at = true, n.Location().From
	}
	return cost, size
}

func (c *costWalker) sum(nodes ...ast.Node) int64 {
	total := int64(1)
	for _, x := range nodes {
		if x != nil {
			cx, _ := c.cost(x)
			total = addCost(total, cx)
		}
	}
	return total
}

func (c *costWalker) nodeCost(n ast.Node) (int64, int64) {
	switch n := n.(type) {
	case *ast.IdentifierNode:
		if s, ok := c.sizes[n.Value]; ok {
			return 1, s
		}
		return 1, unknownSize
	case *ast.UnaryNode:
		return c.sum(n.Node), unknownSize
	case *ast.BinaryNode:
		if n.Operator == ".." {
			// The range is built in memory.
			cost := c.sum(n.Left, n.Right)
			lo, okLo := constInt(n.Left)
			hi, okHi := constInt(n.Right)
			if !okLo || !okHi {
				return addCost(cost, unknownCollection), unknownSize
			}
			size := max(0, min(hi-lo+1, costCap))
			return addCost(cost, size), size
		}
		return c.sum(n.Left, n.Right), unknownSize
	case *ast.ChainNode:
		return c.cost(n.Node)
	case *ast.MemberNode:
		return c.sum(n.Node, n.Property), unknownSize
	case *ast.SliceNode:
		cn, size := c.cost(n.Node)
		return addCost(c.sum(n.From, n.To), cn), size
	case *ast.CallNode:
		return c.sum(append([]ast.Node{n.Callee}, n.Arguments...)...), unknownSize
	case *ast.BuiltinNode:
		return c.builtinCost(n)
	case *ast.PredicateNode:
		return c.cost(n.Node)
	case *ast.ConditionalNode:
		cc, _ := c.cost(n.Cond)
		c1, s1 := c.cost(n.Exp1)
		c2, s2 := c.cost(n.Exp2)
		return addCost(addCost(cc, max(c1, c2)), 1), max(s1, s2)
	case *ast.VariableDeclaratorNode:
		cv, sv := c.cost(n.Value)
		prev, had := c.sizes[n.Name]
		c.sizes[n.Name] = sv
		ce, se := c.cost(n.Expr)
		if had {
			c.sizes[n.Name] = prev
		} else {
			delete(c.sizes, n.Name)
		}
		return addCost(cv, ce), se
	case *ast.SequenceNode:
		total, size := int64(1), int64(unknownSize)
		for _, x := range n.Nodes {
			var cx int64
			cx, size = c.cost(x)
			total = addCost(total, cx)
		}
		return total, size
	case *ast.ArrayNode:
		return c.sum(n.Nodes...), int64(len(n.Nodes))
	case *ast.MapNode:
		return c.sum(n.Pairs...), int64(len(n.Pairs))
	case *ast.PairNode:
		return c.sum(n.Key, n.Value), unknownSize
	case *ast.StringNode:
		return 1, int64(len(n.Value))
	}
	return 1, unknownSize // other literals, nil, #
}

// predicateBuiltins take a collection and a predicate run per element.
var predicateBuiltins = map[string]bool{
	"all": true, "none": true, "any": true, "one": true, "filter": true, "map": true,
	"find": true, "findIndex": true, "findLast": true, "findLastIndex": true,
	"count": true, "sum": true, "groupBy": true, "sortBy": true, "reduce": true,
}

func (c *costWalker) builtinCost(n *ast.BuiltinNode) (int64, int64) {
	if len(n.Arguments) == 0 {
		return 1, unknownSize
	}
	cost, size := c.cost(n.Arguments[0])
	cost = addCost(cost, 1)
	if predicateBuiltins[n.Name] {
		for _, arg := range n.Arguments[1:] {
			ca, _ := c.cost(arg)
			if _, ok := arg.(*ast.PredicateNode); ok {
				ca = mulCost(elements(size), addCost(ca, 1))
			}
			cost = addCost(cost, ca)
		}
		switch n.Name {
		case "filter", "map", "sortBy":
			return cost, size
		}
		return addCost(cost, elements(size)), unknownSize
	}
	for _, arg := range n.Arguments[1:] {
		ca, _ := c.cost(arg)
		cost = addCost(cost, ca)
	}
	switch n.Name {
	case "repeat":
		// Builds len(s) * k bytes.
		if k, ok := constInt(n.Arguments[1]); ok && size >= 0 {
			out := mulCost(size, max(k, 0))
			return addCost(cost, out), out
		}
		return addCost(cost, unknownCollection), unknownSize
	case "split", "splitAfter", "fromJSON":
		return cost, unknownSize
	case "keys", "values", "toPairs", "flatten", "concat", "uniq", "sort", "reverse", "take":
		return addCost(cost, max(size, 1)), size
	}
	// The rest walk their first argument at most once.
	return addCost(cost, max(size, 1)), unknownSize
}

// constInt reads an integer literal, possibly negated.
func constInt(n ast.Node) (int64, bool) {
	switch n := n.(type) {
	case *ast.IntegerNode:
		return int64(n.Value), true
	case *ast.UnaryNode:
		if n.Operator == "-" {
			if v, ok := constInt(n.Node); ok {
				return -v, true
			}
		}
	}
	return 0, false
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
