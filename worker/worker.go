// Package worker wires granary's workflows and activities into a Temporal
// worker. `granary worker` and `granary dev` both go through New, so what
// runs on a laptop is exactly what runs on a cluster.
package worker

import (
	"errors"
	"fmt"
	"os"
	"time"

	"go.temporal.io/sdk/client"
	sdkworker "go.temporal.io/sdk/worker"
	"go.temporal.io/sdk/workflow"

	"github.com/granaryml/granary/activities"
	"github.com/granaryml/granary/internal/objstore"
	"github.com/granaryml/granary/internal/objstore/storeurl"
	"github.com/granaryml/granary/internal/spool"
	"github.com/granaryml/granary/workflows"
)

// Options configures a worker. Zero values pick defaults suited to a
// two-core machine; raise the concurrency on bigger workers.
type Options struct {
	Client    client.Client
	Store     objstore.Store
	TaskQueue string // default workflows.TaskQueue
	// MaxConcurrentActivities bounds how many activities (and so how many
	// shards' worth of memory) one process runs at once.
	MaxConcurrentActivities int
	Identity                string // default host@pid
	// TempDir is where per-process spool directories live ("" = the
	// system temp dir).
	TempDir string
	// ServeURLs are serving endpoints PromoteModel notifies when an alias
	// moves; ServeToken is the bearer token they accept.
	ServeURLs  []string
	ServeToken string
	// AllowedEndpoints are the S3 endpoints import sources may be read
	// from with this worker's credentials (see storeurl.Allowlist); the
	// zero value allows none. `granary worker` and `granary dev` put the
	// lake's own endpoint on it.
	AllowedEndpoints storeurl.Allowlist
	// StallTimeout fails a long activity that moved nothing for this long
	// (0: activities.DefaultStallTimeout).
	StallTimeout time.Duration
}

// New returns a worker with every granary workflow and activity
// registered; call Start/Run on it.
func New(opts Options) (sdkworker.Worker, error) {
	if opts.Client == nil {
		return nil, errors.New("worker: a Temporal client is required")
	}
	if opts.Store == nil {
		return nil, errors.New("worker: a lake store is required")
	}
	if opts.TaskQueue == "" {
		opts.TaskQueue = workflows.TaskQueue
	}
	if opts.Identity == "" {
		opts.Identity = DefaultIdentity()
	}
	if opts.MaxConcurrentActivities <= 0 {
		opts.MaxConcurrentActivities = 4
	}
	tmp, _, err := spool.ProcessDir(opts.TempDir)
	if err != nil {
		return nil, err
	}
	w := sdkworker.New(opts.Client, opts.TaskQueue, sdkworker.Options{
		Identity:                           opts.Identity,
		MaxConcurrentActivityExecutionSize: opts.MaxConcurrentActivities,
	})
	acts := activities.New(opts.Store, opts.Identity)
	acts.TempDir = tmp
	acts.ServeURLs, acts.ServeToken = opts.ServeURLs, opts.ServeToken
	acts.AllowedEndpoints = opts.AllowedEndpoints
	acts.StallTimeout = opts.StallTimeout
	Register(w, acts)
	return w, nil
}

// Register adds every workflow and the activities to a registry; tests
// use it with the SDK's test environment so they exercise the same set.
func Register(r sdkworker.Registry, acts *activities.Activities) {
	RegisterWorkflows(r)
	r.RegisterActivity(acts)
}

// RegisterWorkflows registers every workflow under its stable name. The
// replay tests use it too, so a workflow missing here fails them.
func RegisterWorkflows(r sdkworker.WorkflowRegistry) {
	r.RegisterWorkflowWithOptions(workflows.LakeCheck, workflow.RegisterOptions{Name: workflows.LakeCheckWorkflowName})
	r.RegisterWorkflowWithOptions(workflows.LakeVerify, workflow.RegisterOptions{Name: workflows.LakeVerifyWorkflowName})
	r.RegisterWorkflowWithOptions(workflows.CommitDataset, workflow.RegisterOptions{Name: workflows.CommitDatasetWorkflowName})
	r.RegisterWorkflowWithOptions(workflows.ExtractFeatures, workflow.RegisterOptions{Name: workflows.ExtractWorkflowName})
	r.RegisterWorkflowWithOptions(workflows.BuildTrainingData, workflow.RegisterOptions{Name: workflows.BuildWorkflowName})
	r.RegisterWorkflowWithOptions(workflows.PromoteModel, workflow.RegisterOptions{Name: workflows.PromoteWorkflowName})
	r.RegisterWorkflowWithOptions(workflows.Materialize, workflow.RegisterOptions{Name: workflows.MaterializeWorkflowName})
	r.RegisterWorkflowWithOptions(workflows.RepointRefs, workflow.RegisterOptions{Name: workflows.RepointRefsWorkflowName})
	r.RegisterWorkflowWithOptions(workflows.RegisterModel, workflow.RegisterOptions{Name: workflows.RegisterModelWorkflowName})
	r.RegisterWorkflowWithOptions(workflows.ApplySpec, workflow.RegisterOptions{Name: workflows.ApplySpecWorkflowName})
	r.RegisterWorkflowWithOptions(workflows.GC, workflow.RegisterOptions{Name: workflows.GCWorkflowName})
}

// DefaultIdentity is host@pid, what operators see as the worker in the UI.
func DefaultIdentity() string {
	host, err := os.Hostname()
	if err != nil {
		host = "unknown-host"
	}
	return fmt.Sprintf("granary@%s:%d", host, os.Getpid())
}
