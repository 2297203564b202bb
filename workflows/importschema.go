package workflows

import (
	"fmt"
	"strings"

	"go.temporal.io/sdk/temporal"

	"github.com/granaryml/granary/activities"
	"github.com/granaryml/granary/internal/tabular"
)

// mergeSchemas unifies the schemas inferred for each file of one import.
// Columns must match by name and order (a file with other columns is a
// mistake worth stopping for); types widen the way inference would have
// if the files had been one: int64+float64 -> float64, anything else that
// disagrees -> string; a column nullable in any file is nullable.
func mergeSchemas(sources []activities.Source, inferred []activities.InferSchemaResult) (tabular.Schema, error) {
	if len(inferred) == 0 {
		return tabular.Schema{}, nil
	}
	out := tabular.Schema{Columns: append([]tabular.Column(nil), inferred[0].Schema.Columns...)}
	for i := 1; i < len(inferred); i++ {
		cols := inferred[i].Schema.Columns
		if !sameNames(out.Columns, cols) {
			return out, temporal.NewNonRetryableApplicationError(
				fmt.Sprintf("%s: columns [%s] differ from %s's [%s]; files of one import must have the same columns",
					sources[i].Name, strings.Join(inferred[i].Schema.Names(), ", "), sources[0].Name, strings.Join(inferred[0].Schema.Names(), ", ")),
				activities.ErrTypeSchemaMismatch, nil)
		}
		for j, c := range cols {
			out.Columns[j].Type = widen(out.Columns[j].Type, c.Type)
			out.Columns[j].Nullable = out.Columns[j].Nullable || c.Nullable
		}
	}
	return out, nil
}

func sameNames(a, b []tabular.Column) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i].Name != b[i].Name {
			return false
		}
	}
	return true
}

func widen(a, b tabular.Type) tabular.Type {
	switch {
	case a == b:
		return a
	case (a == tabular.Int64 && b == tabular.Float64) || (a == tabular.Float64 && b == tabular.Int64):
		return tabular.Float64
	default:
		return tabular.String
	}
}
