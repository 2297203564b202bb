package devstack

import "syscall"

// Setpgid gives the server its own process group, so Stop reaches any
// children and a Ctrl-C in a terminal (sent to the foreground group) is
// handled by granary, which then stops servers in order.
//
// Pdeathsig kills the server if granary dies without stopping it. Linux
// ties it to the thread that forked the child, not the process; Go only
// retires threads of goroutines that exit while locked with
// runtime.LockOSThread, so never start a server from such a goroutine.
func sysProcAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
}
