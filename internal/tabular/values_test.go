package tabular

import (
	"math"
	"strconv"
	"testing"
	"time"
)

func TestParseInt64(t *testing.T) {
	tests := []struct {
		in   string
		want int64
		ok   bool
	}{
		{"0", 0, true},
		{"-0", 0, true},
		{"+7", 7, true},
		{"007", 7, true},
		{"9223372036854775807", math.MaxInt64, true},
		{"-9223372036854775808", math.MinInt64, true},
		{"9223372036854775808", 0, false},
		{"-9223372036854775809", 0, false},
		{"99999999999999999999", 0, false},
		{"", 0, false},
		{"-", 0, false},
		{"+", 0, false},
		{"1.0", 0, false},
		{"1e3", 0, false},
		{" 1", 0, false},
		{"1_000", 0, false},
		{"0x10", 0, false},
	}
	for _, tt := range tests {
		got, ok := parseInt64([]byte(tt.in))
		if ok != tt.ok || got != tt.want {
			t.Errorf("parseInt64(%q) = %d, %v; want %d, %v", tt.in, got, ok, tt.want, tt.ok)
		}
	}
}

func TestParseFloat64(t *testing.T) {
	tests := []struct {
		in   string
		want float64
		ok   bool
	}{
		{"0.1", 0.1, true},
		{"1e300", 1e300, true},
		{"-0.0", math.Copysign(0, -1), true},
		{"-0", math.Copysign(0, -1), true},
		{".5", 0.5, true},
		{"5.", 5, true},
		{"+1.5E-3", 0.0015, true},
		{"1e+20", 1e20, true},
		{"4.9e-324", 5e-324, true},
		{"NaN", math.NaN(), true},
		{"nan", math.NaN(), true},
		{"+Inf", math.Inf(1), true},
		{"-inf", math.Inf(-1), true},
		{"Infinity", math.Inf(1), true},
		{"1e400", 0, false},
		{"0x1p-2", 0, false},
		{"1_000.5", 0, false},
		{".", 0, false},
		{"e5", 0, false},
		{"1e", 0, false},
		{"", 0, false},
		{"abc", 0, false},
		{"nana", 0, false},
		{"1.5 ", 0, false},
	}
	for _, tt := range tests {
		got, ok := parseFloat64([]byte(tt.in))
		if ok != tt.ok {
			t.Errorf("parseFloat64(%q) ok = %v, want %v", tt.in, ok, tt.ok)
			continue
		}
		if !ok {
			continue
		}
		if math.IsNaN(tt.want) {
			if !math.IsNaN(got) {
				t.Errorf("parseFloat64(%q) = %v, want NaN", tt.in, got)
			}
		} else if math.Float64bits(got) != math.Float64bits(tt.want) {
			t.Errorf("parseFloat64(%q) = %v, want %v", tt.in, got, tt.want)
		}
	}
}

func TestFloatTextRoundTrip(t *testing.T) {
	for _, f := range []float64{0.1, 1e300, math.Copysign(0, -1), 5e-324, math.MaxFloat64, -math.MaxFloat64,
		math.SmallestNonzeroFloat64, 1.0 / 3, math.Pi, math.Inf(1), math.Inf(-1), 123456789012345678} {
		text := appendFloat64(nil, f)
		back, ok := parseFloat64(text)
		if !ok || math.Float64bits(back) != math.Float64bits(f) {
			t.Errorf("%v -> %q -> %v, %v", f, text, back, ok)
		}
	}
}

func TestParseBool(t *testing.T) {
	for in, want := range map[string]bool{"true": true, "TRUE": true, "True": true, "false": false, "FaLsE": false} {
		if got, ok := parseBool([]byte(in)); !ok || got != want {
			t.Errorf("parseBool(%q) = %v, %v", in, got, ok)
		}
	}
	for _, in := range []string{"", "1", "0", "t", "f", "yes", "no", "truee", " true"} {
		if _, ok := parseBool([]byte(in)); ok {
			t.Errorf("parseBool(%q) accepted", in)
		}
	}
}

