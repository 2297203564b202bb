package workflows

import (
	"time"

	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/workflow"
)

// TaskQueue is the queue every granary worker polls and every granary
// workflow and activity runs on.
const TaskQueue = "granary"

// shortIO is for activities that touch a few small objects: they either
// finish in seconds or the lake is unreachable, in which case retrying
// with backoff for a while is exactly what an operator wants. They do not
// heartbeat, so their start-to-close timeout is what notices a dead
// worker: keep it at the 20 seconds longIO's heartbeat timeout promises.
func shortIO(ctx workflow.Context) workflow.Context {
	return workflow.WithActivityOptions(ctx, workflow.ActivityOptions{
		StartToCloseTimeout: 20 * time.Second,
		RetryPolicy: &temporal.RetryPolicy{
			InitialInterval:    time.Second,
			BackoffCoefficient: 2,
			MaximumInterval:    30 * time.Second,
			MaximumAttempts:    10,
		},
	})
}

// heartbeatTimeout is how long the server waits for a heartbeat before it
// declares a long activity's worker dead and retries elsewhere. Watched
// activities heartbeat every 3 s while they make progress (see
// activities.DefaultStallTimeout for how a stalled one fails), so this is
// what bounds noticing a dead worker: well under a minute.
const heartbeatTimeout = 20 * time.Second

// scrubIO is for lake verify and gc: one activity visits every blob,
// which on a big lake takes longer than longIO allows; heartbeats (and the
// stall timeout) are what notice it is stuck, and a retry resumes after
// the last blob checked (verify) or starts over (gc, idempotent).
func scrubIO(ctx workflow.Context) workflow.Context {
	return workflow.WithActivityOptions(ctx, workflow.ActivityOptions{
		StartToCloseTimeout: 7 * 24 * time.Hour,
		HeartbeatTimeout:    heartbeatTimeout,
		RetryPolicy: &temporal.RetryPolicy{
			InitialInterval:    time.Second,
			BackoffCoefficient: 2,
			MaximumInterval:    time.Minute,
			MaximumAttempts:    20,
		},
	})
}

// notifyOptions is for pushing an alias move to serving: a few quick
// tries, since serving also finds the move by polling.
var notifyOptions = workflow.ActivityOptions{
	StartToCloseTimeout: 30 * time.Second,
	RetryPolicy:         &temporal.RetryPolicy{InitialInterval: time.Second, BackoffCoefficient: 2, MaximumAttempts: 5},
}
