package tabular

import (
	"bytes"
	"cmp"
)

// Compare orders two non-null values of the vector: the one order of
// values that every sorted file granary writes uses (feature-view shards
// are sorted by (join keys, time) in it, and the point-in-time join finds
// entity boundaries by it), so it is part of what determines a version's
// bytes. Integers and timestamps numerically; floats by cmp.Compare (NaN
// first, -0 equal to 0); false before true; strings bytewise.
func (v *Vector) Compare(a, b int) int {
	switch v.Type {
	case Int64, Timestamp:
		return cmp.Compare(v.Ints[a], v.Ints[b])
	case Float64:
		return cmp.Compare(v.Floats[a], v.Floats[b])
	case Bool:
		return cmp.Compare(boolOrder(v.Bools[a]), boolOrder(v.Bools[b]))
	default:
		return bytes.Compare(v.StringBytes(a), v.StringBytes(b))
	}
}

func boolOrder(b bool) int {
	if b {
		return 1
	}
	return 0
}
