package features

import (
	"strings"
	"testing"
	"time"
)

func TestParseWindow(t *testing.T) {
	day := 24 * time.Hour
	ok := []struct {
		in   string
		want time.Duration
	}{
		{"168h", 168 * time.Hour},
		{"7d", 7 * day},
		{"1w", 7 * day},
		{"2w3d", 17 * day},
		{"1d12h", 36 * time.Hour},
		{"1.5d", 36 * time.Hour},
		{".5h", 30 * time.Minute},
		{"90m", 90 * time.Minute},
		{"1h30m", 90 * time.Minute},
		{"1500ms", 1500 * time.Millisecond},
		{"1ns", 1},
		{"2µs", 2 * time.Microsecond},
		{"36525d", MaxWindow},
	}
	for _, tc := range ok {
		got, err := ParseWindow(tc.in)
		if err != nil || got != tc.want {
			t.Errorf("ParseWindow(%q) = %v, %v; want %v", tc.in, got, err, tc.want)
		}
	}
	bad := []struct{ in, msg string }{
		{"7 days", "invalid duration '7 days'; use a number and a unit"},
		{"7days", "invalid duration '7days'"},
		{"7", "invalid duration '7'"},
		{"d", "invalid duration 'd'"},
		{"7D", "invalid duration '7D'"},
		{"1y", "invalid duration '1y'"},
		{"+5h", "invalid duration '+5h'"},
		{" 5h", "invalid duration ' 5h'"},
		{"1..5h", "invalid duration '1..5h'"},
		{"1e3h", "invalid duration '1e3h'"},
		{"", "empty duration"},
		{"-1h", "negative duration '-1h'; windows and ttl must be positive"},
		{"0s", "zero duration '0s'; windows and ttl must be positive"},
		{"0d0h", "zero duration"},
		{"36526d", "duration '36526d' is longer than 100 years"},
		{"5300w", "longer than 100 years"},
		{"9999999999999999h", "longer than 100 years"},
		{"99999999999999999999d", "longer than 100 years"},
		{"106751d106751d", "longer than 100 years"},
	}
	for _, tc := range bad {
		got, err := ParseWindow(tc.in)
		if err == nil || !strings.Contains(err.Error(), tc.msg) {
			t.Errorf("ParseWindow(%q) = %v, %v; want error containing %q", tc.in, got, err, tc.msg)
		}
	}
}

func TestFormatWindow(t *testing.T) {
	for d, want := range map[time.Duration]string{
		168 * time.Hour:  "1w",
		720 * time.Hour:  "30d",
		90 * time.Minute: "1h30m0s",
	} {
		if got := FormatWindow(d); got != want {
			t.Errorf("FormatWindow(%v) = %q, want %q", d, got, want)
		}
		if back, err := ParseWindow(FormatWindow(d)); err != nil || back != d {
			t.Errorf("ParseWindow(FormatWindow(%v)) = %v, %v", d, back, err)
		}
	}
}
