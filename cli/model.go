package cli

import (
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"text/tabwriter"
	"time"

	ucli "github.com/urfave/cli/v2"
	"go.temporal.io/api/enums/v1"
	"go.temporal.io/sdk/client"

	"github.com/granaryml/granary/activities"
	"github.com/granaryml/granary/internal/lake"
	"github.com/granaryml/granary/internal/modelgate"
	"github.com/granaryml/granary/workflows"
)

func modelCommand() *ucli.Command {
	return &ucli.Command{
		Name:  "model",
		Usage: "register model artifacts and promote them to aliases through audited workflows",
		Description: `Models live in the lake like datasets: each version's manifest names its
artifact files (content-addressed), metrics, parameters and the training-set
version it was trained on. Aliases (prod, staging, ...) move only through
PromoteModel: one workflow per alias, so promotions to it are serialized.`,
		Subcommands: []*ucli.Command{
			modelRegisterCommand(),
			modelPromoteCommand(),
			modelDecisionCommand("approve", "approved", workflows.ApproveSignal),
			modelDecisionCommand("reject", "rejected", workflows.RejectSignal),
			modelStatusCommand(),
			modelRollbackCommand(),
			modelHistoryCommand(),
			modelListCommand(),
			modelShowCommand(),
			modelDownloadCommand(),
		},
	}
}

type registerOutput struct {
	Name     string             `json:"name"`
	Version  string             `json:"version"`
	Artifact lake.Digest        `json:"artifact"`
	Files    int                `json:"files"`
	Bytes    int64              `json:"bytes"`
	Metrics  map[string]float64 `json:"metrics,omitempty"`
	Created  bool               `json:"created"`
	runRef
}

func modelRegisterCommand() *ucli.Command {
	return &ucli.Command{
		Name:      "register",
		Usage:     "upload a model artifact (file or directory) with metrics and lineage; prints the version",
		ArgsUsage: "NAME ARTIFACT",
		Description: `Examples:
   granary model register churn model.onnx --metrics metrics.json --dataset training.churn@latest
   granary model register churn ./export/ --param lr=0.01 --param depth=6 --framework xgboost`,
		Flags: []ucli.Flag{
			&ucli.StringFlag{Name: "metrics", Usage: "JSON `FILE` of metric name -> number, e.g. {\"auc\": 0.83}"},
			&ucli.StringSliceFlag{Name: "param", Usage: "training parameter `k=v` (repeatable)"},
			&ucli.StringFlag{Name: "dataset", Usage: "training-set version `NAME@REF` the model was trained on (must exist)"},
			&ucli.StringFlag{Name: "framework", Usage: "framework/format, e.g. onnx, xgboost, torchscript"},
		},
		Action: func(c *ucli.Context) error {
			if c.NArg() != 2 {
				return usagef("model register takes NAME and ARTIFACT")
			}
			p, l, err := printerAndLake(c)
			if err != nil {
				return err
			}
			name, artifact := c.Args().Get(0), c.Args().Get(1)
			if err := lake.ValidateName("model", name); err != nil {
				return err
			}
			metrics := map[string]float64{}
			if f := c.String("metrics"); f != "" {
				if metrics, err = readMetrics(f); err != nil {
					return err
				}
			}
			params := map[string]string{}
			for _, kv := range c.StringSlice("param") {
				k, v, ok := strings.Cut(kv, "=")
				if !ok || k == "" {
					return usagef("--param %q: want k=v", kv)
				}
				params[k] = v
			}
			in := workflows.RegisterModelInput{User: actor(), Identity: temporalIdentity(), Host: hostname(),
				Model: activities.CommitModelInput{Name: name, Framework: c.String("framework"), Metrics: metrics, Params: params}}
			if ds := c.String("dataset"); ds != "" {
				dsName, ref := lake.SplitRef(ds)
				id, err := l.Resolve(c.Context, lake.KindDataset, dsName, ref)
				if err != nil {
					return fmt.Errorf("--dataset: %w", err)
				}
				in.Model.TrainingSet = &lake.Input{Role: "training_set", Kind: lake.KindDataset, Name: dsName, Version: id}
			}
			// Blobs go up from here (content-addressed, nothing is visible
			// until a manifest names them); the commit is the workflow's.
			if in.Model.Files, err = uploadArtifact(c, l, artifact, p); err != nil {
				return err
			}
			tc, err := dialTemporal(c.Context, c)
			if err != nil {
				return err
			}
			defer tc.Close()
			run, err := startOrAttach(c.Context, tc, workflows.RegisterModelID(in), workflows.RegisterModelWorkflowName, in)
			if err != nil {
				return err
			}
			out := registerOutput{Name: name, Files: len(in.Model.Files), Metrics: metrics}
			out.announce(c, p, run, "registration", fmt.Sprintf("registering %s (%s)\n", name, counted(out.Files, "file")))
			var res workflows.RegisterModelResult
			if err := run.Get(c.Context, &res); err != nil {
				return runFailed("registration of model "+name+" failed", out.URL, err)
			}
			// A repeat that attached created nothing: the run it follows did.
			out.Version, out.Artifact, out.Bytes, out.Created = res.Version, res.Artifact, res.Bytes, res.Created && !run.Attached
			return p.result(out, func(w io.Writer) {
				fprintf(w, "%s@%s\n  %s, %s, artifact %s\n  run: %s\n", name, out.Version, counted(out.Files, "file"), humanBytes(out.Bytes), out.Artifact, out.URL)
				if !out.Created {
					fprintf(w, "  (identical to an existing version)\n")
				}
			})
		},
	}
}

