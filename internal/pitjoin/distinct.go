package pitjoin

import (
	"bytes"
	"hash/maphash"

	"github.com/granaryml/granary/internal/tabular"
)

// denseIDs numbers the distinct values of an event column 0..nids-1 (-1
// for null), so count_distinct can keep its window's multiplicities in a
// slice. Values are distinct as SQL's DISTINCT sees them: floats -0 and
// 0 are one value, and so are all NaNs.
func denseIDs(v *tabular.Vector, n int, seed maphash.Seed) (ids []int32, nids int) {
	ids = make([]int32, n)
	if v.Type == tabular.Bool {
		for i, b := range v.Bools[:n] {
			ids[i] = int32(b2u(b))
			if v.Nulls != nil && v.Nulls[i] {
				ids[i] = -1
			}
		}
		nids = 2
	} else {
		// Open addressing; a slot holds the first event with its value
		// (+1), keyed by the value (integers, floats) or its hash.
		size := 1024
		slotEv := make([]int32, size)
		slotKey := make([]uint64, size)
		key := func(i int) uint64 {
			switch v.Type {
			case tabular.Int64, tabular.Timestamp:
				return uint64(v.Ints[i])
			case tabular.Float64:
				return floatKey(v.Floats[i])
			}
			return maphash.Bytes(seed, v.StringBytes(i))
		}
		exact := v.Type != tabular.String // the key is the value
		for i := range n {
			if v.Nulls != nil && v.Nulls[i] {
				ids[i] = -1
				continue
			}
			k := key(i)
			mask := uint64(size - 1)
			s := mix64(k) & mask
			for {
				e := slotEv[s]
				if e == 0 {
					slotEv[s], slotKey[s] = int32(i+1), k
					ids[i] = int32(nids)
					nids++
					break
				}
				if slotKey[s] == k && (exact || bytes.Equal(v.StringBytes(i), v.StringBytes(int(e-1)))) {
					ids[i] = ids[e-1]
					break
				}
				s = (s + 1) & mask
			}
			if 2*nids > size { // grow: rehash the slots
				oldEv, oldKey := slotEv, slotKey
				size *= 2
				mask = uint64(size - 1)
				slotEv, slotKey = make([]int32, size), make([]uint64, size)
				for j, e := range oldEv {
					if e == 0 {
						continue
					}
					s := mix64(oldKey[j]) & mask
					for slotEv[s] != 0 {
						s = (s + 1) & mask
					}
					slotEv[s], slotKey[s] = e, oldKey[j]
				}
			}
		}
	}
	return ids, nids
}
