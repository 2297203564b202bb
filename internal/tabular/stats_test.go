package tabular

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math"
	"reflect"
	"strconv"
	"strings"
	"testing"
)

// statsOf converts a one-column CSV and returns its stats.
func statsOf(t *testing.T, typ Type, values []string) ColumnStats {
	t.Helper()
	var b strings.Builder
	b.WriteString("v\n")
	for _, v := range values {
		b.WriteString(v)
		b.WriteByte('\n')
	}
	s := Schema{Columns: []Column{{Name: "v", Type: typ, Nullable: true}}}
	_, res := convertBytes(t, []byte(b.String()), ConvertOptions{Format: CSV, Schema: s})
	return res.Stats[0]
}

func ptr[T any](v T) *T { return &v }

func TestStatsInt(t *testing.T) {
	var vals []string
	for i := 1; i <= 100; i++ {
		vals = append(vals, strconv.Itoa(i))
	}
	vals = append(vals, "", "") // nulls
	got := statsOf(t, Int64, vals)
	want := ColumnStats{Name: "v", Type: Int64, Count: 100, Nulls: 2, Min: ptr("1"), Max: ptr("100"), Mean: ptr(50.5),
		Distinct: 100, DistinctExact: true}
	// Bucket i starts at 1 + floor(i*99/10).
	want.Histogram = []Bucket{{"1", "10", 9}, {"10", "20", 10}, {"20", "30", 10}, {"30", "40", 10}, {"40", "50", 10},
		{"50", "60", 10}, {"60", "70", 10}, {"70", "80", 10}, {"80", "90", 10}, {"90", "100", 11}}
	if !reflect.DeepEqual(got, want) {
		gj, _ := json.Marshal(got)
		wj, _ := json.Marshal(want)
		t.Errorf("got  %s\nwant %s", gj, wj)
	}
	// Extremes do not overflow the sum, the span or the buckets.
	got = statsOf(t, Int64, []string{"9223372036854775807", "-9223372036854775808", "9223372036854775807"})
	if *got.Min != "-9223372036854775808" || *got.Max != "9223372036854775807" || len(got.Histogram) != 10 {
		t.Errorf("extremes: %+v", got)
	}
	if math.Abs(*got.Mean-3074457345618258602.3) > 1e4 {
		t.Errorf("extremes mean = %v", *got.Mean)
	}
	if got.Histogram[0].Count != 1 || got.Histogram[9].Count != 2 {
		t.Errorf("extremes histogram = %+v", got.Histogram)
	}
	// Few distinct values: one bucket per value.
	got = statsOf(t, Int64, []string{"5", "6", "6", "7"})
	wantH := []Bucket{{"5", "6", 1}, {"6", "7", 2}, {"7", "7", 1}}
	if !reflect.DeepEqual(got.Histogram, wantH) {
		t.Errorf("small histogram = %+v", got.Histogram)
	}
}

func TestStatsFloat(t *testing.T) {
	tenths := make([]string, 10)
	for i := range tenths {
		tenths[i] = "0.1"
	}
	got := statsOf(t, Float64, tenths)
	if *got.Mean != 0.1 { // naive summation gives 0.09999999999999999
		t.Errorf("compensated mean = %v", *got.Mean)
	}
	got = statsOf(t, Float64, []string{"1e16", "1", "-1e16", "1"})
	if *got.Mean != 0.5 {
		t.Errorf("mean with cancellation = %v", *got.Mean)
	}
	got = statsOf(t, Float64, []string{"NaN", "1", "+Inf", "-2", "", "nan"})
	if got.Count != 5 || got.Nulls != 1 || got.NaNs != 2 || got.Infs != 1 || *got.Min != "-2" || *got.Max != "+Inf" || !math.IsInf(*got.Mean, 1) || got.Distinct != 3 {
		t.Errorf("special values: %+v mean %v", got, *got.Mean)
	}
	if got.Histogram[0].Lower != "-2" || got.Histogram[9].Upper != "1" {
		t.Errorf("histogram over finite values: %+v", got.Histogram)
	}
	got = statsOf(t, Float64, []string{"1e308", "1.5e308", "-1e308"})
	if got.Mean == nil || math.Abs(*got.Mean-5e307) > 5e307*1e-15 {
		t.Errorf("mean of a sum that overflows = %v, want 5e307", got.Mean)
	}
	if _, err := json.Marshal(got); err != nil {
		t.Errorf("stats do not encode: %v", err)
	}
	var sum int64
	for _, b := range got.Histogram {
		sum += b.Count
	}
	if sum != 3 || got.Histogram[0].Lower != "-1e+308" || got.Histogram[9].Upper != "1.5e+308" {
		t.Errorf("wide histogram: %+v", got.Histogram)
	}
	got = statsOf(t, Float64, []string{"NaN"})
	if got.Min != nil || got.Mean != nil || got.Histogram != nil || got.Distinct != 0 {
		t.Errorf("all NaN: %+v", got)
	}
	got = statsOf(t, Float64, []string{"-0", "0", "2.5"})
	if got.Distinct != 2 || len(got.Histogram) != 10 {
		t.Errorf("-0 and 0: %+v", got)
	}
}

