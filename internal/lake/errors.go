package lake

import "errors"

var (
	ErrNotFound       = errors.New("not found")
	ErrConflict       = errors.New("conflict")
	ErrInvalidName    = errors.New("invalid name")
	ErrAmbiguous      = errors.New("ambiguous version prefix")
	ErrCorrupt        = errors.New("corrupt lake object")
	ErrDigestMismatch = errors.New("content does not match its digest")
	// ErrBlobCorrupt is a stored blob whose bytes no longer hash to the
	// digest it is stored under (bit rot, tampering, a truncated copy).
	// Retrying cannot help; see CorruptBlobError for what can.
	ErrBlobCorrupt = errors.New("stored blob is corrupt")
)
