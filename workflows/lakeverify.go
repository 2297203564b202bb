package workflows

import (
	"strings"

	"go.temporal.io/sdk/workflow"

	"github.com/granaryml/granary/activities"
)

// LakeVerifyWorkflowName is the registered name; the CLI starts it by name.
const LakeVerifyWorkflowName = "LakeVerify"

// LakeVerify re-hashes every blob the lake's versions name and reports
// damage (and, with Repair, quarantines corrupt blobs). It runs as a
// workflow, not in the CLI, so that the only change it can make to the
// lake is recorded in `granary runs list` and the Temporal UI like every
// other, and so a long scrub survives the CLI going away: its activity
// heartbeats the blobs checked and a retry resumes after the last one.
// Damage is the result, not an error: the run completes and the CLI
// exits non-zero.
func LakeVerify(ctx workflow.Context, in activities.LakeVerifyInput) (activities.LakeVerifyResult, error) {
	if err := tagRun(ctx, "lakeverify", "lake"); err != nil {
		return activities.LakeVerifyResult{}, err
	}
	if in.Report == "" {
		id := workflow.GetInfo(ctx).WorkflowExecution.ID
		in.Report = activities.LakeVerifyReportPrefix + strings.NewReplacer("/", "_", "..", "_").Replace(id) + ".json"
	}
	var a *activities.Activities
	var res activities.LakeVerifyResult
	err := workflow.ExecuteActivity(scrubIO(ctx), a.LakeVerify, in).Get(ctx, &res)
	return res, err
}
