package shard

import (
	"github.com/granaryml/granary/features"
	"github.com/granaryml/granary/internal/tabular"
)

// Split names.
const (
	SplitTrain = "train"
	SplitValid = "valid"
	SplitTest  = "test"
)

// SplitOf assigns row i to a split by a seeded hash of column col, so all
// rows with the same value (one user) land in the same split, and the
// same seed always gives the same assignment.
func SplitOf(b *tabular.Batch, col, i int, sp *features.Split) string {
	h := KeyHash(b, []int{col}, i)
	h = mixUint64(h^fnvOffset, sp.Seed)
	// splitmix64 finalizer: spreads FNV's output over all 64 bits before
	// it is read as a fraction.
	h ^= h >> 30
	h *= 0xbf58476d1ce4e5b9
	h ^= h >> 27
	h *= 0x94d049bb133111eb
	h ^= h >> 31
	u := float64(h>>11) / (1 << 53)
	switch {
	case u < sp.Train:
		return SplitTrain
	case u < sp.Train+sp.Valid:
		return SplitValid
	default:
		return SplitTest
	}
}
