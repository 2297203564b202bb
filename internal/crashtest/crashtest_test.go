package crashtest

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"testing"

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
