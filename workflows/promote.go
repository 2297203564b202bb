package workflows

import (
	"errors"
	"fmt"
	"time"

	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/workflow"

	"github.com/granaryml/granary/activities"
	"github.com/granaryml/granary/internal/lake"
)

// PromoteWorkflowName is the registered name of PromoteModel.
const PromoteWorkflowName = "PromoteModel"

// Signal and query names of PromoteModel.
const (
	PromoteRequestSignal = "promote"
	ApproveSignal        = "approve"
	RejectSignal         = "reject"
	PromoteStatusQuery   = "status"
)

// PromoteID is promote/<model>/<alias>: one workflow owns an alias, so
// promotions to it are serialized by construction — a second request is
// queued behind the running one (signal-with-start), never interleaved.
func PromoteID(model, alias string) string { return fmt.Sprintf("promote/%s/%s", model, alias) }

// PromoteInput starts an alias's promotion workflow; Queue carries
// requests across continue-as-new.
type PromoteInput struct {
	Model string                      `json:"model"`
	Alias string                      `json:"alias"`
	Queue []activities.PromoteRequest `json:"queue,omitempty"`
}

// Decision is the payload of the approve and reject signals.
type Decision struct {
	Version string `json:"version"`
	By      string `json:"by"`
	Comment string `json:"comment,omitempty"`
}

// PromoteOutcome is how one request ended.
type PromoteOutcome struct {
	Request  activities.PromoteRequest `json:"request"`
	Outcome  string                    `json:"outcome"` // promoted, gates_failed, rejected, timeout, failed, compensated
	From     string                    `json:"from,omitempty"`
	Detail   string                    `json:"detail,omitempty"`
	Gates    []activities.GateResult   `json:"gates,omitempty"`
	Decision *Decision                 `json:"decision,omitempty"`
}

// PromoteStatus answers PromoteStatusQuery.
type PromoteStatus struct {
	Model   string                      `json:"model"`
	Alias   string                      `json:"alias"`
	Current *activities.PromoteRequest  `json:"current,omitempty"`
	Step    string                      `json:"step"`
	Queue   []activities.PromoteRequest `json:"queue,omitempty"`
	Done    []PromoteOutcome            `json:"done,omitempty"`
	// seq numbers audit events so those written in one instant keep
	// their order.
	seq int
}

// maxRequestsPerRun bounds one run's history; the rest continue as new.
const maxRequestsPerRun = 50

// PromoteModel owns one model alias. For each queued request: verify the
// artifact and lineage, evaluate gates against the champion, wait for an
// approval if asked (durably: a worker restart does not lose the wait),
// move the alias by compare-and-swap, notify serving, and if notifying
// fails, move the alias back. Every step is an audit event.
func PromoteModel(ctx workflow.Context, in PromoteInput) ([]PromoteOutcome, error) {
	if err := tagRun(ctx, "promote", in.Model); err != nil {
		return nil, err
	}
	st := PromoteStatus{Model: in.Model, Alias: in.Alias, Step: "idle", Queue: in.Queue}
	if err := workflow.SetQueryHandler(ctx, PromoteStatusQuery, func() (PromoteStatus, error) { return st, nil }); err != nil {
		return nil, err
	}
	requests := workflow.GetSignalChannel(ctx, PromoteRequestSignal)
	approvals := workflow.GetSignalChannel(ctx, ApproveSignal)
	rejections := workflow.GetSignalChannel(ctx, RejectSignal)
	drain := func() {
		for {
			var r activities.PromoteRequest
			if !requests.ReceiveAsync(&r) {
				return
			}
			st.Queue = append(st.Queue, r)
		}
	}
	processed := 0
	for {
		drain()
		if len(st.Queue) == 0 {
			st.Step = "idle"
			return st.Done, nil
		}
		if processed >= maxRequestsPerRun {
			return st.Done, workflow.NewContinueAsNewError(ctx, PromoteModel, PromoteInput{Model: in.Model, Alias: in.Alias, Queue: st.Queue})
		}
		req := st.Queue[0]
		st.Queue = st.Queue[1:]
		st.Current = &req
		out := promoteOne(ctx, req, &st, approvals, rejections)
		st.Current = nil
		st.Done = append(st.Done, out)
		processed++
	}
}

