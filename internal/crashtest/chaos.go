package crashtest

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"slices"
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
// A kill makes the retry redo the step it interrupted, but a long delay
// could let the workflow run to its end before the planned kills are done.
// So a delay is cut short, and the kill happens at once, when the workflow
// schedules a step it must not reach yet: Before for every kill but the
// last, LastBefore (its last step) for the last one. A kill whose wait
// began at or past that step may let the workflow advance one more step
// if steps enough remain for the kills after it (see limit), so kills
// move through the workflow instead of piling up at one boundary.
type Chaos struct {
	Client     client.Client
	WorkflowID string
	Workers    *Workers
	Kills      int
	MinDelay   time.Duration
	MaxDelay   time.Duration
	Rand       *rand.Rand
	// Steps are the workflow's activity type names in the order it runs
	// them; Before and LastBefore name two of them. With no Steps, delays
	// are never cut short.
	Steps      []string
	Before     string
	LastBefore string
	// ProgressQuery, if set, is a query answering a JSON object with a
	// "phase" field; each kill records the phase it interrupted.
	ProgressQuery string
	// ResumeTimeout bounds the wait for a restarted worker to get work
	// (default 3 minutes: a kill mid-activity costs the heartbeat timeout
	// plus retry backoff, one in a short activity its start-to-close).
	ResumeTimeout time.Duration
	Logf          func(format string, args ...any)

	progress int // index in Steps of the latest step seen scheduled, -1 before any
}

// Kill is one SIGKILL of a worker while the workflow was running.
type Kill struct {
	N      int
	At     time.Duration // since Chaos.Run began
	Waited time.Duration // until this worker got work: what the previous kill cost
	Delay  time.Duration // after the worker got work
	Cut    string        // set when the delay was cut short as this step was scheduled
	Worker int
	Pid    int
	Phase  string // the workflow's own progress phase: "?" if it did not answer, "" if not asked (Cut)
	Hit    string // what the killed worker was doing, from the server's view
}

func (k Kill) String() string {
	cut := ""
	if k.Cut != "" {
		cut = " (cut short: " + k.Cut + ")"
	}
	phase := ""
	if k.Phase != "" {
		phase = fmt.Sprintf("; phase %q", k.Phase)
	}
	return fmt.Sprintf("kill %d at %v: worker %d (pid %d) got work after %v, killed %v later%s%s; hit %s",
		k.N, k.At.Round(time.Millisecond), k.Worker, k.Pid, k.Waited.Round(time.Millisecond), k.Delay.Round(time.Millisecond), cut, phase, k.Hit)
}

// ErrFinishedEarly means the workflow ended before every planned kill:
// the kills came too late to test anything.
var ErrFinishedEarly = errors.New("crashtest: workflow ended before all kills")

