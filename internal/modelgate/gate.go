// Package modelgate evaluates promotion gates: expr-lang expressions over
// a candidate model's metrics (auc, loss, ...) and the current champion's
// (champion.auc), e.g. `auc >= 0.8 && auc >= champion.auc - 0.01`.
//
// A gate never passes just because the alias has no holder yet: its parts
// that do not read the champion are still evaluated (see Evaluate).
package modelgate

import (
	"errors"
	"fmt"
	"slices"
	"sort"
	"strings"

	"github.com/expr-lang/expr"
	"github.com/expr-lang/expr/ast"
	"github.com/expr-lang/expr/parser"
	"github.com/expr-lang/expr/vm"
)

// ErrInvalidGate matches gates that do not compile or read metrics that
// do not exist.
var ErrInvalidGate = errors.New("invalid gate")

// ChampionName is how gates refer to the current alias holder.
const ChampionName = "champion"

// Result is one gate's verdict.
type Result struct {
	Passed  bool
	Skipped bool // its verdict depends on a champion that does not exist
	Detail  string
}

// refs lists the candidate metrics and champion metrics a gate reads.
func refs(gate string) (candidate, champion []string, err error) {
	tree, err := parser.Parse(gate)
	if err != nil {
		return nil, nil, fmt.Errorf("%w %q: %v", ErrInvalidGate, gate, oneLine(err.Error()))
	}
	v := &collector{}
	ast.Walk(&tree.Node, v)
	if v.err != nil {
		return nil, nil, fmt.Errorf("%w %q: %v", ErrInvalidGate, gate, v.err)
	}
	return v.candidate, v.champion, nil
}

type collector struct {
	candidate, champion []string
	inMember            map[ast.Node]bool
	err                 error
}

func (c *collector) Visit(n *ast.Node) {
	switch node := (*n).(type) {
	case *ast.MemberNode:
		if id, ok := node.Node.(*ast.IdentifierNode); ok && id.Value == ChampionName {
			if s, ok := node.Property.(*ast.StringNode); ok {
				c.champion = append(c.champion, s.Value)
				if c.inMember == nil {
					c.inMember = map[ast.Node]bool{}
				}
				c.inMember[node.Node] = true
			} else {
				c.err = errors.New("champion metrics are read as champion.name")
			}
		}
	case *ast.IdentifierNode:
		if node.Value != ChampionName {
			c.candidate = append(c.candidate, node.Value)
		}
	}
}

// Check compiles a gate against the metric names a candidate has, before
// any workflow starts, so a typo fails on the command line.
func Check(gate string, metrics map[string]float64) error {
	cand, champ, err := refs(gate)
	if err != nil {
		return err
	}
	for _, m := range append(cand, champ...) {
		if _, ok := metrics[m]; !ok && !isBuiltin(m) {
			return fmt.Errorf("%w %q: unknown metric %q; the model has %s", ErrInvalidGate, gate, m, names(metrics))
		}
	}
	_, err = compile(gate, metrics, metrics)
	return err
}

// NoChampion says what a gate whose verdict depends on the champion's
// metrics gives when the alias has no holder yet.
type NoChampion string

const (
	// NoChampionSkip passes such a gate as skipped: the first promotion of
	// an alias has nothing to beat. The parts of the gate that do not read
	// the champion are still evaluated, and fail it when they decide it.
	NoChampionSkip NoChampion = "skip"
	// NoChampionFail fails it: nothing is promoted on a comparison that
	// could not be made.
	NoChampionFail NoChampion = "fail"
)

// ParseNoChampion reads a NoChampion; "" is NoChampionSkip.
func ParseNoChampion(s string) (NoChampion, error) {
	switch NoChampion(s) {
	case "", NoChampionSkip:
		return NoChampionSkip, nil
	case NoChampionFail:
		return NoChampionFail, nil
	}
	return "", fmt.Errorf("%w: no_champion %q: want skip or fail", ErrInvalidGate, s)
}

// Evaluate runs a gate. champion nil means the alias has no holder: then
// a gate that reads champion metrics is evaluated in three-valued logic,
// each part (an operand of &&, ||, !) that reads the champion being
// unknown. The champion-free parts decide the gate whenever they can
// (auc >= 0.8 && auc >= champion.auc fails for auc 0.1); only a verdict
// that truly depends on the champion is left to noChampion.
func Evaluate(gate string, candidate, champion map[string]float64, noChampion NoChampion) (Result, error) {
	cand, champ, err := refs(gate)
	if err != nil {
		return Result{}, err
	}
	for _, m := range cand {
		if _, ok := candidate[m]; !ok && !isBuiltin(m) {
			return Result{}, fmt.Errorf("%w %q: the candidate has no metric %q (it has %s)", ErrInvalidGate, gate, m, names(candidate))
		}
	}
	if champion == nil && readsChampion(gate) {
		return evaluateWithoutChampion(gate, cand, champ, candidate, noChampion)
	}
	for _, m := range champ {
		if _, ok := champion[m]; !ok {
			return Result{}, fmt.Errorf("%w %q: the champion has no metric %q (it has %s)", ErrInvalidGate, gate, m, names(champion))
		}
	}
	passed, err := run(gate, candidate, champion)
	if err != nil {
		return Result{}, err
	}
	return Result{Passed: passed, Detail: detail(cand, champ, candidate, champion)}, nil
}