func TestStatsStringBoolTimestamp(t *testing.T) {
	long := strings.Repeat("é", 100) // 200 bytes
	got := statsOf(t, String, []string{"b", "a", "c", "b", "a", `""`, "", long})
	want := []TopValue{{"a", 2}, {"b", 2}, {"", 1}, {"c", 1}, {long[:128], 1}}
	if !reflect.DeepEqual(got.Top, want) {
		t.Errorf("top = %+v", got.Top)
	}
	if *got.Min != "" || *got.Max != long[:128] || got.Count != 7 || got.Nulls != 1 || got.Distinct != 5 || got.Mean != nil {
		t.Errorf("string stats: %+v", got)
	}
	got = statsOf(t, Bool, []string{"true", "false", "true", "true", ""})
	if *got.Mean != 0.75 || *got.Min != "false" || *got.Max != "true" || got.Distinct != 2 {
		t.Errorf("bool stats: %+v", got)
	}
	got = statsOf(t, Timestamp, []string{"2024-01-01", "2024-01-11T00:00:00+00:00", "2024-01-02"})
	if *got.Min != "2024-01-01T00:00:00Z" || *got.Max != "2024-01-11T00:00:00Z" || got.Mean != nil {
		t.Errorf("timestamp stats: %+v", got)
	}
	if got.Histogram[1].Lower != "2024-01-02T00:00:00Z" || got.Histogram[0].Count != 1 || got.Histogram[1].Count != 1 || got.Histogram[9].Count != 1 {
		t.Errorf("timestamp histogram: %+v", got.Histogram)
	}
}

func TestStatsLarge(t *testing.T) {
	const n = 200_000
	var b strings.Builder
	b.WriteString("id,cat,x\n")
	for i := range n {
		cat := "common"
		if i%2 == 1 {
			cat = fmt.Sprintf("u%d", i)
		}
		fmt.Fprintf(&b, "%d,%s,%d\n", i, cat, i%10)
	}
	_, res := convertBytes(t, []byte(b.String()), ConvertOptions{Format: CSV})
	id, cat, x := res.Stats[0], res.Stats[1], res.Stats[2]
	if id.DistinctExact || math.Abs(float64(id.Distinct-n))/n > 0.02 {
		t.Errorf("id distinct = %d (exact %v)", id.Distinct, id.DistinctExact)
	}
	if !id.Sampled {
		t.Errorf("id histogram not marked sampled")
	}
	var sum int64
	for _, bk := range id.Histogram {
		sum += bk.Count
		if math.Abs(float64(bk.Count)-n/10)/(n/10) > 0.1 {
			t.Errorf("id bucket %+v far from uniform", bk)
		}
	}
	if sum != n {
		t.Errorf("histogram sums to %d", sum)
	}
	if cat.Top[0].Value != "common" || math.Abs(float64(cat.Top[0].Count)-n/2)/(n/2) > 0.05 || !cat.Sampled {
		t.Errorf("cat top = %+v", cat.Top[:1])
	}
	if x.Distinct != 10 || !x.DistinctExact || *x.Mean != 4.5 {
		t.Errorf("x: %+v", x)
	}
}

