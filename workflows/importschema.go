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
// mistake worth stopping for). The files' inference states merge into the
// schema one inference over all their rows would give (see
// tabular.Inference); results recorded before they carried that state
// merge by final types as those releases did (int64+float64 -> float64,
// anything else that disagrees -> string), so their histories replay.
func mergeSchemas(sources []activities.Source, inferred []activities.InferSchemaResult) (tabular.Schema, error) {
	if len(inferred) == 0 {
		return tabular.Schema{}, nil
	}
	for i := 1; i < len(inferred); i++ {
		if !sameNames(inferred[0].Schema.Columns, inferred[i].Schema.Columns) {
			return tabular.Schema{}, temporal.NewNonRetryableApplicationError(
				fmt.Sprintf("%s: columns [%s] differ from %s's [%s]; files of one import must have the same columns",
					sources[i].Name, strings.Join(inferred[i].Schema.Names(), ", "), sources[0].Name, strings.Join(inferred[0].Schema.Names(), ", ")),
				activities.ErrTypeSchemaMismatch, nil)
		}
	}
	if merged, ok, err := mergeInferences(inferred); ok || err != nil {
		return merged, err
	}
	out := tabular.Schema{Columns: append([]tabular.Column(nil), inferred[0].Schema.Columns...)}
	for i := 1; i < len(inferred); i++ {
		for j, c := range inferred[i].Schema.Columns {
			out.Columns[j].Type = widen(out.Columns[j].Type, c.Type)
			out.Columns[j].Nullable = out.Columns[j].Nullable || c.Nullable
		}
	}
	return out, nil
}

// mergeInferences merges the sources' inference states; ok is false when
// a result has none (recorded by an earlier release).
func mergeInferences(inferred []activities.InferSchemaResult) (tabular.Schema, bool, error) {
	for _, r := range inferred {
		if r.Inference == nil {
			return tabular.Schema{}, false, nil
		}
	}
	in := *inferred[0].Inference
	for _, r := range inferred[1:] {
		var err error
		if in, err = tabular.MergeInference(in, *r.Inference); err != nil {
			return tabular.Schema{}, true, err
		}
	}
	return in.Schema(), true, nil
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
