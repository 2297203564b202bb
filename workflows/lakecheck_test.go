package workflows_test

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/stretchr/testify/mock"

	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/testsuite"

	"github.com/granaryml/granary/activities"
	"github.com/granaryml/granary/internal/objstore"
	"github.com/granaryml/granary/internal/objstore/filestore"
	"github.com/granaryml/granary/worker"
	"github.com/granaryml/granary/workflows"
)

func newStore(t *testing.T) objstore.Store {
	t.Helper()
	store, err := filestore.New(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	return store
}

func newEnv(t *testing.T) (*testsuite.TestWorkflowEnvironment, objstore.Store) {
	return newEnvOn(t, newStore(t))
}

// newEnvOn registers the real workflows and activities on a lake: the
// tests exercise the same code a worker runs, minus the server.
func newEnvOn(t *testing.T, store objstore.Store) (*testsuite.TestWorkflowEnvironment, objstore.Store) {
	t.Helper()
	var s testsuite.WorkflowTestSuite
	s.SetLogger(quietLogger())
	env := s.NewTestWorkflowEnvironment()
	worker.Register(env, activities.New(store, "test-worker"))
	return env, store
}

func TestLakeCheckRoundTripsAndCleansUp(t *testing.T) {
	env, store := newEnv(t)
	env.ExecuteWorkflow(workflows.LakeCheck, activities.LakeCheckInput{Probe: "probe-1", Bytes: 10000})
	if !env.IsWorkflowCompleted() {
		t.Fatal("workflow did not complete")
	}
	if err := env.GetWorkflowError(); err != nil {
		t.Fatalf("workflow failed: %v", err)
	}
	var res activities.LakeCheckResult
	if err := env.GetWorkflowResult(&res); err != nil {
		t.Fatal(err)
	}
	if res.Bytes != 10000 || res.Key != activities.LakeCheckPrefix+"probe-1" || res.Worker != "test-worker" {
		t.Fatalf("unexpected result %+v", res)
	}
	if res.WriteMillis < 0 || res.ReadMillis < 0 || res.DeleteMillis < 0 {
		t.Fatalf("negative latency in %+v", res)
	}
	if _, err := store.Stat(t.Context(), res.Key); !errors.Is(err, objstore.ErrNotFound) {
		t.Fatalf("probe object left behind: stat err = %v", err)
	}
}

func TestLakeCheckUpsertsSearchAttributes(t *testing.T) {
	env, _ := newEnv(t)
	var kind string
	env.OnUpsertTypedSearchAttributes(mock.Anything).Run(func(args mock.Arguments) {
		sa := args.Get(0).(temporal.SearchAttributes)
		if v, ok := sa.GetKeyword(workflows.AttrKind); ok {
			kind = v
		}
	}).Return(nil)
	env.ExecuteWorkflow(workflows.LakeCheck, activities.LakeCheckInput{Probe: "p"})
	if err := env.GetWorkflowError(); err != nil {
		t.Fatal(err)
	}
	if kind != "lakecheck" {
		t.Fatalf("GranaryKind = %q, want lakecheck", kind)
	}
}

func TestLakeCheckBadProbeIsNonRetryable(t *testing.T) {
	env, _ := newEnv(t)
	env.ExecuteWorkflow(workflows.LakeCheck, activities.LakeCheckInput{Probe: "../../etc/passwd"})
	err := env.GetWorkflowError()
	if err == nil {
		t.Fatal("want an error for a probe key escaping the lake")
	}
	var app *temporal.ApplicationError
	if !errors.As(err, &app) || app.Type() != activities.ErrTypeInvalidInput || !app.NonRetryable() {
		t.Fatalf("want non-retryable %s, got %v", activities.ErrTypeInvalidInput, err)
	}
	if !strings.Contains(app.Message(), "..") {
		t.Fatalf("error should name the bad key: %q", app.Message())
	}
}

func TestLakeCheckRetriesTransientFailures(t *testing.T) {
	env, store := newEnv(t)
	calls := 0
	var acts *activities.Activities
	env.OnActivity(acts.LakeCheck, mock.Anything, mock.Anything).Return(
		func(ctx context.Context, in activities.LakeCheckInput) (activities.LakeCheckResult, error) {
			calls++
			if calls < 3 {
				return activities.LakeCheckResult{}, errors.New("connection reset by peer")
			}
			return activities.LakeCheckResult{Store: store.String(), Bytes: in.Bytes}, nil
		})
	env.ExecuteWorkflow(workflows.LakeCheck, activities.LakeCheckInput{Probe: "p", Bytes: 7})
	if err := env.GetWorkflowError(); err != nil {
		t.Fatalf("workflow should survive two transient failures: %v", err)
	}
	if calls != 3 {
		t.Fatalf("activity ran %d times, want 3", calls)
	}
}
