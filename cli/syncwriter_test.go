package cli_test

import (
	"io"
	"log/slog"
	"strings"
	"sync"

	"go.temporal.io/sdk/log"
)

// syncWriter lets a test read output that a running command still writes.
type syncWriter struct {
	mu sync.Mutex
	b  *strings.Builder
}

func (w *syncWriter) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.b.Write(p)
}

// quietSDKLogger keeps the SDK's INFO lines out of test output.
func quietSDKLogger() log.Logger {
	return log.NewStructuredLogger(slog.New(slog.NewTextHandler(io.Discard, nil)))
}