func promoteOne(ctx workflow.Context, req activities.PromoteRequest, st *PromoteStatus, approvals, rejections workflow.ReceiveChannel) PromoteOutcome {
	var a *activities.Activities
	info := workflow.GetInfo(ctx)
	out := PromoteOutcome{Request: req}
	audit := func(step, outcome, comment string, detail map[string]string) {
		st.Step = step
		e := lake.AuditEvent{
			At: workflow.Now(ctx).UTC(), Model: req.Model, Version: req.Version, Alias: req.Alias, Request: req.ID,
			Step: step, Outcome: outcome, By: req.By, Comment: comment, Detail: detail, Workflow: info.WorkflowExecution.ID,
		}
		st.seq++
		e.Seq = st.seq
		// Audit writes are idempotent by key; a failure here must not lose
		// the promotion's real outcome, so it is retried, then logged.
		if err := workflow.ExecuteActivity(shortIO(ctx), a.RecordAudit, activities.AuditInput{Event: e}).Get(ctx, nil); err != nil {
			workflow.GetLogger(ctx).Error("audit event not recorded", "step", step, "error", err)
		}
	}
	fail := func(step, outcome string, err error) PromoteOutcome {
		out.Outcome, out.Detail = outcome, describe(err)
		audit(step, outcome, out.Detail, nil)
		return out
	}
	kind := "promotion"
	if req.Rollback {
		kind = "rollback"
	}
	audit("requested", "ok", req.Reason, map[string]string{"kind": kind})

	var verified activities.VerifyModelResult
	if err := workflow.ExecuteActivity(longIO(ctx), a.VerifyModel, activities.VerifyModelInput{Model: req.Model, Version: req.Version}).Get(ctx, &verified); err != nil {
		return fail("verify", "failed", err)
	}
	audit("verify", "ok", "", map[string]string{"files": fmt.Sprint(verified.Files), "bytes": fmt.Sprint(verified.Bytes)})

	var champ activities.ChampionResult
	if err := workflow.ExecuteActivity(shortIO(ctx), a.ReadChampion, activities.ChampionInput{Model: req.Model, Alias: req.Alias}).Get(ctx, &champ); err != nil {
		return fail("champion", "failed", err)
	}
	out.From = champ.Version
	if champ.Version == req.Version {
		out.Outcome, out.Detail = "promoted", "already the alias's version"
		audit("alias", "ok", out.Detail, nil)
		return out
	}

	if len(req.Gates) > 0 && !req.Rollback {
		var champion map[string]float64
		if champ.Version != "" {
			champion = champ.Metrics
			if champion == nil {
				champion = map[string]float64{}
			}
		}
		var gates activities.GatesResult
		if err := workflow.ExecuteActivity(shortIO(ctx), a.EvaluateGates, activities.GatesInput{Gates: req.Gates, Candidate: verified.Metrics, Champion: champion}).Get(ctx, &gates); err != nil {
			return fail("gates", "failed", err)
		}
		out.Gates = gates.Results
		detail := map[string]string{}
		for _, g := range gates.Results {
			verdict := "passed"
			if g.Skipped {
				verdict = "skipped (no champion)"
			} else if !g.Passed {
				verdict = "failed"
			}
			detail[g.Gate] = verdict + ": " + g.Detail
		}
		if !gates.Passed {
			out.Outcome = "gates_failed"
			audit("gates", "failed", "", detail)
			return out
		}
		audit("gates", "ok", "", detail)
	}

	if req.RequireApproval {
		audit("approval", "waiting", "", map[string]string{"timeout": req.ApprovalTimeout.String()})
		d, outcome := awaitDecision(ctx, req, approvals, rejections)
		out.Decision = d
		switch outcome {
		case "approved":
			st.Step = "approval"
			st.seq++
			auditBy(ctx, a, req, st.seq, "approval", "approved", d)
		case "rejected":
			st.seq++
			auditBy(ctx, a, req, st.seq, "approval", "rejected", d)
			out.Outcome = "rejected"
			return out
		default:
			out.Outcome = "timeout"
			audit("approval", "timeout", fmt.Sprintf("no decision within %s", req.ApprovalTimeout), nil)
			return out
		}
	}

	var moved activities.MoveAliasResult
	if err := workflow.ExecuteActivity(shortIO(ctx), a.MoveAlias, activities.MoveAliasInput{
		Model: req.Model, Alias: req.Alias, From: champ.Version, To: req.Version, By: req.By, Reason: kind + ": " + req.Reason, Workflow: info.WorkflowExecution.ID,
	}).Get(ctx, &moved); err != nil {
		return fail("alias", "failed", err)
	}
	audit("alias", "ok", "", map[string]string{"from": champ.Version, "to": req.Version})
	_ = tagVersion(ctx, req.Version)

	notifyCtx := workflow.WithActivityOptions(ctx, workflow.ActivityOptions{
		StartToCloseTimeout: 30 * time.Second,
		RetryPolicy:         &temporal.RetryPolicy{InitialInterval: time.Second, BackoffCoefficient: 2, MaximumAttempts: 5},
	})
	if err := workflow.ExecuteActivity(notifyCtx, a.NotifyServing, activities.NotifyInput{Model: req.Model, Alias: req.Alias, Version: req.Version}).Get(ctx, nil); err != nil {
		audit("notify", "failed", describe(err), nil)
		// Compensate: production must not point at a version serving was
		// never told about. Move the alias back to the previous holder.
		back := activities.MoveAliasInput{Model: req.Model, Alias: req.Alias, From: req.Version, To: champ.Version, By: "granary", Reason: "compensation: notify failed", Workflow: info.WorkflowExecution.ID}
		if champ.Version == "" {
			out.Outcome, out.Detail = "failed", "serving was not notified; the alias had no previous version to restore: "+describe(err)
			audit("compensate", "failed", out.Detail, nil)
			return out
		}
		if cerr := workflow.ExecuteActivity(shortIO(ctx), a.MoveAlias, back).Get(ctx, nil); cerr != nil {
			out.Outcome, out.Detail = "failed", "compensation failed: "+describe(cerr)
			audit("compensate", "failed", out.Detail, nil)
			return out
		}
		out.Outcome, out.Detail = "compensated", "serving was not notified, alias moved back to "+lake.ShortID(champ.Version)
		audit("compensate", "compensated", out.Detail, map[string]string{"restored": champ.Version})
		return out
	}
	audit("notify", "ok", "", nil)
	out.Outcome = "promoted"
	audit("done", "promoted", req.Reason, map[string]string{"from": champ.Version, "to": req.Version})
	return out
}

