// Command recordhistories runs granary's workflows on a real Temporal dev
// server and saves their event histories under workflows/testdata/histories.
// The replay test (workflows/replay_test.go) replays every saved history
// against the current workflow code, so a change that breaks determinism
// for runs already in flight fails CI. Re-record with `make record-histories`
// only when a history-incompatible change is intended (and versioned).
package main

import (
	"bytes"
	"context"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	historypb "go.temporal.io/api/history/v1"
	"go.temporal.io/api/temporalproto"
	"go.temporal.io/sdk/client"
	tlog "go.temporal.io/sdk/log"

	"github.com/granaryml/granary/activities"
	"github.com/granaryml/granary/features"
	"github.com/granaryml/granary/internal/devstack"
	"github.com/granaryml/granary/internal/lake"
	"github.com/granaryml/granary/internal/objstore"
	"github.com/granaryml/granary/internal/objstore/filestore"
	"github.com/granaryml/granary/internal/tabular"
	gworker "github.com/granaryml/granary/worker"
	"github.com/granaryml/granary/workflows"
)

func main() {
	out := flag.String("out", "workflows/testdata/histories", "directory for the history JSON files")
	only := flag.String("only", "", "record only these scenarios (comma-separated file names without .json), keeping the other files")
	flag.Parse()
	if err := run(*out, *only); err != nil {
		fmt.Fprintln(os.Stderr, "recordhistories:", err)
		os.Exit(1)
	}
}

// scenario is one recorded run: a name for the file, and how to start it.
type scenario struct {
	file     string
	workflow string
	input    func(store objstore.Store) (any, error)
	wantFail bool
}

func run(outDir, only string) error {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	srv, err := devstack.StartTemporal(ctx, devstack.TemporalOptions{SearchAttributes: workflows.SearchAttributeNames()})
	if err != nil {
		return err
	}
	defer srv.Stop()
	dir, err := os.MkdirTemp("", "granary-record-*")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	store, err := filestore.New(dir)
	if err != nil {
		return err
	}
	logger := tlog.NewStructuredLogger(slog.New(slog.NewTextHandler(io.Discard, nil)))
	tc, err := client.Dial(client.Options{HostPort: srv.Address(), Namespace: srv.Namespace(), Logger: logger})
	if err != nil {
		return err
	}
	defer tc.Close()
	w, err := gworker.New(gworker.Options{Client: tc, Store: store, Identity: "recorder"})
	if err != nil {
		return err
	}
	if err := w.Start(); err != nil {
		return err
	}
	defer w.Stop()

	if err := os.MkdirAll(outDir, 0o755); err != nil {
		return err
	}
	for _, sc := range scenarios() {
		if only != "" && !slices.Contains(strings.Split(only, ","), sc.file) {
			continue
		}
		in, err := sc.input(store)
		if err != nil {
			return err
		}
		id := "record/" + sc.file
		run, err := tc.ExecuteWorkflow(ctx, client.StartWorkflowOptions{ID: id, TaskQueue: workflows.TaskQueue}, sc.workflow, in)
		if err != nil {
			return err
		}
		err = run.Get(ctx, nil)
		if (err != nil) != sc.wantFail {
			return fmt.Errorf("%s: unexpected outcome: %v", sc.file, err)
		}
		hist, err := history(ctx, tc, id, run.GetRunID())
		if err != nil {
			return err
		}
		b, err := temporalproto.CustomJSONMarshalOptions{Indent: "  "}.Marshal(hist)
		if err != nil {
			return err
		}
		path := filepath.Join(outDir, sc.file+".json")
		if err := os.WriteFile(path, append(b, '\n'), 0o644); err != nil {
			return err
		}
		fmt.Printf("recorded %s (%d events)\n", path, len(hist.Events))
	}
	return nil
}

func history(ctx context.Context, tc client.Client, id, runID string) (*historypb.History, error) {
	it := tc.GetWorkflowHistory(ctx, id, runID, false, 0)
	h := &historypb.History{}
	for it.HasNext() {
		e, err := it.Next()
		if err != nil {
			return nil, err
		}
		h.Events = append(h.Events, e)
	}
	return h, nil
}

