package crashtest

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"strings"
	"time"

	"go.temporal.io/api/enums/v1"
	"go.temporal.io/api/workflowservice/v1"
	"go.temporal.io/sdk/client"
)

// Chaos kills the worker running a workflow at random moments and starts
// a new one after each kill.
//
// A SIGKILLed worker's activity stays "started" on the server until its
// heartbeat (or start-to-close) timeout, and its workflow task until the
// task times out; a kill during that window would only hit an idle
// worker. So each kill waits until the current worker has picked up work
// (it runs an activity or a workflow task), then sleeps a random delay in
// [MinDelay, MaxDelay] and kills it wherever it is: mid-conversion,
// mid-upload, between steps, or just after an activity finished.
//
// A kill interrupts one step, which the retry redoes, but a long delay can
// let the workflow run to its end before the planned kills are done. So
// the delay is cut short when the workflow schedules Before (for every kill
// but the last) or LastBefore (for the last kill): the kill then lands as
// that step begins, and enough work is left for the kills after it.
type Chaos struct {
	Client     client.Client
	WorkflowID string
	Workers    *Workers
	Kills      int
	MinDelay   time.Duration
	MaxDelay   time.Duration
	Rand       *rand.Rand
	// Before and LastBefore are activity type names (see above); empty
	// means no limit.
	Before     string
	LastBefore string
	// ProgressQuery, if set, is a query answering a JSON object with a
	// "phase" field; each kill records the phase it interrupted.
	ProgressQuery string
	// ResumeTimeout bounds the wait for a restarted worker to get work
	// (default 2 minutes: a kill mid-activity costs the heartbeat timeout
	// plus retry backoff, one in a short activity its start-to-close).
	ResumeTimeout time.Duration
	Logf          func(format string, args ...any)
}

// Kill is one SIGKILL of a worker while the workflow was running.
type Kill struct {
	N      int
	At     time.Duration // since Chaos.Run began
	Waited time.Duration // until this worker got work: what the previous kill cost
	Delay  time.Duration // random delay after the worker got work
	Cut    string        // set when the delay was cut short as this activity was scheduled
	Worker int
	Pid    int
	Phase  string // the workflow's own progress phase, "?" if it did not answer
	Hit    string // what the killed worker was doing, from the server's view
}

func (k Kill) String() string {
	cut := ""
	if k.Cut != "" {
		cut = " (cut short: " + k.Cut + " scheduled)"
	}
	return fmt.Sprintf("kill %d at %v: worker %d (pid %d) got work after %v, killed %v later%s; phase %q; hit %s",
		k.N, k.At.Round(time.Millisecond), k.Worker, k.Pid, k.Waited.Round(time.Millisecond), k.Delay.Round(time.Millisecond), cut, k.Phase, k.Hit)
}

// ErrFinishedEarly means the workflow ended before every planned kill:
// the kills came too late to test anything.
var ErrFinishedEarly = errors.New("crashtest: workflow ended before all kills")

// Run performs the kills, starting from worker w, and returns them with
// the worker left running.
func (c *Chaos) Run(ctx context.Context, w *Worker) ([]Kill, *Worker, error) {
	if c.ResumeTimeout <= 0 {
		c.ResumeTimeout = 2 * time.Minute
	}
	if c.Logf == nil {
		c.Logf = func(string, ...any) {}
	}
	start := time.Now()
	var kills []Kill
	for n := 1; n <= c.Kills; n++ {
		waitStart := time.Now()
		if err := c.waitForWork(ctx, w); err != nil {
			return kills, w, fmt.Errorf("before kill %d: %w", n, err)
		}
		k := Kill{N: n, Waited: time.Since(waitStart), Worker: w.N, Pid: w.Pid()}
		k.Delay = c.MinDelay
		if span := c.MaxDelay - c.MinDelay; span > 0 {
			k.Delay += time.Duration(c.Rand.Int64N(int64(span)))
		}
		limit := c.Before
		if n == c.Kills {
			limit = c.LastBefore
		}
		if cut, err := c.sleepUntil(ctx, k.Delay, limit); err != nil {
			return kills, w, fmt.Errorf("before kill %d: %w", n, err)
		} else if cut > 0 {
			k.Delay, k.Cut = cut, limit
		}
		k.Phase = c.phase(ctx)
		d, err := c.Client.DescribeWorkflowExecution(ctx, c.WorkflowID, "")
		if err != nil {
			return kills, w, fmt.Errorf("describe before kill %d: %w", n, err)
		}
		if st := d.GetWorkflowExecutionInfo().GetStatus(); st != enums.WORKFLOW_EXECUTION_STATUS_RUNNING {
			return kills, w, fmt.Errorf("%w: %s before kill %d of %d (phase %q)", ErrFinishedEarly, st, n, c.Kills, k.Phase)
		}
		k.Hit = describeHit(d, w)
		if err := w.Kill(); err != nil {
			return kills, w, err
		}
		k.At = time.Since(start)
		kills = append(kills, k)
		c.Logf("%s", k)
		if w, err = c.Workers.Start(); err != nil {
			return kills, w, err
		}
	}
	return kills, w, nil
}

