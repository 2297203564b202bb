package features

import (
	"errors"
	"math"
	"strings"
	"sync"
	"testing"
	"time"
)

var orderColumns = map[string]ColumnType{
	"amount":     Float64,
	"qty":        Int64,
	"divisor":    Int64,
	"category":   String,
	"gift":       Bool,
	"event_time": Timestamp,
}

func TestFilterEval(t *testing.T) {
	jan := time.Date(2024, 1, 15, 0, 0, 0, 0, time.UTC)
	tests := []struct {
		filter string
		row    map[string]any
		want   bool
		err    string // an error containing this, matching ErrEval
	}{
		{"amount > 0", map[string]any{"amount": 5.0}, true, ""},
		{"amount > 0", map[string]any{"amount": -1.0}, false, ""},
		{"amount > 0 && qty >= 2", map[string]any{"amount": 5.0, "qty": int64(2)}, true, ""},
		{`category in ["toys", "books"] and not gift`, map[string]any{"category": "toys", "gift": false}, true, ""},
		{`event_time >= date("2024-01-01")`, map[string]any{"event_time": jan}, true, ""},
		{`event_time < date("2024-01-15")`, map[string]any{"event_time": jan}, false, ""}, // dates are UTC
		{`category matches "^to"`, map[string]any{"category": "toys"}, true, ""},

		// Nulls: a filter that does not mention nil drops rows with a null
		// (or missing) column it reads.
		{"amount > 0", map[string]any{"amount": nil}, false, ""},
		{"amount > 0", map[string]any{}, false, ""},
		{"amount < 0", map[string]any{"amount": nil}, false, ""},
		{`category == "x" || amount > 0`, map[string]any{"category": "x", "amount": nil}, false, ""},
		// A filter that mentions nil sees the null...
		{"amount == nil || amount > 0", map[string]any{"amount": nil}, true, ""},
		{"amount != nil && amount > 0", map[string]any{"amount": nil}, false, ""},
		{"(amount ?? 0.0) >= 0", map[string]any{"amount": nil}, true, ""},
		// ...and a failure because of it drops the row.
		{"amount != nil || amount > 0", map[string]any{"amount": nil}, false, ""},

		// Division: integer by zero drops the row; float follows IEEE.
		{"qty % divisor == 0", map[string]any{"qty": int64(4), "divisor": int64(0)}, false, ""},
		{"qty % divisor == 0", map[string]any{"qty": int64(4), "divisor": int64(2)}, true, ""},
		{"amount / qty > 1", map[string]any{"amount": 5.0, "qty": int64(0)}, true, ""},  // +Inf > 1
		{"amount / qty < 1", map[string]any{"amount": 0.0, "qty": int64(0)}, false, ""}, // NaN < 1

		// Other failures are errors.
		{`int(category) > 0`, map[string]any{"category": "abc"}, false, "filter 'int(category) > 0': invalid operation: int(abc)"},
	}
	for _, tc := range tests {
		f, err := CompileFilter(tc.filter, orderColumns)
		if err != nil {
			t.Errorf("CompileFilter(%q): %v", tc.filter, err)
			continue
		}
		got, err := f.Eval(tc.row)
		switch {
		case tc.err != "":
			if !errors.Is(err, ErrEval) || !strings.Contains(err.Error(), tc.err) {
				t.Errorf("%q on %v: error %v, want one containing %q", tc.filter, tc.row, err, tc.err)
			}
		case err != nil || got != tc.want:
			t.Errorf("%q on %v = %v, %v; want %v", tc.filter, tc.row, got, err, tc.want)
		}
		// The evaluator over slices agrees.
		values := make([]any, len(f.Columns()))
		for i, c := range f.Columns() {
			values[i] = tc.row[c]
		}
		got2, err2 := f.Evaluator().Eval(values)
		if got2 != got || (err2 == nil) != (err == nil) {
			t.Errorf("%q: Evaluator gave %v, %v; Eval gave %v, %v", tc.filter, got2, err2, got, err)
		}
	}
}

