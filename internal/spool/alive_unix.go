//go:build unix

package spool

import (
	"errors"
	"syscall"
)

// alive reports whether a process exists (EPERM means it does, owned by
// someone else).
func alive(pid int) bool {
	err := syscall.Kill(pid, 0)
	return err == nil || errors.Is(err, syscall.EPERM)
}
