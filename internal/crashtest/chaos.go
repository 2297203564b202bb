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
	// Targets, if set, replaces Before and LastBefore: kill n lands in
	// step Targets[n-1] (one entry per kill, in workflow order). It waits
	// until the step is scheduled and the current worker has work, then
	// sleeps the target's random delay, cut short (the kill comes at once)
	// when the next step is scheduled: the kill hits the target step, or
	// at worst the boundary just after it. No kill lets the workflow get
	// past the step after its target, so a kill aimed before the last
	// step finds the workflow running, unless the steps left are so short
	// (a commit retried after the kill before, say) that they all finish
	// between two polls of the server.
	Targets []Target
	// BestEffort is how many of the last kills may be missed because the
	// workflow finished first. Steps that take milliseconds (the commit,
	// the ref move) are worth aiming at, but on a loaded machine a poll
	// can miss them; the kills before them are the ones a test requires.
	BestEffort int
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

// Target is the step a targeted kill aims at (see Chaos.Targets), with
// its own range of delays; zero delays mean Chaos.MinDelay and MaxDelay.
type Target struct {
	Step               string
	MinDelay, MaxDelay time.Duration
}

// PickTargets chooses the targets of one run's kills among phases, in
// workflow order: every phase once when there are as many kills, a random
// subset that always keeps the last phase (the commit) when there are
// fewer, and random repeats when there are more.
func PickTargets(rng *rand.Rand, phases []Target, kills int) []Target {
	if len(phases) == 0 || kills <= 0 {
		return nil
	}
	idx := make([]int, 0, kills)
	if kills >= len(phases) {
		for i := range phases {
			idx = append(idx, i)
		}
		for len(idx) < kills {
			idx = append(idx, rng.IntN(len(phases)))
		}
	} else {
		last := len(phases) - 1
		perm := rng.Perm(last)
		idx = append(idx, perm[:kills-1]...)
		idx = append(idx, last)
	}
	slices.Sort(idx)
	out := make([]Target, len(idx))
	for i, j := range idx {
		out[i] = phases[j]
	}
	return out
}

// Spread gives every target without delays of its own a range over the
// first half of its step's typical duration (from 5% to 50% of it), so
// that kills land inside the step even when it runs faster than usual (on
// a loaded machine steps only get slower). A kill that overruns its step
// lands at the next step's start instead; when that is the commit, the
// kill after it has only the commit's retry, tens of milliseconds, to
// land in. Steps missing from typical keep Chaos's delays.
func Spread(targets []Target, typical map[string]time.Duration) []Target {
	out := slices.Clone(targets)
	for i, t := range out {
		d, ok := typical[t.Step]
		if !ok || t.MinDelay != 0 || t.MaxDelay != 0 {
			continue
		}
		out[i].MinDelay = max(time.Millisecond, d/20)
		out[i].MaxDelay = max(out[i].MinDelay+time.Millisecond, d/2)
	}
	return out
}

// Kill is one SIGKILL of a worker while the workflow was running.
type Kill struct {
	N      int
	Target string        // the step the kill aimed at (Chaos.Targets), if any
	At     time.Duration // since Chaos.Run began
	Waited time.Duration // until this worker got work (in its target step, if any): what the previous kill cost
	Delay  time.Duration // after the worker got work
	Cut    string        // set when the delay was cut short as this step was scheduled
	Worker int
	Pid    int
	Phase  string // the workflow's own progress phase: "?" if it did not answer, "" if not asked (Cut, short delays)
	Step   string // the furthest step with an activity pending as the kill came ("" if none)
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
	target := ""
	if k.Target != "" {
		target = " aimed at " + k.Target + ","
	}
	return fmt.Sprintf("kill %d at %v:%s worker %d (pid %d) got work after %v, killed %v later%s%s; hit %s",
		k.N, k.At.Round(time.Millisecond), target, k.Worker, k.Pid, k.Waited.Round(time.Millisecond), k.Delay.Round(time.Millisecond), cut, phase, k.Hit)
}

// Where says where the kill landed, briefly: the workflow's phase if it
// answered, otherwise the furthest step pending, with the boundary it was
// cut short at.
func (k Kill) Where() string {
	where := k.Phase
	if where == "" || where == "?" {
		where = k.Step
		if where == "" {
			where = "between steps"
		}
	}
	if k.Cut != "" {
		where += " (" + k.Cut + ")"
	}
	return where
}

// ErrFinishedEarly means the workflow ended before every planned kill:
// the kills came too late to test anything.
var ErrFinishedEarly = errors.New("crashtest: workflow ended before all kills")

// Run performs the kills, starting from worker w, and returns them with
// the worker left running.
func (c *Chaos) Run(ctx context.Context, w *Worker) ([]Kill, *Worker, error) {
	kills, w, err := c.run(ctx, w)
	if errors.Is(err, ErrFinishedEarly) && len(kills) >= c.Kills-c.BestEffort {
		c.Logf("workflow finished before the last %d best-effort kill(s); %d landed", c.Kills-len(kills), len(kills))
		return kills, w, nil
	}
	return kills, w, err
}

