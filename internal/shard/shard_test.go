package shard_test

import (
	"bytes"
	"context"
	"encoding/binary"
	"fmt"
	"hash/fnv"
	"math/rand/v2"
	"os"
	"slices"
	"strings"
	"testing"

	"github.com/granaryml/granary/features"
	"github.com/granaryml/granary/internal/shard"
	"github.com/granaryml/granary/internal/tabular"
)

type event struct {
	user int64
	ts   int64
	seq  int // position in the source: ties must keep it
	amt  string
}

// sourceParquet writes events as a canonical parquet file.
func sourceParquet(t *testing.T, events []event) []byte {
	t.Helper()
	var csv strings.Builder
	csv.WriteString("user_id,ts,seq,amount\n")
	for _, e := range events {
		fmt.Fprintf(&csv, "%d,%d,%d,%s\n", e.user, e.ts, e.seq, e.amt)
	}
	return eventsParquet(t, csv.String(), 0)
}

// eventSchema is the source schema of the partition tests.
var eventSchema = tabular.Schema{Columns: []tabular.Column{
	{Name: "user_id", Type: tabular.Int64, Nullable: true},
	{Name: "ts", Type: tabular.Int64},
	{Name: "seq", Type: tabular.Int64},
	{Name: "amount", Type: tabular.Float64, Nullable: true},
}}

// eventsParquet converts a CSV of eventSchema to parquet, in row groups of
// groupRows rows (0: the default).
func eventsParquet(t *testing.T, csv string, groupRows int) []byte {
	t.Helper()
	var out bytes.Buffer
	if _, err := tabular.Convert(context.Background(), strings.NewReader(csv), &out, tabular.ConvertOptions{
		File: "src.csv", Format: tabular.CSV, Schema: eventSchema, RowGroupRows: groupRows,
	}); err != nil {
		t.Fatal(err)
	}
	return out.Bytes()
}

