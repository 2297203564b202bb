package cli

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"strings"
	"time"

	ucli "github.com/urfave/cli/v2"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/converter"

	"github.com/granaryml/granary/activities"
	"github.com/granaryml/granary/internal/lake"
	"github.com/granaryml/granary/internal/objstore"
	"github.com/granaryml/granary/workflows"
)

// exitDamaged is lake verify's exit code when it found damage (1 means
// the verification itself failed).
const exitDamaged = 3

type lakeVerifyOutput struct {
	activities.LakeVerifyResult
	WorkflowID string `json:"workflow_id"`
	RunID      string `json:"run_id"`
	URL        string `json:"url"`
}

func lakeVerifyCommand() *ucli.Command {
	return &ucli.Command{
		Name:  "verify",
		Usage: "re-hash every blob the lake's versions use and report missing or corrupt ones (--repair quarantines corrupt blobs)",
		Description: `Starts the LakeVerify workflow and waits for it. A worker reads every
blob named by any version of any dataset, feature view, training set,
model, spec or serving index (all versions, not only those refs point at),
re-hashes it against its digest, and checks every manifest and ref on the
way. It reports each missing or corrupt blob with the versions and refs
that use it, and the commands that would write those versions again.

Exit status: 0 when the lake is whole, 3 when damage was found, 1 when
the verification itself failed.

--repair moves each corrupt blob under _granary/quarantine/ (kept for
inspection): no reader is served its bad bytes any more (they get "not
found"), and the next upload of the same content, such as the listed
regenerate commands, writes it fresh. Missing blobs, manifests and refs
are reported only: repair never deletes or rewrites a version.

Examples:
   granary lake verify
   granary lake verify --repair --output json > damage.json`,
		Flags: []ucli.Flag{
			&ucli.BoolFlag{Name: "repair", Usage: "quarantine corrupt blobs (see above)"},
			&ucli.DurationFlag{Name: "timeout", Usage: "give up waiting after `DURATION` (the run goes on in Temporal; 0: wait until it ends)"},
		},
		Action: runLakeVerify,
	}
}

func runLakeVerify(c *ucli.Context) error {
	p, err := newPrinter(c)
	if err != nil {
		return err
	}
	if c.Duration("timeout") < 0 {
		return usagef("--timeout %s: must not be negative", c.Duration("timeout"))
	}
	tc, err := dialTemporal(c.Context, c)
	if err != nil {
		return err
	}
	defer tc.Close()
	id := "lakeverify/" + time.Now().UTC().Format("20060102T150405.000000000Z")
	run, err := tc.ExecuteWorkflow(c.Context, client.StartWorkflowOptions{ID: id, TaskQueue: workflows.TaskQueue},
		workflows.LakeVerifyWorkflowName, activities.LakeVerifyInput{Repair: c.Bool("repair")})
	if err != nil {
		return fmt.Errorf("start lake verify: %w", err)
	}
	out := lakeVerifyOutput{WorkflowID: run.GetID(), RunID: run.GetRunID(), URL: runURL(c, run.GetID(), run.GetRunID())}
	p.infof("started %s, waiting for a worker...\n", out.WorkflowID)

	wctx, cancel := c.Context, context.CancelFunc(func() {})
	if d := c.Duration("timeout"); d > 0 {
		wctx, cancel = contextWithTimeout(c, d)
	}
	defer cancel()
	if err := waitWithHeartbeats(wctx, tc, run, p.errw, &out.LakeVerifyResult); err != nil {
		if wctx.Err() != nil && c.Context.Err() == nil {
			return fmt.Errorf("no result after %s; the run goes on: %s", c.Duration("timeout"), out.URL)
		}
		return runFailed("lake verify failed", out.URL, err)
	}
	if out.Omitted > 0 {
		// The workflow's result is cut to fit a Temporal payload; the
		// report object in the lake has everything.
		if full, err := readVerifyReport(c, out.Report); err == nil {
			out.LakeVerifyResult = full
		} else {
			p.infof("could not read the full report %s (%v); showing the first entries\n", out.Report, err)
		}
	}
	if err := p.result(out, func(w io.Writer) { printVerify(w, out) }); err != nil {
		return err
	}
	if out.Damaged {
		return ucli.Exit(fmt.Sprintf("lake verify found damage: %d blobs, %d manifests or refs (report: %s, run: %s)",
			len(out.BlobProblems), len(out.VersionProblems), out.Report, out.URL), exitDamaged)
	}
	return nil
}