func run(gate string, candidate, champion map[string]float64) (bool, error) {
	prog, err := compile(gate, candidate, champion)
	if err != nil {
		return false, err
	}
	out, err := expr.Run(prog, env(candidate, champion))
	if err != nil {
		return false, fmt.Errorf("%w %q: %v", ErrInvalidGate, gate, err)
	}
	passed, _ := out.(bool)
	return passed, nil
}

// truth is a three-valued verdict: a part of a gate that reads a champion
// that does not exist is unknown.
type truth int

const (
	unknown truth = iota
	falsy
	truthy
)

func evaluateWithoutChampion(gate string, cand, champ []string, candidate map[string]float64, noChampion NoChampion) (Result, error) {
	// Type-check the whole gate first, with placeholder champion metrics,
	// so a gate that could never run fails the same way with or without
	// a champion.
	placeholder := make(map[string]float64, len(champ))
	for _, m := range champ {
		placeholder[m] = 0
	}
	if _, err := compile(gate, candidate, placeholder); err != nil {
		return Result{}, err
	}
	tree, err := parser.Parse(gate)
	if err != nil {
		return Result{}, fmt.Errorf("%w %q: %v", ErrInvalidGate, gate, oneLine(err.Error()))
	}
	t, err := eval3(tree.Node, candidate)
	if err != nil {
		return Result{}, fmt.Errorf("%w %q: %v", ErrInvalidGate, gate, err)
	}
	values := detail(cand, nil, candidate, nil)
	switch {
	case t == truthy:
		return Result{Passed: true, Detail: strings.TrimSpace(values + " (no champion; holds whatever it would be)")}, nil
	case t == falsy:
		return Result{Passed: false, Detail: strings.TrimSpace(values + " (no champion; fails on the parts that do not read it)")}, nil
	case noChampion == NoChampionFail:
		return Result{Passed: false, Detail: strings.TrimSpace(values + " (no champion, and the verdict depends on it; no_champion: fail)")}, nil
	}
	return Result{Passed: true, Skipped: true, Detail: strings.TrimSpace(values + " (no champion yet; the parts that do not read it hold)")}, nil
}

// eval3 evaluates the boolean connectives itself and hands every other
// subexpression to expr-lang: unknown if it reads the champion, its
// value otherwise.
func eval3(n ast.Node, candidate map[string]float64) (truth, error) {
	switch node := n.(type) {
	case *ast.BinaryNode:
		switch node.Operator {
		case "&&", "and", "||", "or":
			l, err := eval3(node.Left, candidate)
			if err != nil {
				return unknown, err
			}
			r, err := eval3(node.Right, candidate)
			if err != nil {
				return unknown, err
			}
			if node.Operator == "&&" || node.Operator == "and" {
				switch {
				case l == falsy || r == falsy:
					return falsy, nil
				case l == truthy && r == truthy:
					return truthy, nil
				}
				return unknown, nil
			}
			switch {
			case l == truthy || r == truthy:
				return truthy, nil
			case l == falsy && r == falsy:
				return falsy, nil
			}
			return unknown, nil
		}
	case *ast.UnaryNode:
		if node.Operator == "!" || node.Operator == "not" {
			t, err := eval3(node.Node, candidate)
			switch t {
			case truthy:
				return falsy, err
			case falsy:
				return truthy, err
			}
			return unknown, err
		}
	}
	if nodeReadsChampion(n) {
		return unknown, nil
	}
	ok, err := run(n.String(), candidate, nil)
	if err != nil {
		return unknown, err
	}
	if ok {
		return truthy, nil
	}
	return falsy, nil
}

func readsChampion(gate string) bool {
	tree, err := parser.Parse(gate)
	return err == nil && nodeReadsChampion(tree.Node)
}

func nodeReadsChampion(n ast.Node) bool {
	return ast.Find(n, func(n ast.Node) bool {
		id, ok := n.(*ast.IdentifierNode)
		return ok && id.Value == ChampionName
	}) != nil
}

func env(candidate, champion map[string]float64) map[string]any {
	e := make(map[string]any, len(candidate)+1)
	for k, v := range candidate {
		e[k] = v
	}
	e[ChampionName] = champion
	return e
}

func compile(gate string, candidate, champion map[string]float64) (*vm.Program, error) {
	if champion == nil {
		champion = map[string]float64{}
	}
	p, err := expr.Compile(gate, expr.Env(env(candidate, champion)), expr.AsBool())
	if err != nil {
		return nil, fmt.Errorf("%w %q: %v", ErrInvalidGate, gate, oneLine(err.Error()))
	}
	return p, nil
}

// detail shows the values a gate read, for the audit trail.
func detail(cand, champ []string, candidate, champion map[string]float64) string {
	var parts []string
	seen := map[string]bool{}
	for _, m := range cand {
		if v, ok := candidate[m]; ok && !seen[m] {
			seen[m] = true
			parts = append(parts, fmt.Sprintf("%s=%g", m, v))
		}
	}
	for _, m := range champ {
		if !seen["champion."+m] {
			seen["champion."+m] = true
			parts = append(parts, fmt.Sprintf("champion.%s=%g", m, champion[m]))
		}
	}
	return strings.Join(parts, " ")
}

func isBuiltin(name string) bool {
	return slices.Contains([]string{"abs", "min", "max", "ceil", "floor", "round", "true", "false", "nil", "len"}, name)
}

func names(m map[string]float64) string {
	if len(m) == 0 {
		return "no metrics"
	}
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return strings.Join(keys, ", ")
}

func oneLine(s string) string { return strings.Join(strings.Fields(s), " ") }
