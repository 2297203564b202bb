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

// RepointRefsWorkflowName is the registered name of RepointRefs.
const RepointRefsWorkflowName = "RepointRefs"

// RefState is a ref as a caller read it: Seq counts its moves (0: the ref
// does not exist yet).
type RefState struct {
	Ref     string `json:"ref"`
	Seq     int64  `json:"seq"`
	Version string `json:"version,omitempty"`
}

// RepointRefsInput asks to point refs of a name at an existing version:
// what a launching command needs when it attached to a completed run
// (same inputs, same version, nothing to build) whose ref moves have
// since been overtaken.
type RepointRefsInput struct {
	Kind    lake.Kind `json:"kind"`
	Name    string    `json:"name"`
	Version string    `json:"version"`
	// Refs are the refs to move with the state the caller saw them in;
	// that state is part of the workflow id (see RepointRefsID).
	Refs []RefState `json:"refs"`
	// Repeats is the workflow id of the run that produced Version.
	Repeats string `json:"repeats,omitempty"`
	// Expect (a version) or ExpectAbsent make every move a compare-and-swap
	// on what the requester believes the ref holds, checked by the activity
	// at the moment of the move (`dataset tag --expect/--new`); without
	// them a ref moves from whatever it points at.
	Expect       string `json:"expect,omitempty"`
	ExpectAbsent bool   `json:"expect_absent,omitempty"`
	Reason       string `json:"reason,omitempty"`
	User         string `json:"user,omitempty"`
	Host         string `json:"host,omitempty"`
}

// RepointRefsResult lists each ref's move to the version (or, for a ref
// already there, the log entry of the move that put it there).
type RepointRefsResult struct {
	Kind     lake.Kind      `json:"kind"`
	Name     string         `json:"name"`
	Version  string         `json:"version"`
	Moves    []lake.RefMove `json:"moves"`
	Notified []string       `json:"notified,omitempty"`
}

// RepointRefsID is refs/<kind>/<name>/<digest of version and ref states>.
// The ref states make it a "ref generation": two launches that saw the
// refs alike share one run (a move is made once), while a later launch,
// after the refs moved again, is new work with a new id — never an attach
// to a run whose moves are no longer true.
//
// An expectation is part of the id (when given, so ids without one stay
// as they were): a launch whose expectation fails must not attach to a
// completed run that made the move under another expectation.
func RepointRefsID(in RepointRefsInput) string {
	b, _ := json.Marshal(struct {
		Kind         lake.Kind
		Name         string
		Version      string
		Refs         []RefState
		Expect       string `json:",omitempty"`
		ExpectAbsent bool   `json:",omitempty"`
	}{in.Kind, in.Name, in.Version, in.Refs, in.Expect, in.ExpectAbsent})
	sum := sha256.Sum256(b)
	return fmt.Sprintf("refs/%s/%s/%s", in.Kind, in.Name, hex.EncodeToString(sum[:])[:16])
}

// RepointRefs moves refs to a committed version by compare-and-swap (each
// move logged once, a retry only re-checks), and for a serving index tells
// serving to swap now. It commits no version: that is the run it repeats.
func RepointRefs(ctx workflow.Context, in RepointRefsInput) (RepointRefsResult, error) {
	res := RepointRefsResult{Kind: in.Kind, Name: in.Name, Version: in.Version}
	if err := tagRun(ctx, "refs", in.Name); err != nil {
		return res, err
	}
	if err := validateRepoint(in); err != nil {
		return res, err
	}
	if err := tagVersion(ctx, in.Version); err != nil {
		return res, err
	}
	refs := make([]string, len(in.Refs))
	for i, r := range in.Refs {
		refs[i] = r.Ref
	}
	var a *activities.Activities
	var moved activities.MoveRefsResult
	if err := workflow.ExecuteActivity(shortIO(ctx), a.MoveRefs, activities.MoveRefsInput{
		Kind: in.Kind, Name: in.Name, Version: in.Version, Refs: refs,
		Expect: in.Expect, ExpectAbsent: in.ExpectAbsent,
		By: in.User, Reason: in.Reason, Workflow: workflow.GetInfo(ctx).WorkflowExecution.ID,
	}).Get(ctx, &moved); err != nil {
		return res, err
	}
	res.Moves = moved.Moves
	if in.Kind == lake.KindIndex {
		// As in Materialize: serving also polls the refs, so a failed push
		// only delays the swap.
		var notified activities.NotifyResult
		notifyCtx := workflow.WithActivityOptions(ctx, notifyOptions)
		if err := workflow.ExecuteActivity(notifyCtx, a.NotifyServing, activities.NotifyInput{View: in.Name, Alias: refs[len(refs)-1], Version: in.Version}).Get(ctx, &notified); err != nil {
			workflow.GetLogger(ctx).Warn("serving not notified; it picks the index up at its next poll", "err", err)
		}
		res.Notified = notified.Notified
	}
	return res, nil
}

func validateRepoint(in RepointRefsInput) error {
	bad := func(err error) error {
		return temporal.NewNonRetryableApplicationError(err.Error(), activities.ErrTypeInvalidInput, nil)
	}
	// Model aliases move only through PromoteModel, past its gates.
	if in.Kind != lake.KindDataset && in.Kind != lake.KindIndex && in.Kind != lake.KindSpec {
		return bad(fmt.Errorf("refs of %q cannot be repointed (datasets, specs and serving indexes only)", in.Kind))
	}
	if err := lake.ValidateName("name", in.Name); err != nil {
		return bad(err)
	}
	if in.Version == "" || len(in.Refs) == 0 {
		return bad(fmt.Errorf("repoint of %s needs a version and at least one ref", in.Name))
	}
	for _, r := range in.Refs {
		if err := lake.ValidateName("ref", r.Ref); err != nil {
			return bad(err)
		}
	}
	return nil
}