// waitWithHeartbeats waits for a run whose work is one long activity,
// showing the progress its heartbeats carry (the workflow itself cannot
// see them, so there is no progress query).
func waitWithHeartbeats(ctx context.Context, tc client.Client, run client.WorkflowRun, errw io.Writer, result any) error {
	rep := newProgressReporter(errw)
	done := make(chan error, 1)
	go func() { done <- run.Get(ctx, result) }()
	start := time.Now()
	tick := time.NewTicker(time.Second)
	defer tick.Stop()
	for {
		select {
		case err := <-done:
			rep.done()
			return err
		case <-tick.C:
			d, err := tc.DescribeWorkflowExecution(ctx, run.GetID(), run.GetRunID())
			if err != nil {
				continue
			}
			for _, a := range d.GetPendingActivities() {
				var prog activities.Progress
				if a.GetHeartbeatDetails() == nil || converter.GetDefaultDataConverter().FromPayloads(a.GetHeartbeatDetails(), &prog) != nil {
					continue
				}
				line := fmt.Sprintf("%s: %d/%d blobs checked, %s read, %s", a.GetActivityType().GetName(), prog.Items, prog.Of, humanBytes(prog.Bytes), time.Since(start).Round(time.Second))
				if n := a.GetAttempt(); n > 1 {
					line += fmt.Sprintf(" (attempt %d)", n)
				}
				rep.update(line)
			}
		}
	}
}

func readVerifyReport(c *ucli.Context, key string) (activities.LakeVerifyResult, error) {
	var r activities.LakeVerifyResult
	store, err := openLake(c.Context, c)
	if err != nil {
		return r, err
	}
	rc, _, err := store.Get(c.Context, key, objstore.GetOptions{})
	if err != nil {
		return r, err
	}
	defer rc.Close()
	return r, json.NewDecoder(rc).Decode(&r)
}

func printVerify(w io.Writer, out lakeVerifyOutput) {
	r := out.LakeVerifyResult
	state := "lake ok"
	if r.Damaged {
		state = "lake DAMAGED"
	}
	fprintf(w, "%s: %d blobs (%s) of %d versions and %d refs checked\n", state, r.Blobs, humanBytes(r.Bytes), r.Versions, r.Refs)
	for _, b := range r.BlobProblems {
		fprintf(w, "\n%s blob %s\n  key: %s\n", b.Problem, b.Digest, b.Key)
		switch {
		case b.QuarantinedTo != "":
			fprintf(w, "  quarantined to %s: readers now get \"not found\"; regenerate to write it again\n", b.QuarantinedTo)
		case b.RepairNote != "":
			fprintf(w, "  not repaired: %s\n", b.RepairNote)
		}
		for _, u := range b.UsedBy {
			fprintf(w, "  used by %s\n", describeUse(u.Kind, u.Name, u.Version, u.File, u.Refs))
		}
	}
	for _, v := range r.VersionProblems {
		what := describeUse(v.Kind, v.Name, v.Version, "", v.Refs)
		if v.Ref != "" {
			what = fmt.Sprintf("%s %s ref %q", kindName(v.Kind), v.Name, v.Ref)
		}
		fprintf(w, "\n%s: %s\n  %s\n", v.Problem, what, v.Detail)
	}
	if len(r.Regenerate) > 0 {
		fprintf(w, "\nto write the damaged versions again:\n")
		for _, g := range r.Regenerate {
			fprintf(w, "  %s\n", describeUse(g.Kind, g.Name, g.Version, "", g.Refs))
			for _, cmd := range g.Commands {
				fprintf(w, "    %s\n", cmd)
			}
			if g.Note != "" {
				fprintf(w, "    (%s)\n", g.Note)
			}
		}
		if !r.Repair && hasCorrupt(r) {
			fprintf(w, "\ncorrupt blobs are still in place (and served to ranged readers):\nrun `granary lake verify --repair` to quarantine them before regenerating.\n")
		}
	}
	fprintf(w, "\nreport: %s\nrun: %s\n", r.Report, out.URL)
}

func hasCorrupt(r activities.LakeVerifyResult) bool {
	for _, b := range r.BlobProblems {
		if b.Problem == lake.ProblemCorrupt && b.QuarantinedTo == "" {
			return true
		}
	}
	return false
}

func kindName(k lake.Kind) string {
	switch k {
	case lake.KindIndex:
		return "serving index"
	case lake.KindSpec:
		return "feature spec"
	}
	return strings.TrimSuffix(string(k), "s")
}

func describeUse(k lake.Kind, name, version, file string, refs []string) string {
	s := fmt.Sprintf("%s %s@%s", kindName(k), name, lake.ShortID(version))
	if file != "" {
		s += " file " + file
	}
	if len(refs) > 0 {
		s += " (refs: " + strings.Join(refs, ", ") + ")"
	}
	return s
}
