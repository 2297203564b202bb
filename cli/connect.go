package cli

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"time"

	ucli "github.com/urfave/cli/v2"
	"go.temporal.io/sdk/client"
	tlog "go.temporal.io/sdk/log"

	"github.com/granaryml/granary/internal/objstore"
	"github.com/granaryml/granary/internal/objstore/storeurl"
)

// dialTimeout bounds how long a command waits for Temporal before telling
// the user it is not there; a CLI that hangs silently is worse than one
// that fails fast with a hint.
const dialTimeout = 10 * time.Second

// sdkLogger keeps the SDK's chatty INFO lines out of command output while
// still surfacing its warnings (e.g. failing polls) on stderr.
func sdkLogger(w io.Writer) tlog.Logger {
	return tlog.NewStructuredLogger(slog.New(slog.NewTextHandler(w, &slog.HandlerOptions{Level: slog.LevelWarn})))
}

func dialTemporal(ctx context.Context, c *ucli.Context) (client.Client, error) {
	addr := c.String(flagTemporalAddress)
	ns := c.String(flagNamespace)
	dctx, cancel := context.WithTimeout(ctx, dialTimeout)
	defer cancel()
	tc, err := client.DialContext(dctx, client.Options{
		HostPort:  addr,
		Namespace: ns,
		Identity:  temporalIdentity(),
		Logger:    sdkLogger(c.App.ErrWriter),
	})
	if err != nil {
		return nil, fmt.Errorf("cannot reach Temporal at %s (namespace %q): %v; start one with `granary dev` or set --temporal-address", addr, ns, err)
	}
	return tc, nil
}

func openLake(ctx context.Context, c *ucli.Context) (objstore.Store, error) {
	s, err := storeurl.Open(ctx, c.String(flagLake))
	if err != nil {
		return nil, fmt.Errorf("--lake: %w", err)
	}
	return s, nil
}

// runURL links to a run in the Temporal UI, the operator's next stop
// when something fails.
func runURL(c *ucli.Context, workflowID, runID string) string {
	return fmt.Sprintf("%s/namespaces/%s/workflows/%s/%s", c.String(flagUIURL), c.String(flagNamespace), escapeID(workflowID), runID)
}
