package features

import (
	"errors"
	"reflect"
	"strings"
	"testing"
)

func shopSchemas() map[string]map[string]ColumnType {
	return map[string]map[string]ColumnType{
		"orders": {
			"order_id":   Int64,
			"user_id":    Int64,
			"event_time": Timestamp,
			"amount":     Float64,
			"category":   String,
			"gift":       Bool,
		},
		"churn_labels": {
			"user_id":         Int64,
			"event_timestamp": Timestamp,
			"churned":         Bool,
		},
	}
}

func TestCheckShop(t *testing.T) {
	s := mustParse(t, shopYAML)
	if err := s.Check(shopSchemas()); err != nil {
		t.Fatalf("Check: %v", err)
	}
	want := map[string]ColumnType{
		"orders_7d": Int64, "spend_30d": Float64, "max_30d": Float64, "last_cat": String, "avg_order": Float64,
	}
	for name, typ := range want {
		if got := s.FeatureType("user_orders", name); got != typ {
			t.Errorf("FeatureType(%s) = %q, want %q", name, got, typ)
		}
	}
	types, err := s.FeatureViews[0].FeatureTypes(shopSchemas()["orders"])
	if err != nil || !reflect.DeepEqual(types, want) {
		t.Errorf("FeatureTypes = %v, %v", types, err)
	}
	// Datasets without a schema are not checked.
	if err := s.Check(map[string]map[string]ColumnType{}); err != nil {
		t.Errorf("Check without schemas: %v", err)
	}
}

func TestCheckErrors(t *testing.T) {
	tests := []struct {
		name     string
		old, new string                                 // edit the shop spec
		schema   func(map[string]map[string]ColumnType) // edit the schemas
		want     []string
	}{
		{name: "timestamp column missing", old: "timestamp: event_time", new: "timestamp: event_tme", want: []string{
			"shop.yaml:12:16: sources[0].timestamp: timestamp column 'event_tme' is not a column of dataset 'orders'; did you mean 'event_time'?"}},
		{name: "timestamp column not a timestamp", old: "timestamp: event_time", new: "timestamp: category", want: []string{
			"shop.yaml:12:16: sources[0].timestamp: timestamp column 'category' is string; it must be a timestamp"}},
		{name: "join key missing from source", schema: func(s map[string]map[string]ColumnType) {
			delete(s["orders"], "user_id")
			s["orders"]["userid"] = Int64
		}, want: []string{
			"shop.yaml:17:13: feature_views[0].entity: join key 'user_id' of entity 'user' is not a column of dataset 'orders' (source 'orders'); did you mean 'userid'?"}},
		{name: "float join key", schema: func(s map[string]map[string]ColumnType) {
			s["orders"]["user_id"] = Float64
			s["churn_labels"]["user_id"] = Float64
		}, want: []string{
			"shop.yaml:17:13: feature_views[0].entity: join key 'user_id' of entity 'user' is float64 in dataset 'orders'; keys must compare exactly (int64, string, bool or timestamp)"}},
		{name: "agg column missing", old: "column: amount, window: 720h}\n      - {name: max_30d", new: "column: amonut, window: 720h}\n      - {name: max_30d", want: []string{
			"shop.yaml:22:48: feature_views[0].features[1].column: column 'amonut' is not a column of dataset 'orders'; did you mean 'amount'?"}},
		{name: "sum of strings", old: "agg: sum,   column: amount", new: "agg: sum,   column: category", want: []string{
			"shop.yaml:22:48: feature_views[0].features[1].column: sum needs a numeric or bool column; 'category' is string"}},
		{name: "max of bools", old: "agg: max,   column: amount", new: "agg: max,   column: gift", want: []string{
			"shop.yaml:23:48: feature_views[0].features[2].column: max needs an orderable column (int64, float64, timestamp or string); 'gift' is bool"}},
		{name: "filter unknown column", old: `filter: "amount > 0"`, new: `filter: "amout > 0"`, want: []string{
			"shop.yaml:13:14: sources[0].filter: unknown column 'amout'; did you mean 'amount'?"}},
		{name: "filter type mismatch", old: `filter: "amount > 0"`, new: `filter: "category > 0"`, want: []string{
			"shop.yaml:13:23: sources[0].filter: invalid operation: > (mismatched types string and int)"}},
		{name: "filter not a predicate", old: `filter: "amount > 0"`, new: `filter: "amount * 2"`, want: []string{
			"shop.yaml:13:13: sources[0].filter: expected bool, but got float64"}},
		{name: "derived type error", old: `"spend_30d / max(orders_7d, 1)"`, new: `"last_cat * 2"`, want: []string{
			"shop.yaml:25:44: feature_views[0].features[4].expr: invalid operation: * (mismatched types string and int)"}},
		{name: "derived ambiguous result", old: `"spend_30d / max(orders_7d, 1)"`, new: `"orders_7d ?? 0"`, want: []string{
			"shop.yaml:25:34: feature_views[0].features[4].expr: the result type is ambiguous (branches of different types, or ??); make it explicit with float(...), int(...) or string(...)"}},
		{name: "spine timestamp not a timestamp", old: "timestamp: event_timestamp", new: "timestamp: churned", want: []string{
			"shop.yaml:29:47: training_sets[0].spine.timestamp: spine timestamp column 'churned' is bool; it must be a timestamp"}},
		{name: "join key missing from spine", schema: func(s map[string]map[string]ColumnType) {
			delete(s["churn_labels"], "user_id")
			s["churn_labels"]["user"] = Int64
		}, want: []string{
			"shop.yaml:30:16: training_sets[0].features[0]: join key 'user_id' of entity 'user' (view 'user_orders') is not a column of spine dataset 'churn_labels'",
			"shop.yaml:31:17: training_sets[0].split.by: split column 'user_id' is not a column of dataset 'churn_labels'"}},
		{name: "join key types differ", schema: func(s map[string]map[string]ColumnType) {
			s["churn_labels"]["user_id"] = String
		}, want: []string{
			"shop.yaml:30:16: training_sets[0].features[0]: join key 'user_id' is string in spine dataset 'churn_labels' but int64 in dataset 'orders' (source 'orders'); no rows would match"}},
		{name: "feature named like a spine column", schema: func(s map[string]map[string]ColumnType) {
			s["churn_labels"]["last_cat"] = String
		}, want: []string{
			"shop.yaml:30:16: training_sets[0].features[0]: feature 'last_cat' of view 'user_orders' has the name of a column of spine dataset 'churn_labels'; rename one of them"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			src := shopYAML
			if tc.old != "" {
				src = edit(t, tc.old, tc.new)
			}
			s := mustParse(t, src)
			schemas := shopSchemas()
			if tc.schema != nil {
				tc.schema(schemas)
			}
			err := s.Check(schemas)
			if err == nil {
				t.Fatal("Check passed")
			}
			if !errors.Is(err, ErrSchemaMismatch) || !errors.Is(err, ErrInvalidSpec) {
				t.Errorf("error does not match ErrSchemaMismatch and ErrInvalidSpec: %v", err)
			}
			got := strings.Split(err.Error(), "\n")
			if len(got) != len(tc.want) {
				t.Fatalf("got\n%s\nwant\n%s", err, strings.Join(tc.want, "\n"))
			}
			for i := range got {
				if !strings.HasPrefix(got[i], tc.want[i]) {
					t.Errorf("got\n%s\nwant\n%s", got[i], tc.want[i])
				}
			}
			if s.FeatureType("user_orders", "avg_order") != "" {
				t.Error("a failed Check recorded types")
			}
		})
	}
}

