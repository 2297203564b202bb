//go:build !unix

package devstack_test

import (
	"fmt"
	"os"
)

func stillRunning(pid int) string {
	if p, err := os.FindProcess(pid); err == nil {
		p.Release()
		return fmt.Sprintf("process %d can still be opened", pid)
	}
	return ""
}
