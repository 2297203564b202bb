package activities

import (
	"context"
	"errors"

	"go.temporal.io/sdk/temporal"

	"github.com/granaryml/granary/features"
	"github.com/granaryml/granary/internal/lake"
	"github.com/granaryml/granary/internal/modelgate"
	"github.com/granaryml/granary/internal/objstore"
	"github.com/granaryml/granary/internal/objstore/storeurl"
	"github.com/granaryml/granary/internal/tabular"
)

// Error types of non-retryable failures. Operators see these names in the
// Temporal UI and the CLI maps them back to one-line messages; retrying
// cannot fix any of them, only a change of input can.
const (
	ErrTypeInvalidInput   = "InvalidInput"
	ErrTypeInvalidSpec    = "InvalidSpec"
	ErrTypeSchemaMismatch = "SchemaMismatch"
	ErrTypeNotFound       = "NotFound"
	ErrTypeConflict       = "Conflict"
	ErrTypeCorrupt        = "Corrupt"
	ErrTypeNotAllowed     = "NotAllowed"
	// ErrTypeCorruptBlob: a stored blob's bytes do not hash to its digest.
	// The message names the digest and the lake key; `granary lake verify
	// --repair` quarantines the blob so a re-import can write it again.
	ErrTypeCorruptBlob = "CorruptBlob"
	// ErrTypeStalled (retryable): the attempt moved nothing for its stall
	// timeout, so a lake read or write hung; the next attempt may well run
	// on a healthy connection or another worker.
	ErrTypeStalled = "Stalled"
)

// toTemporal is the one place where granary's error tree becomes Temporal
// failures: input problems become non-retryable application errors of a
// named type; everything else stays retryable (I/O hiccups, a busy MinIO).
func toTemporal(err error) error {
	if err == nil {
		return nil
	}
	switch {
	case errors.Is(err, ErrStalled):
		return temporal.NewApplicationError(err.Error(), ErrTypeStalled, err)
	case errors.Is(err, context.Canceled):
		return err
	case errors.Is(err, storeurl.ErrEndpointNotAllowed):
		return temporal.NewNonRetryableApplicationError(err.Error(), ErrTypeNotAllowed, err)
	case errors.Is(err, ErrSourceChanged):
		return temporal.NewNonRetryableApplicationError(err.Error(), ErrTypeConflict, err)
	case errors.Is(err, lake.ErrBlobCorrupt):
		// First: a parser may wrap the read error in its own bad-input
		// error, but the input is fine; the lake's copy of it is not.
		return temporal.NewNonRetryableApplicationError(err.Error(), ErrTypeCorruptBlob, err)
	case errors.Is(err, objstore.ErrInvalidKey), errors.Is(err, objstore.ErrInvalidURL):
		return temporal.NewNonRetryableApplicationError(err.Error(), ErrTypeInvalidInput, err)
	case errors.Is(err, objstore.ErrNotFound):
		return temporal.NewNonRetryableApplicationError(err.Error(), ErrTypeNotFound, err)
	case errors.Is(err, features.ErrSchemaMismatch):
		return temporal.NewNonRetryableApplicationError(err.Error(), ErrTypeSchemaMismatch, err)
	case errors.Is(err, features.ErrInvalidSpec):
		return temporal.NewNonRetryableApplicationError(err.Error(), ErrTypeInvalidSpec, err)
	case errors.Is(err, tabular.ErrBadInput), errors.Is(err, lake.ErrInvalidName), errors.Is(err, lake.ErrGraceTooShort), errors.Is(err, lake.ErrAmbiguous), errors.Is(err, modelgate.ErrInvalidGate),
		errors.Is(err, features.ErrEval): // an expression that fails on a row fails on it again
		return temporal.NewNonRetryableApplicationError(err.Error(), ErrTypeInvalidInput, err)
	case errors.Is(err, lake.ErrNotFound):
		return temporal.NewNonRetryableApplicationError(err.Error(), ErrTypeNotFound, err)
	case errors.Is(err, lake.ErrConflict):
		return temporal.NewNonRetryableApplicationError(err.Error(), ErrTypeConflict, err)
	case errors.Is(err, lake.ErrCorrupt), errors.Is(err, lake.ErrDigestMismatch):
		return temporal.NewNonRetryableApplicationError(err.Error(), ErrTypeCorrupt, err)
	}
	return err
}
