package features

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

// An expression runs once per row: one that does a large amount of work
// per row is a spec error, found when the spec is parsed, at the place
// that is too expensive.
func TestExprCostBudget(t *testing.T) {
	tests := []struct {
		src    string
		offset int // -1: accepted
	}{
		{"len(filter(1..900000, # > 0)) > 0", 12},
		{"all(1..900000, # > 0)", 5},
		{"count(1..200000, true) > 0", 7},
		{"len(repeat(category, 10)) > 0 && len(repeat('x', 900000)) > 0", 37},
		{"let r = 1..500; all(r, any(r, # == amount))", 16},
		{"all(split(category, ','), all(split(category, ','), # != ''))", 0},
		{"sort(1..60000)[0] > 0", 0},
		// Accepted: small constant collections, one pass over data-sized ones.
		{"amount > 0 && category != ''", -1},
		{"count(1..1000, # % 7 == 0) > amount", -1},
		{"any(['books', 'toys', 'games'], # == category)", -1},
		{"count(split(category, ','), # == 'vip') > 0", -1},
		{"all(1..int(amount), # > 0)", -1},
		{"let r = 1..100; all(r, any(r, # == amount))", -1},
	}
	for _, tc := range tests {
		_, err := CompileFilter(tc.src, orderColumns)
		var xe *ExprError
		if tc.offset < 0 {
			if err != nil {
				t.Errorf("CompileFilter(%q): %v", tc.src, err)
			}
			continue
		}
		if !errors.As(err, &xe) || !errors.Is(err, ErrInvalidSpec) || xe.Offset != tc.offset ||
			!strings.Contains(xe.Msg, "operations per row, more than the 100000 allowed") {
			t.Errorf("CompileFilter(%q) = %v (offset %d), want a cost error at %d", tc.src, err, offsetOf(xe), tc.offset)
		}
	}
	spec := strings.Replace(shopYAML, `filter: "amount > 0"`, `filter: "len(filter(1..900000, # > 0)) > 0"`, 1)
	_, err := Parse("shop.yaml", []byte(spec))
	if err == nil || !errors.Is(err, ErrInvalidSpec) || !strings.Contains(err.Error(), "shop.yaml:13:") ||
		!strings.Contains(err.Error(), "operations per row") {
		t.Fatalf("Parse: %v", err)
	}
	derived := strings.Replace(shopYAML, `expr: "spend_30d / max(orders_7d, 1)"`, `expr: "sum(1..900000, #) + spend_30d"`, 1)
	if _, err := Parse("shop.yaml", []byte(derived)); err == nil || !strings.Contains(err.Error(), "operations per row") {
		t.Fatalf("Parse with a derived feature: %v", err)
	}
}

func offsetOf(xe *ExprError) int {
	if xe == nil {
		return -2
	}
	return xe.Offset
}

// What only the data sizes (a range up to a column) is bounded when the
// expression runs: an evaluation that builds more than exprMemoryBudget
// elements fails, with the expression in the error.
func TestExprRuntimeBudget(t *testing.T) {
	f, err := CompileFilter("all(1..int(amount), # > 0)", orderColumns)
	if err != nil {
		t.Fatal(err)
	}
	if ok, err := f.Eval(map[string]any{"amount": 1000.0}); err != nil || !ok {
		t.Fatalf("small range: %v %v", ok, err)
	}
	for name, eval := range map[string]func() (bool, error){
		"Eval":      func() (bool, error) { return f.Eval(map[string]any{"amount": 200000.0}) },
		"Evaluator": func() (bool, error) { return f.Evaluator().Eval([]any{200000.0}) },
	} {
		if _, err := eval(); !errors.Is(err, ErrEval) || !strings.Contains(err.Error(), "memory budget exceeded") {
			t.Errorf("%s of a 200,000-element range: %v", name, err)
		}
	}
	d, err := CompileDerived("len(1..x)", map[string]ColumnType{"x": Int64})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := d.Eval(map[string]any{"x": int64(200000)}); !errors.Is(err, ErrEval) {
		t.Errorf("derived 200,000-element range: %v", err)
	}
}

// hostileSpecs are FuzzParse corpus entries: specs whose expressions or
// YAML would cost without bound if parsing believed them.
func hostileSpecs() map[string]string {
	return map[string]string{
		"filter-900k":  strings.Replace(shopYAML, `filter: "amount > 0"`, `filter: "len(filter(1..900000, # > 0)) > 0"`, 1),
		"derived-nest": strings.Replace(shopYAML, `expr: "spend_30d / max(orders_7d, 1)"`, `expr: "let r = 1..1000; count(r, any(r, # == spend_30d))"`, 1),
		"alias-bomb": "x-a: &a [{name: f, agg: count}, {name: f, agg: count}]\n" +
			"x-b: &b {name: v, entity: e, source: s, features: *a}\n" +
			"feature_views: [" + strings.Repeat("*b, ", 500) + "*b]\n",
		"flow-nesting": "project: " + strings.Repeat("[", 40) + strings.Repeat("]", 40) + "\n",
	}
}

func TestHostileSpecsInFuzzCorpus(t *testing.T) {
	for name, src := range hostileSpecs() {
		path := filepath.Join("testdata", "fuzz", "FuzzParse", "hostile-"+name)
		entry := []byte("go test fuzz v1\nstring(" + strconv.Quote(src) + ")\n")
		if os.Getenv("GRANARY_WRITE_CORPUS") == "1" {
			if err := os.WriteFile(path, entry, 0o644); err != nil {
				t.Fatal(err)
			}
			continue
		}
		if got, err := os.ReadFile(path); err != nil || !bytes.Equal(got, entry) {
			t.Errorf("%s is missing or stale (%v); run the test with GRANARY_WRITE_CORPUS=1 to write it", path, err)
		}
		if _, err := Parse("hostile.yaml", []byte(src)); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
}
