package features

import (
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"
)

// Parse must stay fast on the largest specs it accepts, however they are
// built: it runs in workers on user input.
func TestParseLargeSpecsQuickly(t *testing.T) {
	if testing.Short() {
		t.Skip("builds megabyte specs")
	}
	header := "project: p\nentities: [{name: e, join_keys: [k]}]\nsources: [{name: s, dataset: d, timestamp: ts}]\nfeature_views:\n  - name: v\n    entity: e\n    source: s\n    features:\n"
	build := func(line func(i int) string, tail string) string {
		var b strings.Builder
		b.WriteString(header)
		for i := 0; b.Len() < MaxSpecSize-len(tail)-200; i++ {
			b.WriteString(line(i))
		}
		b.WriteString(tail)
		return b.String()
	}
	specs := map[string]string{
		"chain of derived features": build(func(i int) string {
			if i == 0 {
				return "      - {name: f0, agg: count}\n"
			}
			return fmt.Sprintf("      - {name: f%d, expr: f%d}\n", i, i-1)
		}, ""),
		"one big cycle": build(func(i int) string {
			return fmt.Sprintf("      - {name: f%d, expr: f%d}\n", i, i+1)
		}, "      - {name: f999999, expr: f0}\n"),
		"unknown references everywhere": build(func(i int) string {
			return fmt.Sprintf("      - {name: f%d, expr: g%d + f0}\n", i, i)
		}, ""),
		"many training set refs": build(func(i int) string {
			if i == 0 {
				return "      - {name: f, agg: count}\ntraining_sets:\n  - name: t\n    spine: {dataset: d, timestamp: ts}\n    features:\n"
			}
			return fmt.Sprintf("      - v:x%d\n", i)
		}, ""),
		"alias bomb": "x-a: &a [{name: f, agg: count}, {name: f, agg: count}, {name: f, agg: count}, {name: f, agg: count}]\n" +
			"x-b: &b {name: v, entity: e, source: s, features: *a}\n" +
			"feature_views: [" + strings.Repeat("*b, ", 50000) + "*b]\n",
		"many anchors": strings.Repeat("- &a x\n", 30000) + strings.Repeat("- *a\n", 30000),
	}
	for name, src := range specs {
		if len(src) > MaxSpecSize {
			t.Fatalf("%s: %d bytes", name, len(src))
		}
		start := time.Now()
		s, err := Parse("big.yaml", []byte(src))
		d := time.Since(start)
		if d > 5*time.Second {
			t.Errorf("%s: Parse took %v", name, d)
		}
		t.Logf("%s: %d bytes in %v", name, len(src), d)
		if err == nil && name != "chain of derived features" {
			t.Errorf("%s: accepted", name)
		}
		if err != nil && name == "chain of derived features" {
			t.Errorf("%s: %.300v", name, err)
		}
		if len(fmt.Sprint(err)) > 1<<20 {
			t.Errorf("%s: %d bytes of error", name, len(fmt.Sprint(err)))
		}
		if err == nil {
			start = time.Now()
			if err := s.Check(map[string]map[string]ColumnType{"d": {"k": Int64, "ts": Timestamp}}); err != nil {
				t.Errorf("%s: Check: %.300v", name, err)
			}
			t.Logf("%s: Check in %v", name, time.Since(start))
		}
	}
}

func TestParseTooLarge(t *testing.T) {
	_, err := Parse("big.yaml", make([]byte, MaxSpecSize+1))
	if err == nil || !strings.Contains(err.Error(), "big.yaml:1:1: spec is 1048577 bytes, more than the 1048576 allowed") {
		t.Fatalf("got %v", err)
	}
}

func TestParseCapsProblems(t *testing.T) {
	var b strings.Builder
	b.WriteString("project: p\nentities:\n")
	for range 300 {
		b.WriteString("  - {name: e, join_keys: [k]}\n")
	}
	_, err := Parse("dup.yaml", []byte(b.String()))
	var errs Errors
	if !errors.As(err, &errs) || len(errs) != MaxProblems+1 {
		t.Fatalf("got %d problems: %.200v", len(errs), err)
	}
	last := errs[MaxProblems].Error()
	if last != "dup.yaml:204:12: ... and 99 more problems" {
		t.Errorf("last problem %q", last)
	}
}
