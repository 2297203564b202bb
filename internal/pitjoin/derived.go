package pitjoin

import (
	"fmt"
	"math"
	"time"

	"github.com/granaryml/granary/internal/tabular"
)

// evalDerived computes the view's derived features row by row, in
// DerivedOrder, from the aggregates of the same row (after ttl) and the
// derived features before them.
func (j *joiner) evalDerived(p *viewPlan) error {
	if len(p.derived) == 0 {
		return nil
	}
	var strs [][]string // results of string-typed derived features
	strIndex := make([]int, len(p.derived))
	for i, d := range p.derived {
		strIndex[i] = -1
		if d.typ == tabular.String {
			strIndex[i] = len(strs)
			strs = append(strs, make([]string, j.m))
		}
	}
	err := j.parallel(j.m, func(_ *worker, a, b int) error {
		env := make(map[string]any, len(p.reads)+len(p.derived))
		for r := a; r < b; r++ {
			for _, f := range p.reads {
				env[f.name] = valueAt(f.vec, r)
			}
			for i, d := range p.derived {
				v, err := d.derived.Eval(env)
				if err != nil {
					return fmt.Errorf("view '%s', feature '%s', spine row %d: %w", p.name, d.name, r, err)
				}
				env[d.name] = v
				if v == nil {
					continue
				}
				vec := d.vec
				vec.Nulls[r] = false
				switch x := v.(type) {
				case int64:
					vec.Ints[r] = x
				case float64:
					vec.Floats[r] = x
				case bool:
					vec.Bools[r] = x
				case string:
					strs[strIndex[i]][r] = x
				default:
					return fmt.Errorf("view '%s', feature '%s': expression gave %T", p.name, d.name, v)
				}
			}
		}
		return nil
	})
	if err != nil {
		return err
	}
	for i, d := range p.derived {
		if strIndex[i] < 0 {
			continue
		}
		v, ss := d.vec, strs[strIndex[i]]
		total := 0
		for _, s := range ss {
			total += len(s)
		}
		if total > math.MaxUint32 {
			return fmt.Errorf("%w: view '%s', feature '%s': %d bytes of strings, more than %d", ErrInvalid, p.name, d.name, total, uint32(math.MaxUint32))
		}
		v.Bytes = make([]byte, 0, total)
		for r, s := range ss {
			v.Bytes = append(v.Bytes, s...)
			v.Offsets[r+1] = uint32(len(v.Bytes))
		}
	}
	return nil
}

// valueAt is a vector's value as a derived expression reads it: nil for
// null, time.Time (UTC) for timestamps.
func valueAt(v *tabular.Vector, r int) any {
	if v.Nulls != nil && v.Nulls[r] {
		return nil
	}
	switch v.Type {
	case tabular.Int64:
		return v.Ints[r]
	case tabular.Timestamp:
		return time.UnixMicro(v.Ints[r]).UTC()
	case tabular.Float64:
		return v.Floats[r]
	case tabular.Bool:
		return v.Bools[r]
	}
	return string(v.StringBytes(r))
}