func (c *Chaos) run(ctx context.Context, w *Worker) ([]Kill, *Worker, error) {
	if c.ResumeTimeout <= 0 {
		c.ResumeTimeout = 3 * time.Minute
	}
	if c.Logf == nil {
		c.Logf = func(string, ...any) {}
	}
	c.progress = -1
	if err := c.checkTargets(); err != nil {
		return nil, w, err
	}
	start := time.Now()
	var kills []Kill
	for n := 1; n <= c.Kills; n++ {
		waitStart := time.Now()
		if len(c.Targets) == 0 {
			if err := c.waitForWork(ctx, w); err != nil {
				return kills, w, fmt.Errorf("before kill %d: %w", n, err)
			}
		} // else waitForStep below waits for work, in the target step
		k := Kill{N: n, Worker: w.N, Pid: w.Pid()}
		minDelay, maxDelay := c.MinDelay, c.MaxDelay
		var limit int
		if len(c.Targets) > 0 {
			t := c.Targets[n-1]
			k.Target = t.Step
			if t.MinDelay != 0 || t.MaxDelay != 0 {
				minDelay, maxDelay = t.MinDelay, t.MaxDelay
			}
			i := slices.Index(c.Steps, t.Step)
			if err := c.waitForStep(ctx, w, i); err != nil {
				return kills, w, fmt.Errorf("before kill %d (aimed at %s): %w", n, t.Step, err)
			}
			limit = i + 1
		} else {
			limit = c.limit(n)
		}
		k.Waited = time.Since(waitStart)
		delay := minDelay
		if span := maxDelay - minDelay; span > 0 {
			delay += time.Duration(c.Rand.Int64N(int64(span)))
		}
		waited, cut, err := c.sleepUntil(ctx, delay, limit)
		if err != nil {
			return kills, w, fmt.Errorf("before kill %d: %w", n, err)
		}
		k.Delay, k.Cut = waited, cut
		if cut == "" && delay >= queryMinDelay {
			// The query is a round trip through the worker (tens of
			// milliseconds); a kill cut short at a step boundary, or
			// meant to come within a few milliseconds, must not wait for
			// it: the step may be that short.
			k.Phase = c.phase(ctx)
		}
		// Kill first, then ask the server: the steps near the end take
		// milliseconds, and a round trip before the kill could let the
		// workflow finish. Until the next worker starts nothing can make
		// progress, so the state the server reports now is the one the
		// kill interrupted (the dead worker's activities and workflow
		// task still show as started).
		if err := w.Kill(); err != nil {
			return kills, w, err
		}
		k.At = time.Since(start)
		d, err := c.describe(ctx)
		if err != nil {
			return kills, w, fmt.Errorf("after kill %d: %w", n, err)
		}
		if st := d.GetWorkflowExecutionInfo().GetStatus(); st != enums.WORKFLOW_EXECUTION_STATUS_RUNNING {
			return kills, w, fmt.Errorf("%w: %s before kill %d of %d (phase %q)", ErrFinishedEarly, st, n, c.Kills, k.Phase)
		}
		k.Hit, k.Step = describeHit(d, w), c.furthestPending(d)
		kills = append(kills, k)
		c.Logf("%s", k)
		if w, err = c.Workers.Start(); err != nil {
			return kills, w, err
		}
	}
	return kills, w, nil
}

// checkTargets rejects targets the kills could not honor.
func (c *Chaos) checkTargets() error {
	if len(c.Targets) == 0 {
		return nil
	}
	if len(c.Targets) != c.Kills {
		return fmt.Errorf("crashtest: %d targets for %d kills", len(c.Targets), c.Kills)
	}
	prev := -1
	for _, t := range c.Targets {
		i := slices.Index(c.Steps, t.Step)
		switch {
		case i < 0:
			return fmt.Errorf("crashtest: target %q is not one of the steps %v", t.Step, c.Steps)
		case i == len(c.Steps)-1:
			return fmt.Errorf("crashtest: target %q is the last step: nothing would keep the workflow from ending before the kill", t.Step)
		case i < prev:
			return fmt.Errorf("crashtest: targets %v are not in workflow order", c.Targets)
		}
		prev = i
	}
	return nil
}

// waitForStep polls until step i (or a later one) has been scheduled and
// w has work, so that a targeted kill's delay starts inside its target.
// The workflow is then still running.
func (c *Chaos) waitForStep(ctx context.Context, w *Worker, i int) error {
	ctx, cancel := context.WithTimeout(ctx, c.ResumeTimeout)
	defer cancel()
	for {
		d, err := c.describe(ctx)
		if err != nil {
			return fmt.Errorf("%s not reached within %v: %w", c.Steps[i], c.ResumeTimeout, err)
		}
		if st := d.GetWorkflowExecutionInfo().GetStatus(); st != enums.WORKFLOW_EXECUTION_STATUS_RUNNING {
			return fmt.Errorf("%w: %s", ErrFinishedEarly, st)
		}
		if c.progress >= i && busy(d, w) {
			return nil
		}
		select {
		case <-w.Exited():
			return fmt.Errorf("crashtest: worker %d exited on its own: %s", w.N, w.Tail(2000))
		case <-ctx.Done():
			return fmt.Errorf("%s not reached with worker %d busy within %v: %w (server state: %s)", c.Steps[i], w.N, c.ResumeTimeout, ctx.Err(), describeHit(d, w))
		case <-time.After(pollFast):
		}
	}
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

// queryMinDelay: a kill due sooner than this after its wait does not ask
// the workflow's phase first.
const queryMinDelay = 100 * time.Millisecond

// furthestPending is the furthest of Steps with an activity pending.
func (c *Chaos) furthestPending(d *workflowservice.DescribeWorkflowExecutionResponse) string {
	best := -1
	for _, a := range d.GetPendingActivities() {
		best = max(best, slices.Index(c.Steps, a.GetActivityType().GetName()))
	}
	if best < 0 {
		return ""
	}
	return c.Steps[best]
}

// pollFast is how often the workflow is watched while a kill is due or a
// restarted worker is awaited: the last steps of a workflow (the commit,
// the ref move, a retry of either) take tens of milliseconds.
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
		case <-time.After(pollFast):
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
