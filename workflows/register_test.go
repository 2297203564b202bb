package workflows_test

import (
	"bytes"
	"errors"
	"testing"

	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/testsuite"

	"github.com/granaryml/granary/activities"
	"github.com/granaryml/granary/internal/lake"
	"github.com/granaryml/granary/workflows"
)

func runRegister(t *testing.T, env *testsuite.TestWorkflowEnvironment, in workflows.RegisterModelInput) (workflows.RegisterModelResult, error) {
	t.Helper()
	env.ExecuteWorkflow(workflows.RegisterModel, in)
	if !env.IsWorkflowCompleted() {
		t.Fatal("workflow did not complete")
	}
	var res workflows.RegisterModelResult
	if err := env.GetWorkflowError(); err != nil {
		return res, err
	}
	return res, env.GetWorkflowResult(&res)
}

// TestRegisterModelCommitsAndAudits: the run commits the version the
// manifest's content names (the id the CLI used to compute itself) and
// records who registered it, once, in the audit trail.
func TestRegisterModelCommitsAndAudits(t *testing.T) {
	store := newStore(t)
	weights := stage(t, store, "model.bin", []byte("weights"))
	in := workflows.RegisterModelInput{User: "ana", Identity: "granary-cli:ana@host:1", Model: activities.CommitModelInput{
		Name: "churn", Framework: "onnx", Metrics: map[string]float64{"auc": 0.83}, Params: map[string]string{"depth": "6"},
		Files:       []lake.File{{Digest: weights.Digest, Bytes: weights.Bytes, Partition: "model.bin"}},
		TrainingSet: &lake.Input{Role: "training_set", Kind: lake.KindDataset, Name: "training.churn", Version: "abc"},
	}}
	want, err := activities.ModelManifest(in.Model).ID()
	if err != nil {
		t.Fatal(err)
	}
	env, _ := newEnvOn(t, store)
	res, err := runRegister(t, env, in)
	if err != nil {
		t.Fatal(err)
	}
	if res.Version != want || !res.Created || res.Bytes != weights.Bytes || res.Files != 1 {
		t.Fatalf("unexpected result %+v (want version %s)", res, want)
	}
	l := lake.New(store)
	m, err := l.GetManifest(t.Context(), lake.KindModel, "churn", res.Version)
	if err != nil || m.Artifact.Metrics["auc"] != 0.83 || len(m.Inputs) != 1 || m.Inputs[0].Name != "training.churn" {
		t.Fatalf("manifest %+v, %v", m, err)
	}
	events, err := l.Audit(t.Context(), "churn")
	if err != nil {
		t.Fatal(err)
	}
	if len(events) != 1 || events[0].Step != "registered" || events[0].By != "ana" || events[0].Version != want ||
		events[0].Detail["identity"] != in.Identity || events[0].Workflow == "" {
		t.Fatalf("want one registered event by ana with the identity and the run: %+v", events)
	}

	// Who asks does not make it other work.
	other := in
	other.User, other.Identity = "bo", "granary-cli:bo@host:2"
	if workflows.RegisterModelID(other) != workflows.RegisterModelID(in) {
		t.Fatal("the requester must not change the run id")
	}
	changed := in
	changed.Model.Metrics = map[string]float64{"auc": 0.84}
	if workflows.RegisterModelID(changed) == workflows.RegisterModelID(in) {
		t.Fatal("other content must be another run")
	}
}

// A blob that was never uploaded is refused, and a bad name is a
// non-retryable InvalidInput: nothing gets committed.
func TestRegisterModelRefusesMissingBlobsAndBadNames(t *testing.T) {
	store := newStore(t)
	missing, _, _ := lake.HashReader(bytes.NewReader([]byte("never uploaded")))
	for name, in := range map[string]activities.CommitModelInput{
		"missing blob": {Name: "churn", Files: []lake.File{{Digest: missing, Bytes: 14, Partition: "m.bin"}}},
		"bad name":     {Name: "../churn", Files: []lake.File{{Digest: missing, Bytes: 14}}},
		"no files":     {Name: "churn"},
	} {
		env, _ := newEnvOn(t, store)
		_, err := runRegister(t, env, workflows.RegisterModelInput{Model: in, User: "ana"})
		var app *temporal.ApplicationError
		if !errors.As(err, &app) || !app.NonRetryable() {
			t.Fatalf("%s: want a non-retryable error, got %v", name, err)
		}
		if name != "missing blob" && app.Type() != activities.ErrTypeInvalidInput {
			t.Fatalf("%s: want InvalidInput, got %s", name, app.Type())
		}
	}
	if vs, err := lake.New(store).ListVersions(t.Context(), lake.KindModel, "churn"); err == nil && len(vs) != 0 {
		t.Fatalf("a refused registration committed %v", vs)
	}
}
