package cli

import (
	"fmt"
	"io"
	"strings"
	"time"

	ucli "github.com/urfave/cli/v2"

	"github.com/granaryml/granary/activities"
	"github.com/granaryml/granary/internal/lake"
	"github.com/granaryml/granary/workflows"
)

type materializeOutput struct {
	workflows.MaterializeResult
	runRef
}

func materializeCommand() *ucli.Command {
	return &ucli.Command{
		Name:      "materialize",
		Usage:     "compute every entity's latest feature values into a serving index",
		ArgsUsage: "VIEW",
		Description: `Runs the Materialize workflow: for each entity of a feature view version
(the latest extraction unless --version), computes every feature of the
current spec as of the version's newest event, with the same windows, ttl
and derived expressions a training build uses, into one index file per
shard; commits them as a serving index version and moves its "latest"
alias (and --alias). granary serve swaps to the new index without
dropping a request. Materializing the same view version again attaches to
the earlier run and moves the aliases back to its index if they moved on.

Examples:
   granary materialize user_orders --wait
   granary materialize user_orders --version 3f2a9c1b7d0e --alias prod --wait
   granary materialize user_orders --wait --output json | jq -r .version`,
		Flags: []ucli.Flag{
			projectFlag(),
			&ucli.StringFlag{Name: "version", Usage: "view version `REF` to materialize: alias or id (default: latest extraction)"},
			&ucli.StringFlag{Name: "alias", Usage: "also move serving alias `NAME` (e.g. prod) to the new index"},
			&ucli.BoolFlag{Name: "wait", Usage: "wait for the materialization, showing progress"},
		},
		Action: runMaterialize,
	}
}

func runMaterialize(c *ucli.Context) error {
	va, err := viewArg(c, "materialize")
	if err != nil {
		return err
	}
	p, l, spec, specID, view, src, ent := va.p, va.l, va.spec, va.specID, va.view, va.src, va.ent
	if a := c.String("alias"); a != "" {
		if err := lake.ValidateName("alias", a); err != nil {
			return usagef("--alias %q: %v", a, err)
		}
	}
	ref := "latest"
	if v := c.String("version"); v != "" {
		ref = v
	}
	viewVersion, err := l.Resolve(c.Context, lake.KindDataset, activities.ViewDataset(view.Name), ref)
	if err != nil {
		if ref == "latest" {
			return fmt.Errorf("view %s has not been extracted yet; run: granary extract %s --wait", view.Name, view.Name)
		}
		return fmt.Errorf("view %s: %w", view.Name, err)
	}
	in := workflows.MaterializeInput{
		Project: spec.Project, SpecVersion: specID, View: view.Name, ViewVersion: viewVersion,
		Definition: workflows.ViewDefinition(view, ent, src),
		Alias:      c.String("alias"), User: currentUser(), Host: hostname(),
	}
	tc, err := dialTemporal(c.Context, c)
	if err != nil {
		return err
	}
	defer tc.Close()
	run, err := startOrAttach(c.Context, tc, workflows.MaterializeID(in), workflows.MaterializeWorkflowName, in)
	if err != nil {
		return err
	}
	var out materializeOutput
	out.View, out.ViewVersion = view.Name, viewVersion
	out.announce(c, p, run, "materialization", fmt.Sprintf("materializing %s from %s@%s\n", view.Name, activities.ViewDataset(view.Name), lake.ShortID(viewVersion)))
	if !c.Bool("wait") && !run.Attached {
		return printStarted(p, out, out.runRef)
	}
	if err := waitWithProgress(c.Context, tc, run, c.App.ErrWriter, renderMaterializeProgress, &out.MaterializeResult); err != nil {
		return runFailed("materialization of "+view.Name+" failed", out.URL, err)
	}
	refs := []string{"latest"}
	if a := c.String("alias"); a != "" && a != "latest" {
		refs = append(refs, a)
	}
	st, err := settleRefs(c, tc, l, p, run, refTarget{kind: lake.KindIndex, name: out.View, refs: refs, reason: "materialize " + view.Name}, out.Version, out.Moves)
	if err != nil {
		return err
	}
	out.Moves, out.RefsWorkflowID = st.Moves, st.WorkflowID
	if st.WorkflowID != "" {
		out.Notified = st.Notified
	}
	return p.result(out, func(w io.Writer) {
		r := out.MaterializeResult
		fprintf(w, "serving index %s@%s\n", r.View, r.Version)
		fprintf(w, "  %d entities x %d features as of %s, %d shards, %s\n", r.Entities, r.Features, r.AsOf, r.Shards, humanBytes(r.Bytes))
		fprintf(w, "  view %s@%s\n", activities.ViewDataset(r.View), lake.ShortID(r.ViewVersion))
		for _, m := range r.Moves {
			fprintf(w, "  alias %s -> %s\n", m.Ref, lake.ShortID(m.To))
		}
		if out.RefsWorkflowID != "" {
			fprintf(w, "  aliases moved again by %s\n", out.RefsWorkflowID)
		}
		if len(r.Notified) > 0 {
			fprintf(w, "  serving notified: %s\n", strings.Join(r.Notified, ", "))
		}
		fprintf(w, "  run: %s\n", out.URL)
	})
}

func renderMaterializeProgress(pr workflows.MaterializeProgress, elapsed time.Duration) string {
	line := "materialize: " + pr.Phase
	if pr.Phase == "materializing" {
		line += fmt.Sprintf(" %s shards %d/%d, %d entities", bar(int64(pr.ShardsDone), int64(pr.Shards)), pr.ShardsDone, pr.Shards, pr.Entities)
	}
	return line + ", " + elapsed.Truncate(time.Second).String()
}
