package lake

import (
	"crypto/sha256"
	"errors"
	"fmt"
	"hash"
	"io"
)

// CorruptBlobError reports a stored blob whose bytes do not hash to its
// digest. It matches ErrBlobCorrupt and, like every content/digest
// disagreement, ErrDigestMismatch.
type CorruptBlobError struct {
	Digest Digest
	Key    string // the lake key the bytes were read from
	Got    Digest // what the stored bytes hash to
	Size   int64  // how many bytes were hashed
}

func (e *CorruptBlobError) Error() string {
	return fmt.Sprintf("%v: blob %s (lake key %s) hashes to %s (%d bytes stored); `granary lake verify --repair` quarantines it so that re-importing the data writes it again",
		ErrBlobCorrupt, e.Digest, e.Key, e.Got, e.Size)
}

func (e *CorruptBlobError) Unwrap() []error { return []error{ErrBlobCorrupt, ErrDigestMismatch} }

// verifyingReader streams a whole blob and checks its digest. The bytes
// that complete the blob are withheld until the digest matches, so a
// consumer never receives a complete copy of corrupt content: io.ReadFull
// of exactly the blob's size (which never reads to EOF) still sees the
// error, and a copy into a file always ends in an error rather than in a
// file that looks whole.
type verifyingReader struct {
	rc     io.ReadCloser
	digest Digest
	key    string
	size   int64 // the stored object's size, from the Get
	read   int64
	h      hash.Hash
	err    error // sticky: io.EOF once verified, or the failure
}

func newVerifyingReader(rc io.ReadCloser, d Digest, key string, size int64) *verifyingReader {
	return &verifyingReader{rc: rc, digest: d, key: key, size: size, h: sha256.New()}
}

func (v *verifyingReader) Read(p []byte) (int, error) {
	if v.err != nil {
		return 0, v.err
	}
	if len(p) == 0 {
		return 0, nil
	}
	left := v.size - v.read
	if int64(len(p)) < left {
		n, err := v.rc.Read(p)
		v.h.Write(p[:n])
		v.read += int64(n)
		if err == io.EOF {
			v.err = v.truncated()
			return n, v.err
		}
		return n, err
	}
	n, err := io.ReadFull(v.rc, p[:left])
	v.h.Write(p[:n])
	v.read += int64(n)
	switch {
	case errors.Is(err, io.EOF), errors.Is(err, io.ErrUnexpectedEOF):
		v.err = v.truncated()
		return 0, v.err
	case err != nil:
		// The bytes read so far are hashed but not handed out, so the
		// stream cannot resume: make the failure stick.
		v.err = err
		return 0, err
	}
	if got := digestOf(v.h); got != v.digest {
		v.err = &CorruptBlobError{Digest: v.digest, Key: v.key, Got: got, Size: v.read}
		return 0, v.err
	}
	v.err = io.EOF
	if n == 0 {
		return 0, io.EOF
	}
	return n, nil
}

// truncated is a stream that ended before the size the store announced:
// a transport fault (retryable), not evidence about the stored bytes.
func (v *verifyingReader) truncated() error {
	return fmt.Errorf("blob %s (lake key %s): stream ended after %d of %d bytes: %w", v.digest, v.key, v.read, v.size, io.ErrUnexpectedEOF)
}

func (v *verifyingReader) Close() error { return v.rc.Close() }