func auditBy(ctx workflow.Context, a *activities.Activities, req activities.PromoteRequest, seq int, step, outcome string, d *Decision) {
	e := lake.AuditEvent{
		At: workflow.Now(ctx).UTC(), Seq: seq, Model: req.Model, Version: req.Version, Alias: req.Alias, Request: req.ID,
		Step: step, Outcome: outcome, Workflow: workflow.GetInfo(ctx).WorkflowExecution.ID,
	}
	if d != nil {
		e.By, e.Comment = d.By, d.Comment
	}
	if err := workflow.ExecuteActivity(shortIO(ctx), a.RecordAudit, activities.AuditInput{Event: e}).Get(ctx, nil); err != nil {
		workflow.GetLogger(ctx).Error("audit event not recorded", "step", step, "error", err)
	}
}

// awaitDecision waits durably for an approve or reject signal naming this
// request's version, or the timeout. Decisions for other versions (a
// stale approval) are ignored.
func awaitDecision(ctx workflow.Context, req activities.PromoteRequest, approvals, rejections workflow.ReceiveChannel) (*Decision, string) {
	timeout := req.ApprovalTimeout
	if timeout <= 0 {
		timeout = 72 * time.Hour
	}
	tctx, cancel := workflow.WithCancel(ctx)
	defer cancel()
	timer := workflow.NewTimer(tctx, timeout)
	for {
		var d Decision
		outcome := ""
		sel := workflow.NewSelector(ctx)
		sel.AddReceive(approvals, func(c workflow.ReceiveChannel, _ bool) {
			c.Receive(ctx, &d)
			outcome = "approved"
		})
		sel.AddReceive(rejections, func(c workflow.ReceiveChannel, _ bool) {
			c.Receive(ctx, &d)
			outcome = "rejected"
		})
		sel.AddFuture(timer, func(workflow.Future) { outcome = "timeout" })
		sel.Select(ctx)
		if outcome == "timeout" {
			return nil, outcome
		}
		if d.Version == req.Version || (d.Version != "" && len(d.Version) >= lake.MinPrefix && len(d.Version) <= len(req.Version) && req.Version[:len(d.Version)] == d.Version) {
			return &d, outcome
		}
	}
}

// describe reduces an activity failure to its root message.
func describe(err error) string {
	var app *temporal.ApplicationError
	if errors.As(err, &app) {
		return app.Message()
	}
	return err.Error()
}
