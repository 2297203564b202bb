package workflows_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"strings"
	"testing"

	"go.temporal.io/sdk/temporal"

	"github.com/granaryml/granary/activities"
	"github.com/granaryml/granary/internal/lake"
	"github.com/granaryml/granary/internal/objstore"
	"github.com/granaryml/granary/internal/tabular"
	"github.com/granaryml/granary/workflows"
)

// stage puts raw bytes in the lake the way the CLI does before starting
// an import, and returns the source to pass to the workflow.
func stage(t *testing.T, store objstore.Store, name string, data []byte) activities.Source {
	t.Helper()
	d, _, err := lake.HashReader(bytes.NewReader(data))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := lake.New(store).PutBlob(t.Context(), d, bytes.NewReader(data), int64(len(data))); err != nil {
		t.Fatal(err)
	}
	return activities.Source{Name: name, Digest: d, Bytes: int64(len(data))}
}

func runImport(t *testing.T, store objstore.Store, in workflows.CommitDatasetInput) (workflows.CommitDatasetResult, error) {
	t.Helper()
	env, _ := newEnvOn(t, store)
	env.ExecuteWorkflow(workflows.CommitDataset, in)
	if !env.IsWorkflowCompleted() {
		t.Fatal("workflow did not complete")
	}
	var res workflows.CommitDatasetResult
	if err := env.GetWorkflowError(); err != nil {
		return res, err
	}
	return res, env.GetWorkflowResult(&res)
}

func countKeys(t *testing.T, store objstore.Store, prefix string) int {
	t.Helper()
	n := 0
	for _, err := range objstore.All(t.Context(), store, prefix) {
		if err != nil {
			t.Fatal(err)
		}
		n++
	}
	return n
}

const ordersCSV = `order_id,user_id,event_time,amount,note
1,10,2024-01-01T10:00:00Z,12.5,"hello, world"
2,11,2024-01-02T10:00:00+02:00,,"say ""hi"""
3,10,2024-01-03 09:30:00,7,"multi
line"
4,12,2024-01-04,-3.25,ünïcödé
`

func TestCommitDatasetIsReproducible(t *testing.T) {
	store := newStore(t)
	src := stage(t, store, "orders.csv", []byte(ordersCSV))
	in := workflows.CommitDatasetInput{Name: "orders", Sources: []activities.Source{src}, Tags: []string{"v1"}}
	first, err := runImport(t, store, in)
	if err != nil {
		t.Fatal(err)
	}
	if first.Rows != 4 || first.Files != 1 || !first.Created || len(first.Version) != 64 {
		t.Fatalf("unexpected first import %+v", first)
	}
	blobs := countKeys(t, store, lake.BlobsPrefix)

	second, err := runImport(t, store, in)
	if err != nil {
		t.Fatal(err)
	}
	if second.Version != first.Version || second.Created {
		t.Fatalf("re-import gave %s (created %v), want %s", second.Version, second.Created, first.Version)
	}
	if got := countKeys(t, store, lake.BlobsPrefix); got != blobs {
		t.Fatalf("re-import wrote %d new blobs", got-blobs)
	}

	l := lake.New(store)
	for _, ref := range []string{"latest", "v1"} {
		if id, err := l.Resolve(t.Context(), lake.KindDataset, "orders", ref); err != nil || id != first.Version {
			t.Fatalf("ref %s -> %s, %v", ref, id, err)
		}
	}
	m, err := l.GetManifest(t.Context(), lake.KindDataset, "orders", first.Version)
	if err != nil {
		t.Fatal(err)
	}
	wantTypes := map[string]tabular.Type{"order_id": tabular.Int64, "user_id": tabular.Int64, "event_time": tabular.Timestamp, "amount": tabular.Float64, "note": tabular.String}
	for _, c := range m.Schema.Columns {
		if wantTypes[c.Name] != c.Type {
			t.Errorf("column %s inferred as %s, want %s", c.Name, c.Type, wantTypes[c.Name])
		}
	}
	if len(m.Stats) != 5 || m.Stats[3].Nulls != 1 || *m.Stats[0].Max != "4" {
		t.Fatalf("unexpected stats %+v", m.Stats)
	}
	provs, err := l.Provenances(t.Context(), lake.KindDataset, "orders", first.Version)
	// The test environment reuses one run id, so both runs share a record;
	// on a server each run keeps its own (see the CLI integration test).
	if err != nil || len(provs) == 0 || provs[0].Sources[0].Digest != src.Digest || provs[0].WorkflowID == "" {
		t.Fatalf("want provenance naming the run and the source: %+v, %v", provs, err)
	}

	// Exported parquet re-imports to the very same version.
	rc, _, err := l.OpenBlob(t.Context(), m.Files[0].Digest)
	if err != nil {
		t.Fatal(err)
	}
	exported, _ := io.ReadAll(rc)
	rc.Close()
	reimport, err := runImport(t, store, workflows.CommitDatasetInput{Name: "orders", Sources: []activities.Source{stage(t, store, "part-00000.parquet", exported)}})
	if err != nil {
		t.Fatal(err)
	}
	if reimport.Version != first.Version {
		t.Fatalf("exported parquet re-imported as %s, want %s", reimport.Version, first.Version)
	}
}

