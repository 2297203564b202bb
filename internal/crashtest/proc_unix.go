//go:build unix

package crashtest

import (
	"os"
	"syscall"
)

// killGroup SIGKILLs the process group led by pid; ESRCH (nobody left)
// is success.
func killGroup(pid int) error { return signalGroup(pid, syscall.SIGKILL) }

func terminateGroup(pid int) error { return signalGroup(pid, syscall.SIGTERM) }

func signalGroup(pid int, sig syscall.Signal) error {
	if err := syscall.Kill(-pid, sig); err != nil && err != syscall.ESRCH {
		return err
	}
	return nil
}

func killedBySIGKILL(st *os.ProcessState) bool {
	ws, ok := st.Sys().(syscall.WaitStatus)
	return ok && ws.Signaled() && ws.Signal() == syscall.SIGKILL
}

// groupAlive reports whether any process of the group led by pid is left.
func groupAlive(pid int) bool {
	return syscall.Kill(-pid, 0) == nil
}
