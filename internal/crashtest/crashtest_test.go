package crashtest

import (
	"bytes"
	"context"
	"encoding/csv"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"testing"
	"time"

	"github.com/granaryml/granary/internal/tabular"
)

func TestWriteCSVIsDeterministicAndCoversEveryType(t *testing.T) {
	dir := t.TempDir()
	a, b := filepath.Join(dir, "a.csv"), filepath.Join(dir, "b.csv")
	for _, p := range []string{a, b} {
		if _, err := WriteCSV(p, 5000); err != nil {
			t.Fatal(err)
		}
	}
	ab, _ := os.ReadFile(a)
	bb, _ := os.ReadFile(b)
	if !bytes.Equal(ab, bb) {
		t.Fatal("two files of the same size differ: the crash run and its reference would import different bytes")
	}
	schema, err := tabular.InferSchema(context.Background(), bytes.NewReader(ab), tabular.ReadOptions{File: "a.csv"})
	if err != nil {
		t.Fatal(err)
	}
	want := []tabular.Column{
		{Name: "id", Type: tabular.Int64},
		{Name: "user_id", Type: tabular.Int64},
		{Name: "amount", Type: tabular.Float64, Nullable: true},
		{Name: "category", Type: tabular.String},
		{Name: "event_time", Type: tabular.Timestamp, Nullable: true},
		{Name: "active", Type: tabular.Bool, Nullable: true},
		{Name: "note", Type: tabular.String, Nullable: true},
	}
	if len(schema.Columns) != len(want) {
		t.Fatalf("inferred %+v, want %+v", schema.Columns, want)
	}
	for i, c := range schema.Columns {
		if c != want[i] {
			t.Errorf("column %d inferred as %+v, want %+v", i, c, want[i])
		}
	}
}

// TestLimitLeavesWorkForLaterKills walks every kill schedule's worst case:
// each kill happens as late as its limit allows. The workflow must never
// get past LastBefore before the last kill, so that kill always finds it
// running.
func TestLimitLeavesWorkForLaterKills(t *testing.T) {
	steps := []string{"InferSchema", "ConvertSource", "ComputeStats", "CommitVersion", "MoveRefs"}
	for kills := 1; kills <= 8; kills++ {
		for start := -1; start < 2; start++ {
			c := &Chaos{Steps: steps, Before: "ComputeStats", LastBefore: "MoveRefs", Kills: kills, progress: start}
			for n := 1; n <= kills; n++ {
				l := c.limit(n)
				if l < len(steps) && l > c.progress {
					c.progress = l // the kill lands as step l is scheduled
				}
				if c.progress > 4 || (n < kills && c.progress >= 4) {
					t.Fatalf("%d kills from step %d: kill %d lets the workflow reach step %d", kills, start, n, c.progress)
				}
			}
		}
	}
	c := &Chaos{Steps: steps, Before: "ComputeStats", LastBefore: "MoveRefs", Kills: 3, progress: 2}
	if got := c.limit(2); got != 3 {
		t.Errorf("a kill that starts in the stats may run into the commit when one kill is left after it: limit %d", got)
	}
}

// TestOrdersCountsMatchTheFile recounts what WriteOrdersCSV says an
// extraction keeps, from the file it wrote: the counts are the test's
// oracle, so they must not merely agree with the generator's own logic.
func TestOrdersCountsMatchTheFile(t *testing.T) {
	dir := t.TempDir()
	var prevLast time.Time
	var ids []string
	for part := range 3 {
		info, err := WriteOrdersCSV(filepath.Join(dir, fmt.Sprintf("o%d.csv", part)), 4000, part)
		if err != nil {
			t.Fatal(err)
		}
		f, err := os.Open(info.Path)
		if err != nil {
			t.Fatal(err)
		}
		recs, err := csv.NewReader(f).ReadAll()
		f.Close()
		if err != nil {
			t.Fatal(err)
		}
		var kept, dropped, filtered int64
		for _, r := range recs[1:] { // id,user_id,amount,category,event_time,active,note
			ids = append(ids, r[0])
			switch amount, err := strconv.ParseFloat(r[2], 64); {
			case r[4] == "":
				dropped++
			case r[2] == "" || err != nil || amount <= 0:
				filtered++
			default:
				kept++
			}
		}
		if int64(len(recs)-1) != info.Rows || kept != info.Kept || dropped != info.Dropped || filtered != info.Filtered {
			t.Fatalf("part %d: file has %d rows, %d kept, %d dropped, %d filtered; WriteOrdersCSV says %+v", part, len(recs)-1, kept, dropped, filtered, info)
		}
		if kept == 0 || dropped == 0 || filtered == 0 {
			t.Fatalf("part %d: want rows of every kind, got %+v", part, info)
		}
		if !info.First.After(prevLast) {
			t.Errorf("part %d starts at %v, before the previous part ends (%v)", part, info.First, prevLast)
		}
		prevLast = info.Last
	}
	slices.Sort(ids)
	if len(slices.Compact(ids)) != 3*4000 {
		t.Error("order ids repeat across parts")
	}
	a, _ := os.ReadFile(filepath.Join(dir, "o0.csv"))
	WriteCSV(filepath.Join(dir, "w.csv"), 4000)
	b, _ := os.ReadFile(filepath.Join(dir, "w.csv"))
	if !bytes.Equal(a, b) {
		t.Error("part 0 differs from WriteCSV's file")
	}
}

