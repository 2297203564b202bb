// Package shard partitions rows by a hash of their join keys and sorts
// each shard by (keys, timestamp). Feature extraction writes feature-view
// shards this way and training-set builds partition their spine with the
// same hash, so shard i of a spine only ever meets shard i of a view.
package shard

import (
	"math"

	"github.com/granaryml/granary/internal/tabular"
)

// FNV-1a, written out so the hash is the same in every process and
// release: shard assignment is part of what a dataset version means.
const (
	fnvOffset = 14695981039346656037
	fnvPrime  = 1099511628211
)

func mix(h uint64, b byte) uint64 { return (h ^ uint64(b)) * fnvPrime }

func mixUint64(h, x uint64) uint64 {
	for i := 0; i < 8; i++ {
		h = mix(h, byte(x>>(8*i)))
	}
	return h
}

// KeyHash hashes the key columns of row i. Each value is tagged with its
// type and strings with their length, so ("ab","c") and ("a","bc") differ.
func KeyHash(b *tabular.Batch, keyCols []int, i int) uint64 {
	h := uint64(fnvOffset)
	for _, c := range keyCols {
		v := &b.Vectors[c]
		if v.IsNull(i) {
			h = mix(h, 0)
			continue
		}
		switch v.Type {
		case tabular.Int64, tabular.Timestamp:
			h = mixUint64(mix(h, 1), uint64(v.Ints[i]))
		case tabular.Float64:
			h = mixUint64(mix(h, 2), math.Float64bits(v.Floats[i]))
		case tabular.Bool:
			x := byte(0)
			if v.Bools[i] {
				x = 1
			}
			h = mix(mix(h, 3), x)
		case tabular.String:
			s := v.StringBytes(i)
			h = mixUint64(mix(h, 4), uint64(len(s)))
			for _, c := range s {
				h = mix(h, c)
			}
		}
	}
	return h
}

// Of maps a key hash to one of n shards.
func Of(h uint64, n int) int {
	// Fold the high bits in: FNV's low bits alone are weak for small keys.
	return int((h ^ h>>32) % uint64(n))
}
