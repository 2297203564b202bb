package tabular

import (
	"errors"
	"fmt"
	"io"
)

// chunkReader buffers an io.Reader for scanners that parse whole records in
// place: buf[start:end] holds the bytes not consumed yet. A record that does
// not fit grows the buffer, up to maxRecordBytes.
type chunkReader struct {
	r          io.Reader
	buf        []byte
	start, end int
	eof        bool
	total      int64 // bytes read so far
}

const (
	chunkSize      = 512 << 10
	maxRecordBytes = 64 << 20
)

var errRecordTooLong = fmt.Errorf("record longer than %d MiB", maxRecordBytes>>20)

func newChunkReader(r io.Reader) chunkReader {
	return chunkReader{r: r, buf: make([]byte, chunkSize)}
}

func (c *chunkReader) data() []byte { return c.buf[c.start:c.end] }

// more appends input after the unconsumed bytes. It returns nil when it
// added bytes or reached the end of input (c.eof), errRecordTooLong when the
// unconsumed bytes already fill the largest buffer, or the reader's error.
func (c *chunkReader) more() error {
	if c.eof {
		return nil
	}
	if c.start > 0 {
		copy(c.buf, c.buf[c.start:c.end])
		c.end -= c.start
		c.start = 0
	}
	if c.end == len(c.buf) {
		if len(c.buf) >= maxRecordBytes {
			return errRecordTooLong
		}
		grown := make([]byte, min(2*len(c.buf), maxRecordBytes))
		copy(grown, c.buf[:c.end])
		c.buf = grown
	}
	for range 100 {
		n, err := c.r.Read(c.buf[c.end:])
		c.end += n
		c.total += int64(n)
		if errors.Is(err, io.EOF) {
			c.eof = true
			return nil
		}
		if err != nil {
			return err
		}
		if n > 0 {
			return nil
		}
	}
	return io.ErrNoProgress
}
