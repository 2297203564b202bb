package lake_test

import (
	"bytes"
	"context"
	"errors"
	"io"
	"math/rand/v2"
	"strings"
	"testing"
	"testing/iotest"

	"github.com/granaryml/granary/internal/lake"
	"github.com/granaryml/granary/internal/objstore"
)

func randomBytes(n int, seed uint64) []byte {
	rng := rand.New(rand.NewPCG(seed, 7))
	b := make([]byte, n)
	for i := range b {
		b[i] = byte(rng.IntN(256))
	}
	return b
}

// storedBlob puts data in a fresh file:// lake and returns its digest.
func storedBlob(t *testing.T, data []byte) (*lake.Lake, objstore.Store, lake.Digest) {
	t.Helper()
	return storedBlobIn(t, newFileLake(t), data)
}

// storedBlobIn puts data in the lake in s (whose other blobs it may share).
func storedBlobIn(t *testing.T, s objstore.Store, data []byte) (*lake.Lake, objstore.Store, lake.Digest) {
	t.Helper()
	l := lake.New(s)
	d, n, _ := lake.HashReader(bytes.NewReader(data))
	if _, err := l.PutBlob(t.Context(), d, bytes.NewReader(data), n); err != nil {
		t.Fatal(err)
	}
	return l, s, d
}

// damage replaces the stored bytes behind d, as bit rot or a tampering
// hand would, without going through the lake.
func damage(t *testing.T, s objstore.Store, d lake.Digest, bad []byte) {
	t.Helper()
	if _, err := s.Put(t.Context(), lake.BlobKey(d), bytes.NewReader(bad), int64(len(bad))); err != nil {
		t.Fatal(err)
	}
}

func flipped(data []byte, at int) []byte {
	bad := bytes.Clone(data)
	bad[at] ^= 0x40
	return bad
}

func wantCorrupt(t *testing.T, err error, d lake.Digest) {
	t.Helper()
	var ce *lake.CorruptBlobError
	if !errors.As(err, &ce) || !errors.Is(err, lake.ErrBlobCorrupt) || !errors.Is(err, lake.ErrDigestMismatch) {
		t.Fatalf("want a *CorruptBlobError matching ErrBlobCorrupt, got %v", err)
	}
	if ce.Digest != d || ce.Key != lake.BlobKey(d) || ce.Got == d {
		t.Fatalf("error names digest %s key %s got %s; want %s at %s", ce.Digest, ce.Key, ce.Got, d, lake.BlobKey(d))
	}
	if msg := err.Error(); !strings.Contains(msg, string(d)) || !strings.Contains(msg, lake.BlobKey(d)) {
		t.Fatalf("message must name the digest and the lake key: %q", msg)
	}
}

// consumers are the ways callers read a whole blob from OpenBlob.
var consumers = []struct {
	name string
	read func(r io.Reader, size int64) ([]byte, error)
}{
	{"ReadAll", func(r io.Reader, _ int64) ([]byte, error) { return io.ReadAll(r) }},
	{"one byte at a time", func(r io.Reader, _ int64) ([]byte, error) { return io.ReadAll(iotest.OneByteReader(r)) }},
	{"Copy to a file", func(r io.Reader, _ int64) ([]byte, error) {
		var b bytes.Buffer
		_, err := io.Copy(struct{ io.Writer }{&b}, r) // no ReadFrom: Copy's own buffer
		return b.Bytes(), err
	}},
	{"ReadFull of exactly the size", func(r io.Reader, size int64) ([]byte, error) {
		b := make([]byte, size)
		n, err := io.ReadFull(r, b)
		return b[:n], err
	}},
}

func TestOpenBlobVerifiesFullReads(t *testing.T) {
	data := randomBytes(300<<10+5, 1)
	for _, c := range consumers {
		t.Run("intact/"+c.name, func(t *testing.T) {
			l, _, d := storedBlob(t, data)
			rc, _, err := l.OpenBlob(t.Context(), d)
			if err != nil {
				t.Fatal(err)
			}
			defer rc.Close()
			got, err := c.read(rc, int64(len(data)))
			if err != nil || !bytes.Equal(got, data) {
				t.Fatalf("read %d bytes, err %v; want the blob's %d bytes", len(got), err, len(data))
			}
		})
		for _, bad := range []struct {
			name  string
			bytes []byte
		}{
			{"one bit flipped", flipped(data, len(data)/2)},
			{"last byte flipped", flipped(data, len(data)-1)},
			{"truncated", data[:len(data)-1000]},
			{"extended", append(bytes.Clone(data), 'x')},
			{"emptied", nil},
		} {
			if bad.bytes == nil && strings.HasPrefix(c.name, "ReadFull") {
				continue // ReadFull of zero bytes never calls Read
			}
			t.Run(bad.name+"/"+c.name, func(t *testing.T) {
				l, s, d := storedBlob(t, data)
				damage(t, s, d, bad.bytes)
				rc, info, err := l.OpenBlob(t.Context(), d)
				if err != nil {
					t.Fatal(err)
				}
				defer rc.Close()
				got, err := c.read(rc, info.Size)
				wantCorrupt(t, err, d)
				if int64(len(got)) >= info.Size && info.Size > 0 {
					t.Fatalf("handed out all %d stored bytes of a corrupt blob", len(got))
				}
			})
		}
	}
}

