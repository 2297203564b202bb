package crashtest

import (
	"context"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"time"

	"go.temporal.io/sdk/client"

	"github.com/granaryml/granary/internal/lake"
)

// Scenario is one run of a workflow (an import, an extraction, a build)
// against real servers: a worker process is started, the workflow is
// launched, a reader watches the dataset it commits throughout, and the
// worker is killed Kills times (none for an uninterrupted run).
type Scenario struct {
	Client  client.Client
	Workers *Workers
	// Worker, if set, is a running worker of Workers (one that prepared
	// the workflow's inputs, say) to start with instead of a new one.
	Worker *Worker
	// Lake is the reader's own handle on the lake the workers write to.
	Lake *lake.Lake
	// Kind and Dataset name what the workflow commits (Kind default
	// lake.KindDataset); Rows is its complete row count.
	Kind    lake.Kind
	Dataset string
	Rows    int64
	// Start launches the workflow (e.g. `granary dataset import` without
	// --wait) and returns its workflow id.
	Start func(ctx context.Context) (workflowID string, err error)

	Kills         int
	MinDelay      time.Duration
	MaxDelay      time.Duration
	Rand          *rand.Rand
	Steps         []string // see Chaos
	Before        string
	LastBefore    string
	Targets       []Target
	BestEffort    int // see Chaos.BestEffort
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
	// Result is the workflow's whole result, for fields beyond the ones
	// above (an extraction's counts, a build's splits).
	Result json.RawMessage
	// Elapsed runs from the launch of the workflow to its result; Workflow
	// is the server's start-to-close time of the workflow alone.
	Elapsed  time.Duration
	Workflow time.Duration
}

// result mirrors the fields of the results of CommitDataset,
// ExtractFeatures, BuildTrainingData and Materialize this package needs (it
// must not import workflows): they name them alike, except that
// Materialize counts entities.
type result struct {
	Version  string `json:"version"`
	Rows     int64  `json:"rows"`
	Entities int64  `json:"entities"`
	Created  bool   `json:"created"`
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
	w := s.Worker
	if w == nil {
		if w, err = s.Workers.Start(); err != nil {
			return out, err
		}
	}
	reader := &Reader{Lake: s.Lake, Kind: s.Kind, Name: s.Dataset, WantRows: s.Rows}
	stopReader := reader.Background(ctx)
	defer func() { out.Reader = stopReader() }() // idempotent: the first report stays

	began := time.Now()
	if out.WorkflowID, err = s.Start(ctx); err != nil {
		return out, fmt.Errorf("start workflow: %w", err)
	}
	s.Logf("%s started %v after its launch", out.WorkflowID, time.Since(began).Round(time.Millisecond))
	if s.Kills > 0 {
		chaos := &Chaos{
			Client: s.Client, WorkflowID: out.WorkflowID, Workers: s.Workers,
			Kills: s.Kills, MinDelay: s.MinDelay, MaxDelay: s.MaxDelay, Rand: s.Rand,
			Steps: s.Steps, Before: s.Before, LastBefore: s.LastBefore, Targets: s.Targets,
			BestEffort: s.BestEffort, ProgressQuery: s.ProgressQuery, Logf: s.Logf,
		}
		out.Kills, w, err = chaos.Run(ctx, w)
		if err != nil {
			return out, err
		}
	}

	wctx, cancel := context.WithTimeout(ctx, s.Timeout)
	defer cancel()
	if err := s.Client.GetWorkflow(wctx, out.WorkflowID, "").Get(wctx, &out.Result); err != nil {
		return out, fmt.Errorf("workflow %s after %d kills: %w (last worker's log:\n%s)", out.WorkflowID, len(out.Kills), err, w.Tail(4000))
	}
	out.Elapsed = time.Since(began)
	var res result
	if err := json.Unmarshal(out.Result, &res); err != nil {
		return out, fmt.Errorf("workflow %s result: %w", out.WorkflowID, err)
	}
	out.Version, out.Rows, out.Created = res.Version, max(res.Rows, res.Entities), res.Created
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