func stage(store objstore.Store, name, content string) (activities.Source, error) {
	d, n, err := lake.HashReader(strings.NewReader(content))
	if err != nil {
		return activities.Source{}, err
	}
	_, err = lake.New(store).PutBlob(context.Background(), d, bytes.NewReader([]byte(content)), n)
	return activities.Source{Name: name, Digest: d, Bytes: n}, err
}

func scenarios() []scenario {
	importOf := func(name string, files map[string]string, tags ...string) func(objstore.Store) (any, error) {
		return func(store objstore.Store) (any, error) {
			in := workflows.CommitDatasetInput{Name: name, Tags: tags, User: "recorder"}
			for _, f := range sortedKeys(files) {
				src, err := stage(store, f, files[f])
				if err != nil {
					return nil, err
				}
				in.Sources = append(in.Sources, src)
			}
			return in, nil
		}
	}
	return []scenario{
		{file: "lakecheck", workflow: workflows.LakeCheckWorkflowName, input: func(objstore.Store) (any, error) {
			return activities.LakeCheckInput{Probe: "record", Bytes: 1024}, nil
		}},
		{file: "commitdataset-two-files", workflow: workflows.CommitDatasetWorkflowName,
			input: importOf("orders", map[string]string{"a.csv": "id,amount\n1,2.5\n", "b.csv": "id,amount\n2,3\n"}, "v1")},
		{file: "commitdataset-bad-input", workflow: workflows.CommitDatasetWorkflowName, wantFail: true,
			input: importOf("orders", map[string]string{"bad.csv": "id,amount\n1,2\n3\n"})},
		{file: "extract-two-files", workflow: workflows.ExtractWorkflowName, input: extractInput},
		{file: "build-two-views", workflow: workflows.BuildWorkflowName, input: buildInput},
		{file: "promote-gated", workflow: workflows.PromoteWorkflowName, input: promoteInput},
		{file: "promote-policy", workflow: workflows.PromoteWorkflowName, input: promotePolicyInput},
		{file: "materialize-three-shards", workflow: workflows.MaterializeWorkflowName, input: materializeInput},
		{file: "repoint-dataset", workflow: workflows.RepointRefsWorkflowName, input: repointInput(lake.KindDataset, "orders_again", "latest", "prod")},
		{file: "repoint-index", workflow: workflows.RepointRefsWorkflowName, input: repointInput(lake.KindIndex, "user_events_again", "latest", "prod")},
		{file: "registermodel", workflow: workflows.RegisterModelWorkflowName, input: registerModelInput},
		{file: "applyspec", workflow: workflows.ApplySpecWorkflowName, input: applySpecInput},
		{file: "gc", workflow: workflows.GCWorkflowName, input: func(objstore.Store) (any, error) {
			return workflows.GCInput{GCInput: activities.GCInput{Grace: 24 * time.Hour}, RequestedAt: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC), User: "recorder"}, nil
		}},
		// Last: it scrubs everything the scenarios above committed.
		{file: "lakeverify", workflow: workflows.LakeVerifyWorkflowName, input: func(objstore.Store) (any, error) {
			return activities.LakeVerifyInput{}, nil
		}},
	}
}

// registerModelInput uploads an artifact blob, as the CLI does, and asks
// to register it.
func registerModelInput(store objstore.Store) (any, error) {
	src, err := stage(store, "model.bin", "recorded weights")
	if err != nil {
		return nil, err
	}
	return workflows.RegisterModelInput{User: "recorder", Identity: "recordhistories", Model: activities.CommitModelInput{
		Name: "recorded_model", Framework: "record", Metrics: map[string]float64{"auc": 0.9},
		Files: []lake.File{{Digest: src.Digest, Bytes: src.Bytes, Partition: "model.bin"}},
	}}, nil
}

