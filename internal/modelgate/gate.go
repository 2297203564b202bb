// Package modelgate evaluates promotion gates: expr-lang expressions over
// a candidate model's metrics (auc, loss, ...) and the current champion's
// (champion.auc), e.g. `auc >= 0.8 && auc >= champion.auc - 0.01`.
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
	Skipped bool // it reads champion metrics and there is no champion
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

// Evaluate runs a gate. With no champion (nil), a gate that reads
// champion metrics passes as skipped: the first promotion of an alias
// has nothing to beat.
func Evaluate(gate string, candidate, champion map[string]float64) (Result, error) {
	cand, champ, err := refs(gate)
	if err != nil {
		return Result{}, err
	}
	if len(champ) > 0 && champion == nil {
		return Result{Passed: true, Skipped: true, Detail: "no champion yet"}, nil
	}
	for _, m := range cand {
		if _, ok := candidate[m]; !ok && !isBuiltin(m) {
			return Result{}, fmt.Errorf("%w %q: the candidate has no metric %q (it has %s)", ErrInvalidGate, gate, m, names(candidate))
		}
	}
	for _, m := range champ {
		if _, ok := champion[m]; !ok {
			return Result{}, fmt.Errorf("%w %q: the champion has no metric %q (it has %s)", ErrInvalidGate, gate, m, names(champion))
		}
	}
	prog, err := compile(gate, candidate, champion)
	if err != nil {
		return Result{}, err
	}
	out, err := expr.Run(prog, env(candidate, champion))
	if err != nil {
		return Result{}, fmt.Errorf("%w %q: %v", ErrInvalidGate, gate, err)
	}
	passed, _ := out.(bool)
	return Result{Passed: passed, Detail: detail(cand, champ, candidate, champion)}, nil
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
