package features

import (
	"encoding/json"
	"errors"
	"strings"
	"testing"
)

// FuzzParse: Parse never panics; every problem it reports names the file
// and a position; a spec it accepts survives JSON, validates again, keeps
// its digest, and can be checked and compiled without panicking.
func FuzzParse(f *testing.F) {
	f.Add(shopYAML)
	for _, r := range [][2]string{
		{"join_keys: [user_id]", "join_keys: user_id"},
		{"agg: max,", "agg: avg,"},
		{"source: orders\n", "source: order\n"},
		{"window: 168h", "window: 7 days"},
		{"window: 168h", "window: -1h"},
		{"max(orders_7d, 1)", "max(avg_order, 1)"},
		{"train: 0.8", "train: 0.7"},
		{"features: [user_orders]", "features: [user_orders:spend_3d]"},
		{"features: [user_orders]", "features: [user_orders: spend_30d]"},
		{`filter: "amount > 0"`, `filter: "amount >> 0"`},
		{"entities:", "entites:"},
		{"  - name: user\n", "  - name: user\n    <<: *missing\n"},
	} {
		f.Add(strings.Replace(shopYAML, r[0], r[1], 1))
	}
	for _, s := range []string{
		"",
		"project: [",
		"- a\n- b\n",
		"project: shop\n---\nproject: x\n",
		"x-a: &a {name: user, join_keys: [id]}\nproject: p\nentities: [*a, *a]\n",
		"a: &a [*a]\nproject: *a\n",
		"project: shop\nfeature_views:\n  - name: v\n    features:\n      - {name: a, expr: b}\n      - {name: b, expr: a}\n",
		"project: shop\nfeature_views:\n  - {name: v, features: [{name: a, expr: 'let x = 1; x + #'}]}\n",
		"? [a]\n: b\n",
		"project: !!binary aGVsbG8=\n",
		"project: \"\\u0000\"\n",
		"training_sets:\n  - {name: t, split: {train: .nan, valid: .inf, test: -.inf, seed: 18446744073709551615}}\n",
	} {
		f.Add(s)
	}
	schemas := shopSchemas()
	f.Fuzz(func(t *testing.T, src string) {
		s, err := Parse("fuzz.yaml", []byte(src))
		if err != nil {
			if s != nil {
				t.Fatal("Parse returned a spec and an error")
			}
			if !errors.Is(err, ErrInvalidSpec) {
				t.Fatalf("error does not match ErrInvalidSpec: %v", err)
			}
			var errs Errors
			if !errors.As(err, &errs) || len(errs) == 0 {
				t.Fatalf("error is not a non-empty Errors: %T %v", err, err)
			}
			for _, e := range errs {
				if e.File != "fuzz.yaml" || e.Line < 1 || e.Column < 1 || e.Msg == "" {
					t.Fatalf("problem without file or position: %#v", e)
				}
			}
			return
		}
		if err := s.Validate(); err != nil {
			t.Fatalf("Validate rejects what Parse accepted: %v", err)
		}
		b, err := s.Canonical()
		if err != nil {
			t.Fatal(err)
		}
		var back Spec
		if err := json.Unmarshal(b, &back); err != nil {
			t.Fatalf("canonical JSON does not decode: %v\n%s", err, b)
		}
		if back.Digest() != s.Digest() {
			t.Fatalf("digest changed through JSON:\n%s", b)
		}
		if err := back.Validate(); err != nil {
			t.Fatalf("Validate rejects the JSON round trip: %v", err)
		}
		_ = s.Check(schemas) // must not panic
		for i := range s.FeatureViews {
			fv := &s.FeatureViews[i]
			if got, want := len(fv.DerivedOrder()), fv.derivedCount(); got != want {
				t.Fatalf("view %s: DerivedOrder has %d of %d derived features", fv.Name, got, want)
			}
			_, _ = s.ViewColumns(fv.Name)
			_, _ = fv.CompileDerived(schemas["orders"])
		}
		for i := range s.TrainingSets {
			if _, err := s.Selected(&s.TrainingSets[i]); err != nil {
				t.Fatalf("Selected on a valid spec: %v", err)
			}
		}
	})
}
