package lake

import "errors"

var (
	ErrNotFound       = errors.New("not found")
	ErrConflict       = errors.New("conflict")
	ErrInvalidName    = errors.New("invalid name")
	ErrAmbiguous      = errors.New("ambiguous version prefix")
	ErrCorrupt        = errors.New("corrupt lake object")
	ErrDigestMismatch = errors.New("content does not match its digest")
)
