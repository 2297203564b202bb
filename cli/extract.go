package cli

import (
	"fmt"
	"io"
	"strings"
	"time"

	ucli "github.com/urfave/cli/v2"

	"github.com/granaryml/granary/activities"
	"github.com/granaryml/granary/features"
	"github.com/granaryml/granary/internal/lake"
	"github.com/granaryml/granary/workflows"
)

type extractOutput struct {
	workflows.ExtractResult
	runRef
}

// defaultShardRows sizes shards when --shards is not given: a shard is
// held in memory while it is sorted, and 2M narrow rows stay well under a
// few hundred MiB.
const defaultShardRows = 2_000_000

func extractCommand() *ucli.Command {
	return &ucli.Command{
		Name:      "extract",
		Usage:     "extract a feature view: filter, partition by entity and sort its source into a view version",
		ArgsUsage: "VIEW",
		Description: `Runs the ExtractFeatures workflow on the current spec: pins the source
version (latest unless --source), keeps the rows that pass the source's
filter, partitions them by a hash of the entity's join keys into --shards
shards (one activity per source file), sorts each shard by (keys, time)
(one activity per shard) and commits the result as dataset view.VIEW.
Extracting the same view of the same source version again attaches to the
earlier run instead of redoing it, and moves latest back to its version if
another extraction moved it since.

Examples:
   granary extract user_orders --wait
   granary extract user_orders --source orders@v1 --shards 16 --wait --output json`,
		Flags: []ucli.Flag{
			projectFlag(),
			&ucli.StringFlag{Name: "source", Usage: "source dataset version `NAME@REF` (default: the view's source @latest)"},
			&ucli.IntFlag{Name: "shards", Usage: "number of shards `N` (default: one per 2M source rows; part of the version id)"},
			&ucli.BoolFlag{Name: "wait", Usage: "wait for the extraction, showing progress"},
		},
		Action: runExtract,
	}
}

func runExtract(c *ucli.Context) error {
	va, err := viewArg(c, "extract")
	if err != nil {
		return err
	}
	p, l, spec, specID, view, src, ent := va.p, va.l, va.spec, va.specID, va.view, va.src, va.ent
	srcName, srcRef := src.Dataset, "latest"
	if s := c.String("source"); s != "" {
		srcName, srcRef = lake.SplitRef(s)
		if srcName != src.Dataset {
			return usagef("--source %s: view %s reads dataset %q", s, view.Name, src.Dataset)
		}
	}
	srcVersion, srcManifest, err := l.ResolveManifest(c.Context, lake.KindDataset, srcName, srcRef)
	if err != nil {
		return fmt.Errorf("source of %s: %w", view.Name, err)
	}
	shards := c.Int("shards")
	if !c.IsSet("shards") {
		shards = int(min(int64(activities.MaxShards), max(1, (srcManifest.Rows+defaultShardRows-1)/defaultShardRows)))
	}
	if shards < 1 || shards > activities.MaxShards {
		return usagef("--shards %d: must be between 1 and %d", shards, activities.MaxShards)
	}
	cols, err := spec.ViewColumns(view.Name)
	if err != nil {
		return err
	}
	in := workflows.ExtractInput{
		Project: spec.Project, SpecVersion: specID, View: view.Name, SourceVersion: srcVersion, Shards: shards,
		Params: activities.ExtractParams(view, src, ent, cols, shards), User: currentUser(), Host: hostname(),
	}
	tc, err := dialTemporal(c.Context, c)
	if err != nil {
		return err
	}
	defer tc.Close()
	run, err := startOrAttach(c.Context, tc, workflows.ExtractID(in), workflows.ExtractWorkflowName, in)
	if err != nil {
		return err
	}
	var out extractOutput
	out.View = view.Name
	out.announce(c, p, run, "extraction", fmt.Sprintf("extracting %s from %s@%s (%d rows) into %d shards\n", view.Name, srcName, lake.ShortID(srcVersion), srcManifest.Rows, shards))
	if !c.Bool("wait") && !run.Attached {
		return printStarted(p, out, out.runRef)
	}
	if err := waitWithProgress(c.Context, tc, run, c.App.ErrWriter, renderExtractProgress, &out.ExtractResult); err != nil {
		return runFailed("extraction of "+view.Name+" failed", out.URL, err)
	}
	st, err := settleRefs(c, tc, l, p, run, refTarget{kind: lake.KindDataset, name: out.Dataset, refs: []string{"latest"}, reason: "extract " + view.Name}, out.Version, out.Moves)
	if err != nil {
		return err
	}
	out.Moves, out.RefsWorkflowID = st.Moves, st.WorkflowID
	return p.result(out, func(w io.Writer) {
		r := out.ExtractResult
		fprintf(w, "%s@%s\n", r.Dataset, r.Version)
		fprintf(w, "  %d of %d source rows kept (%d filtered out, %d without key or time), %d shards, %s\n",
			r.Rows, r.RowsIn, r.Filtered, r.DroppedNulls, r.Shards, humanBytes(r.Bytes))
		fprintf(w, "  source %s@%s\n", r.SourceDataset, lake.ShortID(r.SourceVersion))
		printRefsAgain(w, out.runRef, r.Moves)
		fprintf(w, "  run: %s\n", out.URL)
	})
}

func renderExtractProgress(pr workflows.ExtractProgress, elapsed time.Duration) string {
	line := fmt.Sprintf("extract: %s", pr.Phase)
	switch pr.Phase {
	case "partitioning":
		rate, eta := "", ""
		if s := elapsed.Seconds(); s > 0 && pr.RowsIn > 0 {
			r := float64(pr.RowsIn) / s
			rate = fmt.Sprintf(", %.0f rows/s", r)
			if left := pr.SourceRows - pr.RowsIn; left > 0 {
				eta = fmt.Sprintf(", ETA %s", time.Duration(float64(left)/r*float64(time.Second)).Truncate(time.Second))
			}
		}
		line += fmt.Sprintf(" %s files %d/%d, rows %d/%d%s%s", bar(pr.RowsIn, pr.SourceRows), pr.FilesDone, pr.Files, pr.RowsIn, pr.SourceRows, rate, eta)
	case "sorting":
		line += fmt.Sprintf(" %s shards %d/%d", bar(int64(pr.ShardsDone), int64(pr.Shards)), pr.ShardsDone, pr.Shards)
	}
	return line + ", " + elapsed.Truncate(time.Second).String()
}

// bar draws a 20-character progress bar.
func bar(done, total int64) string {
	if total <= 0 {
		return "[" + strings.Repeat(" ", 20) + "]"
	}
	n := int(min(20, done*20/total))
	return "[" + strings.Repeat("#", n) + strings.Repeat(".", 20-n) + "]"
}

// viewCommand is what a command on one feature view of the current spec
// starts from.
type viewCommand struct {
	p      printer
	l      *lake.Lake
	spec   *features.Spec
	specID string
	view   *features.FeatureView
	src    *features.Source
	ent    *features.Entity
}

// viewArg reads the command's one VIEW argument against the current spec.
func viewArg(c *ucli.Context, command string) (viewCommand, error) {
	var v viewCommand
	if c.NArg() != 1 {
		return v, usagef("%s takes one VIEW", command)
	}
	var err error
	if v.p, v.l, err = printerAndLake(c); err != nil {
		return v, err
	}
	if v.spec, v.specID, err = currentSpec(c, v.l); err != nil {
		return v, err
	}
	v.view, v.src, v.ent, err = v.spec.View(c.Args().First())
	return v, err
}
