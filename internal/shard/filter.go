package shard

import (
	"fmt"
	"time"

	"github.com/granaryml/granary/features"
	"github.com/granaryml/granary/internal/tabular"
)

// ColumnTypes turns a schema into the column types the features package
// checks expressions and specs against.
func ColumnTypes(s tabular.Schema) map[string]features.ColumnType {
	out := make(map[string]features.ColumnType, len(s.Columns))
	for _, c := range s.Columns {
		out[c.Name] = features.ColumnType(c.Type)
	}
	return out
}

// CompileFilter compiles a source filter expression into a FilterMaker
// over batches with schema s. Each RowFilter it makes reuses one evaluator
// and one value slice for every row, so filtering 10M rows allocates
// nothing per row but the boxed values; that state is why each goroutine
// needs its own.
func CompileFilter(expr string, s tabular.Schema) (FilterMaker, error) {
	f, err := features.CompileFilter(expr, ColumnTypes(s))
	if err != nil {
		return nil, fmt.Errorf("filter %q: %w", expr, err)
	}
	cols := f.Columns()
	idx := make([]int, len(cols))
	for i, c := range cols {
		if idx[i] = s.Index(c); idx[i] < 0 {
			return nil, fmt.Errorf("%w: filter %q reads column %q that extraction did not select", features.ErrInvalidSpec, expr, c)
		}
	}
	return func() RowFilter {
		ev := f.Evaluator()
		values := make([]any, len(cols))
		return func(b *tabular.Batch, i int) (bool, error) {
			for j, c := range idx {
				values[j] = cellValue(&b.Vectors[c], i)
			}
			return ev.Eval(values)
		}
	}, nil
}

// cellValue is a cell as the expression language sees it: nil for null,
// time.Time (UTC) for timestamps.
func cellValue(v *tabular.Vector, i int) any {
	if v.IsNull(i) {
		return nil
	}
	switch v.Type {
	case tabular.Int64:
		return v.Ints[i]
	case tabular.Timestamp:
		return time.UnixMicro(v.Ints[i]).UTC()
	case tabular.Float64:
		return v.Floats[i]
	case tabular.Bool:
		return v.Bools[i]
	default:
		return string(v.StringBytes(i))
	}
}