// applySpecInput uploads a spec file, as the CLI does, and asks to apply
// it to its own project (so it does not move the other scenarios' shop).
func applySpecInput(store objstore.Store) (any, error) {
	content := strings.Replace(recordSpec, "project: shop", "project: recorded_project", 1)
	src, err := stage(store, "features.yaml", content)
	if err != nil {
		return nil, err
	}
	return workflows.ApplySpecInput{User: "recorder", CommitSpecInput: activities.CommitSpecInput{Project: "recorded_project", Spec: src.Digest, File: "features.yaml"}}, nil
}

// repointInput commits two versions A and B of a name (self-contained, so
// it can be recorded alone with -only), points refs at B, and asks to
// point them at A again.
func repointInput(kind lake.Kind, name string, refs ...string) func(objstore.Store) (any, error) {
	return func(store objstore.Store) (any, error) {
		ctx := context.Background()
		l := lake.New(store)
		var versions []string
		for _, content := range []string{"A", "B"} {
			d, n, _ := lake.HashReader(strings.NewReader(content))
			if _, err := l.PutBlob(ctx, d, strings.NewReader(content), n); err != nil {
				return nil, err
			}
			id, _, err := l.CommitManifest(ctx, &lake.Manifest{Kind: kind, Name: name, Files: []lake.File{{Digest: d, Rows: 1, Bytes: n}}, Rows: 1, Bytes: n})
			if err != nil {
				return nil, err
			}
			versions = append(versions, id)
		}
		in := workflows.RepointRefsInput{Kind: kind, Name: name, Version: versions[0], Reason: "record", User: "recorder"}
		for _, ref := range refs {
			mv, err := l.MoveRef(ctx, lake.MoveOptions{Kind: kind, Name: name, Ref: ref, To: versions[1]})
			if err != nil {
				return nil, err
			}
			in.Refs = append(in.Refs, workflows.RefState{Ref: ref, Seq: mv.Seq, Version: mv.To})
		}
		return in, nil
	}
}

// materializeInput serves the extraction scenario's view (3 shards).
func materializeInput(store objstore.Store) (any, error) {
	ctx := context.Background()
	l := lake.New(store)
	specID, err := l.Resolve(ctx, lake.KindSpec, "shop", "latest")
	if err != nil {
		return nil, err
	}
	view, err := l.Resolve(ctx, lake.KindDataset, activities.ViewDataset("user_events"), "latest")
	if err != nil {
		return nil, err
	}
	return workflows.MaterializeInput{Project: "shop", SpecVersion: specID, View: "user_events", ViewVersion: view, Definition: "record", Alias: "prod", User: "recorder"}, nil
}

const recordSpec = `project: shop
entities:
  - {name: user, join_keys: [user_id]}
sources:
  - {name: events, dataset: events, timestamp: ts, filter: "amount > 0"}
feature_views:
  - name: user_events
    entity: user
    source: events
    features:
      - {name: n, agg: count, window: 168h}
      - {name: total, agg: sum, column: amount}
training_sets:
  - name: labels_set
    spine: {dataset: labels, timestamp: ts}
    features: [user_events]
    split: {by: user_id, train: 0.5, valid: 0.25, test: 0.25, seed: 1}
`

