package objstore_test

import (
	"errors"
	"fmt"
	"io"
	"strings"
	"testing"
	"testing/iotest"

	"github.com/granaryml/granary/internal/objstore"
)

func TestExactReader(t *testing.T) {
	s := strings.NewReader
	tests := []struct {
		name     string
		src      func() io.Reader
		size     int64
		mismatch bool
	}{
		{"exact", func() io.Reader { return s("hello") }, 5, false},
		{"exact, one byte per read", func() io.Reader { return iotest.OneByteReader(s("hello")) }, 5, false},
		{"exact, EOF with the data", func() io.Reader { return iotest.DataErrReader(s("hello")) }, 5, false},
		{"empty", func() io.Reader { return s("") }, 0, false},
		{"short", func() io.Reader { return s("hell") }, 5, true},
		{"long", func() io.Reader { return s("hello!") }, 5, true},
		{"long, one byte per read", func() io.Reader { return iotest.OneByteReader(s("hello!")) }, 5, true},
		{"data for an empty object", func() io.Reader { return s("x") }, 0, true},
		{"negative size", func() io.Reader { return s("") }, -1, true},
	}
	for _, tc := range tests {
		for _, bufSize := range []int{1, 3, 5, 64} {
			t.Run(fmt.Sprintf("%s/buf=%d", tc.name, bufSize), func(t *testing.T) {
				e := objstore.NewExactReader(tc.src(), tc.size)
				got, err := readWith(e, bufSize)
				if !tc.mismatch {
					if err != nil || int64(len(got)) != tc.size || e.Mismatch() != nil {
						t.Fatalf("read %q, %v (mismatch %v)", got, err, e.Mismatch())
					}
					return
				}
				if !errors.Is(err, objstore.ErrSizeMismatch) || !errors.Is(e.Mismatch(), objstore.ErrSizeMismatch) {
					t.Fatalf("err = %v, Mismatch() = %v; want ErrSizeMismatch", err, e.Mismatch())
				}
				// A consumer must never receive a complete object.
				if tc.size > 0 && int64(len(got)) >= tc.size {
					t.Fatalf("handed out %d of %d bytes despite the mismatch", len(got), tc.size)
				}
			})
		}
	}
}

func TestExactReaderPassesSourceErrors(t *testing.T) {
	boom := errors.New("disk on fire")
	e := objstore.NewExactReader(iotest.ErrReader(boom), 5)
	if _, err := readWith(e, 10); !errors.Is(err, boom) || e.Mismatch() != nil {
		t.Fatalf("err = %v, mismatch = %v; want the source's error and no mismatch", err, e.Mismatch())
	}
}

func readWith(r io.Reader, bufSize int) ([]byte, error) {
	var out []byte
	buf := make([]byte, bufSize)
	for {
		n, err := r.Read(buf)
		out = append(out, buf[:n]...)
		if err == io.EOF {
			return out, nil
		}
		if err != nil {
			return out, err
		}
	}
}
