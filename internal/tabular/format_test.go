package tabular

import (
	"errors"
	"testing"
)

func TestDetectFormat(t *testing.T) {
	tests := []struct {
		name, head string
		want       Format
		bad        bool
	}{
		{"orders.csv", "", CSV, false},
		{"ORDERS.CSV", "", CSV, false},
		{"a/b/events.jsonl", "", JSONL, false},
		{"events.ndjson", "", JSONL, false},
		{"x.parquet", "", Parquet, false},
		{"x.pq", "", Parquet, false},
		{"upload", "PAR1\x15\x04", Parquet, false},
		{"upload", "  {\"a\":1}\n", JSONL, false},
		{"upload", "\xEF\xBB\xBF{\"a\":1}", JSONL, false},
		{"upload.txt", "a,b\n1,2\n", CSV, false},
		{"upload", "name\nJosé\xc3", CSV, false}, // rune cut by the head
		{"upload", "", "", true},
		{"upload", "\x00\x01\x02", "", true},
		{"upload", "ab\xff\xfecd", "", true},
		{"orders.csv.gz", "", "", true},
	}
	for _, tt := range tests {
		got, err := DetectFormat(tt.name, []byte(tt.head))
		if tt.bad {
			if err == nil || !errors.Is(err, ErrBadInput) {
				t.Errorf("DetectFormat(%q, %q) = %v, %v; want a bad-input error", tt.name, tt.head, got, err)
			}
			continue
		}
		if err != nil || got != tt.want {
			t.Errorf("DetectFormat(%q, %q) = %v, %v; want %v", tt.name, tt.head, got, err, tt.want)
		}
	}
}
