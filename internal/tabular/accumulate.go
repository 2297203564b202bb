package tabular

import (
	"context"
	"errors"
	"io"
)

// CanonicalVersion names the canonical parquet encoding this package
// writes and the statistics it computes. Caches keyed on conversion output
// (the import's conversion memo, which keeps both) include it, so changing
// either must change this string. stats/2: infinities take part in float
// means and are counted.
const CanonicalVersion = "granary-parquet/1 stats/2"

// StatsAccumulator computes ColumnStats over several canonical parquet
// files — the files of one dataset version — as if they were one table.
// Files are fed in order, so the result is deterministic.
type StatsAccumulator struct {
	schema Schema
	cols   []*columnStats
}

// NewStatsAccumulator prepares statistics for schema's columns.
func NewStatsAccumulator(s Schema) *StatsAccumulator {
	a := &StatsAccumulator{schema: s, cols: make([]*columnStats, len(s.Columns))}
	for i, c := range s.Columns {
		a.cols[i] = newColumnStats(c, i)
	}
	return a
}

// AddParquet streams one parquet file (which must have the accumulator's
// columns and types) through the statistics, one batch at a time.
func (a *StatsAccumulator) AddParquet(ctx context.Context, r io.ReaderAt, size int64) error {
	pr, err := NewReader(r, size)
	if err != nil {
		return err
	}
	defer pr.Close()
	if err := pr.project(a.schema); err != nil {
		return err
	}
	for {
		if err := ctx.Err(); err != nil {
			return err
		}
		b, err := pr.Next()
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			return err
		}
		for i := range a.cols {
			a.cols[i].add(&b.Vectors[i], b.Len)
		}
	}
}

// Stats returns one ColumnStats per column, in schema order.
func (a *StatsAccumulator) Stats() []ColumnStats {
	out := make([]ColumnStats, len(a.cols))
	for i, c := range a.cols {
		out[i] = c.result()
	}
	return out
}
