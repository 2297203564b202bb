package tabular

import (
	"math/rand/v2"
	"reflect"
	"strings"
	"testing"
)

// Merging the inferences of a split input gives exactly the inference of
// the whole: over many random CSVs cut at random rows.
func TestMergedInferenceEqualsOneInference(t *testing.T) {
	pool := []string{"", "", "1", "-7", "2.5", "1e3", "true", "false", "2024-01-01", "2024-01-01T10:00:00Z", "abc", "0"}
	rng := rand.New(rand.NewPCG(3, 4))
	for iter := range 2000 {
		cols := 1 + rng.IntN(3)
		rows := rng.IntN(6)
		header := strings.Repeat("c,", cols)
		header = header[:len(header)-1]
		names := strings.Split(header, ",")
		for i := range names {
			names[i] = string(rune('a' + i))
		}
		header = strings.Join(names, ",") + "\n"
		var lines []string
		for range rows {
			var f []string
			for range cols {
				f = append(f, pool[rng.IntN(len(pool))])
			}
			lines = append(lines, strings.Join(f, ",")+"\n")
		}
		cut := rng.IntN(rows + 1)
		whole, err := Infer(t.Context(), strings.NewReader(header+strings.Join(lines, "")), ReadOptions{File: "whole.csv"})
		if err != nil {
			t.Fatal(err)
		}
		a, err := Infer(t.Context(), strings.NewReader(header+strings.Join(lines[:cut], "")), ReadOptions{File: "a.csv"})
		if err != nil {
			t.Fatal(err)
		}
		b, err := Infer(t.Context(), strings.NewReader(header+strings.Join(lines[cut:], "")), ReadOptions{File: "b.csv"})
		if err != nil {
			t.Fatal(err)
		}
		m, err := MergeInference(a, b)
		if err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(m.Schema(), whole.Schema()) {
			t.Fatalf("case %d: rows %q cut at %d merge to %v, one file infers %v", iter, lines, cut, m.Schema(), whole.Schema())
		}
	}
}

// A typed column (parquet) keeps its type against a column of text
// without values, and widens int64 with float text as text would.
func TestInferenceOfTypedSchemaMerges(t *testing.T) {
	typed := InferenceOf(Schema{Columns: []Column{{Name: "a", Type: Int64}, {Name: "b", Type: Int64}, {Name: "c", Type: Bool, Nullable: true}}})
	text, err := Infer(t.Context(), strings.NewReader("a,b,c\n,2.5,x\n"), ReadOptions{File: "t.csv"})
	if err != nil {
		t.Fatal(err)
	}
	m, err := MergeInference(typed, text)
	if err != nil {
		t.Fatal(err)
	}
	want := Schema{Columns: []Column{{Name: "a", Type: Int64, Nullable: true}, {Name: "b", Type: Float64}, {Name: "c", Type: String, Nullable: true}}}
	if got := m.Schema(); !reflect.DeepEqual(got, want) {
		t.Fatalf("merged %v, want %v", got, want)
	}
	if _, err := MergeInference(typed, Inference{Columns: typed.Columns[:2]}); err == nil {
		t.Fatal("merging different column counts must fail")
	}
	// A typed schema's own inference gives the schema back.
	for _, s := range []Schema{{Columns: []Column{{Name: "x", Type: Timestamp}, {Name: "y", Type: Float64, Nullable: true}, {Name: "z", Type: String}}}} {
		if got := InferenceOf(s).Schema(); !reflect.DeepEqual(got, s) {
			t.Fatalf("InferenceOf(%v).Schema() = %v", s, got)
		}
	}
}
