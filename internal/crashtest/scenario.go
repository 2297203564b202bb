package crashtest

import (
	"context"
	"fmt"
	"math/rand/v2"
	"time"

	"go.temporal.io/sdk/client"

	"github.com/granaryml/granary/internal/lake"
)

// Scenario is one import run against real servers: a worker process is
// started, the import is launched, a reader watches the lake throughout,
// and the worker is killed Kills times (none for an uninterrupted run).
type Scenario struct {
	Client  client.Client
	Workers *Workers
	// Lake is the reader's own handle on the lake the workers write to.
	Lake    *lake.Lake
	Dataset string
	Rows    int64
	// Start launches the import (e.g. `granary dataset import` without
	// --wait) and returns its workflow id.
	Start func(ctx context.Context) (workflowID string, err error)

	Kills         int
	MinDelay      time.Duration
	MaxDelay      time.Duration
	Rand          *rand.Rand
	Steps         []string // see Chaos
	Before        string
	LastBefore    string
	ProgressQuery string
	// Timeout bounds the wait for the workflow's result after the kills.
	Timeout time.Duration
	Logf    func(format string, args ...any)
}

// Outcome is what a scenario produced and observed.
type Outcome struct {
	WorkflowID string
	Version    string
	Rows       int64
	Created    bool
	Kills      []Kill
	Reader     ReaderReport
	// Elapsed runs from the launch of the import to its result; Workflow
	// is the server's start-to-close time of the workflow alone.
	Elapsed  time.Duration
	Workflow time.Duration
}

// importResult mirrors the fields of workflows.CommitDatasetResult this
// package needs (it must not import workflows).
type importResult struct {
	Version string `json:"version"`
	Rows    int64  `json:"rows"`
	Created bool   `json:"created"`
}

// Run executes the scenario. The worker it leaves running is stopped by
// s.Workers.Close. A non-nil error comes with whatever was observed.
func (s Scenario) Run(ctx context.Context) (out Outcome, err error) {
	if s.Logf == nil {
		s.Logf = func(string, ...any) {}
	}
	if s.Timeout <= 0 {
		s.Timeout = 5 * time.Minute
	}
	w, err := s.Workers.Start()
	if err != nil {
		return out, err
	}
	reader := &Reader{Lake: s.Lake, Name: s.Dataset, WantRows: s.Rows}
	stopReader := reader.Background(ctx)
	defer func() { out.Reader = stopReader() }() // idempotent: the first report stays

	began := time.Now()
	if out.WorkflowID, err = s.Start(ctx); err != nil {
		return out, fmt.Errorf("start import: %w", err)
	}
	s.Logf("import %s started %v after its launch", out.WorkflowID, time.Since(began).Round(time.Millisecond))
	if s.Kills > 0 {
		chaos := &Chaos{
			Client: s.Client, WorkflowID: out.WorkflowID, Workers: s.Workers,
			Kills: s.Kills, MinDelay: s.MinDelay, MaxDelay: s.MaxDelay, Rand: s.Rand,
			Steps: s.Steps, Before: s.Before, LastBefore: s.LastBefore,
			ProgressQuery: s.ProgressQuery, Logf: s.Logf,
		}
		out.Kills, w, err = chaos.Run(ctx, w)
		if err != nil {
			return out, err
		}
	}

	wctx, cancel := context.WithTimeout(ctx, s.Timeout)
	defer cancel()
	var res importResult
	if err := s.Client.GetWorkflow(wctx, out.WorkflowID, "").Get(wctx, &res); err != nil {
		return out, fmt.Errorf("workflow %s after %d kills: %w (last worker's log:\n%s)", out.WorkflowID, len(out.Kills), err, w.Tail(4000))
	}
	out.Elapsed = time.Since(began)
	out.Version, out.Rows, out.Created = res.Version, res.Rows, res.Created
	if d, err := s.Client.DescribeWorkflowExecution(ctx, out.WorkflowID, ""); err == nil {
		info := d.GetWorkflowExecutionInfo()
		out.Workflow = info.GetCloseTime().AsTime().Sub(info.GetStartTime().AsTime())
	}
	// Let the reader see the finished version a few times too.
	if err := sleep(ctx, 500*time.Millisecond); err != nil {
		return out, err
	}
	return out, nil
}
