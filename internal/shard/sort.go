package shard

import (
	"cmp"
	"context"
	"io"
	"slices"

	"github.com/granaryml/granary/internal/tabular"
)

// SortOrder returns the permutation that orders a table by (keys, time).
// The sort is stable: rows with equal keys and timestamps keep the order
// they were appended in (source order), which is what makes `last` pick
// the later of two simultaneous events.
func SortOrder(t *tabular.Table, keyCols []int, timeCol int) []int {
	if len(keyCols) == 1 {
		if k := t.Column(keyCols[0]); k.Type == tabular.Int64 || k.Type == tabular.Timestamp {
			return sortIntKey(k.Ints[:t.Len()], t.Column(timeCol).Ints)
		}
	}
	order := make([]int, t.Len())
	for i := range order {
		order[i] = i
	}
	keys := make([]*tabular.Vector, len(keyCols))
	for i, c := range keyCols {
		keys[i] = t.Column(c)
	}
	ts := t.Column(timeCol).Ints
	slices.SortStableFunc(order, func(a, b int) int {
		for _, v := range keys {
			if c := v.Compare(a, b); c != 0 {
				return c
			}
		}
		return cmp.Compare(ts[a], ts[b])
	})
	return order
}

// Input is one part file to read.
type Input struct {
	R    io.ReaderAt
	Size int64
}

// SortShard loads a shard's parts (in source order) into memory, sorts
// the rows by (keys, time) and writes them to w as canonical parquet.
// Memory is bounded by the shard: choose the shard count so a shard fits.
func SortShard(ctx context.Context, s tabular.Schema, parts []Input, keyCols []int, timeCol int, w io.Writer) (rows, n int64, err error) {
	t := tabular.NewTable(s)
	for _, p := range parts {
		if err := t.AppendParquet(ctx, p.R, p.Size); err != nil {
			return 0, 0, err
		}
	}
	return t.WriteParquet(w, SortOrder(t, keyCols, timeCol), tabular.WriterOptions{})
}

// sortIntKey orders rows by (key, time, row) for one int64 key: packing the
// three into one struct keeps the comparisons on contiguous memory, and
// the row index as the last criterion makes an unstable O(n log n) sort
// (pdqsort) give exactly the stable order.
func sortIntKey(keys, ts []int64) []int {
	if order, ok := countingIntKey(keys, ts); ok {
		return order
	}
	if order, ok := radixIntKey(keys, ts); ok {
		return order
	}
	return compareSortIntKey(keys, ts)
}

// compareSortIntKey is sortIntKey by comparisons, for inputs whose key and
// time ranges do not fit radixIntKey.
func compareSortIntKey(keys, ts []int64) []int {
	type rec struct {
		k, t int64
		i    int
	}
	recs := make([]rec, len(keys))
	for i := range recs {
		recs[i] = rec{keys[i], ts[i], i}
	}
	slices.SortFunc(recs, func(a, b rec) int {
		if a.k != b.k {
			return cmp.Compare(a.k, b.k)
		}
		if a.t != b.t {
			return cmp.Compare(a.t, b.t)
		}
		return cmp.Compare(a.i, b.i)
	})
	order := make([]int, len(recs))
	for i, r := range recs {
		order[i] = r.i
	}
	return order
}
