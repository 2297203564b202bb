//go:build !unix

package devstack

import (
	"os"
	"syscall"
)

type signal int

const (
	terminate signal = iota
	kill
)

func sysProcAttr() *syscall.SysProcAttr { return nil }

// Without process groups or SIGTERM, stopping means killing the server
// itself; it gets no chance to shut down cleanly.
func signalGroup(p *os.Process, _ signal) error {
	return p.Kill()
}
