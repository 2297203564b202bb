package objstore

import "errors"

// Sentinel errors every backend returns (wrapped with the key and the
// operation), so callers branch with errors.Is and never on backend types.
var (
	ErrNotFound           = errors.New("object not found")
	ErrAlreadyExists      = errors.New("object already exists")
	ErrPreconditionFailed = errors.New("precondition failed: object changed since it was read")
	ErrInvalidKey         = errors.New("invalid object key")
	ErrInvalidURL         = errors.New("invalid store URL")
	ErrSizeMismatch       = errors.New("object size does not match the declared size")
	ErrInvalidRange       = errors.New("invalid byte range")
	// ErrCannotAdopt: see FileAdopter.
	ErrCannotAdopt = errors.New("store cannot adopt this file; upload a copy")
)
