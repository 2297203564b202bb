package objstore

import (
	"fmt"
	"io"
)

// ExactReader passes through exactly the declared number of bytes of an
// upload. When the source holds fewer or more bytes it fails with
// ErrSizeMismatch instead of handing out the final byte, so a backend that
// streams through it never completes (and never publishes) a mismatched
// object.
type ExactReader struct {
	r        io.Reader
	size     int64
	left     int64
	err      error // sticky: io.EOF once verified, or the failure
	mismatch error
}

// NewExactReader wraps r, which must hold exactly size bytes.
func NewExactReader(r io.Reader, size int64) *ExactReader {
	e := &ExactReader{r: r, size: size, left: size}
	if size < 0 {
		e.fail(fmt.Errorf("%w: negative size %d", ErrSizeMismatch, size))
	}
	return e
}

// Mismatch reports the size mismatch seen so far, if any. Backends check it
// after an upload fails, because client libraries may wrap (or replace) the
// reader's error on its way out.
func (e *ExactReader) Mismatch() error { return e.mismatch }

func (e *ExactReader) fail(err error) {
	e.err, e.mismatch = err, err
}

func (e *ExactReader) Read(p []byte) (int, error) {
	if e.err != nil {
		return 0, e.err
	}
	if len(p) == 0 {
		return 0, nil
	}
	if int64(len(p)) < e.left {
		// This read cannot complete the object, so it may pass data through.
		n, err := e.r.Read(p)
		e.left -= int64(n)
		if err == io.EOF {
			e.fail(fmt.Errorf("%w: declared %d bytes, got %d", ErrSizeMismatch, e.size, e.size-e.left))
			return n, e.err
		}
		return n, err
	}
	// This read may deliver the last bytes: only hand them out once the
	// source has proven it ends exactly here.
	n, err := io.ReadFull(e.r, p[:e.left])
	if err == io.EOF || err == io.ErrUnexpectedEOF {
		e.fail(fmt.Errorf("%w: declared %d bytes, got %d", ErrSizeMismatch, e.size, e.size-e.left+int64(n)))
		return 0, e.err
	}
	if err != nil {
		return 0, err
	}
	if err := e.probeEOF(); err != nil {
		return 0, err
	}
	e.left = 0
	e.err = io.EOF
	if n == 0 {
		return 0, io.EOF
	}
	return n, nil
}

func (e *ExactReader) probeEOF() error {
	var one [1]byte
	// Same guard as io.ReadFull's callers rely on: a reader that keeps
	// returning (0, nil) must not spin forever.
	for range 100 {
		n, err := e.r.Read(one[:])
		if n > 0 {
			e.fail(fmt.Errorf("%w: declared %d bytes, got more", ErrSizeMismatch, e.size))
			return e.err
		}
		if err == io.EOF {
			return nil
		}
		if err != nil {
			return err
		}
	}
	return io.ErrNoProgress
}