func TestSpineCSV(t *testing.T) {
	dir := t.TempDir()
	from := time.Date(2024, 2, 1, 0, 0, 0, 0, time.UTC)
	to := from.Add(90 * 24 * time.Hour)
	info, err := WriteSpineCSV(filepath.Join(dir, "a.csv"), 3000, 1, from, to)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := WriteSpineCSV(filepath.Join(dir, "b.csv"), 3000, 1, from, to); err != nil {
		t.Fatal(err)
	}
	ab, _ := os.ReadFile(filepath.Join(dir, "a.csv"))
	bb, _ := os.ReadFile(filepath.Join(dir, "b.csv"))
	if !bytes.Equal(ab, bb) {
		t.Fatal("the same spine part differs between two writes")
	}
	schema, err := tabular.InferSchema(context.Background(), bytes.NewReader(ab), tabular.ReadOptions{File: "a.csv"})
	if err != nil {
		t.Fatal(err)
	}
	want := []tabular.Column{
		{Name: "user_id", Type: tabular.Int64, Nullable: true},
		{Name: "event_timestamp", Type: tabular.Timestamp},
		{Name: "churned", Type: tabular.Bool},
	}
	if !slices.Equal(schema.Columns, want) {
		t.Fatalf("inferred %+v, want %+v", schema.Columns, want)
	}
	recs, err := csv.NewReader(bytes.NewReader(ab)).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	var nulls int64
	for _, r := range recs[1:] {
		if r[0] == "" {
			nulls++
		}
		ts, err := time.Parse(time.RFC3339, r[1])
		if err != nil || ts.Before(from) || !ts.Before(to) {
			t.Fatalf("label time %q outside [%v, %v): %v", r[1], from, to, err)
		}
	}
	if nulls != info.NullKeys || nulls == 0 || int64(len(recs)-1) != info.Rows {
		t.Fatalf("file has %d rows, %d without a key; WriteSpineCSV says %+v", len(recs)-1, nulls, info)
	}
}

func TestPickTargets(t *testing.T) {
	phases := Extract.Phases()
	for seed := range uint64(50) {
		rng := rand.New(rand.NewPCG(seed, 1))
		for kills := 1; kills <= 7; kills++ {
			got := PickTargets(rng, phases, kills)
			if len(got) != kills {
				t.Fatalf("%d kills: %d targets", kills, len(got))
			}
			c := &Chaos{Steps: Extract.Steps(), Kills: kills, Targets: got}
			if err := c.checkTargets(); err != nil {
				t.Fatalf("%d kills: %v", kills, err)
			}
			if got[len(got)-1].Step != "CommitVersion" {
				t.Errorf("%d kills: the last is aimed at %s, not the commit", kills, got[len(got)-1].Step)
			}
			seen := map[string]bool{}
			for _, tg := range got {
				seen[tg.Step] = true
			}
			if want := min(kills, len(phases)); len(seen) != want {
				t.Errorf("%d kills: %d distinct phases, want %d: %v", kills, len(seen), want, got)
			}
		}
	}
	for _, bad := range [][]Target{
		{{Step: "SortShard"}, {Step: "PartitionSourceFile"}},
		{{Step: "SortShard"}, {Step: "MoveRefs"}},
		{{Step: "Nope"}, {Step: "CommitVersion"}},
		{{Step: "CommitVersion"}},
	} {
		c := &Chaos{Steps: Extract.Steps(), Kills: 2, Targets: bad}
		if c.checkTargets() == nil {
			t.Errorf("targets %v accepted", bad)
		}
	}
	spread := Spread([]Target{{Step: "SortShard"}, {Step: "CommitVersion", MaxDelay: 10 * time.Millisecond}}, map[string]time.Duration{"SortShard": time.Second, "CommitVersion": time.Second})
	if spread[0].MinDelay != 50*time.Millisecond || spread[0].MaxDelay != 500*time.Millisecond || spread[1].MaxDelay != 10*time.Millisecond || spread[1].MinDelay != 0 {
		t.Errorf("Spread: %+v", spread)
	}
}
