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

// HashBytes is FNV-1a over b. Over a key encoded by AppendKey it equals
// KeyHash of the same row, so serving can route an entity to its shard
// from the key alone.
func HashBytes(b []byte) uint64 {
	h := uint64(fnvOffset)
	for _, c := range b {
		h = mix(h, c)
	}
	return h
}

// Key encoding tags, the same bytes KeyHash mixes in.
const (
	tagNull   = 0
	tagInt    = 1
	tagFloat  = 2
	tagBool   = 3
	tagString = 4
)

// AppendKeyInt appends an int64 or timestamp key value.
func AppendKeyInt(dst []byte, x int64) []byte {
	dst = append(dst, tagInt)
	return appendUint64LE(dst, uint64(x))
}

// AppendKeyFloat appends a float64 key value.
func AppendKeyFloat(dst []byte, x float64) []byte {
	dst = append(dst, tagFloat)
	return appendUint64LE(dst, math.Float64bits(x))
}

// AppendKeyBool appends a bool key value.
func AppendKeyBool(dst []byte, x bool) []byte {
	if x {
		return append(dst, tagBool, 1)
	}
	return append(dst, tagBool, 0)
}

// AppendKeyString appends a string key value, length first, so the
// encoding of a key tuple is unambiguous.
func AppendKeyString(dst []byte, s []byte) []byte {
	dst = append(dst, tagString)
	dst = appendUint64LE(dst, uint64(len(s)))
	return append(dst, s...)
}

// AppendKey appends the encoding of row i's key columns: exactly the
// bytes KeyHash hashes, so HashBytes(AppendKey(nil, b, cols, i)) ==
// KeyHash(b, cols, i).
func AppendKey(dst []byte, b *tabular.Batch, keyCols []int, i int) []byte {
	for _, c := range keyCols {
		v := &b.Vectors[c]
		if v.IsNull(i) {
			dst = append(dst, tagNull)
			continue
		}
		switch v.Type {
		case tabular.Int64, tabular.Timestamp:
			dst = AppendKeyInt(dst, v.Ints[i])
		case tabular.Float64:
			dst = AppendKeyFloat(dst, v.Floats[i])
		case tabular.Bool:
			dst = AppendKeyBool(dst, v.Bools[i])
		case tabular.String:
			dst = AppendKeyString(dst, v.StringBytes(i))
		}
	}
	return dst
}

func appendUint64LE(dst []byte, x uint64) []byte {
	return append(dst, byte(x), byte(x>>8), byte(x>>16), byte(x>>24), byte(x>>32), byte(x>>40), byte(x>>48), byte(x>>56))
}