func TestPartitionThenSortGivesStableKeyTimeOrder(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	var events []event
	for i := range 5000 {
		e := event{user: rng.Int64N(50), ts: rng.Int64N(20), seq: i, amt: fmt.Sprint(rng.IntN(100))}
		if i%97 == 0 {
			e.amt = "" // null amount: kept
		}
		events = append(events, e)
	}
	src := sourceParquet(t, events)
	dir := t.TempDir()
	const shards = 4
	parts, st, err := shard.Partition(t.Context(), bytes.NewReader(src), int64(len(src)), shard.PartitionOptions{
		Columns: []string{"user_id", "ts", "seq", "amount"}, KeyCols: []int{0}, TimeCol: 1, Shards: shards, Dir: dir,
	}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if st.RowsIn != 5000 || st.RowsOut != 5000 || len(parts) != shards {
		t.Fatalf("stats %+v, %d parts", st, len(parts))
	}
	seenUsers := map[int64]int{}
	total := 0
	for _, p := range parts {
		b, err := os.ReadFile(p.Path)
		if err != nil {
			t.Fatal(err)
		}
		var sorted bytes.Buffer
		schema := tabular.Schema{Columns: []tabular.Column{
			{Name: "user_id", Type: tabular.Int64}, {Name: "ts", Type: tabular.Int64},
			{Name: "seq", Type: tabular.Int64}, {Name: "amount", Type: tabular.Float64, Nullable: true},
		}}
		rows, _, err := shard.SortShard(t.Context(), schema, []shard.Input{{R: bytes.NewReader(b), Size: int64(len(b))}}, []int{0}, 1, &sorted)
		if err != nil {
			t.Fatal(err)
		}
		got := readRows(t, sorted.Bytes())
		if int64(len(got)) != rows || rows != p.Rows {
			t.Fatalf("shard %d: %d rows read back, %d written, %d partitioned", p.Shard, len(got), rows, p.Rows)
		}
		// Sorted by (user, ts); equal (user, ts) keep source order (seq).
		if !slices.IsSortedFunc(got, func(a, b event) int {
			if a.user != b.user {
				return int(a.user - b.user)
			}
			if a.ts != b.ts {
				return int(a.ts - b.ts)
			}
			return a.seq - b.seq
		}) {
			t.Fatalf("shard %d is not in stable (key, time) order", p.Shard)
		}
		for _, e := range got {
			if prev, ok := seenUsers[e.user]; ok && prev != p.Shard {
				t.Fatalf("user %d is in shards %d and %d", e.user, prev, p.Shard)
			}
			seenUsers[e.user] = p.Shard
		}
		total += len(got)
	}
	if total != 5000 {
		t.Fatalf("%d rows after sorting, want 5000", total)
	}
}

func TestPartitionDropsNullKeysAndAppliesFilter(t *testing.T) {
	src := sourceParquet(t, []event{{user: 1, ts: 1, seq: 0, amt: "5"}, {user: 2, ts: 2, seq: 1, amt: "-1"}, {user: 3, ts: 3, seq: 2, amt: "7"}})
	// Blank out user 3's key by writing a CSV with an empty key.
	csvSrc := "user_id,ts,seq,amount\n1,1,0,5\n2,2,1,-1\n,3,2,7\n"
	schema := tabular.Schema{Columns: []tabular.Column{{Name: "user_id", Type: tabular.Int64, Nullable: true}, {Name: "ts", Type: tabular.Int64}, {Name: "seq", Type: tabular.Int64}, {Name: "amount", Type: tabular.Float64, Nullable: true}}}
	var buf bytes.Buffer
	if _, err := tabular.Convert(t.Context(), strings.NewReader(csvSrc), &buf, tabular.ConvertOptions{Format: tabular.CSV, Schema: schema}); err != nil {
		t.Fatal(err)
	}
	src = buf.Bytes()
	positive := func(b *tabular.Batch, i int) (bool, error) { return b.Vectors[3].Floats[i] > 0, nil }
	_, st, err := shard.Partition(t.Context(), bytes.NewReader(src), int64(len(src)), shard.PartitionOptions{
		Columns: []string{"user_id", "ts", "seq", "amount"}, KeyCols: []int{0}, TimeCol: 1, Shards: 2, Dir: t.TempDir(), Filter: func() shard.RowFilter { return positive },
	}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if st.RowsIn != 3 || st.DroppedNulls != 1 || st.Filtered != 1 || st.RowsOut != 1 {
		t.Fatalf("unexpected stats %+v", st)
	}
}

func TestKeyHashIsStableAndTypeAware(t *testing.T) {
	schema := tabular.Schema{Columns: []tabular.Column{{Name: "a", Type: tabular.String}, {Name: "b", Type: tabular.String}}}
	src := "a,b\nab,c\na,bc\n"
	var out bytes.Buffer
	if _, err := tabular.Convert(t.Context(), strings.NewReader(src), &out, tabular.ConvertOptions{Format: tabular.CSV, Schema: schema}); err != nil {
		t.Fatal(err)
	}
	rows := readStrings(t, out.Bytes())
	h0 := shard.KeyHash(rows, []int{0, 1}, 0)
	h1 := shard.KeyHash(rows, []int{0, 1}, 1)
	if h0 == h1 {
		t.Fatal(`("ab","c") and ("a","bc") must hash differently`)
	}
	// The hash must stay FNV-1a over (type tag, little-endian length,
	// bytes) per value: changing it would silently reshuffle every dataset
	// already in a lake and break shard-by-shard joins against old versions.
	ref := fnv.New64a()
	for _, s := range []string{"ab", "c"} {
		var n [8]byte
		binary.LittleEndian.PutUint64(n[:], uint64(len(s)))
		ref.Write([]byte{4})
		ref.Write(n[:])
		ref.Write([]byte(s))
	}
	if h0 != ref.Sum64() {
		t.Fatalf("KeyHash(ab, c) = %016x, FNV-1a of its encoding is %016x", h0, ref.Sum64())
	}
}

func readRows(t *testing.T, b []byte) []event {
	t.Helper()
	r, err := tabular.NewReader(bytes.NewReader(b), int64(len(b)))
	if err != nil {
		t.Fatal(err)
	}
	var out []event
	for {
		batch, err := r.Next()
		if err != nil {
			break
		}
		for i := 0; i < batch.Len; i++ {
			out = append(out, event{user: batch.Vectors[0].Ints[i], ts: batch.Vectors[1].Ints[i], seq: int(batch.Vectors[2].Ints[i])})
		}
	}
	return out
}

func readStrings(t *testing.T, b []byte) *tabular.Batch {
	t.Helper()
	r, err := tabular.NewReader(bytes.NewReader(b), int64(len(b)))
	if err != nil {
		t.Fatal(err)
	}
	batch, err := r.Next()
	if err != nil {
		t.Fatal(err)
	}
	return batch
}

func TestSplitOfKeepsEntitiesTogetherAndHonoursFractions(t *testing.T) {
	schema := tabular.Schema{Columns: []tabular.Column{{Name: "user_id", Type: tabular.Int64}}}
	var csv strings.Builder
	csv.WriteString("user_id\n")
	for i := range 20000 {
		fmt.Fprintf(&csv, "%d\n", i%5000) // every user appears 4 times
	}
	var out bytes.Buffer
	if _, err := tabular.Convert(t.Context(), strings.NewReader(csv.String()), &out, tabular.ConvertOptions{Format: tabular.CSV, Schema: schema}); err != nil {
		t.Fatal(err)
	}
	r, err := tabular.NewReader(bytes.NewReader(out.Bytes()), int64(out.Len()))
	if err != nil {
		t.Fatal(err)
	}
	sp := &features.Split{By: "user_id", Train: 0.8, Valid: 0.1, Test: 0.1, Seed: 7}
	of := map[int64]string{}
	counts := map[string]int{}
	for {
		b, err := r.Next()
		if err != nil {
			break
		}
		for i := 0; i < b.Len; i++ {
			s := shard.SplitOf(b, 0, i, sp)
			u := b.Vectors[0].Ints[i]
			if prev, ok := of[u]; ok && prev != s {
				t.Fatalf("user %d straddles %s and %s", u, prev, s)
			}
			of[u] = s
			counts[s]++
		}
	}
	for s, want := range map[string]float64{"train": 0.8, "valid": 0.1, "test": 0.1} {
		got := float64(counts[s]) / 20000
		if got < want-0.03 || got > want+0.03 {
			t.Errorf("split %s has %.3f of rows, want about %.2f", s, got, want)
		}
	}
}

func TestRowMergerYieldsRowsInIDOrderAcrossFiles(t *testing.T) {
	schema := tabular.Schema{Columns: []tabular.Column{{Name: "row", Type: tabular.Int64}, {Name: "v", Type: tabular.Int64}}}
	// Three files, each sorted by row id, ids interleaved between files;
	// the third holds more than one batch so the merger crosses batches.
	var csvs [3]strings.Builder
	for i := range csvs {
		csvs[i].WriteString("row,v\n")
	}
	for id := 0; id < 10000; id++ {
		fmt.Fprintf(&csvs[id%3], "%d,%d\n", id, id*7)
	}
	var inputs []shard.Input
	for i := range csvs {
		var buf bytes.Buffer
		if _, err := tabular.Convert(t.Context(), strings.NewReader(csvs[i].String()), &buf, tabular.ConvertOptions{Format: tabular.CSV, Schema: schema}); err != nil {
			t.Fatal(err)
		}
		inputs = append(inputs, shard.Input{R: bytes.NewReader(buf.Bytes()), Size: int64(buf.Len())})
	}
	m, err := shard.NewRowMerger(inputs)
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	for id := int64(0); id < 10000; id++ {
		b, i, err := m.Take(id)
		if err != nil {
			t.Fatalf("row %d: %v", id, err)
		}
		if got := b.Vectors[1].Ints[i]; got != id*7 {
			t.Fatalf("row %d carries %d, want %d", id, got, id*7)
		}
	}
	if _, _, err := m.Take(10000); err == nil {
		t.Fatal("taking past the end must fail, not invent a row")
	}
}

func TestCompileFilterDropsRowsAndRejectsUnknownColumns(t *testing.T) {
	schema := tabular.Schema{Columns: []tabular.Column{{Name: "amount", Type: tabular.Float64, Nullable: true}, {Name: "ts", Type: tabular.Timestamp}}}
	var buf bytes.Buffer
	src := "amount,ts\n5,2024-01-01T00:00:00Z\n-1,2024-01-02T00:00:00Z\n,2024-01-03T00:00:00Z\n"
	if _, err := tabular.Convert(t.Context(), strings.NewReader(src), &buf, tabular.ConvertOptions{Format: tabular.CSV, Schema: schema}); err != nil {
		t.Fatal(err)
	}
	b := readStrings(t, buf.Bytes())
	newFilter, err := shard.CompileFilter(`amount > 0 && ts < date("2024-01-02")`, schema)
	if err != nil {
		t.Fatal(err)
	}
	f := newFilter()
	var kept []bool
	for i := 0; i < b.Len; i++ {
		ok, err := f(b, i)
		if err != nil {
			t.Fatal(err)
		}
		kept = append(kept, ok)
	}
	if fmt.Sprint(kept) != "[true false false]" {
		t.Fatalf("kept %v, want [true false false] (null amount is dropped)", kept)
	}
	if _, err := shard.CompileFilter("price > 0", schema); err == nil || !strings.Contains(err.Error(), "price") {
		t.Fatalf("unknown column must be named: %v", err)
	}
}

// Serving routes a request to a shard from the key's encoding alone, so
// HashBytes over AppendKey must equal KeyHash for every type and for
// nulls, or lookups would search the wrong shard.
func TestAppendKeyHashesLikeKeyHash(t *testing.T) {
	schema := tabular.Schema{Columns: []tabular.Column{
		{Name: "i", Type: tabular.Int64, Nullable: true},
		{Name: "s", Type: tabular.String, Nullable: true},
		{Name: "f", Type: tabular.Float64, Nullable: true},
		{Name: "b", Type: tabular.Bool, Nullable: true},
		{Name: "t", Type: tabular.Timestamp, Nullable: true},
	}}
	src := "i,s,f,b,t\n1,ab,1.5,true,2026-01-02T03:04:05Z\n-7,,-0,false,1970-01-01T00:00:00Z\n,héllo,,,\n9223372036854775807,x,NaN,true,2262-01-01T00:00:00Z\n"
	var out bytes.Buffer
	if _, err := tabular.Convert(t.Context(), strings.NewReader(src), &out, tabular.ConvertOptions{Format: tabular.CSV, Schema: schema}); err != nil {
		t.Fatal(err)
	}
	rows := readStrings(t, out.Bytes())
	if rows.Len != 4 {
		t.Fatalf("read %d rows, want 4", rows.Len)
	}
	for _, cols := range [][]int{{0}, {1}, {2}, {3}, {4}, {0, 1, 2, 3, 4}, {1, 0}} {
		for i := 0; i < rows.Len; i++ {
			enc := shard.AppendKey(nil, rows, cols, i)
			if got, want := shard.HashBytes(enc), shard.KeyHash(rows, cols, i); got != want {
				t.Errorf("cols %v row %d: HashBytes(AppendKey) = %016x, KeyHash = %016x", cols, i, got, want)
			}
		}
	}
}
