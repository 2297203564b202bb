//go:build unix && !linux

package devstack

import "syscall"

// Without Pdeathsig (Linux only) a server survives a granary killed with
// SIGKILL; Stop and normal exits still clean up.
func sysProcAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Setpgid: true}
}