func TestParseTimestamp(t *testing.T) {
	utc := func(s string) int64 {
		tm, err := time.Parse(time.RFC3339Nano, s)
		if err != nil {
			t.Fatal(err)
		}
		return tm.UnixMicro()
	}
	tests := []struct {
		in   string
		want string // RFC 3339 of the expected instant; "" = rejected
	}{
		{"2024-03-01T10:00:00+02:00", "2024-03-01T08:00:00Z"},
		{"2024-03-01T10:00:00Z", "2024-03-01T10:00:00Z"},
		{"2024-03-01t10:00:00z", "2024-03-01T10:00:00Z"},
		{"2024-03-01 10:00:00", "2024-03-01T10:00:00Z"},
		{"2024-03-01T10:00:00", "2024-03-01T10:00:00Z"},
		{"2024-03-01", "2024-03-01T00:00:00Z"},
		{"2024-03-01T10:00:00.5Z", "2024-03-01T10:00:00.5Z"},
		{"2024-03-01T10:00:00.123456789-05:30", "2024-03-01T15:30:00.123456Z"},
		{"1969-12-31T23:59:59.999999Z", "1969-12-31T23:59:59.999999Z"},
		{"2024-02-29", "2024-02-29T00:00:00Z"},
		{"0000-01-01", "0000-01-01T00:00:00Z"},
		{"9999-12-31T23:59:59.999999Z", "9999-12-31T23:59:59.999999Z"},
		{"1900-02-29", ""},
		{"2023-02-29", ""},
		{"2024-13-01", ""},
		{"2024-00-10", ""},
		{"2024-04-31", ""},
		{"2024-03-01T24:00:00Z", ""},
		{"2024-03-01T10:60:00Z", ""},
		{"2024-03-01T10:00:60Z", ""},
		{"2024-03-01T10:00:00.Z", ""},
		{"2024-03-01T10:00:00.1234567890Z", ""},
		{"2024-03-01T10:00:00+0200", ""},
		{"2024-03-01T10:00:00+24:00", ""},
		{"2024-03-01T10:00", ""},
		{"2024-3-1", ""},
		{"20240301", ""},
		{"0000-01-01T00:00:00+00:01", ""}, // before year 0
		{"9999-12-31T23:59:59-00:01", ""}, // after year 9999
		{"2024-03-01Z", ""},
		{"", ""},
	}
	for _, tt := range tests {
		got, ok := parseTimestamp([]byte(tt.in))
		if tt.want == "" {
			if ok {
				t.Errorf("parseTimestamp(%q) accepted: %s", tt.in, appendTimestamp(nil, got))
			}
			continue
		}
		if !ok || got != utc(tt.want) {
			t.Errorf("parseTimestamp(%q) = %s, %v; want %s", tt.in, appendTimestamp(nil, got), ok, tt.want)
		}
		if back, ok := parseTimestamp(appendTimestamp(nil, got)); !ok || back != got {
			t.Errorf("text form of %q does not parse back", tt.in)
		}
	}
}

func TestDaysFromCivilMatchesTime(t *testing.T) {
	for y := int64(0); y <= 9999; y += 7 {
		for _, md := range [][2]int64{{1, 1}, {2, 28}, {3, 1}, {12, 31}} {
			want := time.Date(int(y), time.Month(md[0]), int(md[1]), 0, 0, 0, 0, time.UTC).Unix() / 86400
			if got := daysFromCivil(y, md[0], md[1]); got != want {
				t.Fatalf("daysFromCivil(%d-%d-%d) = %d, want %d", y, md[0], md[1], got, want)
			}
		}
	}
	if got := strconv.FormatInt(minTimestamp, 10); got != strconv.FormatInt(time.Date(0, 1, 1, 0, 0, 0, 0, time.UTC).UnixMicro(), 10) {
		t.Errorf("minTimestamp = %s", got)
	}
}
