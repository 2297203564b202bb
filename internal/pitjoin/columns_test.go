package pitjoin

import (
	"slices"
	"testing"

	"github.com/granaryml/granary/features"
	"github.com/granaryml/granary/internal/tabular"
)

func TestNeededColumnsKeepsKeysTimeAndAggregatedColumns(t *testing.T) {
	s := tabular.Schema{Columns: []tabular.Column{
		{Name: "note", Type: tabular.String},
		{Name: "amount", Type: tabular.Float64},
		{Name: "shop", Type: tabular.String},
		{Name: "ts", Type: tabular.Timestamp},
		{Name: "user", Type: tabular.Int64},
		{Name: "qty", Type: tabular.Int64},
	}}
	feats := []features.Feature{
		{Name: "n", Agg: features.Count},
		{Name: "spent", Agg: features.Sum, Column: "amount"},
		{Name: "shops", Agg: features.CountDistinct, Column: "shop"},
		{Name: "avg", Expr: "spent / n"},
	}
	sub, keys, ts := NeededColumns(s, []int{4, 2}, 3, feats)
	if got, want := sub.Names(), []string{"amount", "shop", "ts", "user"}; !slices.Equal(got, want) {
		t.Fatalf("columns %v, want %v", got, want)
	}
	if !slices.Equal(keys, []int{3, 1}) || ts != 2 {
		t.Fatalf("keys at %v, time at %d; want [3 1] and 2", keys, ts)
	}
}
