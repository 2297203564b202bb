package pitjoin

import (
	"bytes"
	"fmt"
	"hash/maphash"
	"math"

	"github.com/granaryml/granary/internal/tabular"
)

// entities are the distinct join keys of a view's events, in event order,
// with a hash index from key to entity for the spine to look itself up.
type entities struct {
	// starts[e] is entity e's first event; starts[len-1] is the number
	// of events.
	starts []int32
	keys   []*tabular.Vector // the events' key columns
	intKey bool              // one int64 or timestamp key: slotKey holds it
	// Open addressing with linear probing: slotEnt is entity+1 (0 empty),
	// slotKey the key itself (intKey) or its hash.
	slotEnt []int32
	slotKey []uint64
	mask    uint64
	seed    maphash.Seed
}

func (x *entities) count() int { return len(x.starts) - 1 }

// scanEvents checks that the events are sorted by (keys, timestamp) and
// have no null key or timestamp, and finds where each entity starts.
func scanEvents(p *viewPlan, buf []int32) ([]int32, error) {
	for i, v := range p.keys {
		if j := firstNull(v); j >= 0 {
			return nil, fmt.Errorf("%w: view '%s': event %d has a null join key (column %d)", ErrInvalid, p.name, j, p.in.KeyCols[i])
		}
	}
	if j := firstNull(p.in.Events.Column(p.in.TimeCol)); j >= 0 {
		return nil, fmt.Errorf("%w: view '%s': event %d has a null timestamp", ErrInvalid, p.name, j)
	}
	n, ts := p.n, p.ts
	starts := append(buf[:0], 0)
	unsorted := func(i int) error {
		return fmt.Errorf("%w: view '%s': event %d comes before event %d", ErrUnsorted, p.name, i, i-1)
	}
	if n == 0 {
		return starts[:0:0], nil
	}
	if len(p.keys) == 1 && isInt(p.keys[0].Type) {
		k := p.keys[0].Ints
		for i := 1; i < n; i++ {
			switch {
			case k[i] != k[i-1]:
				if k[i] < k[i-1] {
					return nil, unsorted(i)
				}
				starts = append(starts, int32(i))
			case ts[i] < ts[i-1]:
				return nil, unsorted(i)
			}
		}
	} else {
		for i := 1; i < n; i++ {
			c := 0
			for _, v := range p.keys {
				if c = v.Compare(i-1, i); c != 0 {
					break
				}
			}
			switch {
			case c > 0:
				return nil, unsorted(i)
			case c < 0:
				starts = append(starts, int32(i))
			case ts[i] < ts[i-1]:
				return nil, unsorted(i)
			}
		}
	}
	return append(starts, int32(n)), nil
}

func firstNull(v *tabular.Vector) int {
	for i, null := range v.Nulls {
		if null {
			return i
		}
	}
	return -1
}

func isInt(t tabular.Type) bool { return t == tabular.Int64 || t == tabular.Timestamp }

func b2u(b bool) uint64 {
	if b {
		return 1
	}
	return 0
}

// newEntities indexes the entities whose events start at starts.
func newEntities(keys []*tabular.Vector, starts []int32, seed maphash.Seed, old *entities) *entities {
	x := old
	if x == nil {
		x = &entities{}
	}
	x.starts, x.keys, x.seed = starts, keys, seed
	x.intKey = len(keys) == 1 && isInt(keys[0].Type)
	ne := x.count()
	size := 16
	for size < 2*ne {
		size <<= 1
	}
	x.slotEnt = resize(x.slotEnt, size)
	clear(x.slotEnt)
	x.slotKey = resize(x.slotKey, size)
	x.mask = uint64(size - 1)
	for e := range ne {
		i := int(starts[e])
		var k uint64
		if x.intKey {
			k = uint64(keys[0].Ints[i])
		} else {
			k = hashRow(keys, i, seed)
		}
		s := mix64(k) & x.mask
		for x.slotEnt[s] != 0 {
			s = (s + 1) & x.mask
		}
		x.slotEnt[s] = int32(e + 1)
		x.slotKey[s] = k
	}
	return x
}

// lookup finds the entity of spine row r (-1 for none or a null key).
func (x *entities) lookup(spineKeys []*tabular.Vector, r int) int32 {
	if x.intKey {
		v := spineKeys[0]
		if v.Nulls != nil && v.Nulls[r] {
			return -1
		}
		k := uint64(v.Ints[r])
		for s := mix64(k) & x.mask; ; s = (s + 1) & x.mask {
			e := x.slotEnt[s]
			if e == 0 || x.slotKey[s] == k {
				return e - 1
			}
		}
	}
	for _, v := range spineKeys {
		if v.Nulls != nil && v.Nulls[r] {
			return -1
		}
	}
	k := hashRow(spineKeys, r, x.seed)
	for s := mix64(k) & x.mask; ; s = (s + 1) & x.mask {
		e := x.slotEnt[s]
		if e == 0 {
			return -1
		}
		if x.slotKey[s] == k && sameKey(spineKeys, r, x.keys, int(x.starts[e-1])) {
			return e - 1
		}
	}
}

// hashRow hashes the (non-null) key of row i, consistently with sameKey.
func hashRow(keys []*tabular.Vector, i int, seed maphash.Seed) uint64 {
	h := uint64(0x9e3779b97f4a7c15)
	for _, v := range keys {
		var k uint64
		switch v.Type {
		case tabular.Int64, tabular.Timestamp:
			k = uint64(v.Ints[i])
		case tabular.Float64:
			k = floatKey(v.Floats[i])
		case tabular.Bool:
			k = b2u(v.Bools[i])
		default:
			k = maphash.Bytes(seed, v.StringBytes(i))
		}
		h = mix64(h^k) + 0x9e3779b97f4a7c15
	}
	return h
}

// sameKey compares spine row r with event i. Floats are equal as the
// events' sort order has them: -0 = 0 and NaN = NaN.
func sameKey(spine []*tabular.Vector, r int, events []*tabular.Vector, i int) bool {
	for c, v := range spine {
		w := events[c]
		switch v.Type {
		case tabular.Int64, tabular.Timestamp:
			if v.Ints[r] != w.Ints[i] {
				return false
			}
		case tabular.Float64:
			if floatKey(v.Floats[r]) != floatKey(w.Floats[i]) {
				return false
			}
		case tabular.Bool:
			if v.Bools[r] != w.Bools[i] {
				return false
			}
		default:
			if !bytes.Equal(v.StringBytes(r), w.StringBytes(i)) {
				return false
			}
		}
	}
	return true
}

// floatKey maps floats that are equal under cmp.Compare to the same bits.
func floatKey(f float64) uint64 {
	switch {
	case f == 0:
		return 0
	case f != f:
		return 0x7ff8000000000001
	}
	return math.Float64bits(f)
}

// mix64 is the murmur3 finalizer: a bijection that spreads every input
// bit over the output, so that the low bits index a table.
func mix64(x uint64) uint64 {
	x ^= x >> 33
	x *= 0xff51afd7ed558ccd
	x ^= x >> 33
	x *= 0xc4ceb9fe1a85ec53
	x ^= x >> 33
	return x
}

func resize[T any](s []T, n int) []T {
	if cap(s) >= n {
		return s[:n]
	}
	return make([]T, n)
}
