package crashtest

import "syscall"

// Setpgid puts each worker in its own group so a kill reaches everything
// it started. Pdeathsig kills it if the test process dies first, so an
// interrupted test leaves no worker polling a dead server. (Linux ties
// Pdeathsig to the forking thread; Go keeps threads alive unless a
// goroutine exits locked to one, which nothing here does.)
func sysProcAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
}