func TestCompileFilterErrors(t *testing.T) {
	tests := []struct {
		filter string
		offset int
		msg    string
	}{
		{"amout > 0", 0, "unknown column 'amout'; did you mean 'amount'?"},
		{"amount > 0 && categroy == 'x'", 14, "unknown column 'categroy'; did you mean 'category'?"},
		{"amount + 1", -1, "expected bool, but got float64"},
		{"category > 1", 9, "invalid operation: > (mismatched types string and int)"},
		{"amount >", 7, "syntax error: unexpected token EOF"},
		{"now() > event_time", 0, "now() is not allowed"},
		{"$env.amount > 0", 0, "$env is not allowed"},
		{"", -1, "empty expression"},
	}
	for _, tc := range tests {
		_, err := CompileFilter(tc.filter, orderColumns)
		var xe *ExprError
		if !errors.As(err, &xe) || xe.Offset != tc.offset || !strings.HasPrefix(xe.Msg, tc.msg) {
			t.Errorf("CompileFilter(%q) = %#v, want offset %d and %q", tc.filter, xe, tc.offset, tc.msg)
		}
		if err != nil && !errors.Is(err, ErrInvalidSpec) {
			t.Errorf("CompileFilter(%q): error does not match ErrInvalidSpec", tc.filter)
		}
	}
	if _, err := CompileFilter("x > 0", map[string]ColumnType{"x": "decimal"}); err == nil {
		t.Error("unknown column type accepted")
	}
}

func TestFilterColumns(t *testing.T) {
	f, err := CompileFilter(`let big = amount > 100; big || (gift and category startsWith "t")`, orderColumns)
	if err != nil {
		t.Fatal(err)
	}
	if got := strings.Join(f.Columns(), ","); got != "amount,category,gift" {
		t.Errorf("Columns = %s", got)
	}
}

func TestFilterConcurrent(t *testing.T) {
	f, err := CompileFilter("amount > qty", orderColumns)
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	for g := range 8 {
		wg.Go(func() {
			for i := range 1000 {
				want := float64(i%10) > float64(g)
				got, err := f.Eval(map[string]any{"amount": float64(i % 10), "qty": int64(g)})
				if err != nil || got != want {
					t.Errorf("Eval = %v, %v; want %v", got, err, want)
					return
				}
			}
		})
	}
	wg.Wait()
}

var featureTypes = map[string]ColumnType{
	"orders_7d": Int64,
	"spend_30d": Float64,
	"last_cat":  String,
	"churned":   Bool,
	"zero":      Int64,
}

func TestDerivedEval(t *testing.T) {
	tests := []struct {
		expr   string
		values map[string]any
		typ    ColumnType
		want   any
	}{
		{"spend_30d / max(orders_7d, 1)", map[string]any{"spend_30d": 90.0, "orders_7d": int64(3)}, Float64, 30.0},
		{"spend_30d / max(orders_7d, 1)", map[string]any{"spend_30d": 90.0, "orders_7d": int64(0)}, Float64, 90.0},
		{"orders_7d + 1", map[string]any{"orders_7d": int64(41)}, Int64, int64(42)},
		{"orders_7d * 2 > 5", map[string]any{"orders_7d": int64(3)}, Bool, true},
		{`last_cat + "!"`, map[string]any{"last_cat": "toys"}, String, "toys!"},
		{`upper(last_cat)`, map[string]any{"last_cat": "toys"}, String, "TOYS"},
		{"float(orders_7d)", map[string]any{"orders_7d": int64(2)}, Float64, 2.0},

		// Null in, null out.
		{"spend_30d / max(orders_7d, 1)", map[string]any{"spend_30d": nil, "orders_7d": int64(3)}, Float64, nil},
		{"spend_30d / max(orders_7d, 1)", map[string]any{"orders_7d": int64(3)}, Float64, nil},
		{"orders_7d == 0", map[string]any{"orders_7d": nil}, Bool, nil},
		// Expressions that mention nil handle it themselves.
		{"spend_30d ?? 0.0", map[string]any{"spend_30d": nil}, Float64, 0.0},
		{"spend_30d == nil ? -1.0 : spend_30d", map[string]any{"spend_30d": nil}, Float64, -1.0},
		{"spend_30d == nil", map[string]any{"spend_30d": nil}, Bool, true},
		{"(spend_30d ?? 0.0) + orders_7d", map[string]any{"spend_30d": nil, "orders_7d": nil}, Float64, nil}, // fails on the null: null

		// Division by zero gives null.
		{"spend_30d / orders_7d", map[string]any{"spend_30d": 5.0, "orders_7d": int64(0)}, Float64, nil},
		{"spend_30d / orders_7d", map[string]any{"spend_30d": 0.0, "orders_7d": int64(0)}, Float64, nil},
		{"-spend_30d / zero", map[string]any{"spend_30d": 5.0, "zero": int64(0)}, Float64, nil},
		{"orders_7d % zero", map[string]any{"orders_7d": int64(5), "zero": int64(0)}, Int64, nil},
		{"orders_7d / zero", map[string]any{"orders_7d": int64(5), "zero": int64(0)}, Float64, nil},
	}
	for _, tc := range tests {
		d, err := CompileDerived(tc.expr, featureTypes)
		if err != nil {
			t.Errorf("CompileDerived(%q): %v", tc.expr, err)
			continue
		}
		if d.Type() != tc.typ {
			t.Errorf("%q: Type() = %s, want %s", tc.expr, d.Type(), tc.typ)
		}
		got, err := d.Eval(tc.values)
		if err != nil || got != tc.want {
			t.Errorf("%q on %v = %#v, %v; want %#v", tc.expr, tc.values, got, err, tc.want)
		}
	}
}

