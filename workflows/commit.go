package workflows

import (
	"go.temporal.io/sdk/workflow"

	"github.com/granaryml/granary/activities"
	"github.com/granaryml/granary/internal/lake"
)

// publish is the tail every producing workflow shares: column statistics
// over the new files, the manifest commit (PutIfAbsent, so a retry or a
// rerun is a no-op), the run's GranaryVersion search attribute, and the
// compare-and-swap of each ref. phase reports progress to the caller's
// query handler.
func publish(ctx workflow.Context, in activities.CommitVersionInput, refs []string, reason string, phase func(string)) (activities.CommitVersionResult, []lake.RefMove, error) {
	var a *activities.Activities
	info := workflow.GetInfo(ctx)
	in.Workflow, in.RunID = info.WorkflowExecution.ID, info.WorkflowExecution.RunID

	if in.Stats == nil { // callers that already have them skip a pass over the data
		phase("stats")
		var stats activities.ComputeStatsResult
		if err := workflow.ExecuteActivity(longIO(ctx), a.ComputeStats, activities.ComputeStatsInput{Schema: in.Schema, Files: in.Files}).Get(ctx, &stats); err != nil {
			return activities.CommitVersionResult{}, nil, err
		}
		in.Stats = stats.Stats
	}

	phase("commit")
	var committed activities.CommitVersionResult
	if err := workflow.ExecuteActivity(shortIO(ctx), a.CommitVersion, in).Get(ctx, &committed); err != nil {
		return committed, nil, err
	}
	if err := tagVersion(ctx, committed.Version); err != nil {
		return committed, nil, err
	}

	phase("refs")
	var moved activities.MoveRefsResult
	if err := workflow.ExecuteActivity(shortIO(ctx), a.MoveRefs, activities.MoveRefsInput{
		Kind: in.Kind, Name: in.Name, Version: committed.Version, Refs: refs,
		By: in.User, Reason: reason, Workflow: info.WorkflowExecution.ID,
	}).Get(ctx, &moved); err != nil {
		return committed, nil, err
	}
	phase("done")
	return committed, moved.Moves, nil
}
