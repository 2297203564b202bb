package devstack

import (
	"fmt"
	"net"
)

// FreePort returns a TCP port on the loopback interface that was free a
// moment ago. Another process may still take it before the server binds;
// servers that fail to bind exit early, and Start reports their output.
func FreePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, fmt.Errorf("devstack: find a free port: %w", err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}
