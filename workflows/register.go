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

// RegisterModelWorkflowName is the registered name of RegisterModel.
const RegisterModelWorkflowName = "RegisterModel"

// RegisterModelInput registers a model version whose artifact blobs the
// CLI has uploaded.
type RegisterModelInput struct {
	Model activities.CommitModelInput `json:"model"`
	// User is who asked (their OS user); Identity the Temporal client
	// identity they asked with. Neither changes the version or the id.
	User     string `json:"user,omitempty"`
	Identity string `json:"identity,omitempty"`
	Host     string `json:"host,omitempty"`
}

// RegisterModelResult is the registered version.
type RegisterModelResult struct {
	activities.CommitModelResult
	Name  string `json:"name"`
	Files int    `json:"files"`
}

// RegisterModelID is register/<model>/<digest of the version's content>:
// registering the same artifact, metrics and lineage again attaches to the
// run that registered it instead of writing a second audit event.
func RegisterModelID(in RegisterModelInput) string {
	b, _ := json.Marshal(in.Model)
	sum := sha256.Sum256(b)
	return fmt.Sprintf("register/%s/%s", in.Model.Name, hex.EncodeToString(sum[:])[:16])
}

// RegisterModel commits a model version's manifest and records who
// registered it in the model's audit trail.
func RegisterModel(ctx workflow.Context, in RegisterModelInput) (RegisterModelResult, error) {
	res := RegisterModelResult{Name: in.Model.Name, Files: len(in.Model.Files)}
	if err := tagRun(ctx, "register", in.Model.Name); err != nil {
		return res, err
	}
	if err := lake.ValidateName("model", in.Model.Name); err != nil {
		return res, temporal.NewNonRetryableApplicationError(err.Error(), activities.ErrTypeInvalidInput, nil)
	}
	if len(in.Model.Files) == 0 {
		return res, temporal.NewNonRetryableApplicationError(fmt.Sprintf("model %s: the artifact has no files", in.Model.Name), activities.ErrTypeInvalidInput, nil)
	}
	var a *activities.Activities
	if err := workflow.ExecuteActivity(shortIO(ctx), a.CommitModel, in.Model).Get(ctx, &res.CommitModelResult); err != nil {
		return res, err
	}
	if err := tagVersion(ctx, res.Version); err != nil {
		return res, err
	}
	detail := map[string]string{"artifact": string(res.Artifact), "files": fmt.Sprint(len(in.Model.Files))}
	if in.Identity != "" {
		detail["identity"] = in.Identity
	}
	// The event's time comes from the workflow, so a retried activity
	// writes the same key and the trail shows the registration once.
	e := lake.AuditEvent{At: workflow.Now(ctx).UTC(), Model: in.Model.Name, Version: res.Version, Step: "registered", Outcome: "ok",
		By: in.User, Detail: detail, Workflow: workflow.GetInfo(ctx).WorkflowExecution.ID}
	if err := workflow.ExecuteActivity(shortIO(ctx), a.RecordAudit, activities.AuditInput{Event: e}).Get(ctx, nil); err != nil {
		return res, err
	}
	return res, nil
}
