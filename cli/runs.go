package cli

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
	"time"

	ucli "github.com/urfave/cli/v2"
	commonpb "go.temporal.io/api/common/v1"
	"go.temporal.io/api/enums/v1"
	workflowpb "go.temporal.io/api/workflow/v1"
	"go.temporal.io/api/workflowservice/v1"
	"go.temporal.io/sdk/converter"

	"github.com/granaryml/granary/workflows"
)

// runSummary is one granary workflow run as `runs list` shows it.
type runSummary struct {
	WorkflowID string     `json:"workflow_id"`
	RunID      string     `json:"run_id"`
	Workflow   string     `json:"workflow"`
	Kind       string     `json:"kind,omitempty"`
	Name       string     `json:"name,omitempty"`
	Version    string     `json:"version,omitempty"`
	Status     string     `json:"status"`
	Started    time.Time  `json:"started"`
	Closed     *time.Time `json:"closed,omitempty"`
	URL        string     `json:"url"`
}

func runsCommand() *ucli.Command {
	return &ucli.Command{
		Name:  "runs",
		Usage: "list and inspect granary workflow runs",
		Subcommands: []*ucli.Command{
			{
				Name:  "list",
				Usage: "recent granary runs with their kind, name, status and produced version",
				Description: `Lists runs that carry granary's search attributes (GranaryKind, GranaryName,
GranaryVersion), newest first. The same filters work in the Temporal UI.

Examples:
   granary runs list
   granary runs list --kind dataset --status failed
   granary runs list --name orders --limit 5 --output json`,
				Flags: []ucli.Flag{
					&ucli.StringFlag{Name: "kind", Usage: "only runs of `KIND` (lakecheck, dataset, extract, build, promote, materialize, refs, register, spec, gc, lakeverify)"},
					&ucli.StringFlag{Name: "name", Usage: "only runs for dataset/view/model `NAME`"},
					&ucli.StringFlag{Name: "status", Usage: "only runs in `STATUS`: running, completed, failed, canceled, terminated, timed_out"},
					&ucli.IntFlag{Name: "limit", Value: 20, Usage: "at most `N` runs"},
				},
				Action: runsList,
			},
			{
				Name:      "show",
				Usage:     "one run: status, progress or result, failure cause, link to the UI",
				ArgsUsage: "WORKFLOW_ID",
				Description: `Examples:
   granary runs show dataset/orders/a754f648a2d01076
   granary runs show dataset/orders/a754f648a2d01076 --output json`,
				Action: runsShow,
			},
		},
	}
}

func runsQuery(c *ucli.Context) (string, error) {
	clauses := []string{"GranaryKind IS NOT NULL"}
	quote := func(s string) string { return `"` + strings.ReplaceAll(s, `"`, `\"`) + `"` }
	if k := c.String("kind"); k != "" {
		clauses = append(clauses, "GranaryKind = "+quote(k))
	}
	if n := c.String("name"); n != "" {
		clauses = append(clauses, "GranaryName = "+quote(n))
	}
	if s := c.String("status"); s != "" {
		status, ok := map[string]string{
			"running": "Running", "completed": "Completed", "failed": "Failed",
			"canceled": "Canceled", "terminated": "Terminated", "timed_out": "TimedOut",
		}[strings.ToLower(s)]
		if !ok {
			return "", usagef("--status %q: must be running, completed, failed, canceled, terminated or timed_out", s)
		}
		clauses = append(clauses, "ExecutionStatus = "+quote(status))
	}
	return strings.Join(clauses, " AND "), nil
}

func runsList(c *ucli.Context) error {
	p, err := newPrinter(c)
	if err != nil {
		return err
	}
	query, err := runsQuery(c)
	if err != nil {
		return err
	}
	limit := c.Int("limit")
	if limit <= 0 {
		return usagef("--limit must be positive")
	}
	tc, err := dialTemporal(c.Context, c)
	if err != nil {
		return err
	}
	defer tc.Close()
	var runs []runSummary
	var token []byte
	for len(runs) < limit {
		resp, err := tc.ListWorkflow(c.Context, &workflowservice.ListWorkflowExecutionsRequest{
			Namespace: c.String(flagNamespace), PageSize: int32(min(limit, 100)), NextPageToken: token, Query: query,
		})
		if err != nil {
			return fmt.Errorf("list runs: %w", err)
		}
		for _, info := range resp.GetExecutions() {
			if len(runs) < limit {
				runs = append(runs, summarize(c, info))
			}
		}
		if token = resp.GetNextPageToken(); len(token) == 0 {
			break
		}
	}
	if runs == nil {
		runs = []runSummary{}
	}
	return p.result(runs, func(w io.Writer) {
		if len(runs) == 0 {
			fprintf(w, "no granary runs match %s\n", query)
			return
		}
		tw := tabwriter.NewWriter(w, 0, 2, 2, ' ', 0)
		fprintf(tw, "STARTED\tKIND\tNAME\tSTATUS\tVERSION\tWORKFLOW ID\n")
		for _, r := range runs {
			fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\n", r.Started.Local().Format(time.DateTime), orDash(r.Kind), orDash(r.Name), r.Status, orDash(shortVersion(r.Version)), r.WorkflowID)
		}
		tw.Flush()
	})
}

