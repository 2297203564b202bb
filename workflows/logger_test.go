package workflows_test

import (
	"io"
	"log/slog"
	"strings"

	"go.temporal.io/sdk/log"
)

// quietLogger keeps the test environment's DEBUG chatter out of test
// output; failures are reported by assertions, not logs.
func quietLogger() log.Logger {
	return log.NewStructuredLogger(slog.New(slog.NewTextHandler(io.Discard, nil)))
}

func replaceName(history []byte, from, to string) []byte {
	return []byte(strings.Replace(string(history), `"name": "`+from+`"`, `"name": "`+to+`"`, 1))
}
