package workflows_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/mock"
	"go.temporal.io/sdk/activity"
	"go.temporal.io/sdk/converter"
	"go.temporal.io/sdk/temporal"

	"github.com/granaryml/granary/activities"
	"github.com/granaryml/granary/internal/lake"
	"github.com/granaryml/granary/internal/objstore"
	"github.com/granaryml/granary/workflows"
)

func runVerify(t *testing.T, store objstore.Store, in activities.LakeVerifyInput) activities.LakeVerifyResult {
	t.Helper()
	env, _ := newEnvOn(t, store)
	env.ExecuteWorkflow(workflows.LakeVerify, in)
	if err := env.GetWorkflowError(); err != nil {
		t.Fatal(err)
	}
	var res activities.LakeVerifyResult
	if err := env.GetWorkflowResult(&res); err != nil {
		t.Fatal(err)
	}
	return res
}

// The whole loop an operator goes through: verify finds a rotted parquet
// blob and names the version, ref and commands; --repair quarantines it;
// running the import again (what the listed reset does) writes it back.
func TestLakeVerifyFindsRepairsAndTheImportRestores(t *testing.T) {
	store := newStore(t)
	in := workflows.CommitDatasetInput{Name: "orders", Sources: []activities.Source{stage(t, store, "orders.csv", []byte(ordersCSV))}, User: "tester"}
	imp, err := runImport(t, store, in)
	if err != nil {
		t.Fatal(err)
	}
	if res := runVerify(t, store, activities.LakeVerifyInput{}); res.Damaged || res.Blobs != 1 || res.Versions != 1 {
		t.Fatalf("fresh lake: %+v", res)
	}

	l := lake.New(store)
	m, err := l.GetManifest(t.Context(), lake.KindDataset, "orders", imp.Version)
	if err != nil {
		t.Fatal(err)
	}
	d := m.Files[0].Digest
	rc, _, err := store.Get(t.Context(), lake.BlobKey(d), objstore.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	good, _ := io.ReadAll(rc)
	rc.Close()
	bad := bytes.Clone(good)
	bad[len(bad)/3] ^= 0x10
	if _, err := store.Put(t.Context(), lake.BlobKey(d), bytes.NewReader(bad), int64(len(bad))); err != nil {
		t.Fatal(err)
	}

	res := runVerify(t, store, activities.LakeVerifyInput{})
	if !res.Damaged || len(res.BlobProblems) != 1 {
		t.Fatalf("want one damaged blob, got %+v", res)
	}
	p := res.BlobProblems[0]
	if p.Digest != d || p.Problem != lake.ProblemCorrupt || p.QuarantinedTo != "" || len(p.UsedBy) != 1 ||
		p.UsedBy[0].Version != imp.Version || strings.Join(p.UsedBy[0].Refs, ",") != "latest" {
		t.Fatalf("problem %+v", p)
	}
	if len(res.Regenerate) != 1 || res.Regenerate[0].Version != imp.Version {
		t.Fatalf("regenerate %+v", res.Regenerate)
	}
	cmds := strings.Join(res.Regenerate[0].Commands, "\n")
	if !strings.Contains(cmds, "temporal workflow reset --workflow-id ") || !strings.Contains(cmds, "granary dataset import orders orders.csv --wait") {
		t.Fatalf("commands do not say how to regenerate the version:\n%s", cmds)
	}
	// The full report is in the lake, as the result says.
	rc, _, err = store.Get(t.Context(), res.Report, objstore.GetOptions{})
	if err != nil {
		t.Fatalf("report %s: %v", res.Report, err)
	}
	var full activities.LakeVerifyResult
	err = json.NewDecoder(rc).Decode(&full)
	rc.Close()
	if err != nil || len(full.BlobProblems) != 1 || full.BlobProblems[0].Digest != d {
		t.Fatalf("report object: %+v, %v", full, err)
	}

	res = runVerify(t, store, activities.LakeVerifyInput{Repair: true})
	if p := res.BlobProblems[0]; !strings.HasPrefix(p.QuarantinedTo, lake.QuarantinePrefix) {
		t.Fatalf("repair did not quarantine: %+v", p)
	}
	if _, _, err := l.OpenBlob(t.Context(), d); !errors.Is(err, lake.ErrNotFound) {
		t.Fatalf("the corrupt blob is still served: %v", err)
	}

	again, err := runImport(t, store, in)
	if err != nil || again.Version != imp.Version {
		t.Fatalf("re-import: %+v, %v", again, err)
	}
	if res := runVerify(t, store, activities.LakeVerifyInput{}); res.Damaged {
		t.Fatalf("after re-import the lake should be whole: %+v", res)
	}
	if err := l.VerifyBlob(t.Context(), d); err != nil {
		t.Fatal(err)
	}
}

func TestLakeVerifyUpsertsSearchAttributes(t *testing.T) {
	env, _ := newEnv(t)
	var kind string
	env.OnUpsertTypedSearchAttributes(mock.Anything).Run(func(args mock.Arguments) {
		if v, ok := args.Get(0).(temporal.SearchAttributes).GetKeyword(workflows.AttrKind); ok {
			kind = v
		}
	}).Return(nil)
	env.ExecuteWorkflow(workflows.LakeVerify, activities.LakeVerifyInput{})
	if err := env.GetWorkflowError(); err != nil {
		t.Fatal(err)
	}
	if kind != "lakeverify" {
		t.Fatalf("GranaryKind = %q, want lakeverify", kind)
	}
}

func TestLakeVerifyRefusesAReportKeyOutsideItsPrefix(t *testing.T) {
	env, _ := newEnv(t)
	env.ExecuteWorkflow(workflows.LakeVerify, activities.LakeVerifyInput{Report: "objects/sha256/aa/evil"})
	var app *temporal.ApplicationError
	if err := env.GetWorkflowError(); !errors.As(err, &app) || !app.NonRetryable() {
		t.Fatalf("want a non-retryable error, got %v", err)
	}
}

// Every activity that may run for more than a minute must have a
// heartbeat timeout under a minute, or a dead worker holds it until its
// start-to-close timeout (hours); and the stall timeout plus one check
// interval must also stay under a minute. Heartbeats come every 3 s, so
// the timeout must leave room for a few missed ones.
func TestLongActivitiesNoticeDeadWorkersAndStallsWithinAMinute(t *testing.T) {
	if activities.DefaultStallTimeout+3*time.Second > time.Minute {
		t.Fatalf("stall timeout %s (+3s detection) is over a minute", activities.DefaultStallTimeout)
	}
	store, build, _, _ := buildFixture(t, 5, 2)
	var mu sync.Mutex
	seen := map[string]activity.Info{}
	listen := func(info *activity.Info, _ context.Context, _ converter.EncodedValues) {
		mu.Lock()
		defer mu.Unlock()
		seen[info.ActivityType.Name] = *info
	}
	l := lake.New(store)
	source, err := l.Resolve(t.Context(), lake.KindDataset, "orders", "latest")
	if err != nil {
		t.Fatal(err)
	}
	spec, err := activities.LoadSpec(t.Context(), l, "shop", build.SpecVersion)
	if err != nil {
		t.Fatal(err)
	}
	view, src, ent, _ := spec.View("uo")
	cols, _ := spec.ViewColumns("uo")
	if _, err := store.Put(t.Context(), "raw/more.csv", strings.NewReader(ordersCSV), int64(len(ordersCSV))); err != nil {
		t.Fatal(err)
	}
	model := registerModel(t, store, "m", "weights", nil)
	runs := []struct {
		wf any
		in any
	}{
		{workflows.CommitDataset, workflows.CommitDatasetInput{Name: "more", Sources: []activities.Source{{Name: "more.csv", URL: "lake:raw/more.csv"}}}},
		{workflows.ExtractFeatures, workflows.ExtractInput{Project: "shop", SpecVersion: build.SpecVersion, View: "uo", SourceVersion: source, Shards: 3, Params: activities.ExtractParams(view, src, ent, cols, 3)}},
		{workflows.PromoteModel, workflows.PromoteInput{Model: "m", Alias: "prod", Queue: []activities.PromoteRequest{{ID: "x", Model: "m", Version: model, Alias: "prod"}}}},
		{workflows.BuildTrainingData, build},
		{workflows.Materialize, workflows.MaterializeInput{Project: "shop", SpecVersion: build.SpecVersion, View: "uo", ViewVersion: build.ViewVersions["uo"], Definition: "test"}},
		{workflows.LakeVerify, activities.LakeVerifyInput{}},
	}
	for _, r := range runs {
		env, _ := newEnvOn(t, store)
		env.SetOnActivityStartedListener(listen)
		env.ExecuteWorkflow(r.wf, r.in)
		if err := env.GetWorkflowError(); err != nil {
			t.Fatal(err)
		}
	}
	long := 0
	for name, info := range seen {
		if info.StartToCloseTimeout <= time.Minute {
			continue
		}
		long++
		if hb := info.HeartbeatTimeout; hb < 2*3*time.Second || hb > 30*time.Second {
			t.Errorf("activity %s may run for %s with heartbeat timeout %s; want 6s-30s", name, info.StartToCloseTimeout, hb)
		}
	}
	for _, name := range []string{"StageSource", "ConvertSource", "ComputeStats", "PartitionSourceFile", "SortShard", "PartitionSpine", "JoinShard", "Assemble", "MaterializeShard", "VerifyModel", "LakeVerify"} {
		if _, ok := seen[name]; !ok {
			t.Errorf("activity %s never ran; the check above did not see it", name)
		}
	}
	if long < 11 {
		t.Fatalf("only %d long activities seen: %v", long, seen)
	}
}
