// Package cli builds granary's command-line interface. App takes its
// standard streams as options so tests drive the real commands in-process
// and read exactly what a user would see.
package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"

	ucli "github.com/urfave/cli/v2"

	"github.com/granaryml/granary/internal/buildinfo"
)

// Options are the process-level things a command may touch.
type Options struct {
	Stdin  io.Reader
	Stdout io.Writer
	Stderr io.Writer
}

func (o Options) withDefaults() Options {
	if o.Stdin == nil {
		o.Stdin = os.Stdin
	}
	if o.Stdout == nil {
		o.Stdout = os.Stdout
	}
	if o.Stderr == nil {
		o.Stderr = os.Stderr
	}
	return o
}

// Defaults shared by every command and documented in docs/cli.md.
const (
	DefaultTemporalAddress = "127.0.0.1:7233"
	DefaultNamespace       = "default"
	DefaultLake            = "file://.granary/lake"
	DefaultUIURL           = "http://127.0.0.1:8233"
	DefaultStateDir        = ".granary"
)

// App returns the granary command tree.
func App(opts Options) *ucli.App {
	opts = opts.withDefaults()
	return &ucli.App{
		Name:    "granary",
		Usage:   "durable feature extraction, dataset versioning and model promotion on Temporal",
		Version: buildinfo.String(),
		Description: `granary turns raw files into immutable, versioned datasets, extracts
point-in-time-correct features, builds reproducible training sets and
promotes models, all as Temporal workflows over an object-store lake.

Start everything on one machine:      granary dev
Then, in another terminal:            granary lake check`,
		Reader:    opts.Stdin,
		Writer:    opts.Stdout,
		ErrWriter: opts.Stderr,
		Flags:     globalFlags(),
		Commands: []*ucli.Command{
			devCommand(),
			workerCommand(),
			lakeCommand(),
			datasetCommand(),
			featuresCommand(),
			extractCommand(),
			materializeCommand(),
			serveCommand(),
			lookupCommand(),
			buildCommand(),
			modelCommand(),
			runsCommand(),
			versionCommand(),
		},
		// Errors are printed once, by Run, as one line; urfave must not
		// print or exit on its own.
		ExitErrHandler: func(*ucli.Context, error) {},
		Action: func(c *ucli.Context) error {
			if c.NArg() > 0 {
				return usagef("unknown command %q; run granary --help to see the commands", c.Args().First())
			}
			return ucli.ShowAppHelp(c)
		},
		EnableBashCompletion: true,
		Suggest:              true,
	}
}

// Run executes the CLI with args (args[0] is the program name) and returns
// the process exit code: 0 on success, 2 on usage errors, 1 otherwise.
func Run(ctx context.Context, args []string, opts Options) int {
	opts = opts.withDefaults()
	app := App(opts)
	err := app.RunContext(ctx, interspersed(app, args))
	if err == nil {
		return 0
	}
	printError(opts.Stderr, err)
	var usage usageError
	if errors.As(err, &usage) {
		return 2
	}
	var coder ucli.ExitCoder
	if errors.As(err, &coder) && coder.ExitCode() != 0 {
		return coder.ExitCode()
	}
	return 1
}

// usageError marks mistakes in how a command was called.
type usageError struct{ msg string }

func (e usageError) Error() string { return e.msg }

func usagef(format string, args ...any) error {
	return usageError{msg: fmt.Sprintf(format, args...)}
}

func oneLine(s string) string {
	s = strings.TrimSpace(s)
	return strings.Join(strings.Fields(strings.ReplaceAll(s, "\n", " ")), " ")
}

// printError writes one line per problem: a single error is one line; a
// spec with five mistakes is five lines, each with its file:line:column,
// so they can all be fixed in one pass.
func printError(w io.Writer, err error) {
	var multi interface{ Unwrap() []error }
	if errors.As(err, &multi) && len(multi.Unwrap()) > 1 {
		for _, e := range multi.Unwrap() {
			fmt.Fprintln(w, "granary: "+oneLine(e.Error()))
		}
		return
	}
	fmt.Fprintln(w, "granary: "+oneLine(describeError(err)))
}
