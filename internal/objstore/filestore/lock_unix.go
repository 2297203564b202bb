//go:build unix

package filestore

import (
	"os"
	"syscall"
)

// flock blocks rather than polling: the critical sections it guards are a
// few metadata syscalls long (content is copied before taking the lock).
func flock(f *os.File) error {
	for {
		err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX)
		if err != syscall.EINTR {
			return err
		}
	}
}

func funlock(f *os.File) error {
	return syscall.Flock(int(f.Fd()), syscall.LOCK_UN)
}