var metricName = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*$`)

func readMetrics(path string) (map[string]float64, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("--metrics: %w", err)
	}
	var raw map[string]any
	if err := json.Unmarshal(b, &raw); err != nil {
		return nil, fmt.Errorf("--metrics %s: not a JSON object of numbers: %v", path, err)
	}
	out := make(map[string]float64, len(raw))
	for k, v := range raw {
		f, ok := v.(float64)
		if !ok {
			return nil, fmt.Errorf("--metrics %s: metric %q is %v, not a number", path, k, v)
		}
		if !metricName.MatchString(k) {
			return nil, fmt.Errorf("--metrics %s: metric name %q must be letters, digits and '_' (gates use it as an identifier)", path, k)
		}
		out[k] = f
	}
	return out, nil
}

// uploadArtifact uploads a file, or every regular file under a directory
// (sorted by path), content-addressed.
func uploadArtifact(c *ucli.Context, l *lake.Lake, path string, p printer) ([]lake.File, error) {
	st, err := os.Stat(path)
	if err != nil {
		return nil, fmt.Errorf("artifact: %w", err)
	}
	var paths []string
	root := filepath.Dir(path)
	if st.IsDir() {
		root = path
		err = filepath.WalkDir(path, func(p string, d fs.DirEntry, err error) error {
			if err != nil {
				return err
			}
			if d.Type().IsRegular() {
				paths = append(paths, p)
			}
			return nil
		})
		if err != nil {
			return nil, fmt.Errorf("artifact: %w", err)
		}
		if len(paths) == 0 {
			return nil, fmt.Errorf("artifact %s: directory has no files", path)
		}
	} else {
		paths = []string{path}
	}
	slices.Sort(paths)
	var files []lake.File
	for _, fp := range paths {
		rel, _ := filepath.Rel(root, fp)
		p.infof("uploading %s\n", fp)
		d, size, _, err := l.PutBlobFile(c.Context, fp)
		if err != nil {
			return nil, fmt.Errorf("upload %s: %w", fp, err)
		}
		files = append(files, lake.File{Digest: d, Bytes: size, Partition: filepath.ToSlash(rel)})
	}
	return files, nil
}

type promoteOutput struct {
	Model      string                    `json:"model"`
	Version    string                    `json:"version"`
	Alias      string                    `json:"alias"`
	Request    string                    `json:"request"`
	WorkflowID string                    `json:"workflow_id"`
	URL        string                    `json:"url"`
	Queued     int                       `json:"queued_behind"`
	Outcome    *workflows.PromoteOutcome `json:"outcome,omitempty"`
}

func modelPromoteCommand() *ucli.Command {
	return &ucli.Command{
		Name:      "promote",
		Usage:     "promote a version to an alias: verify, gates, optional approval, CAS move, notify",
		ArgsUsage: "NAME@VERSION",
		Description: `Gates are expr-lang expressions over the candidate's metrics and the current