func TestCheckDerivedResultTypes(t *testing.T) {
	schema := map[string]ColumnType{"ts": Timestamp, "n": Int64, "x": Float64, "flag": Bool, "s": String}
	view := func(exprs ...string) FeatureView {
		v := FeatureView{Name: "v", Features: []Feature{
			{Name: "cnt", Agg: Count},
			{Name: "sum_n", Agg: Sum, Column: "n"},
			{Name: "sum_flag", Agg: Sum, Column: "flag"},
			{Name: "mean_n", Agg: Mean, Column: "n"},
			{Name: "last_ts", Agg: Last, Column: "ts"},
			{Name: "first_s", Agg: First, Column: "s"},
			{Name: "max_x", Agg: Max, Column: "x"},
			{Name: "distinct_s", Agg: CountDistinct, Column: "s"},
		}}
		for i, e := range exprs {
			v.Features = append(v.Features, Feature{Name: "d" + string(rune('0'+i)), Expr: e})
		}
		return v
	}
	ok := map[string]ColumnType{
		"cnt + sum_n":                 Int64,
		"sum_flag * 2":                Int64,
		"mean_n / 2":                  Float64,
		"max_x > 1.5":                 Bool,
		"first_s + '!'":               String,
		"last_ts.Unix()":              Int64,
		"distinct_s == cnt":           Bool,
		"sum_n ?? 0":                  "", // ambiguous
		"last_ts":                     "", // a timestamp
		"last_ts - last_ts":           "", // a duration
		"(last_ts - last_ts).Hours()": Float64,
	}
	for src, want := range ok {
		v := view(src)
		types, err := v.FeatureTypes(schema)
		if want == "" {
			if err == nil {
				t.Errorf("%s: type %s accepted", src, types["d0"])
			}
			continue
		}
		if err != nil || types["d0"] != want {
			t.Errorf("%s: type %q, %v; want %s", src, types["d0"], err, want)
		}
	}
	// Derived features see the types of derived features before them.
	v := view("sum_n + 1", "d0 * 2.5")
	types, err := v.FeatureTypes(schema)
	if err != nil || types["d0"] != Int64 || types["d1"] != Float64 {
		t.Errorf("chained: %v, %v", types, err)
	}
}

func TestOutputType(t *testing.T) {
	all := []ColumnType{Int64, Float64, String, Bool, Timestamp}
	want := map[Agg]map[ColumnType]ColumnType{
		Count:         {Int64: Int64, Float64: Int64, String: Int64, Bool: Int64, Timestamp: Int64},
		CountDistinct: {Int64: Int64, Float64: Int64, String: Int64, Bool: Int64, Timestamp: Int64},
		Sum:           {Int64: Int64, Float64: Float64, Bool: Int64},
		Mean:          {Int64: Float64, Float64: Float64, Bool: Float64},
		Min:           {Int64: Int64, Float64: Float64, String: String, Timestamp: Timestamp},
		Max:           {Int64: Int64, Float64: Float64, String: String, Timestamp: Timestamp},
		First:         {Int64: Int64, Float64: Float64, String: String, Bool: Bool, Timestamp: Timestamp},
		Last:          {Int64: Int64, Float64: Float64, String: String, Bool: Bool, Timestamp: Timestamp},
	}
	for _, agg := range Aggs() {
		for _, ct := range all {
			if got := OutputType(agg, ct); got != want[agg][ct] {
				t.Errorf("OutputType(%s, %s) = %q, want %q", agg, ct, got, want[agg][ct])
			}
		}
	}
	if OutputType(Count, "") != Int64 || OutputType(Sum, "") != "" || OutputType("avg", Int64) != "" {
		t.Error("OutputType of count without a column, or of a bad aggregation")
	}
}
