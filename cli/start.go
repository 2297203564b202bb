package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	ucli "github.com/urfave/cli/v2"
	"go.temporal.io/api/enums/v1"
	"go.temporal.io/api/serviceerror"
	"go.temporal.io/sdk/client"

	"github.com/granaryml/granary/workflows"
)

// startedRun is a workflow run the CLI started or attached to.
type startedRun struct {
	client.WorkflowRun
	// Attached is true when identical work was already running or had
	// completed: granary ids are derived from the inputs, so the CLI
	// follows that run instead of doing the work twice.
	Attached bool
	Status   enums.WorkflowExecutionStatus
}

// startOrAttach starts workflow id unless a run with that id is running
// or completed; failed, canceled or terminated runs are started afresh
// (the operator fixed the cause and asks again).
func startOrAttach(ctx context.Context, tc client.Client, id string, workflow string, input any) (startedRun, error) {
	desc, err := tc.DescribeWorkflowExecution(ctx, id, "")
	var notFound *serviceerror.NotFound
	switch {
	case err == nil:
		st := desc.GetWorkflowExecutionInfo().GetStatus()
		if st == enums.WORKFLOW_EXECUTION_STATUS_RUNNING || st == enums.WORKFLOW_EXECUTION_STATUS_COMPLETED {
			return startedRun{WorkflowRun: tc.GetWorkflow(ctx, id, desc.GetWorkflowExecutionInfo().GetExecution().GetRunId()), Attached: true, Status: st}, nil
		}
	case errors.As(err, &notFound):
	default:
		return startedRun{}, fmt.Errorf("look up run %s: %w", id, err)
	}
	run, err := tc.ExecuteWorkflow(ctx, client.StartWorkflowOptions{
		ID:                       id,
		TaskQueue:                workflows.TaskQueue,
		WorkflowIDReusePolicy:    enums.WORKFLOW_ID_REUSE_POLICY_ALLOW_DUPLICATE_FAILED_ONLY,
		WorkflowIDConflictPolicy: enums.WORKFLOW_ID_CONFLICT_POLICY_USE_EXISTING,
	}, workflow, input)
	if err != nil {
		var already *serviceerror.WorkflowExecutionAlreadyStarted
		if errors.As(err, &already) {
			// Completed between our describe and our start: follow it.
			return startedRun{WorkflowRun: tc.GetWorkflow(ctx, id, ""), Attached: true, Status: enums.WORKFLOW_EXECUTION_STATUS_COMPLETED}, nil
		}
		return startedRun{}, fmt.Errorf("start %s: %w", id, err)
	}
	return startedRun{WorkflowRun: run, Status: enums.WORKFLOW_EXECUTION_STATUS_RUNNING}, nil
}

// progressReporter shows a long run's progress: one rewritten status line
// on a terminal, plain lines (at most every few seconds) otherwise, so
// logs of CI jobs stay readable.
type progressReporter struct {
	w        io.Writer
	terminal bool
	last     time.Time
	lastLine string
}

func newProgressReporter(w io.Writer) *progressReporter {
	return &progressReporter{w: w, terminal: isTerminal(w)}
}

func (p *progressReporter) update(line string) {
	if p.terminal {
		fprintf(p.w, "\r\033[K%s", line)
		p.lastLine = line
		return
	}
	if line == p.lastLine || time.Since(p.last) < 3*time.Second {
		return
	}
	p.last, p.lastLine = time.Now(), line
	fprintf(p.w, "%s\n", line)
}

func (p *progressReporter) done() {
	if p.terminal && p.lastLine != "" {
		fprintf(p.w, "\n")
	}
}

func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	if !ok {
		return false
	}
	st, err := f.Stat()
	return err == nil && st.Mode()&os.ModeCharDevice != 0
}

// waitWithProgress polls a run's progress query while waiting for its
// result. render turns the query answer into a status line.
func waitWithProgress[P any](ctx context.Context, tc client.Client, run client.WorkflowRun, errw io.Writer, render func(P, time.Duration) string, result any) error {
	rep := newProgressReporter(errw)
	done := make(chan error, 1)
	go func() { done <- run.Get(ctx, result) }()
	start := time.Now()
	tick := time.NewTicker(500 * time.Millisecond)
	defer tick.Stop()
	for {
		select {
		case err := <-done:
			rep.done()
			return err
		case <-tick.C:
			v, err := tc.QueryWorkflow(ctx, run.GetID(), run.GetRunID(), workflows.ProgressQuery)
			if err != nil {
				continue // no worker has picked it up yet, or it just finished
			}
			var prog P
			if v.Get(&prog) == nil {
				rep.update(render(prog, time.Since(start)))
			}
		}
	}
}

// runRef is the part of a launching command's output that names the run,
// so a script can follow it (`granary runs show`, the UI link).
type runRef struct {
	Attached   bool   `json:"attached"`
	WorkflowID string `json:"workflow_id"`
	RunID      string `json:"run_id"`
	URL        string `json:"url"`
	// RefsWorkflowID is the RepointRefs run that moved the refs again
	// when the attached run's moves had been overtaken.
	RefsWorkflowID string `json:"refs_workflow_id,omitempty"`
}

// announce records the run in its output and says on stderr whether the
// CLI started it (starting) or follows an identical run of what.
func (r *runRef) announce(c *ucli.Context, p printer, run startedRun, what, starting string) {
	*r = runRef{Attached: run.Attached, WorkflowID: run.GetID(), RunID: run.GetRunID(), URL: runURL(c, run.GetID(), run.GetRunID())}
	if run.Attached {
		p.infof("identical %s %s already %s; following it\n", what, r.WorkflowID, strings.ToLower(run.Status.String()))
	} else {
		p.infof("%s", starting)
	}
}

// printStarted is the result of a run the CLI does not wait for.
func printStarted(p printer, out any, r runRef) error {
	return p.result(out, func(w io.Writer) {
		fprintf(w, "started %s\n  follow it: %s\n  or: granary runs show %s\n", r.WorkflowID, r.URL, r.WorkflowID)
	})
}
