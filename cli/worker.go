package cli

import (
	"context"
	"fmt"
	"io"
	"os"
	"time"

	ucli "github.com/urfave/cli/v2"
	"go.temporal.io/sdk/client"

	"github.com/granaryml/granary/activities"
	gworker "github.com/granaryml/granary/worker"
	"github.com/granaryml/granary/workflows"
)

func workerCommand() *ucli.Command {
	return &ucli.Command{
		Name:  "worker",
		Usage: "run a granary worker: executes workflows and activities against the lake",
		Description: `Polls the "granary" task queue of a Temporal cluster and runs granary's
workflows and activities against the lake. Run as many as you like; each
process handles up to --max-activities activities at once. Stops cleanly on
Ctrl-C/SIGTERM (running activities are retried elsewhere).

Imports may name s3:// sources; the worker reads them with its own
credentials, so it reads only from its lake's endpoint and those given with
--allow-endpoint (any other fails before a request is sent).

Examples:
   granary worker --temporal-address temporal:7233 --lake 's3://granary/lake?endpoint=minio:9000&secure=false'
   GRANARY_TEMPORAL_ADDRESS=temporal:7233 GRANARY_LAKE=file:///data/lake granary worker
   granary worker --lake 's3://granary/lake?endpoint=minio:9000&secure=false' --allow-endpoint s3.amazonaws.com`,
		Flags: []ucli.Flag{
			&ucli.IntFlag{Name: "max-activities", Value: 4, Usage: "at most `N` activities at once in this process", EnvVars: []string{"GRANARY_MAX_ACTIVITIES"}},
			&ucli.StringSliceFlag{Name: "serve-notify", Usage: "serving base `URL`s to notify when a model alias moves (token from GRANARY_SERVE_NOTIFY_TOKEN)", EnvVars: []string{"GRANARY_SERVE_NOTIFY"}},
			allowEndpointFlag(),
			&ucli.DurationFlag{Name: "stall-timeout", Value: activities.DefaultStallTimeout, Usage: "fail (and retry) a long activity that moved no byte and no row for `DURATION`", EnvVars: []string{"GRANARY_STALL_TIMEOUT"}},
		},
		Action: func(c *ucli.Context) error {
			tc, err := dialTemporal(c.Context, c)
			if err != nil {
				return err
			}
			defer tc.Close()
			if st := c.Duration("stall-timeout"); st < time.Second {
				return usagef("--stall-timeout %s: must be at least 1s", st)
			}
			store, err := openLake(c.Context, c)
			if err != nil {
				return err
			}
			allowed, err := sourceAllowlist(c.String(flagLake), c.StringSlice("allow-endpoint"))
			if err != nil {
				return err
			}
			fprintf(c.App.ErrWriter, "granary worker: task queue %q on %s (namespace %s), lake %s, s3 import sources from: %s\n",
				workflows.TaskQueue, c.String(flagTemporalAddress), c.String(flagNamespace), store, orNone(allowed.Endpoints()))
			return runWorker(c.Context, tc, gworker.Options{Store: store, MaxConcurrentActivities: c.Int("max-activities"),
				ServeURLs: c.StringSlice("serve-notify"), ServeToken: os.Getenv("GRANARY_SERVE_NOTIFY_TOKEN"), AllowedEndpoints: allowed,
				StallTimeout: c.Duration("stall-timeout")}, c.App.ErrWriter)
		},
	}
}

// runWorker serves until ctx is canceled, then stops the worker, which
// waits for running activities' grace period before returning.
func runWorker(ctx context.Context, tc client.Client, opts gworker.Options, log io.Writer) error {
	opts.Client = tc
	w, err := gworker.New(opts)
	if err != nil {
		return err
	}
	if err := w.Start(); err != nil {
		return fmt.Errorf("start worker: %w", err)
	}
	<-ctx.Done()
	fprintf(log, "granary worker: stopping\n")
	w.Stop()
	return nil
}
