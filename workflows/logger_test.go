package workflows_test

import (
	"io"
	"log/slog"

	"go.temporal.io/sdk/log"
)

// quietLogger keeps the test environment's DEBUG chatter out of test
// output; failures are reported by assertions, not logs.
func quietLogger() log.Logger {
	return log.NewStructuredLogger(slog.New(slog.NewTextHandler(io.Discard, nil)))
}
