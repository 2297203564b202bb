package workflows_test

import (
	"fmt"
	"strings"
	"testing"

	"go.temporal.io/sdk/testsuite"

	"github.com/granaryml/granary/activities"
	"github.com/granaryml/granary/internal/lake"
	"github.com/granaryml/granary/internal/objstore"
	"github.com/granaryml/granary/internal/tabular"
	"github.com/granaryml/granary/worker"
	"github.com/granaryml/granary/workflows"
)

// importWith runs CommitDataset with activities that infer a schema-less
// CSV's schema from its first prefixRows rows.
func importWith(t *testing.T, store objstore.Store, prefixRows int64, in workflows.CommitDatasetInput) workflows.CommitDatasetResult {
	t.Helper()
	var s testsuite.WorkflowTestSuite
	s.SetLogger(quietLogger())
	env := s.NewTestWorkflowEnvironment()
	acts := activities.New(store, "test-worker")
	acts.PrefixRows = prefixRows
	worker.Register(env, acts)
	env.ExecuteWorkflow(workflows.CommitDataset, in)
	var res workflows.CommitDatasetResult
	if err := env.GetWorkflowError(); err != nil {
		t.Fatal(err)
	}
	if err := env.GetWorkflowResult(&res); err != nil {
		t.Fatal(err)
	}
	return res
}

// A one-file import infers its schema while converting; whether the first
// rows' schema held or the input had to be read again, the version is the
// one a two-pass import (schema given up front, as inferred in full)
// commits.
func TestOnePassImportCommitsTheTwoPassVersion(t *testing.T) {
	var late strings.Builder
	late.WriteString("id,amount,note,seen\n")
	for i := 0; i < 50; i++ {
		fmt.Fprintf(&late, "%d,%d,,2024-01-%02dT00:00:00Z\n", i, i*3, 1+i%28)
	}
	late.WriteString("50,7.25,late note,\n") // float, first note, first null time
	uniform := strings.ReplaceAll(late.String(), "50,7.25,late note,\n", "50,7,,2024-02-01T00:00:00Z\n")

	for _, c := range []struct {
		name, csv string
		prefix    int64
	}{
		{"prefix holds", uniform, 10},
		{"prefix breaks, read again", late.String(), 10},
		{"prefix is everything", late.String(), 1000},
	} {
		t.Run(c.name, func(t *testing.T) {
			store := newStore(t)
			src := stage(t, store, "data.csv", []byte(c.csv))
			one := importWith(t, store, c.prefix, workflows.CommitDatasetInput{Name: "d", Sources: []activities.Source{src}})

			full, err := tabular.InferSchema(t.Context(), strings.NewReader(c.csv), tabular.ReadOptions{File: "data.csv", Format: tabular.CSV})
			if err != nil {
				t.Fatal(err)
			}
			other := newStore(t)
			two := importWith(t, other, c.prefix, workflows.CommitDatasetInput{Name: "d", Schema: &full, Sources: []activities.Source{stage(t, other, "data.csv", []byte(c.csv))}})
			if one.Version != two.Version || one.Rows != 51 {
				t.Fatalf("one-pass import %s (%d rows), two-pass %s", one.Version, one.Rows, two.Version)
			}
			m, err := lake.New(store).GetManifest(t.Context(), lake.KindDataset, "d", one.Version)
			if err != nil {
				t.Fatal(err)
			}
			if fmt.Sprint(m.Schema) != fmt.Sprint(full) {
				t.Fatalf("committed schema %v, full inference %v", m.Schema, full)
			}
		})
	}
}
