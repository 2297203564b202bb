package workflows_test

import (
	"reflect"
	"strings"
	"testing"

	"github.com/granaryml/granary/activities"
	"github.com/granaryml/granary/internal/lake"
	"github.com/granaryml/granary/internal/tabular"
	"github.com/granaryml/granary/workflows"
)

// Files of one import get the schema their rows would get as one file: a
// column empty in one file and integer in another is int64, not string.
func TestImportOfSeveralFilesInfersAsOneFile(t *testing.T) {
	cases := []struct {
		name  string
		files []string
	}{
		{"empty then integer", []string{"a,b\n1,\n", "a,b\n2,5\n"}},
		{"integer then empty", []string{"a,b\n2,5\n", "a,b\n1,\n"}},
		{"no rows then values", []string{"a,b\n", "a,b\n2,x\n"}},
		{"int then float", []string{"a,b\n1,2\n", "a,b\n3,4.5\n"}},
		{"timestamps and empties", []string{"a,b\n1,2024-01-01T00:00:00Z\n", "a,b\n2,\n", "a,b\n3,2024-02-01\n"}},
		{"bool and int disagree", []string{"a,b\n1,true\n", "a,b\n2,7\n"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			store := newStore(t)
			var sources []activities.Source
			one := ""
			for i, f := range tc.files {
				sources = append(sources, stage(t, store, "part"+string(rune('a'+i))+".csv", []byte(f)))
				if i == 0 {
					one = f
				} else {
					one += f[len("a,b\n"):]
				}
			}
			split, err := runImport(t, store, workflows.CommitDatasetInput{Name: "split", Sources: sources})
			if err != nil {
				t.Fatal(err)
			}
			whole, err := runImport(t, store, workflows.CommitDatasetInput{Name: "whole", Sources: []activities.Source{stage(t, store, "whole.csv", []byte(one))}})
			if err != nil {
				t.Fatal(err)
			}
			l := lake.New(store)
			ms, err := l.GetManifest(t.Context(), lake.KindDataset, "split", split.Version)
			if err != nil {
				t.Fatal(err)
			}
			mw, err := l.GetManifest(t.Context(), lake.KindDataset, "whole", whole.Version)
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(ms.Schema, mw.Schema) {
				t.Fatalf("files %q infer as %v, the same rows in one file as %v", tc.files, ms.Schema, mw.Schema)
			}
		})
	}
	// The case the issue names, pinned to its answer.
	in0, _ := tabular.Infer(t.Context(), strings.NewReader("a,b\n1,\n"), tabular.ReadOptions{File: "x.csv"})
	in1, _ := tabular.Infer(t.Context(), strings.NewReader("a,b\n2,5\n"), tabular.ReadOptions{File: "y.csv"})
	m, err := tabular.MergeInference(in0, in1)
	if err != nil {
		t.Fatal(err)
	}
	if b := m.Schema().Columns[1]; b.Type != tabular.Int64 || !b.Nullable {
		t.Fatalf("b merges to %+v, want nullable int64", b)
	}
}
