package workflows

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"

	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/workflow"

	"github.com/granaryml/granary/activities"
	"github.com/granaryml/granary/internal/lake"
)

// ApplySpecWorkflowName is the registered name of ApplySpec.
const ApplySpecWorkflowName = "ApplySpec"

// ApplySpecInput makes an uploaded spec file the project's current spec.
type ApplySpecInput struct {
	activities.CommitSpecInput
	User string `json:"user,omitempty"`
	Host string `json:"host,omitempty"`
}

// ApplySpecResult is the committed spec version and the move of latest.
type ApplySpecResult struct {
	activities.CommitSpecResult
	Project string       `json:"project"`
	Move    lake.RefMove `json:"move"`
}

// ApplySpecID is spec/<project>/<digest of the spec blob and file name>:
// applying the same file again attaches to the run that applied it (the
// CLI then moves latest back with RepointRefs if another spec was
// applied since, as a repeated import does).
func ApplySpecID(in ApplySpecInput) string {
	b, _ := json.Marshal(in.CommitSpecInput)
	sum := sha256.Sum256(b)
	return fmt.Sprintf("spec/%s/%s", in.Project, hex.EncodeToString(sum[:])[:16])
}

// ApplySpec commits a spec version and moves the project's latest to it
// (compare-and-swap, logged with who and why).
func ApplySpec(ctx workflow.Context, in ApplySpecInput) (ApplySpecResult, error) {
	res := ApplySpecResult{Project: in.Project}
	if err := tagRun(ctx, "spec", in.Project); err != nil {
		return res, err
	}
	if err := lake.ValidateName("spec", in.Project); err != nil {
		return res, temporal.NewNonRetryableApplicationError(err.Error(), activities.ErrTypeInvalidInput, nil)
	}
	var a *activities.Activities
	if err := workflow.ExecuteActivity(shortIO(ctx), a.CommitSpec, in.CommitSpecInput).Get(ctx, &res.CommitSpecResult); err != nil {
		return res, err
	}
	if err := tagVersion(ctx, res.Version); err != nil {
		return res, err
	}
	var moved activities.MoveRefsResult
	if err := workflow.ExecuteActivity(shortIO(ctx), a.MoveRefs, activities.MoveRefsInput{
		Kind: lake.KindSpec, Name: in.Project, Version: res.Version, Refs: []string{"latest"},
		By: in.User, Reason: "apply " + in.File, Workflow: workflow.GetInfo(ctx).WorkflowExecution.ID,
	}).Get(ctx, &moved); err != nil {
		return res, err
	}
	if len(moved.Moves) == 1 {
		res.Move = moved.Moves[0]
	}
	return res, nil
}