func TestCommitDatasetMultipleFilesAndSchemaFile(t *testing.T) {
	store := newStore(t)
	a := stage(t, store, "a.csv", []byte("id,score\n1,2\n2,3\n"))
	b := stage(t, store, "b.jsonl", []byte(`{"id":3,"score":4.5}`+"\n"))
	res, err := runImport(t, store, workflows.CommitDatasetInput{Name: "scores", Sources: []activities.Source{a, b}})
	if err != nil {
		t.Fatal(err)
	}
	m, err := lake.New(store).GetManifest(t.Context(), lake.KindDataset, "scores", res.Version)
	if err != nil {
		t.Fatal(err)
	}
	if res.Rows != 3 || len(m.Files) != 2 || m.Schema.Columns[1].Type != tabular.Float64 {
		t.Fatalf("int and float files should merge into float64 over 3 rows: %+v %+v", res, m.Schema)
	}
	if m.Stats[0].Count != 3 || *m.Stats[0].Max != "3" {
		t.Fatalf("stats must cover every file: %+v", m.Stats[0])
	}

	schema := &tabular.Schema{Columns: []tabular.Column{{Name: "id", Type: tabular.Int64}, {Name: "score", Type: tabular.String}}}
	res2, err := runImport(t, store, workflows.CommitDatasetInput{Name: "scores", Sources: []activities.Source{a}, Format: tabular.CSV, Schema: schema})
	if err != nil {
		t.Fatal(err)
	}
	m2, _ := lake.New(store).GetManifest(t.Context(), lake.KindDataset, "scores", res2.Version)
	if m2.Schema.Columns[1].Type != tabular.String {
		t.Fatalf("a given schema must win over inference: %+v", m2.Schema)
	}
}

// TestCommitDatasetRejectsBadInput checks every kind of bad input fails
// the workflow non-retryably, names the file and position, and leaves the
// refs where they were.
func TestCommitDatasetRejectsBadInput(t *testing.T) {
	intSchema := &tabular.Schema{Columns: []tabular.Column{{Name: "id", Type: tabular.Int64}, {Name: "v", Type: tabular.Int64}}}
	cases := []struct {
		name     string
		file     string
		data     []byte
		url      string
		schema   *tabular.Schema
		errType  string
		wantText []string
	}{
		{name: "ragged row", file: "ragged.csv", data: []byte("id,v\n1,2\n3\n"), errType: activities.ErrTypeInvalidInput, wantText: []string{"ragged.csv:3", "row 2"}},
		{name: "broken quoting", file: "quote.csv", data: []byte("id,v\n1,\"abc\n"), errType: activities.ErrTypeInvalidInput, wantText: []string{"quote.csv:2"}},
		{name: "invalid utf-8", file: "utf8.csv", data: []byte("id,v\n1,\xff\xfe\n"), errType: activities.ErrTypeInvalidInput, wantText: []string{"utf8.csv:2", `column "v"`, "UTF-8"}},
		{name: "type conflicts with schema", file: "types.csv", data: []byte("id,v\n1,2\n2,abc\n"), schema: intSchema, errType: activities.ErrTypeInvalidInput, wantText: []string{"types.csv:3", "row 2", `column "v"`, `"abc"`}},
		{name: "empty file", file: "empty.csv", data: []byte{}, errType: activities.ErrTypeInvalidInput, wantText: []string{"empty.csv", "empty"}},
		{name: "zero-byte parquet", file: "zero.parquet", data: []byte{}, errType: activities.ErrTypeInvalidInput, wantText: []string{"zero.parquet"}},
		{name: "footer-corrupt parquet", file: "corrupt.parquet", data: corruptParquet(t), errType: activities.ErrTypeInvalidInput, wantText: []string{"corrupt.parquet"}},
		{name: "path escaping the lake", url: "lake:../../etc/passwd", errType: activities.ErrTypeInvalidInput, wantText: []string{"..", "invalid object key"}},
		{name: "worker filesystem path", url: "file:///etc/passwd", errType: activities.ErrTypeInvalidInput, wantText: []string{"file:///etc/passwd"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			store := newStore(t)
			l := lake.New(store)
			// A committed version that must survive the failed import.
			good, err := runImport(t, store, workflows.CommitDatasetInput{Name: "d", Sources: []activities.Source{stage(t, store, "good.csv", []byte("id,v\n1,2\n"))}})
			if err != nil {
				t.Fatal(err)
			}
			src := activities.Source{Name: tc.url, URL: tc.url}
			if tc.url == "" {
				src = stage(t, store, tc.file, tc.data)
			}
			_, err = runImport(t, store, workflows.CommitDatasetInput{Name: "d", Sources: []activities.Source{src}, Schema: tc.schema})
			var app *temporal.ApplicationError
			if !errors.As(err, &app) {
				t.Fatalf("want an application error, got %v", err)
			}
			if app.Type() != tc.errType || !app.NonRetryable() {
				t.Fatalf("want non-retryable %s, got %s (non-retryable %v): %s", tc.errType, app.Type(), app.NonRetryable(), app.Message())
			}
			for _, want := range tc.wantText {
				if !strings.Contains(app.Message(), want) {
					t.Errorf("error %q should mention %q", app.Message(), want)
				}
			}
			if strings.Contains(app.Message(), "\n") {
				t.Errorf("error should be one line: %q", app.Message())
			}
			if id, err := l.Resolve(t.Context(), lake.KindDataset, "d", "latest"); err != nil || id != good.Version {
				t.Fatalf("latest moved after a failed import: %s, %v", id, err)
			}
			if ids, _ := l.ListVersions(t.Context(), lake.KindDataset, "d"); len(ids) != 1 {
				t.Fatalf("a failed import committed a version: %v", ids)
			}
		})
	}
}

