package devstack

import (
	"bytes"
	"io"
	"sync"
)

// tailSize bounds what a failed start reports: enough for the error that
// killed a server, small enough to print.
const tailSize = 4 << 10

// tailWriter keeps the last tailSize bytes of a server's output in a ring
// and copies everything to an optional log.
type tailWriter struct {
	mu   sync.Mutex
	ring [tailSize]byte
	next int  // where the next byte goes
	full bool // the ring has wrapped
	log  io.Writer
}

func (t *tailWriter) Write(p []byte) (int, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.log != nil {
		// A failing log must not stall or kill the server's output pipe.
		_, _ = t.log.Write(p)
	}
	n := len(p)
	if len(p) >= tailSize {
		p = p[len(p)-tailSize:]
	}
	for len(p) > 0 {
		c := copy(t.ring[t.next:], p)
		p = p[c:]
		t.next += c
		if t.next == tailSize {
			t.next, t.full = 0, true
		}
	}
	return n, nil
}

// String returns the kept output, from the first whole line when older
// output was dropped.
func (t *tailWriter) String() string {
	t.mu.Lock()
	defer t.mu.Unlock()
	if !t.full {
		return string(t.ring[:t.next])
	}
	out := append(append([]byte(nil), t.ring[t.next:]...), t.ring[:t.next]...)
	if i := bytes.IndexByte(out, '\n'); i >= 0 && i < len(out)-1 {
		out = out[i+1:]
	}
	return string(out)
}
