package shard

import (
	"reflect"
	"testing"
)

func TestSplitRowGroupsMakesContiguousBalancedRanges(t *testing.T) {
	cases := []struct {
		groups []int64
		n      int
		want   []rowGroupRange
	}{
		{[]int64{100}, 4, nil},
		{[]int64{100, 100}, 1, nil},
		{[]int64{100, 100, 100, 100}, 2, []rowGroupRange{{0, 2, 0}, {2, 4, 200}}},
		{[]int64{100, 100, 100}, 2, []rowGroupRange{{0, 1, 0}, {1, 3, 100}}}, // a tie: the first boundary
		{[]int64{500, 10, 10, 10}, 2, []rowGroupRange{{0, 1, 0}, {1, 4, 500}}},
		{[]int64{10, 10, 10, 500}, 2, []rowGroupRange{{0, 3, 0}, {3, 4, 30}}},
		{[]int64{5, 5, 5, 5, 5, 5}, 3, []rowGroupRange{{0, 2, 0}, {2, 4, 10}, {4, 6, 20}}},
	}
	for _, c := range cases {
		if got := splitRowGroups(c.groups, c.n); !reflect.DeepEqual(got, c.want) {
			t.Errorf("splitRowGroups(%v, %d) = %v, want %v", c.groups, c.n, got, c.want)
		}
	}
}
