package features

import (
	"fmt"
	"regexp"
	"strings"
	"time"

	"github.com/expr-lang/expr/ast"
	yast "github.com/goccy/go-yaml/ast"
)

// ModelPolicy is how the aliases of one model may move. A policy is part of
// the spec applied to the lake, and the PromoteModel workflow reads it for
// every request: what it demands is added to what the requester asked
// for, so no command-line flag can weaken it.
//
//	models:
//	  - name: churn
//	    aliases:
//	      - name: prod
//	        require_approval: true
//	        approval_timeout: 72h
//	        gates: ["auc >= 0.8 && auc >= champion.auc - 0.01"]
//	        no_champion: fail
type ModelPolicy struct {
	Name    string        `json:"name"`
	Aliases []AliasPolicy `json:"aliases"`
}

// AliasPolicy is what every promotion to one alias must pass.
type AliasPolicy struct {
	Name string `json:"name"`
	// RequireApproval makes every promotion wait for granary model approve.
	RequireApproval bool `json:"require_approval,omitempty"`
	// ApprovalTimeout replaces the requester's --approval-timeout.
	ApprovalTimeout time.Duration `json:"approval_timeout,omitempty"`
	// Gates are evaluated on top of the requester's --gate expressions.
	Gates []string `json:"gates,omitempty"`
	// NoChampion is what a gate whose verdict depends on the champion
	// gives while the alias has no holder: skip (the default) or fail.
	NoChampion string `json:"no_champion,omitempty"`
}

// Values of AliasPolicy.NoChampion.
const (
	NoChampionSkip = "skip"
	NoChampionFail = "fail"
)

// AliasPolicy returns the policy of a model's alias, nil if the spec sets
// none.
func (s *Spec) AliasPolicy(model, alias string) *AliasPolicy {
	for i := range s.Models {
		if s.Models[i].Name != model {
			continue
		}
		for j := range s.Models[i].Aliases {
			if s.Models[i].Aliases[j].Name == alias {
				return &s.Models[i].Aliases[j]
			}
		}
	}
	return nil
}

func (d *decoder) decodeModel(path string, n yast.Node) ModelPolicy {
	var m ModelPolicy
	fields, _ := d.mapping(path, n, "name", "aliases")
	for _, f := range fields {
		p := joinPath(path, f.key)
		switch f.key {
		case "name":
			m.Name = d.str(p, f)
		case "aliases":
			for i, item := range d.seq(p, f) {
				m.Aliases = append(m.Aliases, d.decodeAliasPolicy(indexPath(p, i), item))
			}
		}
	}
	d.setPos(path, nodePos(n))
	return m
}

func (d *decoder) decodeAliasPolicy(path string, n yast.Node) AliasPolicy {
	var a AliasPolicy
	fields, _ := d.mapping(path, n, "name", "require_approval", "approval_timeout", "gates", "no_champion")
	for _, f := range fields {
		p := joinPath(path, f.key)
		switch f.key {
		case "name":
			a.Name = d.str(p, f)
		case "require_approval":
			a.RequireApproval = d.boolean(p, f)
		case "approval_timeout":
			a.ApprovalTimeout = d.duration(p, f)
		case "gates":
			a.Gates = d.strList(p, f)
		case "no_champion":
			a.NoChampion = d.str(p, f)
		}
	}
	d.setPos(path, nodePos(n))
	return a
}

// boolean decodes true or false; YAML 1.1's yes/no/on/off are strings to
// the parser, and are refused rather than guessed.
func (d *decoder) boolean(path string, f field) bool {
	d.setPos(path, f.keyAt)
	r := d.resolve(f.value)
	if r == nil {
		return false
	}
	d.spec.pos[path] = nodePos(f.value)
	if b, ok := r.(*yast.BoolNode); ok {
		return b.Value
	}
	d.fail(f.value, path, "must be true or false, got %s", kindOf(r))
	return false
}

// modelName is the lake's rule for model and alias names.
var modelName = regexp.MustCompile(`^[a-z0-9][a-z0-9_.-]{0,127}$`)

// maxGates bounds the gates of one alias; each is evaluated per promotion.
const maxGates = 100

