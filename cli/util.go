package cli

import (
	"context"
	"fmt"
	"io"
	"net/url"
	"time"

	ucli "github.com/urfave/cli/v2"
)

// fprintf ignores write errors on purpose: a closed stdout (granary ... |
// head) must not turn a successful command into a failure.
func fprintf(w io.Writer, format string, args ...any) {
	_, _ = fmt.Fprintf(w, format, args...)
}

// escapeID makes a workflow id (which contains '/') safe in a UI path.
func escapeID(id string) string {
	return url.PathEscape(id)
}

func contextWithTimeout(c *ucli.Context, d time.Duration) (context.Context, context.CancelFunc) {
	return context.WithTimeout(c.Context, d)
}
