package cli_test

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"go.temporal.io/api/enums/v1"
	"go.temporal.io/sdk/client"

	"github.com/granaryml/granary/activities"
	"github.com/granaryml/granary/workflows"
)

// promoteRequestsPerRun is how many requests one PromoteModel run serves
// before it continues as new (workflows.maxRequestsPerRun). The test
// checks that the continue-as-new it arranges did happen, so a change of
// that number fails here instead of passing without testing anything.
const promoteRequestsPerRun = 50

// TestPromoteWaitFollowsContinueAsNew: `model promote --wait` whose request
// is the last one a run serves before continuing as new (more requests are
// queued behind it) must report the outcome. The newest run of the alias
// workflow never holds it, so waiting on the workflow id alone waits
// forever.
func TestPromoteWaitFollowsContinueAsNew(t *testing.T) {
	st := startStack(t)
	run := cliRunner(t, st)
	v1 := mustJSON[struct{ Version string }](t, run("--output", "json", "model", "register", "churn", writeFile(t, "model.bin", "weights"), "--metrics", writeFile(t, "m.json", `{"auc": 0.8}`))).Version
	tc, err := client.Dial(client.Options{HostPort: st.address, Namespace: st.namespace, Logger: quietSDKLogger()})
	if err != nil {
		t.Fatal(err)
	}
	defer tc.Close()

	// Hold the queue with a request waiting for approval, then line up
	// requests that fail fast (unknown version) so ours is the last one
	// the first run serves.
	wfID := workflows.PromoteID("churn", "prod")
	queue := []activities.PromoteRequest{{ID: "blocker", Model: "churn", Version: v1, Alias: "prod", RequireApproval: true, ApprovalTimeout: time.Hour}}
	for i := range promoteRequestsPerRun - 2 {
		queue = append(queue, activities.PromoteRequest{ID: fmt.Sprintf("filler-%d", i), Model: "churn", Version: strings.Repeat("0", 64), Alias: "prod"})
	}
	first, err := tc.ExecuteWorkflow(t.Context(), client.StartWorkflowOptions{ID: wfID, TaskQueue: workflows.TaskQueue},
		workflows.PromoteWorkflowName, workflows.PromoteInput{Model: "churn", Alias: "prod", Queue: queue})
	if err != nil {
		t.Fatal(err)
	}
	status := func() workflows.PromoteStatus {
		var s workflows.PromoteStatus
		if v, err := tc.QueryWorkflow(t.Context(), wfID, first.GetRunID(), workflows.PromoteStatusQuery); err == nil {
			_ = v.Get(&s)
		}
		return s
	}
	waitFor(t, 30*time.Second, func() bool {
		s := status()
		return s.Current != nil && s.Current.ID == "blocker" && s.Step == "approval"
	})
	// While a request waits for approval, new ones stay in the signal
	// channel (in order), so the history tells when they have arrived.
	signals := func() int {
		n := 0
		it := tc.GetWorkflowHistory(t.Context(), wfID, first.GetRunID(), false, enums.HISTORY_EVENT_FILTER_TYPE_ALL_EVENT)
		for it.HasNext() {
			e, err := it.Next()
			if err != nil {
				t.Fatal(err)
			}
			if e.GetWorkflowExecutionSignaledEventAttributes().GetSignalName() == workflows.PromoteRequestSignal {
				n++
			}
		}
		return n
	}

	ctx, cancel := context.WithTimeout(t.Context(), 90*time.Second)
	defer cancel()
	type result struct {
		code        int
		out, errOut string
	}
	done := make(chan result, 1)
	go func() {
		code, out, errOut := runCLI(t, ctx, append(append([]string{}, st.flags...), "--output", "json", "model", "promote", "churn@"+v1, "--to", "prod", "--wait")...)
		done <- result{code, out, errOut}
	}()
	waitFor(t, 30*time.Second, func() bool {
		select {
		case r := <-done:
			t.Fatalf("promote --wait returned before its request was served: exit %d\n%s%s", r.code, r.out, r.errOut)
		default:
		}
		return signals() == 1
	})
	// One more behind ours: the run continues as new right after serving it.
	if err := tc.SignalWorkflow(t.Context(), wfID, "", workflows.PromoteRequestSignal, activities.PromoteRequest{ID: "after", Model: "churn", Version: strings.Repeat("0", 64), Alias: "prod"}); err != nil {
		t.Fatal(err)
	}
	waitFor(t, 30*time.Second, func() bool { return signals() == 2 })
	if err := tc.SignalWorkflow(t.Context(), wfID, first.GetRunID(), workflows.RejectSignal, workflows.Decision{Version: v1, By: "test"}); err != nil {
		t.Fatal(err)
	}

	res := <-done
	if res.code != 0 {
		t.Fatalf("promote --wait: exit %d: %s", res.code, res.errOut)
	}
	out := mustJSON[struct {
		Request string
		Outcome *workflows.PromoteOutcome
	}](t, res.out)
	if out.Outcome == nil || out.Outcome.Outcome != "promoted" || out.Outcome.Request.ID != out.Request {
		t.Fatalf("want our request's outcome, promoted: %+v", out)
	}
	desc, err := tc.DescribeWorkflowExecution(t.Context(), wfID, first.GetRunID())
	if err != nil {
		t.Fatal(err)
	}
	if s := desc.GetWorkflowExecutionInfo().GetStatus(); s != enums.WORKFLOW_EXECUTION_STATUS_CONTINUED_AS_NEW {
		t.Fatalf("the first run should have continued as new after %d requests, it is %s; the test did not test the chain", promoteRequestsPerRun, s)
	}
}