func summarize(c *ucli.Context, info *workflowpb.WorkflowExecutionInfo) runSummary {
	r := runSummary{
		WorkflowID: info.GetExecution().GetWorkflowId(),
		RunID:      info.GetExecution().GetRunId(),
		Workflow:   info.GetType().GetName(),
		Status:     statusName(info.GetStatus()),
		Started:    info.GetStartTime().AsTime(),
	}
	if ct := info.GetCloseTime(); ct != nil && ct.IsValid() && !ct.AsTime().IsZero() {
		t := ct.AsTime()
		r.Closed = &t
	}
	fields := info.GetSearchAttributes().GetIndexedFields()
	r.Kind = keyword(fields, workflows.AttrKind.GetName())
	r.Name = keyword(fields, workflows.AttrName.GetName())
	r.Version = keyword(fields, workflows.AttrVersion.GetName())
	r.URL = runURL(c, r.WorkflowID, r.RunID)
	return r
}

func keyword(fields map[string]*commonpb.Payload, name string) string {
	p, ok := fields[name]
	if !ok {
		return ""
	}
	var s string
	if err := converter.GetDefaultDataConverter().FromPayload(p, &s); err != nil {
		return ""
	}
	return s
}

func statusName(s enums.WorkflowExecutionStatus) string {
	return strings.ToLower(strings.TrimPrefix(s.String(), "WORKFLOW_EXECUTION_STATUS_"))
}

func shortVersion(v string) string {
	if len(v) > 12 {
		return v[:12]
	}
	return v
}

// runDetail is `runs show --output json`.
type runDetail struct {
	runSummary
	Progress json.RawMessage `json:"progress,omitempty"`
	Result   json.RawMessage `json:"result,omitempty"`
	Failure  string          `json:"failure,omitempty"`
}

func runsShow(c *ucli.Context) error {
	if c.NArg() != 1 {
		return usagef("runs show takes one WORKFLOW_ID (see granary runs list)")
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
	id := c.Args().First()
	desc, err := tc.DescribeWorkflowExecution(c.Context, id, "")
	if err != nil {
		return fmt.Errorf("run %s: %w", id, err)
	}
	d := runDetail{runSummary: summarize(c, desc.GetWorkflowExecutionInfo())}
	switch desc.GetWorkflowExecutionInfo().GetStatus() {
	case enums.WORKFLOW_EXECUTION_STATUS_RUNNING:
		if v, err := tc.QueryWorkflow(c.Context, id, d.RunID, workflows.ProgressQuery); err == nil {
			var raw json.RawMessage
			if v.Get(&raw) == nil {
				d.Progress = raw
			}
		}
	case enums.WORKFLOW_EXECUTION_STATUS_COMPLETED:
		var raw json.RawMessage
		if err := tc.GetWorkflow(c.Context, id, d.RunID).Get(c.Context, &raw); err == nil {
			d.Result = raw
		}
	default:
		ctx, cancel := context.WithTimeout(c.Context, 10*time.Second)
		defer cancel()
		if err := tc.GetWorkflow(ctx, id, d.RunID).Get(ctx, nil); err != nil {
			d.Failure = oneLine(describeError(err))
		}
	}
	return p.result(d, func(w io.Writer) {
		fprintf(w, "%s (%s)\n", d.WorkflowID, d.Workflow)
		fprintf(w, "  status   %s\n", d.Status)
		fprintf(w, "  kind     %s %s\n", orDash(d.Kind), d.Name)
		fprintf(w, "  started  %s\n", d.Started.Local().Format(time.DateTime))
		if d.Closed != nil {
			fprintf(w, "  closed   %s (%s)\n", d.Closed.Local().Format(time.DateTime), d.Closed.Sub(d.Started).Round(time.Millisecond))
		}
		if d.Version != "" {
			fprintf(w, "  version  %s\n", d.Version)
		}
		if d.Progress != nil {
			fprintf(w, "  progress %s\n", d.Progress)
		}
		if d.Result != nil {
			fprintf(w, "  result   %s\n", compactJSON(d.Result))
		}
		if d.Failure != "" {
			fprintf(w, "  failure  %s\n", d.Failure)
		}
		fprintf(w, "  ui       %s\n", d.URL)
	})
}

func compactJSON(raw json.RawMessage) string {
	var v any
	if json.Unmarshal(raw, &v) != nil {
		return string(raw)
	}
	b, _ := json.Marshal(v)
	return string(b)
}