// Run performs the kills, starting from worker w, and returns them with
// the worker left running.
func (c *Chaos) Run(ctx context.Context, w *Worker) ([]Kill, *Worker, error) {
	if c.ResumeTimeout <= 0 {
		c.ResumeTimeout = 3 * time.Minute
	}
	if c.Logf == nil {
		c.Logf = func(string, ...any) {}
	}
	c.progress = -1
	start := time.Now()
	var kills []Kill
	for n := 1; n <= c.Kills; n++ {
		waitStart := time.Now()
		if err := c.waitForWork(ctx, w); err != nil {
			return kills, w, fmt.Errorf("before kill %d: %w", n, err)
		}
		k := Kill{N: n, Waited: time.Since(waitStart), Worker: w.N, Pid: w.Pid()}
		delay := c.MinDelay
		if span := c.MaxDelay - c.MinDelay; span > 0 {
			delay += time.Duration(c.Rand.Int64N(int64(span)))
		}
		limit := c.limit(n)
		waited, cut, err := c.sleepUntil(ctx, delay, limit)
		if err != nil {
			return kills, w, fmt.Errorf("before kill %d: %w", n, err)
		}
		k.Delay, k.Cut = waited, cut
		if cut == "" {
			// The query is a round trip through the worker (tens of
			// milliseconds); a kill cut short at a step boundary must not
			// wait for it, the step may be that short.
			k.Phase = c.phase(ctx)
		}
		d, err := c.describe(ctx)
		if err != nil {
			return kills, w, fmt.Errorf("before kill %d: %w", n, err)
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

// limit is the index in Steps of the first step kill n must come before:
// Before for all kills but the last, LastBefore for the last. A kill
// whose wait begins at or past its limit may let the workflow advance one
// more step, as long as every later kill still has a step left before
// LastBefore; otherwise it kills at once. Either way the workflow never
// gets past LastBefore before the last kill. -1 means no limit,
// len(Steps) "at once".
func (c *Chaos) limit(n int) int {
	if len(c.Steps) == 0 {
		return -1
	}
	last := slices.Index(c.Steps, c.LastBefore)
	if last < 0 {
		last = len(c.Steps) - 1
	}
	i := slices.Index(c.Steps, c.Before)
	if n == c.Kills || i < 0 || i > last {
		i = last
	}
	if i <= c.progress {
		i = c.progress + 1
		if i > last-(c.Kills-n) {
			return len(c.Steps)
		}
	}
	return i
}

// sleepUntil waits d, watching the workflow, and returns how long it
// waited and, if it stopped early, why: step limit (an index in Steps)
// was scheduled. It fails if the workflow ends meanwhile.
func (c *Chaos) sleepUntil(ctx context.Context, d time.Duration, limit int) (time.Duration, string, error) {
	start := time.Now()
	if limit >= len(c.Steps) && len(c.Steps) > 0 {
		return 0, "at once: the kills after it need the steps left", nil
	}
	for {
		desc, err := c.describe(ctx)
		if err != nil {
			return 0, "", err
		}
		if st := desc.GetWorkflowExecutionInfo().GetStatus(); st != enums.WORKFLOW_EXECUTION_STATUS_RUNNING {
			return 0, "", fmt.Errorf("%w: %s", ErrFinishedEarly, st)
		}
		if limit >= 0 && c.progress >= limit {
			return time.Since(start), c.Steps[c.progress] + " scheduled", nil
		}
		left := d - time.Since(start)
		if left <= 0 {
			return time.Since(start), "", nil
		}
		if err := sleep(ctx, min(left, pollFast)); err != nil {
			return 0, "", err
		}
	}
}

// pollFast is how often the workflow is watched while a kill is due: the
// last steps of an import take tens of milliseconds.
const pollFast = 10 * time.Millisecond

// describe asks the server for the workflow's state, riding out slow or
// failed calls (a loaded 2-core machine can stall one past the SDK's RPC
// timeout), and records the furthest step seen scheduled.
func (c *Chaos) describe(ctx context.Context) (*workflowservice.DescribeWorkflowExecutionResponse, error) {
	deadline := time.Now().Add(time.Minute)
	for {
		d, err := c.Client.DescribeWorkflowExecution(ctx, c.WorkflowID, "")
		if err == nil {
			for _, a := range d.GetPendingActivities() {
				if i := slices.Index(c.Steps, a.GetActivityType().GetName()); i > c.progress {
					c.progress = i
				}
			}
			return d, nil
		}
		if ctx.Err() != nil || time.Now().After(deadline) {
			return nil, fmt.Errorf("describe %s: %w", c.WorkflowID, err)
		}
		c.Logf("describe %s: %v (retrying)", c.WorkflowID, err)
		if err := sleep(ctx, 100*time.Millisecond); err != nil {
			return nil, err
		}
	}
}

// waitForWork polls until w runs an activity or a workflow task of the
// workflow, which is then still running.
func (c *Chaos) waitForWork(ctx context.Context, w *Worker) error {
	ctx, cancel := context.WithTimeout(ctx, c.ResumeTimeout)
	defer cancel()
	for {
		d, err := c.describe(ctx)
		if err != nil {
			return fmt.Errorf("worker %d got no work within %v: %w", w.N, c.ResumeTimeout, err)
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
