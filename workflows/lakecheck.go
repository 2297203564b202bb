package workflows

import (
	"go.temporal.io/sdk/workflow"

	"github.com/granaryml/granary/activities"
)

// LakeCheckWorkflowName is the registered name; the CLI starts it by name.
const LakeCheckWorkflowName = "LakeCheck"

// LakeCheck proves the whole stack works end to end: the CLI reaches
// Temporal, a worker picks up the task, and that worker can write, read
// and delete in the lake. It is the first thing to run on a new cluster.
func LakeCheck(ctx workflow.Context, in activities.LakeCheckInput) (activities.LakeCheckResult, error) {
	if err := tagRun(ctx, "lakecheck", "lake"); err != nil {
		return activities.LakeCheckResult{}, err
	}
	if in.Probe == "" {
		in.Probe = workflow.GetInfo(ctx).WorkflowExecution.ID
	}
	var a *activities.Activities
	var res activities.LakeCheckResult
	err := workflow.ExecuteActivity(shortIO(ctx), a.LakeCheck, in).Get(ctx, &res)
	return res, err
}
