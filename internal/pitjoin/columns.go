package pitjoin

import (
	"github.com/granaryml/granary/features"
	"github.com/granaryml/granary/internal/tabular"
)

// NeededColumns narrows an events schema to what a join of feats reads:
// the key columns, the time column and the columns aggregated (derived
// features read other features, not columns). It returns that schema, in
// the events' column order, and the key and time positions in it. Loading
// only these is what keeps a join of one feature over a wide view from
// decoding and holding every column of it.
func NeededColumns(s tabular.Schema, keyCols []int, timeCol int, feats []features.Feature) (sub tabular.Schema, subKeys []int, subTime int) {
	need := make([]bool, len(s.Columns))
	for _, k := range keyCols {
		need[k] = true
	}
	need[timeCol] = true
	for _, f := range feats {
		if f.Derived() || f.Column == "" {
			continue
		}
		if i := s.Index(f.Column); i >= 0 {
			need[i] = true
		}
	}
	pos := make([]int, len(s.Columns))
	for i, c := range s.Columns {
		if need[i] {
			pos[i] = len(sub.Columns)
			sub.Columns = append(sub.Columns, c)
		}
	}
	for _, k := range keyCols {
		subKeys = append(subKeys, pos[k])
	}
	return sub, subKeys, pos[timeCol]
}
