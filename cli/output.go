package cli

import (
	"encoding/json"
	"fmt"
	"io"

	ucli "github.com/urfave/cli/v2"
)

// printer writes a command's result either for people (text) or for
// scripts (one JSON document on stdout, nothing else).
type printer struct {
	w    io.Writer // results
	errw io.Writer // progress and status, kept off stdout so pipes stay clean
	json bool
}

func newPrinter(c *ucli.Context) (printer, error) {
	switch f := c.String(flagOutput); f {
	case "text", "":
		return printer{w: c.App.Writer, errw: c.App.ErrWriter}, nil
	case "json":
		return printer{w: c.App.Writer, errw: c.App.ErrWriter, json: true}, nil
	default:
		return printer{}, usagef("--output %q: must be text or json", f)
	}
}

// result prints v as JSON, or calls text to print it for people.
func (p printer) result(v any, text func(w io.Writer)) error {
	if p.json {
		enc := json.NewEncoder(p.w)
		enc.SetIndent("", "  ")
		return enc.Encode(v)
	}
	text(p.w)
	return nil
}

// infof prints a progress or status line to stderr, so stdout stays one
// parseable result in JSON mode and pipes carry only results.
func (p printer) infof(format string, args ...any) {
	fmt.Fprintf(p.errw, format, args...)
}
