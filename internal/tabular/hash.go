package tabular

import (
	"encoding/binary"
	"math"
	"math/bits"
)

// Fixed hash functions: statistics must not depend on a per-process seed
// (hash/maphash) because they end up in content-addressed manifests.

const (
	hashPrime1 = 0x9E3779B185EBCA87
	hashPrime2 = 0xC2B2AE3D27D4EB4F
	hashPrime3 = 0x165667B19E3779F9
)

// mix64 is the murmur3 64-bit finalizer: a bijection with full avalanche.
func mix64(x uint64) uint64 {
	x ^= x >> 33
	x *= 0xff51afd7ed558ccd
	x ^= x >> 33
	x *= 0xc4ceb9fe1a85ec53
	x ^= x >> 33
	return x
}

func hashInt64(v int64) uint64 { return mix64(uint64(v) ^ hashPrime3) }

// hashFloat64 treats -0 and 0 as one value, and every NaN as one value.
func hashFloat64(v float64) uint64 {
	switch {
	case v == 0:
		v = 0
	case v != v:
		v = math.NaN()
	}
	return mix64(math.Float64bits(v) ^ hashPrime2)
}

// hashBytes is an xxhash64-style single-lane hash, little-endian on every
// platform.
func hashBytes(b []byte) uint64 {
	h := uint64(len(b))*hashPrime1 ^ hashPrime2
	for len(b) >= 8 {
		k := binary.LittleEndian.Uint64(b)
		k *= hashPrime2
		k = bits.RotateLeft64(k, 31)
		k *= hashPrime1
		h ^= k
		h = bits.RotateLeft64(h, 27)*hashPrime1 + hashPrime3
		b = b[8:]
	}
	if len(b) > 0 {
		var k uint64
		for i := len(b) - 1; i >= 0; i-- {
			k = k<<8 | uint64(b[i])
		}
		k *= hashPrime2
		k = bits.RotateLeft64(k, 31)
		k *= hashPrime1
		h ^= k
		h = bits.RotateLeft64(h, 27) * hashPrime1
	}
	return mix64(h)
}

// splitmix64 is the fixed-seed generator behind the reservoir samples.
func splitmix64(state *uint64) uint64 {
	*state += 0x9E3779B97F4A7C15
	z := *state
	z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9
	z = (z ^ (z >> 27)) * 0x94D049BB133111EB
	return z ^ (z >> 31)
}