// extractInput imports a two-file source and applies a spec directly in
// the lake (the recorder's worker has the same lake), then asks for the
// view over 3 shards.
func extractInput(store objstore.Store) (any, error) {
	ctx := context.Background()
	l := lake.New(store)
	var files []lake.File
	for _, csv := range []string{"user_id,ts,amount\n1,2024-01-01T00:00:00Z,5\n2,2024-01-02T00:00:00Z,-1\n", "user_id,ts,amount\n3,2024-01-03T00:00:00Z,7\n1,2024-01-04T00:00:00Z,2\n"} {
		var buf bytes.Buffer
		if _, err := tabular.Convert(ctx, strings.NewReader(csv), &buf, tabular.ConvertOptions{File: "events.csv", Format: tabular.CSV, Schema: eventsSchema}); err != nil {
			return nil, err
		}
		d, n, _ := lake.HashReader(bytes.NewReader(buf.Bytes()))
		if _, err := l.PutBlob(ctx, d, bytes.NewReader(buf.Bytes()), n); err != nil {
			return nil, err
		}
		files = append(files, lake.File{Digest: d, Rows: 2, Bytes: n})
	}
	src, _, err := l.CommitManifest(ctx, &lake.Manifest{Kind: lake.KindDataset, Name: "events", Schema: eventsSchema, Files: files, Rows: 4})
	if err != nil {
		return nil, err
	}
	if _, err := l.MoveRef(ctx, lake.MoveOptions{Kind: lake.KindDataset, Name: "events", Ref: "latest", To: src}); err != nil {
		return nil, err
	}
	d, n, _ := lake.HashReader(strings.NewReader(recordSpec))
	if _, err := l.PutBlob(ctx, d, strings.NewReader(recordSpec), n); err != nil {
		return nil, err
	}
	specID, _, err := l.CommitManifest(ctx, &lake.Manifest{Kind: lake.KindSpec, Name: "shop", Artifact: &lake.Artifact{Digest: d, Bytes: n, Files: 1}})
	if err != nil {
		return nil, err
	}
	if _, err := l.MoveRef(ctx, lake.MoveOptions{Kind: lake.KindSpec, Name: "shop", Ref: "latest", To: specID}); err != nil {
		return nil, err
	}
	spec, err := features.Parse("spec.yaml", []byte(recordSpec))
	if err != nil {
		return nil, err
	}
	view, source, ent, err := spec.View("user_events")
	if err != nil {
		return nil, err
	}
	cols, err := spec.ViewColumns("user_events")
	if err != nil {
		return nil, err
	}
	return workflows.ExtractInput{Project: "shop", SpecVersion: specID, View: "user_events", SourceVersion: src, Shards: 3,
		Params: activities.ExtractParams(view, source, ent, cols, 3)}, nil
}

// buildInput reuses the extraction scenario's lake (the recorder runs
// scenarios in order on one lake), adds a spine and builds.
func buildInput(store objstore.Store) (any, error) {
	ctx := context.Background()
	l := lake.New(store)
	specID, err := l.Resolve(ctx, lake.KindSpec, "shop", "latest")
	if err != nil {
		return nil, err
	}
	view, err := l.Resolve(ctx, lake.KindDataset, activities.ViewDataset("user_events"), "latest")
	if err != nil {
		return nil, err
	}
	spineCSV := "user_id,ts,label\n1,2024-01-03T00:00:00Z,true\n3,2024-01-05T00:00:00Z,false\n,2024-01-05T00:00:00Z,false\n"
	var buf bytes.Buffer
	spineSchema := tabular.Schema{Columns: []tabular.Column{{Name: "user_id", Type: tabular.Int64, Nullable: true}, {Name: "ts", Type: tabular.Timestamp}, {Name: "label", Type: tabular.Bool}}}
	if _, err := tabular.Convert(ctx, strings.NewReader(spineCSV), &buf, tabular.ConvertOptions{Format: tabular.CSV, Schema: spineSchema}); err != nil {
		return nil, err
	}
	d, n, _ := lake.HashReader(bytes.NewReader(buf.Bytes()))
	if _, err := l.PutBlob(ctx, d, bytes.NewReader(buf.Bytes()), n); err != nil {
		return nil, err
	}
	spine, _, err := l.CommitManifest(ctx, &lake.Manifest{Kind: lake.KindDataset, Name: "labels", Schema: spineSchema, Files: []lake.File{{Digest: d, Rows: 3, Bytes: n}}, Rows: 3})
	if err != nil {
		return nil, err
	}
	return workflows.BuildInput{Project: "shop", SpecVersion: specID, Set: "labels_set", SpineVersion: spine, ViewVersions: map[string]string{"user_events": view}}, nil
}

