package features

import "testing"

func TestNearest(t *testing.T) {
	tests := []struct {
		in         string
		candidates []string
		want       string
	}{
		{"order", []string{"orders", "users"}, "orders"},
		{"Orders", []string{"orders"}, "orders"},
		{"usr_orders", []string{"user_orders", "user_clicks"}, "user_orders"},
		{"spned_30d", []string{"spend_30d", "orders_7d"}, "spend_30d"}, // transposition
		{"x", []string{"orders"}, ""},
		{"completely_different", []string{"orders"}, ""},
		{"ab", []string{"ac", "ad"}, "ac"}, // ties: the first
		{"orders", []string{"orders"}, ""},
	}
	for _, tc := range tests {
		if got := nearest(tc.in, tc.candidates); got != tc.want {
			t.Errorf("nearest(%q, %v) = %q, want %q", tc.in, tc.candidates, got, tc.want)
		}
	}
}

func TestSuggestAgg(t *testing.T) {
	for in, want := range map[string]string{
		"avg":     "; did you mean 'mean'?",
		"AVERAGE": "; did you mean 'mean'?",
		"nunique": "; did you mean 'count_distinct'?",
		"latest":  "; did you mean 'last'?",
		"summ":    "; did you mean 'sum'?",
		"cout":    "; did you mean 'count'?",
		"stddev":  " (valid: count, sum, mean, min, max, first, last, count_distinct)",
	} {
		if got := suggestAgg(in); got != want {
			t.Errorf("suggestAgg(%q) = %q, want %q", in, got, want)
		}
	}
}
