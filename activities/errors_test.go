package activities

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"testing"

	"go.temporal.io/sdk/temporal"

	"github.com/granaryml/granary/features"
	"github.com/granaryml/granary/internal/tabular"
)

// Input that fails the same way on every attempt must not be retried: a
// hostile file (here a parquet footer claiming 2^31 schema elements in 21
// bytes) and an expression that fails on a row (here one that builds more
// elements than an evaluation may) both become non-retryable errors that
// keep the cause's message.
func TestToTemporalInputErrorsAreNotRetried(t *testing.T) {
	footer := []byte{0x15, 0x02, 0x19, 0xfc, 0xff, 0xff, 0xff, 0xff, 0x07}
	file := append([]byte("PAR1"), footer...)
	file = append(file, byte(len(footer)), 0, 0, 0)
	file = append(file, "PAR1"...)
	_, convErr := tabular.Convert(context.Background(), bytes.NewReader(file), io.Discard, tabular.ConvertOptions{File: "upload.parquet", Format: tabular.Parquet})

	f, err := features.CompileFilter("all(1..qty, # > 0)", map[string]features.ColumnType{"qty": features.Int64})
	if err != nil {
		t.Fatal(err)
	}
	_, evalErr := f.Eval(map[string]any{"qty": int64(1_000_000)})

	for name, cause := range map[string]error{"hostile parquet": convErr, "expression on a row": fmt.Errorf("orders@v1 file 3: %w", evalErr)} {
		var ae *temporal.ApplicationError
		if !errors.As(toTemporal(cause), &ae) || !ae.NonRetryable() || ae.Type() != ErrTypeInvalidInput || ae.Message() != cause.Error() {
			t.Errorf("%s: %v became %#v, want a non-retryable %s", name, cause, toTemporal(cause), ErrTypeInvalidInput)
		}
	}
}
