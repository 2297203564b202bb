package shard_test

import (
	"bytes"
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"reflect"
	"runtime"
	"strings"
	"testing"

	"github.com/granaryml/granary/internal/shard"
	"github.com/granaryml/granary/internal/tabular"
)

// multiGroupSource writes n events in row groups of groupRows rows.
func multiGroupSource(t *testing.T, n, groupRows int) []byte {
	t.Helper()
	rng := rand.New(rand.NewPCG(uint64(n), uint64(groupRows)))
	var csv strings.Builder
	csv.WriteString("user_id,ts,seq,amount\n")
	for i := range n {
		user := fmt.Sprint(rng.Int64N(300))
		if i%101 == 0 {
			user = "" // a null key: dropped, or kept in shard 0 with KeepNulls
		}
		fmt.Fprintf(&csv, "%s,%d,%d,%d\n", user, rng.Int64N(50), i, rng.IntN(1000))
	}
	return eventsParquet(t, csv.String(), groupRows)
}

// shardRows partitions src and returns, per shard, the rows of its parts
// read in the order Partition returned them.
func shardRows(t *testing.T, src []byte, o shard.PartitionOptions) (map[int][][]string, shard.PartitionStats, int) {
	t.Helper()
	o.Dir = t.TempDir()
	parts, st, err := shard.Partition(t.Context(), bytes.NewReader(src), int64(len(src)), o, nil)
	if err != nil {
		t.Fatal(err)
	}
	out := map[int][][]string{}
	for _, p := range parts {
		b, err := os.ReadFile(p.Path)
		if err != nil {
			t.Fatal(err)
		}
		r, err := tabular.NewReader(bytes.NewReader(b), int64(len(b)))
		if err != nil {
			t.Fatal(err)
		}
		for {
			batch, err := r.Next()
			if err != nil {
				break
			}
			for i := range batch.Len {
				row := make([]string, len(batch.Vectors))
				for c := range batch.Vectors {
					v := &batch.Vectors[c]
					switch {
					case v.IsNull(i):
						row[c] = "null"
					case v.Type == tabular.Float64:
						row[c] = fmt.Sprint(v.Floats[i])
					default:
						row[c] = fmt.Sprint(v.Ints[i])
					}
				}
				out[p.Shard] = append(out[p.Shard], row)
			}
		}
		r.Close()
	}
	return out, st, len(parts)
}

// TestPartitionOfRowGroupRangesEqualsOneReader: a source of several row
// groups is partitioned by ranges at once, and each shard still gets the
// same rows in the same (source) order, with the same row ids, as when one
// goroutine reads the whole file.
func TestPartitionOfRowGroupRangesEqualsOneReader(t *testing.T) {
	src := multiGroupSource(t, 9000, 700)
	// A compiled filter keeps scratch state: each range must get its own
	// (the race detector and the stats tell).
	filter, err := shard.CompileFilter("amount > 100 && seq % 7 != 3", eventSchema)
	if err != nil {
		t.Fatal(err)
	}
	for _, o := range []shard.PartitionOptions{
		{Columns: []string{"user_id", "ts", "seq", "amount"}, KeyCols: []int{0}, TimeCol: 1, Shards: 5},
		{Columns: []string{"user_id", "ts", "seq", "amount"}, KeyCols: []int{0}, TimeCol: 1, Shards: 4, Filter: filter},
		{Columns: []string{"user_id", "ts", "seq"}, KeyCols: []int{0}, TimeCol: 1, Shards: 3, RowID: "__row", RowIDBase: 1 << 40, KeepNulls: true},
	} {
		prev := runtime.GOMAXPROCS(1)
		want, wantSt, wantParts := shardRows(t, src, o)
		runtime.GOMAXPROCS(max(prev, 3))
		got, gotSt, gotParts := shardRows(t, src, o)
		runtime.GOMAXPROCS(prev)
		if gotParts <= wantParts {
			t.Fatalf("%d parts in parallel, %d from one reader: the ranges were not used", gotParts, wantParts)
		}
		if gotSt != wantSt {
			t.Fatalf("stats %+v, want %+v", gotSt, wantSt)
		}
		if !reflect.DeepEqual(got, want) {
			t.Fatal("shards hold different rows or order when partitioned by ranges")
		}
	}
}

// TestPartitionRangeErrorStopsAllAndRemovesParts: a filter error in one
// range fails the whole partition and leaves no part files behind.
func TestPartitionRangeErrorStopsAllAndRemovesParts(t *testing.T) {
	src := multiGroupSource(t, 9000, 700)
	prev := runtime.GOMAXPROCS(max(runtime.GOMAXPROCS(0), 3))
	defer runtime.GOMAXPROCS(prev)
	dir := t.TempDir()
	boom := errors.New("bad value")
	_, _, err := shard.Partition(t.Context(), bytes.NewReader(src), int64(len(src)), shard.PartitionOptions{
		Columns: []string{"user_id", "ts", "seq"}, KeyCols: []int{0}, TimeCol: 1, Shards: 4, Dir: dir,
		Filter: func() shard.RowFilter {
			return func(b *tabular.Batch, i int) (bool, error) {
				if b.Vectors[2].Ints[i] == 8000 {
					return false, boom
				}
				return true, nil
			}
		},
	}, nil)
	if !errors.Is(err, boom) {
		t.Fatalf("err = %v, want the filter's", err)
	}
	left, _ := os.ReadDir(dir)
	if len(left) != 0 {
		t.Fatalf("%d part files left after a failed partition", len(left))
	}
}