func (v *validator) models() {
	firstModel := make(map[string]string)
	for i := range v.s.Models {
		m := &v.s.Models[i]
		path := indexPath("models", i)
		if v.lakeName(path+".name", "model", m.Name) {
			v.unique(firstModel, path+".name", "model", m.Name)
		}
		if len(m.Aliases) == 0 {
			v.errorf(path+".aliases", "is required: list the aliases whose promotions the policy governs, e.g. aliases: [{name: prod, require_approval: true}]")
		}
		firstAlias := make(map[string]string)
		for j := range m.Aliases {
			a := &m.Aliases[j]
			ap := indexPath(path+".aliases", j)
			if v.lakeName(ap+".name", "alias", a.Name) {
				v.unique(firstAlias, ap+".name", "alias", a.Name)
			}
			v.aliasPolicy(ap, a)
		}
	}
}

func (v *validator) lakeName(path, what, name string) bool {
	switch {
	case name == "":
		v.errorf(path, "is required: every %s needs a name", what)
	case !modelName.MatchString(name) || strings.Contains(name, ".."):
		v.errorf(path, "%s name '%s' must be 1-128 characters of a-z, 0-9, '_', '.', '-', starting with a letter or digit", what, name)
	default:
		return true
	}
	return false
}

func (v *validator) aliasPolicy(path string, a *AliasPolicy) {
	switch a.NoChampion {
	case "", NoChampionSkip, NoChampionFail:
	default:
		v.errorf(path+".no_champion", "must be %s or %s, got '%s'", NoChampionSkip, NoChampionFail, a.NoChampion)
	}
	if a.ApprovalTimeout < 0 {
		v.errorf(path+".approval_timeout", "must be positive")
	}
	if a.ApprovalTimeout != 0 && !a.RequireApproval {
		v.errorf(path+".approval_timeout", "is set but require_approval is not; add require_approval: true or remove it")
	}
	if len(a.Gates) > maxGates {
		v.errorf(path+".gates", "has %d gates, more than the %d allowed", len(a.Gates), maxGates)
		return
	}
	for k, g := range a.Gates {
		gp := indexPath(path+".gates", k)
		if _, err := analyze(g); err != nil {
			v.exprErr(gp, err)
			continue
		}
		if e := championForm(g); e != nil {
			v.exprErr(gp, e)
		}
	}
}

// championForm checks that the champion is only read as champion.metric
// (or champion["metric"]), the one form gates evaluate; the metrics
// themselves are checked against the candidate at promotion time.
func championForm(gate string) *ExprError {
	tree, err := parseExpr(gate)
	if err != nil {
		return toExprError("syntax error: ", err)
	}
	var bad *ExprError
	members := map[ast.Node]bool{}
	ast.Find(tree.Node, func(n ast.Node) bool {
		if m, ok := n.(*ast.MemberNode); ok {
			if id, ok := m.Node.(*ast.IdentifierNode); ok && id.Value == "champion" {
				members[id] = true
				if _, ok := m.Property.(*ast.StringNode); !ok {
					bad = &ExprError{Offset: id.Location().From, Msg: "champion metrics are read as champion.name"}
					return true
				}
			}
		}
		return false
	})
	if bad != nil {
		return bad
	}
	ast.Find(tree.Node, func(n ast.Node) bool {
		if id, ok := n.(*ast.IdentifierNode); ok && id.Value == "champion" && !members[id] {
			bad = &ExprError{Offset: id.Location().From, Msg: "champion is read by metric, as champion.name"}
			return true
		}
		return false
	})
	if bad != nil {
		return bad
	}
	return nil
}

// String shows a policy as the audit trail records it.
func (a *AliasPolicy) String() string {
	var parts []string
	if a.RequireApproval {
		parts = append(parts, "require_approval")
	}
	if a.ApprovalTimeout > 0 {
		parts = append(parts, "approval_timeout="+a.ApprovalTimeout.String())
	}
	if len(a.Gates) > 0 {
		parts = append(parts, fmt.Sprintf("gates=%q", a.Gates))
	}
	if a.NoChampion != "" {
		parts = append(parts, "no_champion="+a.NoChampion)
	}
	if len(parts) == 0 {
		return "(no requirement)"
	}
	return strings.Join(parts, " ")
}
