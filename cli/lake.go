package cli

import (
	"fmt"
	"io"
	"time"

	ucli "github.com/urfave/cli/v2"
	"go.temporal.io/sdk/client"

	"github.com/granaryml/granary/activities"
	"github.com/granaryml/granary/workflows"
)

func lakeCommand() *ucli.Command {
	return &ucli.Command{
		Name:  "lake",
		Usage: "inspect the lake the workers use",
		Subcommands: []*ucli.Command{
			lakeCheckCommand(),
			lakeVerifyCommand(),
		},
	}
}

type lakeCheckOutput struct {
	activities.LakeCheckResult
	WorkflowID string `json:"workflow_id"`
	RunID      string `json:"run_id"`
	URL        string `json:"url"`
}

func lakeCheckCommand() *ucli.Command {
	return &ucli.Command{
		Name:  "check",
		Usage: "prove the stack works: a workflow whose activity writes, reads back and deletes an object in the lake",
		Description: `Starts the LakeCheck workflow and waits for it. A worker (granary dev or
granary worker) picks it up and round-trips a probe object through the
lake it was started with, reporting the latency of each step.

Examples:
   granary lake check
   granary lake check --bytes 1048576 --output json
   GRANARY_TEMPORAL_ADDRESS=temporal:7233 granary lake check`,
		Flags: []ucli.Flag{
			&ucli.IntFlag{Name: "bytes", Value: 4096, Usage: "size of the probe object in `BYTES` (at most 64 MiB)"},
			&ucli.DurationFlag{Name: "timeout", Value: time.Minute, Usage: "give up waiting after `DURATION` (the run goes on in Temporal)"},
		},
		Action: func(c *ucli.Context) error {
			p, err := newPrinter(c)
			if err != nil {
				return err
			}
			n := c.Int("bytes")
			if n <= 0 || n > 64<<20 {
				return usagef("--bytes %d: must be between 1 and %d", n, 64<<20)
			}
			tc, err := dialTemporal(c.Context, c)
			if err != nil {
				return err
			}
			defer tc.Close()

			id := "lakecheck/" + time.Now().UTC().Format("20060102T150405.000000000Z")
			run, err := tc.ExecuteWorkflow(c.Context, client.StartWorkflowOptions{
				ID:                       id,
				TaskQueue:                workflows.TaskQueue,
				WorkflowExecutionTimeout: 10 * time.Minute,
			}, workflows.LakeCheckWorkflowName, activities.LakeCheckInput{Bytes: n})
			if err != nil {
				return fmt.Errorf("start lake check: %w", err)
			}
			out := lakeCheckOutput{WorkflowID: run.GetID(), RunID: run.GetRunID(), URL: runURL(c, run.GetID(), run.GetRunID())}
			p.infof("started %s, waiting for a worker...\n", out.WorkflowID)

			wctx, cancel := contextWithTimeout(c, c.Duration("timeout"))
			defer cancel()
			if err := run.Get(wctx, &out.LakeCheckResult); err != nil {
				if wctx.Err() != nil && c.Context.Err() == nil {
					return fmt.Errorf("no result after %s: is a worker running on task queue %q? (see %s)", c.Duration("timeout"), workflows.TaskQueue, out.URL)
				}
				return runFailed("lake check failed", out.URL, err)
			}
			return p.result(out, func(w io.Writer) {
				r := out.LakeCheckResult
				fprintf(w, "lake ok: %s\n", r.Store)
				fprintf(w, "  write %.2f ms, read %.2f ms, delete %.2f ms (%d bytes, worker %s)\n", r.WriteMillis, r.ReadMillis, r.DeleteMillis, r.Bytes, r.Worker)
				fprintf(w, "  run: %s\n", out.URL)
			})
		},
	}
}
