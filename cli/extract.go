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

type extractOutput struct {
	workflows.ExtractResult
	Attached   bool   `json:"attached"`
	WorkflowID string `json:"workflow_id"`
	RunID      string `json:"run_id"`
	URL        string `json:"url"`
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
earlier run instead of redoing it.

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
	if c.NArg() != 1 {
		return usagef("extract takes one VIEW")
	}
	p, l, err := printerAndLake(c)
	if err != nil {
		return err
	}
	spec, specID, err := currentSpec(c, l)
	if err != nil {
		return err
	}
	view, src, ent, err := spec.View(c.Args().First())
	if err != nil {
		return err
	}
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
	out := extractOutput{Attached: run.Attached, WorkflowID: run.GetID(), RunID: run.GetRunID(), URL: runURL(c, run.GetID(), run.GetRunID())}
	out.View = view.Name
	if run.Attached {
		p.infof("identical extraction %s already %s; following it\n", out.WorkflowID, strings.ToLower(run.Status.String()))
	} else {
		p.infof("extracting %s from %s@%s (%d rows) into %d shards\n", view.Name, srcName, lake.ShortID(srcVersion), srcManifest.Rows, shards)
	}
	if !c.Bool("wait") && !run.Attached {
		return p.result(out, func(w io.Writer) {
			fprintf(w, "started %s\n  follow it: %s\n  or: granary runs show %s\n", out.WorkflowID, out.URL, out.WorkflowID)
		})
	}
	if err := waitWithProgress(c.Context, tc, run, c.App.ErrWriter, renderExtractProgress, &out.ExtractResult); err != nil {
		return runFailed("extraction of "+view.Name+" failed", out.URL, err)
	}
	return p.result(out, func(w io.Writer) {
		r := out.ExtractResult
		fprintf(w, "%s@%s\n", r.Dataset, r.Version)
		fprintf(w, "  %d of %d source rows kept (%d filtered out, %d without key or time), %d shards, %s\n",
			r.Rows, r.RowsIn, r.Filtered, r.DroppedNulls, r.Shards, humanBytes(r.Bytes))
		fprintf(w, "  source %s@%s\n", r.SourceDataset, lake.ShortID(r.SourceVersion))
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
