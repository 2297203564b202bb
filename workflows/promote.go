package workflows

import (
	"errors"
	"fmt"
	"strings"
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
	// By is the decider's OS user, as the CLI found it.
	By      string `json:"by"`
	Comment string `json:"comment,omitempty"`
	// Identity is the decider's Temporal client identity.
	Identity string `json:"identity,omitempty"`
	// Claimed is a --by that differs from By: kept as a note, never as
	// the decider.
	Claimed string `json:"claimed,omitempty"`
}

// PromoteOutcome is how one request ended.
type PromoteOutcome struct {
	Request  activities.PromoteRequest `json:"request"`
	Outcome  string                    `json:"outcome"` // promoted, gates_failed, rejected, timeout, failed, compensated
	From     string                    `json:"from,omitempty"`
	Detail   string                    `json:"detail,omitempty"`
	Gates    []activities.GateResult   `json:"gates,omitempty"`
	Decision *Decision                 `json:"decision,omitempty"`
	// Policy is what the lake's specs demanded of this promotion.
	Policy *activities.PolicyResult `json:"policy,omitempty"`
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
	requested := map[string]string{"kind": kind}
	if req.Identity != "" {
		requested["identity"] = req.Identity
	}
	audit("requested", "ok", req.Reason, requested)

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

	// What the request asks for, raised to what the alias's policy
	// demands: the requester can add checks, never remove them.
	gates, requireApproval, timeout, noChampion := req.Gates, req.RequireApproval, req.ApprovalTimeout, ""
	skipChecks, skipApproval := req.Rollback, false
	if workflow.GetVersion(ctx, policyChange, workflow.DefaultVersion, 1) >= 1 {
		var pol activities.PolicyResult
		if err := workflow.ExecuteActivity(shortIO(ctx), a.ReadPromotionPolicy, activities.PolicyInput{Model: req.Model, Alias: req.Alias, Version: req.Version}).Get(ctx, &pol); err != nil {
			return fail("policy", "failed", err)
		}
		out.Policy = &pol
		gates = activities.MergeGates(req.Gates, pol.Gates)
		requireApproval = req.RequireApproval || pol.RequireApproval
		if pol.ApprovalTimeout > 0 {
			timeout = pol.ApprovalTimeout
		}
		noChampion = pol.NoChampion
		// Only a version that has held the alias was checked for it; a
		// rollback to any other is a promotion under another name.
		skipChecks = req.Rollback && pol.HeldBefore
		skipApproval = skipChecks
		if len(pol.Sources) > 0 || req.Rollback {
			audit("policy", policyOutcome(pol), "", policyDetail(req, pol, skipChecks))
		}
	}

	if len(gates) > 0 && !skipChecks {
		var champion map[string]float64
		if champ.Version != "" {
			champion = champ.Metrics
			if champion == nil {
				champion = map[string]float64{}
			}
		}
		var verdicts activities.GatesResult
		if err := workflow.ExecuteActivity(shortIO(ctx), a.EvaluateGates, activities.GatesInput{Gates: gates, Candidate: verified.Metrics, Champion: champion, NoChampion: noChampion}).Get(ctx, &verdicts); err != nil {
			return fail("gates", "failed", err)
		}
		out.Gates = verdicts.Results
		detail := map[string]string{}
		for _, g := range verdicts.Results {
			verdict := "passed"
			if g.Skipped {
				verdict = "skipped (no champion)"
			} else if !g.Passed {
				verdict = "failed"
			}
			detail[g.Gate] = verdict + ": " + g.Detail
		}
		if !verdicts.Passed {
			out.Outcome = "gates_failed"
			audit("gates", "failed", "", detail)
			return out
		}
		audit("gates", "ok", "", detail)
	}

	if requireApproval && !skipApproval {
		audit("approval", "waiting", "", map[string]string{"timeout": timeout.String()})
		d, outcome := awaitDecision(ctx, req, timeout, approvals, rejections)
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
			audit("approval", "timeout", fmt.Sprintf("no decision within %s", timeout), nil)
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
		if d.Identity != "" || d.Claimed != "" {
			e.Detail = map[string]string{}
			if d.Identity != "" {
				e.Detail["identity"] = d.Identity
			}
			if d.Claimed != "" {
				e.Detail["claimed_by"] = d.Claimed
			}
		}
	}
	if err := workflow.ExecuteActivity(shortIO(ctx), a.RecordAudit, activities.AuditInput{Event: e}).Get(ctx, nil); err != nil {
		workflow.GetLogger(ctx).Error("audit event not recorded", "step", step, "error", err)
	}
}

// awaitDecision waits durably for an approve or reject signal naming this
// request's version, or the timeout. Decisions for other versions (a
// stale approval) are ignored.
func awaitDecision(ctx workflow.Context, req activities.PromoteRequest, timeout time.Duration, approvals, rejections workflow.ReceiveChannel) (*Decision, string) {
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

// policyChange versions PromoteModel's reading of the promotion policy
// (and the rollback rule that depends on it): histories recorded before
// it replay without the ReadPromotionPolicy activity.
const policyChange = "promotion-policy"

func policyOutcome(p activities.PolicyResult) string {
	if len(p.Sources) == 0 {
		return "none"
	}
	return "ok"
}

// policyDetail records, for the audit trail, what was demanded and why
// checks were skipped, if they were.
func policyDetail(req activities.PromoteRequest, p activities.PolicyResult, skipChecks bool) map[string]string {
	d := map[string]string{}
	if len(p.Sources) > 0 {
		d["from"] = strings.Join(p.Sources, ",")
		d["require_approval"] = fmt.Sprint(p.RequireApproval)
		d["gates"] = fmt.Sprint(len(p.Gates))
		if p.ApprovalTimeout > 0 {
			d["approval_timeout"] = p.ApprovalTimeout.String()
		}
		if p.NoChampion != "" {
			d["no_champion"] = p.NoChampion
		}
	}
	switch {
	case skipChecks:
		d["checks"] = "skipped: rollback to a version that held the alias before"
	case req.Rollback:
		d["checks"] = "applied: rollback to a version that never held the alias"
	}
	return d
}

// describe reduces an activity failure to its root message.
func describe(err error) string {
	var app *temporal.ApplicationError
	if errors.As(err, &app) {
		return app.Message()
	}
	return err.Error()
}
