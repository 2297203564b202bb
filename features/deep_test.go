package features

import (
	"fmt"
	"strings"
	"testing"
	"time"
)

// The YAML parser is quadratic in nesting depth and anchor chains; Parse
// refuses such input before parsing, quickly and within memory.
func TestParsePathologicalYAML(t *testing.T) {
	if testing.Short() {
		t.Skip("builds large inputs")
	}
	const n = 100_000
	many := func(line string, count int) string {
		var b strings.Builder
		for i := range count {
			fmt.Fprintf(&b, line, i)
		}
		return b.String()
	}
	tests := []struct {
		name, src, want string
	}{
		{"open brackets", "project: " + strings.Repeat("[", n), "deep.yaml:1:42: malformed YAML: nested too deeply"},
		{"nested lists", "project: " + strings.Repeat("[", n) + strings.Repeat("]", n), "deep.yaml:1:42: malformed YAML: nested too deeply"},
		{"nested maps", "project: " + strings.Repeat("{a: ", n) + "1" + strings.Repeat("}", n), "deep.yaml:1:138: malformed YAML: nested too deeply"},
		{"nested block lists", "project:\n" + strings.Repeat("- ", n) + "x\n", "deep.yaml:2:201: malformed YAML: nested too deeply"},
		{"explicit keys", "project: " + strings.Repeat("? ", n) + "x\n", "deep.yaml:1:202: malformed YAML: nested too deeply"},
		{"anchor chain", "project: " + strings.Repeat("&a ", n) + "x\n", "deep.yaml:1:3010: malformed YAML: more than 1000 anchors and tags"},
		{"tag chain", "project: " + strings.Repeat("!!str ", n) + "x\n", "deep.yaml:1:5010: malformed YAML: more than 1000 anchors and tags"},
		{"many anchors", strings.Repeat("- &a x\n", n), "deep.yaml:1001:3: malformed YAML: more than 1000 anchors and tags"},
		{"nested parentheses", "project: p\nsources: [{name: s, dataset: d, timestamp: t, filter: '" + strings.Repeat("(", 8000) + "x" + strings.Repeat(")", 8000) + "'}]\n", ""},
		{"long expression", "project: p\nsources: [{name: s, dataset: d, timestamp: t, filter: '" + strings.Repeat("-", n) + "x'}]\n", "deep.yaml:2:55: sources[0].filter: expression longer than 16384 bytes"},
		{"many fields", many("k%d: v\n", n), "deep.yaml:1001:6: malformed YAML: a mapping with more than 1000 keys"},
		{"many nested fields", "project: p\nentities:\n  - name: e\n" + many("    k%d: v\n", n), "deep.yaml:1003:9: malformed YAML: a mapping with more than 1000 keys"},
		{"many documents", many("---\nproject: p%d\n", n), "deep.yaml:5:1: malformed YAML: more than one YAML document"},
		{"unclosed list", "project: p\nentities: [" + strings.Repeat("{name: e}, ", n/2) + "{name: \n", "deep.yaml:2:550017: malformed YAML: could not find map value"},
		{"long list", "project: p\nentities: [" + strings.Repeat("{name: e}, ", n/2) + "]\n", "deep.yaml:2:12: entities[0].join_keys: is required"},
		{"long string", "project: " + strings.Repeat("x", MaxSpecSize-20) + "\n", "deep.yaml:1:10: project: invalid project name"},
	}
	for _, tc := range tests {
		if len(tc.src) > MaxSpecSize {
			tc.src = tc.src[:MaxSpecSize]
		}
		start := time.Now()
		_, err := Parse("deep.yaml", []byte(tc.src))
		if d := time.Since(start); d > 3*time.Second {
			t.Errorf("%s: %v", tc.name, d)
		}
		if tc.want == "" {
			if err != nil {
				t.Errorf("%s: %.300v", tc.name, err)
			}
			continue
		}
		if err == nil || !strings.HasPrefix(err.Error(), tc.want) {
			t.Errorf("%s: got %.300v\nwant %s...", tc.name, err, tc.want)
		}
	}
}