func TestCommitDatasetSchemaMismatchBetweenFiles(t *testing.T) {
	store := newStore(t)
	a := stage(t, store, "a.csv", []byte("id,v\n1,2\n"))
	b := stage(t, store, "b.csv", []byte("id,w\n1,2\n"))
	_, err := runImport(t, store, workflows.CommitDatasetInput{Name: "d", Sources: []activities.Source{a, b}})
	var app *temporal.ApplicationError
	if !errors.As(err, &app) || app.Type() != activities.ErrTypeSchemaMismatch || !strings.Contains(app.Message(), "b.csv") {
		t.Fatalf("want SchemaMismatch naming b.csv, got %v", err)
	}
}

func TestCommitDatasetIDIgnoresWhoAsked(t *testing.T) {
	in := workflows.CommitDatasetInput{Name: "d", Sources: []activities.Source{{Name: "a.csv", Digest: lake.Digest("sha256:" + strings.Repeat("a", 64))}}}
	a, b := in, in
	a.User, b.User = "ana", "bo"
	if workflows.CommitDatasetID(a) != workflows.CommitDatasetID(b) {
		t.Fatal("the same import by two people must share a workflow id")
	}
	c := in
	c.Tags = []string{"prod"}
	if workflows.CommitDatasetID(c) == workflows.CommitDatasetID(in) {
		t.Fatal("an import with another tag is other work and needs its own id")
	}
	if !strings.HasPrefix(workflows.CommitDatasetID(in), "dataset/d/") {
		t.Fatalf("id %q does not follow dataset/<name>/<digest>", workflows.CommitDatasetID(in))
	}
}

// corruptParquet is a real parquet file with its footer overwritten.
func corruptParquet(t *testing.T) []byte {
	t.Helper()
	var buf bytes.Buffer
	_, err := tabular.Convert(context.Background(), strings.NewReader("id,v\n1,2\n"), &buf, tabular.ConvertOptions{File: "x.csv"})
	if err != nil {
		t.Fatal(err)
	}
	b := buf.Bytes()
	for i := len(b) - 40; i < len(b)-8; i++ {
		b[i] ^= 0x5a
	}
	return b
}

// TestOneFileImportStatsEqualASecondPass checks that statistics taken
// while converting (no second pass) are exactly what reading the parquet
// back gives.
func TestOneFileImportStatsEqualASecondPass(t *testing.T) {
	store := newStore(t)
	res, err := runImport(t, store, workflows.CommitDatasetInput{Name: "d", Sources: []activities.Source{stage(t, store, "orders.csv", []byte(ordersCSVRandom(5000, 50, 4)))}})
	if err != nil {
		t.Fatal(err)
	}
	l := lake.New(store)
	m, err := l.GetManifest(t.Context(), lake.KindDataset, "d", res.Version)
	if err != nil {
		t.Fatal(err)
	}
	acc := tabular.NewStatsAccumulator(m.Schema)
	rr, err := l.BlobReaderAt(t.Context(), m.Files[0].Digest)
	if err != nil {
		t.Fatal(err)
	}
	if err := acc.AddParquet(t.Context(), rr, rr.Size()); err != nil {
		t.Fatal(err)
	}
	want, _ := json.Marshal(acc.Stats())
	got, _ := json.Marshal(m.Stats)
	if string(got) != string(want) {
		t.Fatalf("stats differ:\n got %s\nwant %s", got, want)
	}
}
