package cli

import (
	"io"
	"runtime"

	ucli "github.com/urfave/cli/v2"

	"github.com/granaryml/granary/internal/buildinfo"
)

type versionResult struct {
	Version string `json:"version"`
	Go      string `json:"go"`
}

func versionCommand() *ucli.Command {
	return &ucli.Command{
		Name:  "version",
		Usage: "print the granary build version",
		Description: `Examples:
   granary version
   granary version --output json`,
		Action: func(c *ucli.Context) error {
			p, err := newPrinter(c)
			if err != nil {
				return err
			}
			v := versionResult{Version: buildinfo.String(), Go: runtime.Version()}
			return p.result(v, func(w io.Writer) {
				fprintf(w, "granary %s (%s)\n", v.Version, v.Go)
			})
		},
	}
}