// promoteInput registers two versions of a model and queues a first
// promotion and a gated one to prod.
func promoteInput(store objstore.Store) (any, error) {
	ctx := context.Background()
	l := lake.New(store)
	var versions []string
	for i, auc := range []float64{0.8, 0.82} {
		content := fmt.Sprintf("weights %d", i)
		d, n, _ := lake.HashReader(strings.NewReader(content))
		if _, err := l.PutBlob(ctx, d, strings.NewReader(content), n); err != nil {
			return nil, err
		}
		files := []lake.File{{Digest: d, Bytes: n, Partition: "model.bin"}}
		id, _, err := l.CommitManifest(ctx, &lake.Manifest{Kind: lake.KindModel, Name: "churn", Files: files,
			Artifact: &lake.Artifact{Digest: activities.ArtifactDigest(files), Bytes: n, Files: 1, Metrics: map[string]float64{"auc": auc}}})
		if err != nil {
			return nil, err
		}
		versions = append(versions, id)
	}
	return workflows.PromoteInput{Model: "churn", Alias: "prod", Queue: []activities.PromoteRequest{
		{ID: "r1", Model: "churn", Version: versions[0], Alias: "prod", Gates: []string{"auc >= 0.75"}},
		{ID: "r2", Model: "churn", Version: versions[1], Alias: "prod", Gates: []string{"auc >= champion.auc"}},
	}}, nil
}

// promotePolicyInput applies a promotion policy for fraud/prod and queues
// a first promotion failing the policy's gate with no champion, one
// passing it, a second promotion, a rollback to a previous holder (checks
// skipped) and a rollback to a version that never held prod (checked).
func promotePolicyInput(store objstore.Store) (any, error) {
	ctx := context.Background()
	l := lake.New(store)
	spec := "project: recordpolicy\nmodels:\n  - name: fraud\n    aliases:\n      - name: prod\n        gates: [\"auc >= 0.8 && auc >= champion.auc - 0.01\"]\n"
	d, n, _ := lake.HashReader(strings.NewReader(spec))
	if _, err := l.PutBlob(ctx, d, strings.NewReader(spec), n); err != nil {
		return nil, err
	}
	specID, _, err := l.CommitManifest(ctx, &lake.Manifest{Kind: lake.KindSpec, Name: "recordpolicy", Artifact: &lake.Artifact{Digest: d, Bytes: n, Files: 1}, Params: map[string]string{"file": "policy.yaml"}})
	if err != nil {
		return nil, err
	}
	if _, err := l.MoveRef(ctx, lake.MoveOptions{Kind: lake.KindSpec, Name: "recordpolicy", Ref: "latest", To: specID, By: "recorder"}); err != nil {
		return nil, err
	}
	var v []string
	for i, auc := range []float64{0.1, 0.85, 0.9, 0.3} {
		content := fmt.Sprintf("fraud weights %d", i)
		d, n, _ := lake.HashReader(strings.NewReader(content))
		if _, err := l.PutBlob(ctx, d, strings.NewReader(content), n); err != nil {
			return nil, err
		}
		files := []lake.File{{Digest: d, Bytes: n, Partition: "model.bin"}}
		id, _, err := l.CommitManifest(ctx, &lake.Manifest{Kind: lake.KindModel, Name: "fraud", Files: files,
			Artifact: &lake.Artifact{Digest: activities.ArtifactDigest(files), Bytes: n, Files: 1, Metrics: map[string]float64{"auc": auc}}})
		if err != nil {
			return nil, err
		}
		v = append(v, id)
	}
	req := func(id, version string, rollback bool) activities.PromoteRequest {
		return activities.PromoteRequest{ID: id, Model: "fraud", Version: version, Alias: "prod", By: "recorder", Identity: "recorder", Rollback: rollback}
	}
	return workflows.PromoteInput{Model: "fraud", Alias: "prod", Queue: []activities.PromoteRequest{
		req("weak", v[0], false), req("first", v[1], false), req("second", v[2], false),
		req("back", v[1], true), req("never-held", v[3], true),
	}}, nil
}

var eventsSchema = tabular.Schema{Columns: []tabular.Column{
	{Name: "user_id", Type: tabular.Int64}, {Name: "ts", Type: tabular.Timestamp}, {Name: "amount", Type: tabular.Float64},
}}

func sortedKeys(m map[string]string) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	for i := 1; i < len(keys); i++ {
		for j := i; j > 0 && keys[j] < keys[j-1]; j-- {
			keys[j], keys[j-1] = keys[j-1], keys[j]
		}
	}
	return keys
}
