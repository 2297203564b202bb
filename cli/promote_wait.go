package cli

import (
	"fmt"
	"strings"
	"time"

	ucli "github.com/urfave/cli/v2"
	"go.temporal.io/api/enums/v1"
	"go.temporal.io/sdk/client"

	"github.com/granaryml/granary/workflows"
)

// waitForOutcome follows the alias workflow from the run that took the
// request (the one SignalWithStart answered with) until the request is
// done. A run serves its queue, then may continue as new carrying the
// rest, so the request is done either in that run or in a later run of its
// chain. Each run is followed by its id: the workflow id alone names the
// newest run, which never holds an outcome an earlier run produced (and
// may even belong to a later chain), so waiting on it could last forever.
func waitForOutcome(c *ucli.Context, tc client.Client, wfID, runID, reqID string) (*workflows.PromoteOutcome, error) {
	rep := newProgressReporter(c.App.ErrWriter)
	defer rep.done()
	for {
		// Status first, then state: a run seen closed has its final state
		// in the query's answer, so the request is either there or ahead.
		desc, err := tc.DescribeWorkflowExecution(c.Context, wfID, runID)
		if err != nil {
			return nil, fmt.Errorf("follow %s (run %s): %w", wfID, runID, err)
		}
		status := desc.GetWorkflowExecutionInfo().GetStatus()
		st, qerr := promoteRunStatus(c, tc, wfID, runID)
		if qerr == nil {
			if out := findOutcome(st.Done, reqID); out != nil {
				return out, nil
			}
			if st.Current != nil && st.Current.ID == reqID {
				rep.update("promotion: " + st.Step)
			}
		}
		switch status {
		case enums.WORKFLOW_EXECUTION_STATUS_RUNNING:
		case enums.WORKFLOW_EXECUTION_STATUS_CONTINUED_AS_NEW:
			if qerr != nil {
				break // a closed run is queried through a worker; try again
			}
			next, err := continuedAs(c, tc, wfID, runID)
			if err != nil {
				return nil, err
			}
			runID = next
			continue
		case enums.WORKFLOW_EXECUTION_STATUS_COMPLETED:
			var outs []workflows.PromoteOutcome
			if err := tc.GetWorkflow(c.Context, wfID, runID).Get(c.Context, &outs); err != nil {
				return nil, fmt.Errorf("result of %s (run %s): %w", wfID, runID, err)
			}
			if out := findOutcome(outs, reqID); out != nil {
				return out, nil
			}
			return nil, fmt.Errorf("%s (run %s) completed without request %s; see granary model history", wfID, runID, reqID)
		default:
			return nil, fmt.Errorf("%s (run %s) ended %s before request %s was done (run: %s)", wfID, runID, strings.ToLower(status.String()), reqID, runURL(c, wfID, runID))
		}
		select {
		case <-c.Context.Done():
			return nil, c.Context.Err()
		case <-time.After(300 * time.Millisecond):
		}
	}
}

func promoteRunStatus(c *ucli.Context, tc client.Client, wfID, runID string) (workflows.PromoteStatus, error) {
	var st workflows.PromoteStatus
	v, err := tc.QueryWorkflow(c.Context, wfID, runID, workflows.PromoteStatusQuery)
	if err != nil {
		return st, err
	}
	return st, v.Get(&st)
}

func findOutcome(outs []workflows.PromoteOutcome, reqID string) *workflows.PromoteOutcome {
	for i := range outs {
		if outs[i].Request.ID == reqID {
			return &outs[i]
		}
	}
	return nil
}

// continuedAs is the run a run continued as, from its closing event.
func continuedAs(c *ucli.Context, tc client.Client, wfID, runID string) (string, error) {
	it := tc.GetWorkflowHistory(c.Context, wfID, runID, false, enums.HISTORY_EVENT_FILTER_TYPE_CLOSE_EVENT)
	for it.HasNext() {
		e, err := it.Next()
		if err != nil {
			return "", fmt.Errorf("history of %s (run %s): %w", wfID, runID, err)
		}
		if next := e.GetWorkflowExecutionContinuedAsNewEventAttributes().GetNewExecutionRunId(); next != "" {
			return next, nil
		}
	}
	return "", fmt.Errorf("%s (run %s) continued as new, but its history names no next run", wfID, runID)
}
