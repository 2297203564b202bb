// Command granary is the single binary for the CLI, the worker, the
// serving API and the local dev stack; all of it lives in package cli.
package main

import (
	"context"
	"os"
	"os/signal"
	"syscall"

	"github.com/granaryml/granary/cli"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := cli.Run(ctx, os.Args, cli.Options{})
	stop()
	os.Exit(code)
}
