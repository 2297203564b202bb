//go:build !unix

package crashtest

import (
	"os"
	"syscall"
)

func sysProcAttr() *syscall.SysProcAttr { return nil }

func killGroup(int) error { return ErrUnsupported }

func terminateGroup(int) error { return ErrUnsupported }

func killedBySIGKILL(*os.ProcessState) bool { return false }

func groupAlive(int) bool { return false }