// Infinities are values: the mean of {1, +Inf} is +Inf, not 1, and that of
// {+Inf, -Inf} is undefined. NaNs stay out, like nulls; the histogram
// covers the finite values.
func TestStatsInfinities(t *testing.T) {
	tests := []struct {
		values       []string
		mean         string // "" for absent
		infs, nans   int64
		min, max     string
		histogramSum int64 // -1: no histogram
	}{
		{[]string{"1", "+Inf"}, "+Inf", 1, 0, "1", "+Inf", 1},
		{[]string{"1", "-Inf", "2"}, "-Inf", 1, 0, "-Inf", "2", 2},
		{[]string{"+Inf", "-Inf", "3"}, "", 2, 0, "-Inf", "+Inf", 1},
		{[]string{"+Inf", "+Inf"}, "+Inf", 2, 0, "+Inf", "+Inf", -1},
		{[]string{"NaN", "+Inf", "NaN"}, "+Inf", 1, 2, "+Inf", "+Inf", -1},
		{[]string{"NaN"}, "", 0, 1, "", "", -1},
		{[]string{"1.7976931348623157e308", "1.7976931348623157e308"}, "1.7976931348623157e+308", 0, 0, "1.7976931348623157e+308", "1.7976931348623157e+308", 2},
		{[]string{"-1.7976931348623157e308", "-1e308", "4"}, "-9.325643782874386e+307", 0, 0, "-1.7976931348623157e+308", "4", 3},
	}
	for _, tc := range tests {
		got := statsOf(t, Float64, tc.values)
		mean := ""
		if got.Mean != nil {
			mean = string(appendFloat64(nil, *got.Mean))
		}
		var hsum int64 = -1
		if got.Histogram != nil {
			hsum = 0
			for _, b := range got.Histogram {
				hsum += b.Count
			}
		}
		min, max := "", ""
		if got.Min != nil {
			min, max = *got.Min, *got.Max
		}
		if mean != tc.mean || got.Infs != tc.infs || got.NaNs != tc.nans || min != tc.min || max != tc.max || hsum != tc.histogramSum {
			t.Errorf("%v: mean %q infs %d nans %d min %q max %q histogram sum %d", tc.values, mean, got.Infs, got.NaNs, min, max, hsum)
		}
		// A mean JSON cannot hold as a number is a string, and reads back.
		b, err := json.Marshal(got)
		if err != nil {
			t.Fatalf("%v: %v", tc.values, err)
		}
		var back ColumnStats
		if err := json.Unmarshal(b, &back); err != nil {
			t.Fatalf("%v: %v\n%s", tc.values, err, b)
		}
		if !sameStats(back, got) {
			t.Errorf("%v: JSON round trip changed the stats:\n%s", tc.values, b)
		}
	}
	// Finite means encode exactly as before: manifest ids hash the bytes.
	got := statsOf(t, Float64, []string{"0.5", "2", ""})
	type plain ColumnStats
	custom, _ := json.Marshal(got)
	std, _ := json.Marshal(plain(got))
	if !bytes.Equal(custom, std) || !strings.Contains(string(custom), `"mean":1.25`) {
		t.Errorf("finite mean encodes as\n%s\nnot\n%s", custom, std)
	}
	if b, _ := json.Marshal(statsOf(t, Float64, []string{"1", "+Inf"})); !strings.Contains(string(b), `"mean":"+Inf"`) {
		t.Errorf("infinite mean encodes as %s", b)
	}
}

func sameStats(a, b ColumnStats) bool {
	am, bm := a.Mean, b.Mean
	a.Mean, b.Mean = nil, nil
	if !reflect.DeepEqual(a, b) || (am == nil) != (bm == nil) {
		return false
	}
	return am == nil || math.Float64bits(*am) == math.Float64bits(*bm) || (math.IsNaN(*am) && math.IsNaN(*bm))
}