alias holder's (champion.<metric>). With no champion yet, the parts of a gate
that do not read it still decide it: 'auc >= 0.8 && auc >= champion.auc' fails
a candidate with auc 0.1, and passes one with auc 0.9 with the champion part
skipped (or failed, if the alias's policy says no_champion: fail).

A promotion policy in the spec applied to the lake (features apply; a models:
section) adds its gates and approval to every promotion to its alias; the
flags here can add checks, never remove them. The audit trail records your
OS user and Temporal identity as the requester.

Promotions to one alias run one at a time: a request made while another runs
is queued behind it (you are told which).

Examples:
   granary model promote churn@3f2a9c1e --to prod --gate 'auc >= 0.8' --gate 'auc >= champion.auc - 0.01' --wait
   granary model promote churn@3f2a9c1e --to prod --require-approval --approval-timeout 72h
   granary model approve churn@3f2a9c1e --alias prod --comment "offline eval ok"`,
		Flags: []ucli.Flag{
			&ucli.StringFlag{Name: "to", Required: true, Usage: "target `ALIAS`"},
			&ucli.StringSliceFlag{Name: "gate", Usage: "gate `EXPR` that must hold (repeatable)"},
			&ucli.BoolFlag{Name: "require-approval", Usage: "wait for granary model approve/reject"},
			&ucli.DurationFlag{Name: "approval-timeout", Value: 72 * time.Hour, Usage: "give up waiting for approval after `DURATION`"},
			&ucli.StringFlag{Name: "reason", Usage: "why, recorded in the audit trail"},
			&ucli.BoolFlag{Name: "wait", Usage: "wait until the promotion ends"},
		},
		Action: func(c *ucli.Context) error {
			if c.NArg() != 1 {
				return usagef("model promote takes one NAME@VERSION")
			}
			return startPromotion(c, c.Args().First(), c.String("to"), false)
		},
	}
}

func startPromotion(c *ucli.Context, target, alias string, rollback bool) error {
	p, l, err := printerAndLake(c)
	if err != nil {
		return err
	}
	name, ref := lake.SplitRef(target)
	if err := lake.ValidateName("alias", alias); err != nil {
		return err
	}
	id, m, err := l.ResolveManifest(c.Context, lake.KindModel, name, ref)
	if err != nil {
		return err
	}
	metrics := map[string]float64{}
	if m.Artifact != nil && m.Artifact.Metrics != nil {
		metrics = m.Artifact.Metrics
	}
	var gates []string
	if !rollback {
		gates = c.StringSlice("gate")
		for _, g := range gates {
			if err := modelgate.Check(g, metrics); err != nil {
				return err
			}
		}
	}
	// The workflow reads and enforces the alias's policy itself; reading it
	// here too says what the request will go through, and fails now on a
	// policy gate this model cannot be judged by.
	pol, err := activities.PromotionPolicy(c.Context, l, name, alias)
	if err != nil {
		return err
	}
	checked := true
	if rollback {
		held, err := activities.HeldAlias(c.Context, l, name, alias, id)
		if err != nil {
			return err
		}
		checked = !held
		if !held {
			p.infof("%s@%s has never held %s: this rollback goes through the alias's gates and approval like a promotion\n", name, lake.ShortID(id), alias)
		}
	}
	if len(pol.Sources) > 0 && checked {
		for _, g := range pol.Gates {
			if err := modelgate.Check(g, metrics); err != nil {
				return fmt.Errorf("policy of %s/%s (%s): %w", name, alias, strings.Join(pol.Sources, ", "), err)
			}
		}
		p.infof("policy of %s/%s (%s): %s\n", name, alias, strings.Join(pol.Sources, ", "), describePolicy(pol))
	}
	req := activities.PromoteRequest{
		ID: newRequestID(), Model: name, Version: id, Alias: alias, Gates: gates, Rollback: rollback,
		By: actor(), Identity: temporalIdentity(), Reason: c.String("reason"),
	}
	if !rollback {
		req.RequireApproval, req.ApprovalTimeout = c.Bool("require-approval"), c.Duration("approval-timeout")
	}
	tc, err := dialTemporal(c.Context, c)
	if err != nil {
		return err
	}
	defer tc.Close()
	wfID := workflows.PromoteID(name, alias)
	out := promoteOutput{Model: name, Version: id, Alias: alias, Request: req.ID, WorkflowID: wfID}
	// Tell the user what they queue behind before joining the queue.
	if st, err := promoteStatus(c, tc, wfID); err == nil && st.Current != nil {
		out.Queued = 1 + len(st.Queue)
		p.infof("promotion of %s@%s to %s is running (step %s) in %s; this request is queued behind %d\n",
			name, lake.ShortID(st.Current.Version), alias, st.Step, wfID, out.Queued)
	}
	run, err := tc.SignalWithStartWorkflow(c.Context, wfID, workflows.PromoteRequestSignal, req, client.StartWorkflowOptions{
		ID: wfID, TaskQueue: workflows.TaskQueue, WorkflowIDReusePolicy: enums.WORKFLOW_ID_REUSE_POLICY_ALLOW_DUPLICATE,
	}, workflows.PromoteWorkflowName, workflows.PromoteInput{Model: name, Alias: alias})
	if err != nil {
		return fmt.Errorf("start promotion: %w", err)
	}
	out.URL = runURL(c, wfID, run.GetRunID())
	if !c.Bool("wait") {
		return p.result(out, func(w io.Writer) {
			verb := "promotion"
			if rollback {
				verb = "rollback"
			}
			fprintf(w, "%s of %s@%s to %s requested (request %s)\n  status: granary model status %s --alias %s\n  run: %s\n", verb, name, lake.ShortID(id), alias, req.ID, name, alias, out.URL)
			if req.RequireApproval || (pol.RequireApproval && checked) {
				fprintf(w, "  waiting for: granary model approve %s@%s --alias %s\n", name, lake.ShortID(id), alias)
			}
		})
	}
	outcome, err := waitForOutcome(c, tc, wfID, run.GetRunID(), req.ID)
	if err != nil {
		return err
	}
	out.Outcome = outcome
	if err := p.result(out, func(w io.Writer) { printOutcome(w, *outcome) }); err != nil {
		return err
	}
	if outcome.Outcome != "promoted" {
		return fmt.Errorf("%s of %s@%s to %s: %s %s", map[bool]string{false: "promotion", true: "rollback"}[rollback], name, lake.ShortID(id), alias, outcome.Outcome, outcome.Detail)
	}
	return nil
}

// describePolicy says what a policy demands, for the requester.
func describePolicy(p activities.PolicyResult) string {
	var parts []string
	if p.RequireApproval {
		a := "approval"
		if p.ApprovalTimeout > 0 {
			a += " within " + p.ApprovalTimeout.String()
		}
		parts = append(parts, a)
	}
	for _, g := range p.Gates {
		parts = append(parts, "gate "+g)
	}
	if p.NoChampion != "" {
		parts = append(parts, "no_champion: "+p.NoChampion)
	}
	if len(parts) == 0 {
		return "no requirement"
	}
	return strings.Join(parts, "; ")
}

func newRequestID() string {
	b := make([]byte, 6)
	_, _ = rand.Read(b)
	return time.Now().UTC().Format("20060102T150405") + "-" + hex.EncodeToString(b)
}

func promoteStatus(c *ucli.Context, tc client.Client, wfID string) (workflows.PromoteStatus, error) {
	var st workflows.PromoteStatus
	v, err := tc.QueryWorkflow(c.Context, wfID, "", workflows.PromoteStatusQuery)
	if err != nil {
		return st, err
	}
	return st, v.Get(&st)
}

func printOutcome(w io.Writer, o workflows.PromoteOutcome) {
	r := o.Request
	fprintf(w, "%s@%s -> %s: %s\n", r.Model, lake.ShortID(r.Version), r.Alias, o.Outcome)
	if o.From != "" {
		fprintf(w, "  previous: %s\n", lake.ShortID(o.From))
	}
	for _, g := range o.Gates {
		verdict := "pass"
		if g.Skipped {
			verdict = "skip (no champion)"
		} else if !g.Passed {
			verdict = "FAIL"
		}
		fprintf(w, "  gate %-40s %s  %s\n", g.Gate, verdict, g.Detail)
	}
	if o.Policy != nil && len(o.Policy.Sources) > 0 {
		fprintf(w, "  policy %s: %s\n", strings.Join(o.Policy.Sources, ", "), describePolicy(*o.Policy))
	}
	if o.Decision != nil {
		by := o.Decision.By
		if o.Decision.Claimed != "" {
			by += fmt.Sprintf(" (--by %q)", o.Decision.Claimed)
		}
		fprintf(w, "  decided by %s: %s\n", by, o.Decision.Comment)
	}
	if o.Detail != "" {
		fprintf(w, "  %s\n", o.Detail)
	}
}

func modelDecisionCommand(verb, past, signal string) *ucli.Command {
	return &ucli.Command{
		Name:      verb,
		Usage:     verb + " a promotion waiting for approval",
		ArgsUsage: "NAME@VERSION",
		Description: fmt.Sprintf(`The decider recorded in the audit trail is your OS user (and Temporal
identity), not a name typed here: --by is optional, and a --by that differs
from your user is kept only as a note beside it.

Examples:
   granary model %s churn@3f2a9c1e --alias prod --comment "reviewed offline eval"`, verb),
		Flags: []ucli.Flag{
			&ucli.StringFlag{Name: "alias", Required: true, Usage: "the `ALIAS` being promoted to"},
			&ucli.StringFlag{Name: "by", Usage: "`WHO` decides, as a note: the decider recorded is your OS user"},
			&ucli.StringFlag{Name: "comment", Usage: "why, recorded in the audit trail"},
		},
		Action: func(c *ucli.Context) error {
			if c.NArg() != 1 {
				return usagef("model %s takes one NAME@VERSION", verb)
			}
			p, l, err := printerAndLake(c)
			if err != nil {
				return err
			}
			name, ref := lake.SplitRef(c.Args().First())
			id, err := l.Resolve(c.Context, lake.KindModel, name, ref)
			if err != nil {
				return err
			}
			tc, err := dialTemporal(c.Context, c)
			if err != nil {
				return err
			}
			defer tc.Close()
			wfID := workflows.PromoteID(name, c.String("alias"))
			desc, err := tc.DescribeWorkflowExecution(c.Context, wfID, "")
			if err != nil || desc.GetWorkflowExecutionInfo().GetStatus() != enums.WORKFLOW_EXECUTION_STATUS_RUNNING {
				return fmt.Errorf("no promotion to %s of model %s is running", c.String("alias"), name)
			}
			// The status query needs a worker; right after a worker restart
			// none may answer for a few seconds, so retry before deciding.
			var st workflows.PromoteStatus
			var qerr error
			for attempt := 0; attempt < 20; attempt++ {
				if st, qerr = promoteStatus(c, tc, wfID); qerr == nil {
					break
				}
				time.Sleep(500 * time.Millisecond)
			}
			if qerr == nil && (st.Current == nil || st.Current.Version != id || st.Step != "approval") {
				cur := "nothing"
				if st.Current != nil {
					cur = fmt.Sprintf("%s@%s at step %s", name, lake.ShortID(st.Current.Version), st.Step)
				}
				return fmt.Errorf("%s@%s is not waiting for approval on %s (the alias workflow is running %s)", name, lake.ShortID(id), c.String("alias"), cur)
			}
			if qerr != nil {
				// The workflow only acts on a decision naming the version it
				// waits for, so sending it unconfirmed is safe.
				p.infof("no worker answered the status query (%v); sending the decision anyway\n", qerr)
			}
			d := workflows.Decision{Version: id, By: actor(), Identity: temporalIdentity(), Comment: c.String("comment")}
			if by := c.String("by"); by != "" && by != d.By {
				d.Claimed = by
				p.infof("recorded as decided by %s (your OS user); --by %q is kept as a note\n", d.By, by)
			}
			if err := tc.SignalWorkflow(c.Context, wfID, "", signal, d); err != nil {
				return fmt.Errorf("%s: %w", verb, err)
			}
			return p.result(d, func(w io.Writer) {
				fprintf(w, "%s %s@%s for %s\n", past, name, lake.ShortID(id), c.String("alias"))
			})
		},
	}
}

func modelStatusCommand() *ucli.Command {
	return &ucli.Command{
		Name:      "status",
		Usage:     "what the promotion workflow of an alias is doing",
		ArgsUsage: "NAME",
		Description: `Examples:
   granary model status churn --alias prod`,
		Flags: []ucli.Flag{&ucli.StringFlag{Name: "alias", Required: true, Usage: "`ALIAS`"}},
		Action: func(c *ucli.Context) error {
			if c.NArg() != 1 {
				return usagef("model status takes one NAME")
			}
			p, err := newPrinter(c)
			if err != nil {
				return err
			}
			tc, err := dialTemporal(c.Context, c)
			if err != nil {
				return err
			}
			defer tc.Close()
			st, err := promoteStatus(c, tc, workflows.PromoteID(c.Args().First(), c.String("alias")))
			if err != nil {
				st = workflows.PromoteStatus{Model: c.Args().First(), Alias: c.String("alias"), Step: "idle"}
			}
			return p.result(st, func(w io.Writer) {
				if st.Current == nil {
					fprintf(w, "%s/%s: no promotion running\n", st.Model, st.Alias)
					return
				}
				fprintf(w, "%s/%s: promoting %s, step %s, %d queued\n", st.Model, st.Alias, lake.ShortID(st.Current.Version), st.Step, len(st.Queue))
			})
		},
	}
}

func modelRollbackCommand() *ucli.Command {
	return &ucli.Command{
		Name:      "rollback",
		Usage:     "move an alias back (default: to the version it held before); a version that never held it goes through its gates and approval",
		ArgsUsage: "NAME",
		Description: `A rollback to a version that has held the alias before skips the alias's
gates and approval: it restores what already passed them. A rollback --to a
version that never held it is a promotion under another name, and goes
through the alias's policy (gates and approval) like one.

Examples:
   granary model rollback churn --alias prod --wait
   granary model rollback churn --alias prod --to 1b2c3d4e --reason "latency regression"`,
		Flags: []ucli.Flag{
			&ucli.StringFlag{Name: "alias", Required: true, Usage: "`ALIAS` to roll back"},
			&ucli.StringFlag{Name: "to", Usage: "`VERSION` to restore (default: the previous holder, from the alias log)"},
			&ucli.StringFlag{Name: "reason", Usage: "why, recorded in the audit trail"},
			&ucli.BoolFlag{Name: "wait", Usage: "wait until the rollback ends"},
		},
		Action: func(c *ucli.Context) error {
			if c.NArg() != 1 {
				return usagef("model rollback takes one NAME")
			}
			_, l, err := printerAndLake(c)
			if err != nil {
				return err
			}
			name, alias := c.Args().First(), c.String("alias")
			target := c.String("to")
			if target == "" {
				log, err := l.Log(c.Context, lake.KindModel, name)
				if err != nil {
					return err
				}
				var last *lake.RefMove
				for i := range log {
					if log[i].Ref == alias {
						last = &log[i]
					}
				}
				if last == nil || last.From == "" {
					return fmt.Errorf("alias %s of %s has no previous version to roll back to", alias, name)
				}
				target = last.From
			}
			return startPromotion(c, name+"@"+target, alias, true)
		},
	}
}

func modelHistoryCommand() *ucli.Command {
	return &ucli.Command{
		Name:      "history",
		Usage:     "the audit trail: registrations, promotions, gates, approvals, alias moves, rollbacks",
		ArgsUsage: "NAME",
		Description: `Examples:
   granary model history churn
   granary model history churn --alias prod --output json`,
		Flags: []ucli.Flag{&ucli.StringFlag{Name: "alias", Usage: "only events about `ALIAS`"}},
		Action: func(c *ucli.Context) error {
			if c.NArg() != 1 {
				return usagef("model history takes one NAME")
			}
			p, l, err := printerAndLake(c)
			if err != nil {
				return err
			}
			events, err := l.Audit(c.Context, c.Args().First())
			if err != nil {
				return err
			}
			out := []lake.AuditEvent{}
			for _, e := range events {
				if a := c.String("alias"); a == "" || e.Alias == a || e.Alias == "" {
					out = append(out, e)
				}
			}
			return p.result(out, func(w io.Writer) {
				tw := tabwriter.NewWriter(w, 0, 2, 2, ' ', 0)
				fprintf(tw, "TIME\tALIAS\tVERSION\tSTEP\tOUTCOME\tBY\tDETAIL\n")
				for _, e := range out {
					detail := e.Comment
					for _, k := range sortedKeys(e.Detail) {
						detail = strings.TrimSpace(detail + " " + k + "=" + e.Detail[k])
					}
					fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\n", e.At.Local().Format(time.DateTime), orDash(e.Alias), lake.ShortID(e.Version), e.Step, e.Outcome, orDash(e.By), detail)
				}
				tw.Flush()
			})
		},
	}
}

func modelListCommand() *ucli.Command {
	return &ucli.Command{
		Name:  "list",
		Usage: "models with version counts and aliases",
		Description: `Examples:
   granary model list
   granary model list --output json`,
		Action: func(c *ucli.Context) error {
			p, l, err := printerAndLake(c)
			if err != nil {
				return err
			}
			names, err := l.ListNames(c.Context, lake.KindModel)
			if err != nil {
				return err
			}
			return p.result(names, func(w io.Writer) {
				tw := tabwriter.NewWriter(w, 0, 2, 2, ' ', 0)
				fprintf(tw, "MODEL\tVERSIONS\tALIASES\n")
				for _, n := range names {
					fprintf(tw, "%s\t%d\t%s\n", n.Name, n.Versions, formatRefs(n.Refs))
				}
				tw.Flush()
			})
		},
	}
}

func modelShowCommand() *ucli.Command {
	return &ucli.Command{
		Name:      "show",
		Usage:     "a model version: metrics, parameters, files, lineage back to the training set and its feature views",
		ArgsUsage: "NAME[@REF]",
		Description: `Examples:
   granary model show churn@prod
   granary model show churn@3f2a9c1e --output json`,
		Action: func(c *ucli.Context) error {
			va, err := resolveVersionArg(c, lake.KindModel, "model show")
			if err != nil {
				return err
			}
			p, l, name, id, m := va.p, va.l, va.name, va.id, va.m
			type lineage struct {
				lake.Input
				Inputs []lake.Input `json:"inputs,omitempty"`
			}
			var lin []lineage
			for _, in := range m.Inputs {
				li := lineage{Input: in}
				if dm, err := l.GetManifest(c.Context, in.Kind, in.Name, in.Version); err == nil {
					li.Inputs = dm.Inputs
				}
				lin = append(lin, li)
			}
			out := struct {
				Name     string         `json:"name"`
				Version  string         `json:"version"`
				Manifest *lake.Manifest `json:"manifest"`
				Lineage  []lineage      `json:"lineage"`
			}{name, id, m, lin}
			return p.result(out, func(w io.Writer) {
				fprintf(w, "%s@%s\n", name, id)
				if a := m.Artifact; a != nil {
					fprintf(w, "  artifact %s (%s, %s) %s\n", a.Digest, counted(a.Files, "file"), humanBytes(a.Bytes), a.Framework)
					for _, k := range sortedKeys(a.Metrics) {
						fprintf(w, "  metric %s = %g\n", k, a.Metrics[k])
					}
				}
				for _, k := range sortedKeys(m.Params) {
					fprintf(w, "  param %s = %s\n", k, m.Params[k])
				}
				for _, li := range lin {
					fprintf(w, "  trained on %s@%s\n", li.Name, lake.ShortID(li.Version))
					for _, in := range li.Inputs {
						if in.Version != "" {
							fprintf(w, "    %s: %s@%s\n", in.Role, in.Name, lake.ShortID(in.Version))
						}
					}
				}
			})
		},
	}
}

func modelDownloadCommand() *ucli.Command {
	return &ucli.Command{
		Name:      "download",
		Usage:     "download a version's artifact, verifying every file's digest",
		ArgsUsage: "NAME[@REF]",
		Description: `Writes every artifact file under --out (directory layout as registered),
re-hashing each one; a mismatch is an error and nothing half-written stays.

Examples:
   granary model download churn@prod --out ./model`,
		Flags: []ucli.Flag{&ucli.StringFlag{Name: "out", Required: true, Usage: "write into `PATH` (a directory)"}},
		Action: func(c *ucli.Context) error {
			va, err := resolveVersionArg(c, lake.KindModel, "model download")
			if err != nil {
				return err
			}
			p, l, name, id, m := va.p, va.l, va.name, va.id, va.m
			if m.Artifact == nil || activities.ArtifactDigest(m.Files) != m.Artifact.Digest {
				return fmt.Errorf("%w: model %s@%s: artifact listing does not match its digest", lake.ErrDigestMismatch, name, lake.ShortID(id))
			}
			dir := c.String("out")
			var written []string
			for _, f := range m.Files {
				dst := filepath.Join(dir, filepath.FromSlash(f.Partition))
				if !strings.HasPrefix(filepath.Clean(dst), filepath.Clean(dir)+string(filepath.Separator)) {
					return fmt.Errorf("%w: artifact path %q escapes %s", lake.ErrCorrupt, f.Partition, dir)
				}
				if err := os.MkdirAll(filepath.Dir(dst), 0o755); err != nil {
					return err
				}
				if err := downloadVerified(c, l, f, dst); err != nil {
					return err
				}
				written = append(written, dst)
			}
			return p.result(struct {
				Name, Version string
				Files         []string
			}{name, id, written}, func(w io.Writer) {
				fprintf(w, "downloaded %s@%s: %s verified into %s\n", name, lake.ShortID(id), counted(len(written), "file"), dir)
			})
		},
	}
}

func downloadVerified(c *ucli.Context, l *lake.Lake, f lake.File, dst string) error {
	rc, _, err := l.OpenBlob(c.Context, f.Digest)
	if err != nil {
		return err
	}
	defer rc.Close()
	tmp, err := os.CreateTemp(filepath.Dir(dst), ".download-*")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name())
	d, _, err := lake.HashReader(io.TeeReader(rc, tmp))
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return err
	}
	if d != f.Digest {
		return fmt.Errorf("%w: %s: downloaded bytes hash to %s, not %s", lake.ErrDigestMismatch, f.Partition, d, f.Digest)
	}
	return os.Rename(tmp.Name(), dst)
}
