package devtest

import (
	"net"
	"sync/atomic"
	"testing"
)

// CountingListener listens on a free loopback port until the test ends,
// accepting and closing every connection, and returns its address and a
// function that tells how many connections were made: tests that must
// prove nothing was contacted point a client at it.
func CountingListener(t testing.TB) (addr string, connections func() int64) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	var n atomic.Int64
	go func() {
		for {
			conn, err := ln.Accept()
			if err != nil {
				return
			}
			n.Add(1)
			conn.Close()
		}
	}()
	return ln.Addr().String(), n.Load
}
