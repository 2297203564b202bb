package cli

import (
	"strings"

	ucli "github.com/urfave/cli/v2"
)

// interspersed moves a command's flags ahead of its positional arguments.
// urfave/cli v2 stops parsing flags at the first positional argument, so
// `granary dataset import orders data.csv --wait` would treat --wait as a
// file name; people type flags after arguments all the time, so granary
// accepts both orders. "--" still ends flag parsing.
func interspersed(app *ucli.App, args []string) []string {
	if len(args) == 0 {
		return args
	}
	out := []string{args[0]}
	var global, positional []string
	flags, cmds := app.Flags, app.Commands
	depth := 0
	for i := 1; i < len(args); i++ {
		a := args[i]
		switch {
		case a == "--":
			positional = append(positional, args[i:]...)
			i = len(args)
		case strings.HasPrefix(a, "-") && a != "-":
			name := strings.TrimLeft(strings.SplitN(a, "=", 2)[0], "-")
			// A global flag (--output, --lake, ...) given after a command
			// name goes back to the front, where urfave/cli looks for it.
			dst, fl := &out, flags
			if depth > 0 && !hasFlag(flags, name) && hasFlag(app.Flags, name) {
				dst, fl = &global, app.Flags
			}
			*dst = append(*dst, a)
			if !strings.Contains(a, "=") && takesValue(fl, name) && i+1 < len(args) {
				i++
				*dst = append(*dst, args[i])
			}
		default:
			if cmd := findCommand(cmds, a); cmd != nil && len(positional) == 0 {
				out = append(out, a)
				flags, cmds = cmd.Flags, cmd.Subcommands
				depth++
				continue
			}
			positional = append(positional, a)
		}
	}
	out = append(append([]string{out[0]}, global...), out[1:]...)
	return append(out, positional...)
}

func hasFlag(flags []ucli.Flag, name string) bool {
	for _, f := range flags {
		for _, n := range f.Names() {
			if n == name {
				return true
			}
		}
	}
	return name == "help" || name == "h"
}

func findCommand(cmds []*ucli.Command, name string) *ucli.Command {
	for _, c := range cmds {
		if c.HasName(name) {
			return c
		}
	}
	return nil
}

func takesValue(flags []ucli.Flag, name string) bool {
	for _, f := range flags {
		for _, n := range f.Names() {
			if n != name {
				continue
			}
			if dv, ok := f.(ucli.DocGenerationFlag); ok {
				return dv.TakesValue()
			}
			return true
		}
	}
	return false
}
