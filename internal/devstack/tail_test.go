package devstack

import (
	"bytes"
	"strings"
	"testing"
)

func TestTailWriter(t *testing.T) {
	line := func(i int) string { return strings.Repeat(string(rune('a'+i%26)), 99) + "\n" }
	tests := []struct {
		name   string
		writes []string
		want   func(got string) bool
	}{
		{"short output kept whole", []string{"hello\n", "world\n"}, func(got string) bool { return got == "hello\nworld\n" }},
		{"empty", nil, func(got string) bool { return got == "" }},
		{"long output keeps the end from a line start", func() []string {
			var w []string
			for i := range 100 {
				w = append(w, line(i))
			}
			return w
		}(), func(got string) bool {
			return len(got) <= tailSize && strings.HasSuffix(got, line(99)) && strings.HasPrefix(got, line(100-len(got)/100))
		}},
		{"one huge write", []string{strings.Repeat("x", 3*tailSize) + "\nend\n"}, func(got string) bool { return got == "end\n" }},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var log bytes.Buffer
			tw := &tailWriter{log: &log}
			for _, w := range tc.writes {
				if n, err := tw.Write([]byte(w)); n != len(w) || err != nil {
					t.Fatalf("Write = %d, %v", n, err)
				}
			}
			if got := tw.String(); !tc.want(got) {
				t.Errorf("tail = %q", got)
			}
			if log.String() != strings.Join(tc.writes, "") {
				t.Errorf("log did not receive every byte")
			}
		})
	}
}
