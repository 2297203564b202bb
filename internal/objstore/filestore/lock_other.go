//go:build !unix

package filestore

import (
	"errors"
	"os"
)

// Without flock the store cannot exclude other processes, and silently
// weaker conditional writes would break the lake's commit protocol.
func flock(*os.File) error {
	return errors.New("filestore: cross-process locking is not supported on this OS")
}

func funlock(*os.File) error { return nil }