// sleepUntil waits d, polling the workflow; it returns early, with the
// time waited, once activity limit is pending. It fails if the workflow
// ends meanwhile.
func (c *Chaos) sleepUntil(ctx context.Context, d time.Duration, limit string) (time.Duration, error) {
	start := time.Now()
	for {
		desc, err := c.Client.DescribeWorkflowExecution(ctx, c.WorkflowID, "")
		if err != nil {
			return 0, fmt.Errorf("describe %s: %w", c.WorkflowID, err)
		}
		if st := desc.GetWorkflowExecutionInfo().GetStatus(); st != enums.WORKFLOW_EXECUTION_STATUS_RUNNING {
			return 0, fmt.Errorf("%w: %s", ErrFinishedEarly, st)
		}
		if limit != "" && pending(desc, limit) {
			return time.Since(start), nil
		}
		left := d - time.Since(start)
		if left <= 0 {
			return 0, nil
		}
		if err := sleep(ctx, min(left, pollFast)); err != nil {
			return 0, err
		}
	}
}

// pollFast is how often the workflow is watched while a kill is due: the
// last steps of an import take tens of milliseconds.
const pollFast = 10 * time.Millisecond

func pending(d *workflowservice.DescribeWorkflowExecutionResponse, activity string) bool {
	for _, a := range d.GetPendingActivities() {
		if a.GetActivityType().GetName() == activity {
			return true
		}
	}
	return false
}

// waitForWork polls until w runs an activity or a workflow task of the
// workflow, which is then still running.
func (c *Chaos) waitForWork(ctx context.Context, w *Worker) error {
	ctx, cancel := context.WithTimeout(ctx, c.ResumeTimeout)
	defer cancel()
	for {
		d, err := c.Client.DescribeWorkflowExecution(ctx, c.WorkflowID, "")
		if err != nil {
			return fmt.Errorf("describe %s: %w", c.WorkflowID, err)
		}
		if st := d.GetWorkflowExecutionInfo().GetStatus(); st != enums.WORKFLOW_EXECUTION_STATUS_RUNNING {
			return fmt.Errorf("%w: %s", ErrFinishedEarly, st)
		}
		if busy(d, w) {
			return nil
		}
		select {
		case <-w.Exited():
			return fmt.Errorf("crashtest: worker %d exited on its own: %s", w.N, w.Tail(2000))
		case <-ctx.Done():
			return fmt.Errorf("worker %d got no work within %v: %w (server state: %s)", w.N, c.ResumeTimeout, ctx.Err(), describeHit(d, w))
		case <-time.After(2 * pollFast):
		}
	}
}

func busy(d *workflowservice.DescribeWorkflowExecutionResponse, w *Worker) bool {
	for _, a := range d.GetPendingActivities() {
		if a.GetState() == enums.PENDING_ACTIVITY_STATE_STARTED && a.GetLastWorkerIdentity() == w.Identity() {
			return true
		}
	}
	wt := d.GetPendingWorkflowTask()
	return wt.GetState() == enums.PENDING_WORKFLOW_TASK_STATE_STARTED && wt.GetStartedTime().AsTime().After(w.Started)
}

// describeHit says what the server thinks w is doing.
func describeHit(d *workflowservice.DescribeWorkflowExecutionResponse, w *Worker) string {
	var parts []string
	for _, a := range d.GetPendingActivities() {
		name := a.GetActivityType().GetName()
		switch {
		case a.GetState() == enums.PENDING_ACTIVITY_STATE_STARTED && a.GetLastWorkerIdentity() == w.Identity():
			parts = append(parts, fmt.Sprintf("activity %s attempt %d, %v into it", name, a.GetAttempt(), time.Since(a.GetLastStartedTime().AsTime()).Round(time.Millisecond)))
		case a.GetState() == enums.PENDING_ACTIVITY_STATE_STARTED:
			parts = append(parts, fmt.Sprintf("activity %s attempt %d still held by a dead worker", name, a.GetAttempt()))
		default:
			parts = append(parts, fmt.Sprintf("activity %s attempt %d %s", name, a.GetAttempt(), strings.ToLower(a.GetState().String())))
		}
	}
	if wt := d.GetPendingWorkflowTask(); wt != nil {
		state := "scheduled"
		if wt.GetState() == enums.PENDING_WORKFLOW_TASK_STATE_STARTED {
			state = "running"
		}
		parts = append(parts, fmt.Sprintf("workflow task attempt %d %s", wt.GetAttempt(), state))
	}
	if len(parts) == 0 {
		return "nothing pending (between steps)"
	}
	return strings.Join(parts, "; ")
}

// phase asks the workflow for its progress phase, briefly: a worker that
// is busy replaying may not answer in time, and the kill must not wait.
func (c *Chaos) phase(ctx context.Context) string {
	if c.ProgressQuery == "" {
		return "?"
	}
	ctx, cancel := context.WithTimeout(ctx, time.Second)
	defer cancel()
	v, err := c.Client.QueryWorkflow(ctx, c.WorkflowID, "", c.ProgressQuery)
	if err != nil {
		return "?"
	}
	var p struct {
		Phase string `json:"phase"`
	}
	if v.Get(&p) != nil || p.Phase == "" {
		return "?"
	}
	return p.Phase
}

func sleep(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}
