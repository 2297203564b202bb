//go:build unix && !linux

package crashtest

import "syscall"

// Setpgid puts each worker in its own group so a kill reaches everything
// it started. Without Pdeathsig, Workers.Close is what prevents orphans.
func sysProcAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Setpgid: true}
}