func TestOpenBlobStreamCutShortIsRetryableNotCorrupt(t *testing.T) {
	data := randomBytes(100<<10, 2)
	l, s, d := storedBlob(t, data)
	short := lake.New(&shortStore{Store: s, keep: 50 << 10})
	rc, _, err := short.OpenBlob(t.Context(), d)
	if err != nil {
		t.Fatal(err)
	}
	_, err = io.ReadAll(rc)
	rc.Close()
	if !errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, lake.ErrBlobCorrupt) {
		t.Fatalf("a stream cut short is a transport fault, want io.ErrUnexpectedEOF and not ErrBlobCorrupt: %v", err)
	}
	if err := l.VerifyBlob(t.Context(), d); err != nil {
		t.Fatalf("the stored blob is intact: %v", err)
	}
}

// shortStore ends every Get's stream after keep bytes, as a dropped
// connection would, while announcing the full size.
type shortStore struct {
	objstore.Store
	keep int64
}

func (s *shortStore) Get(ctx context.Context, key string, o objstore.GetOptions) (io.ReadCloser, objstore.ObjectInfo, error) {
	rc, info, err := s.Store.Get(ctx, key, o)
	if err != nil {
		return nil, info, err
	}
	return struct {
		io.Reader
		io.Closer
	}{io.LimitReader(rc, s.keep), rc}, info, nil
}

// testOpenBlobVerifies is the backend-independent core of the above.
func testOpenBlobVerifies(t *testing.T, s objstore.Store) {
	for i, bad := range [][]byte{nil, []byte("short"), flipped(randomBytes(40<<10, 9), 5)} {
		data := randomBytes(40<<10, 9)
		data[0] = byte(i) // a distinct blob per case
		l, _, d := storedBlobIn(t, s, data)
		if err := l.VerifyBlob(t.Context(), d); err != nil {
			t.Fatal(err)
		}
		damage(t, s, d, bad)
		rc, _, err := l.OpenBlob(t.Context(), d)
		if err != nil {
			t.Fatal(err)
		}
		got, err := io.ReadAll(rc)
		rc.Close()
		wantCorrupt(t, err, d)
		if bytes.Equal(got, bad) && len(bad) > 0 {
			t.Fatal("handed out the whole corrupt blob")
		}
	}
}

func testRangeReaderVerifiesSmall(t *testing.T, s objstore.Store) {
	data := randomBytes(2<<20, 10)
	l, _, d := storedBlobIn(t, s, data)
	damage(t, s, d, flipped(data, 1<<20))
	rr, err := l.BlobReaderAt(t.Context(), d)
	if err != nil {
		t.Fatal(err)
	}
	n, err := rr.ReadAt(make([]byte, 10), 0)
	wantCorrupt(t, err, d)
	if n != 0 {
		t.Fatalf("served %d bytes of a corrupt blob", n)
	}
}

func TestVerifyBlobFindsDamage(t *testing.T) {
	data := randomBytes(10<<10, 3)
	l, s, d := storedBlob(t, data)
	if err := l.VerifyBlob(t.Context(), d); err != nil {
		t.Fatal(err)
	}
	damage(t, s, d, flipped(data, 0))
	wantCorrupt(t, l.VerifyBlob(t.Context(), d), d)
}

func TestBlobReaderAtVerifiesSmallBlobs(t *testing.T) {
	data := randomBytes(1<<20+3, 4) // below the read-whole threshold
	l, s, d := storedBlob(t, data)
	rr, err := l.BlobReaderAt(t.Context(), d)
	if err != nil {
		t.Fatal(err)
	}
	buf := make([]byte, 1000)
	if n, err := rr.ReadAt(buf, 5000); err != nil || n != len(buf) || !bytes.Equal(buf, data[5000:6000]) {
		t.Fatalf("intact ReadAt = %d, %v", n, err)
	}

	damage(t, s, d, flipped(data, len(data)-1)) // far from the bytes read
	rr, err = l.BlobReaderAt(t.Context(), d)
	if err != nil {
		t.Fatal(err)
	}
	for range 2 { // every read fails, not only the first
		n, err := rr.ReadAt(buf, 0)
		wantCorrupt(t, err, d)
		if n != 0 {
			t.Fatalf("served %d bytes of a corrupt blob", n)
		}
	}
}
