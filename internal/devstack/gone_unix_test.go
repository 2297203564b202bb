//go:build unix

package devstack_test

import (
	"fmt"
	"syscall"
)

// stillRunning describes what survives of the server's process and its
// process group, using signal 0 (delivery check, no signal), or "".
func stillRunning(pid int) string {
	if err := syscall.Kill(pid, 0); err != syscall.ESRCH {
		return fmt.Sprintf("signal 0 to pid %d: %v, want ESRCH", pid, err)
	}
	if err := syscall.Kill(-pid, 0); err != syscall.ESRCH {
		return fmt.Sprintf("signal 0 to process group %d: %v, want ESRCH", pid, err)
	}
	return ""
}