func TestDerivedEvalErrors(t *testing.T) {
	d, err := CompileDerived("int(last_cat) + 1", featureTypes)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := d.Eval(map[string]any{"last_cat": "abc"}); !errors.Is(err, ErrEval) {
		t.Errorf("int('abc') gave %v, want ErrEval", err)
	}
	// A value of the wrong type is the caller's bug, reported.
	d, _ = CompileDerived("last_cat", featureTypes)
	if _, err := d.Eval(map[string]any{"last_cat": 3.5}); !errors.Is(err, ErrEval) {
		t.Errorf("float for a string feature gave %v", err)
	}
}

func TestCompileDerivedErrors(t *testing.T) {
	tests := []struct{ expr, msg string }{
		{"spend_3d * 2", "unknown feature 'spend_3d'; did you mean 'spend_30d'?"},
		{"last_cat * 2", "invalid operation: * (mismatched types string and int)"},
		{"orders_7d ?? 0", "the result type is ambiguous"},
		{"churned ? 1 : 2.5", "the result type is ambiguous"},
		{"[orders_7d]", "the result is a []interface {}"},
		{"now()", "now() is not allowed"},
		{"foo(orders_7d)", "unknown function 'foo'"},
	}
	for _, tc := range tests {
		_, err := CompileDerived(tc.expr, featureTypes)
		if err == nil || !strings.Contains(err.Error(), tc.msg) {
			t.Errorf("CompileDerived(%q) = %v, want %q", tc.expr, err, tc.msg)
		}
	}
}

func TestViewCompileDerived(t *testing.T) {
	s := mustParse(t, edit(t, `{name: avg_order,  expr: "spend_30d / max(orders_7d, 1)"}`,
		`{name: big_spender, expr: "avg_order > 100"}`+"\n      - "+`{name: avg_order,  expr: "spend_30d / max(orders_7d, 1)"}`))
	ds, err := s.FeatureViews[0].CompileDerived(shopSchemas()["orders"])
	if err != nil {
		t.Fatal(err)
	}
	if len(ds) != 2 || ds[0].Name != "avg_order" || ds[1].Name != "big_spender" || ds[1].Type() != Bool {
		t.Fatalf("CompileDerived order/types: %+v", ds)
	}
	values := map[string]any{"orders_7d": int64(2), "spend_30d": 300.0}
	for _, d := range ds {
		v, err := d.Eval(values)
		if err != nil {
			t.Fatal(err)
		}
		values[d.Name] = v
	}
	if values["avg_order"] != 150.0 || values["big_spender"] != true {
		t.Errorf("values %v", values)
	}
}

func BenchmarkFilterEval(b *testing.B) {
	f, err := CompileFilter(`amount > 0 && category != "test"`, orderColumns)
	if err != nil {
		b.Fatal(err)
	}
	row := map[string]any{"amount": 12.5, "category": "toys", "qty": int64(1)}
	b.ReportAllocs()
	for i := 0; b.Loop(); i++ {
		row["amount"] = float64(i%100) - 10
		if _, err := f.Eval(row); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkFilterEvaluator(b *testing.B) {
	f, err := CompileFilter(`amount > 0 && category != "test"`, orderColumns)
	if err != nil {
		b.Fatal(err)
	}
	ev := f.Evaluator()
	values := []any{12.5, "toys"} // amount, category
	b.ReportAllocs()
	for i := 0; b.Loop(); i++ {
		values[0] = float64(i%100) - 10
		if _, err := ev.Eval(values); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkDerivedEval(b *testing.B) {
	d, err := CompileDerived("spend_30d / max(orders_7d, 1)", featureTypes)
	if err != nil {
		b.Fatal(err)
	}
	values := map[string]any{"spend_30d": 90.0, "orders_7d": int64(3)}
	b.ReportAllocs()
	for b.Loop() {
		if v, err := d.Eval(values); err != nil || math.IsNaN(v.(float64)) {
			b.Fatal(v, err)
		}
	}
}
