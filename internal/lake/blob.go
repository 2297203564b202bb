package lake

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"hash"
	"io"
	"os"
	"strings"

	"github.com/granaryml/granary/internal/objstore"
)

// BlobsPrefix holds every immutable blob, keyed by its sha256.
const BlobsPrefix = "objects/sha256/"

// Digest is "sha256:<64 hex>", the form used in manifests.
type Digest string

// ParseDigest accepts "sha256:<hex>" or bare hex.
func ParseDigest(s string) (Digest, error) {
	h := strings.TrimPrefix(s, "sha256:")
	if len(h) != 64 {
		return "", fmt.Errorf("%w: digest %q is not 64 hex characters", ErrCorrupt, s)
	}
	if _, err := hex.DecodeString(h); err != nil || strings.ToLower(h) != h {
		return "", fmt.Errorf("%w: digest %q is not lower-case hex", ErrCorrupt, s)
	}
	return Digest("sha256:" + h), nil
}

// Hex returns the 64 hex characters.
func (d Digest) Hex() string { return strings.TrimPrefix(string(d), "sha256:") }

// BlobKey is where a blob with this digest lives.
func BlobKey(d Digest) string {
	h := d.Hex()
	return BlobsPrefix + h[:2] + "/" + h
}

// DigestFromBlobKey inverts BlobKey (for GC listings).
func DigestFromBlobKey(key string) (Digest, bool) {
	rest, ok := strings.CutPrefix(key, BlobsPrefix)
	if !ok || len(rest) != 3+64 || rest[2] != '/' {
		return "", false
	}
	d, err := ParseDigest(rest[3:])
	return d, err == nil
}

// HashReader returns the digest and length of everything r yields.
func HashReader(r io.Reader) (Digest, int64, error) {
	h := sha256.New()
	n, err := io.Copy(h, r)
	if err != nil {
		return "", n, err
	}
	return digestOf(h), n, nil
}

// HashFile hashes a local file.
func HashFile(path string) (Digest, int64, error) {
	f, err := os.Open(path)
	if err != nil {
		return "", 0, err
	}
	defer f.Close()
	return HashReader(f)
}

func digestOf(h hash.Hash) Digest { return Digest("sha256:" + hex.EncodeToString(h.Sum(nil))) }

// PutBlob stores size bytes from r under digest d. It is idempotent and
// cheap to repeat: when an intact blob exists nothing is uploaded and
// written is false. The bytes are verified against d while streaming and
// the store never receives the last of them if they disagree, so the key
// never holds content that disagrees with its name.
//
// When the blob exists, PutBlob reads it back and re-hashes it: a stored
// blob damaged by bit rot or tampering is replaced by the caller's bytes
// (written is then true). Either way the blob is held against gc for
// HoldFor (see hold.go), so a version committed after PutBlob returns
// cannot name a blob a concurrent gc removed.
func (l *Lake) PutBlob(ctx context.Context, d Digest, r io.Reader, size int64) (written bool, err error) {
	src := &rewinder{r: r}
	key := BlobKey(d)
	write := func(put func(context.Context, string, io.Reader, int64) (objstore.ObjectInfo, error)) func(context.Context) error {
		return func(ctx context.Context) error {
			if err := src.rewind(d); err != nil {
				return err
			}
			return putVerified(ctx, put, key, d, src, size)
		}
	}
	return l.storeBlob(ctx, d, blobSource{size: size, create: write(l.store.PutIfAbsent), replace: write(l.store.Put)})
}

// PutBlobFile hashes a local file, then stores it content-addressed.
func (l *Lake) PutBlobFile(ctx context.Context, path string) (d Digest, size int64, written bool, err error) {
	d, size, err = HashFile(path)
	if err != nil {
		return "", 0, false, err
	}
	f, err := os.Open(path)
	if err != nil {
		return "", 0, false, err
	}
	defer f.Close()
	written, err = l.PutBlob(ctx, d, f, size)
	return d, size, written, err
}

// OpenBlob streams a blob, verifying it: reading it to the end checks
// the bytes against d, and a mismatch fails the read that would complete
// the blob with a *CorruptBlobError (ErrBlobCorrupt), withholding its
// last bytes. A consumer that stops early gets no verdict.
func (l *Lake) OpenBlob(ctx context.Context, d Digest) (io.ReadCloser, objstore.ObjectInfo, error) {
	key := BlobKey(d)
	rc, info, err := l.store.Get(ctx, key, objstore.GetOptions{})
	if errors.Is(err, objstore.ErrNotFound) {
		return nil, info, fmt.Errorf("%w: blob %s", ErrNotFound, d)
	}
	if err != nil {
		return nil, info, err
	}
	return newVerifyingReader(rc, d, key, info.Size), info, nil
}

// BlobReaderAt gives random access to a blob (parquet footers live at the
// end) through ranged Gets, without downloading it. Only blobs small
// enough to be read whole are verified (see RangeReader).
func (l *Lake) BlobReaderAt(ctx context.Context, d Digest) (*RangeReader, error) {
	info, err := l.store.Stat(ctx, BlobKey(d))
	if errors.Is(err, objstore.ErrNotFound) {
		return nil, fmt.Errorf("%w: blob %s", ErrNotFound, d)
	}
	if err != nil {
		return nil, err
	}
	return &RangeReader{ctx: ctx, store: l.store, key: info.Key, digest: d, size: info.Size}, nil
}

// VerifyBlob re-hashes a stored blob; promotion uses it to refuse a
// tampered artifact. A mismatch is a *CorruptBlobError.
func (l *Lake) VerifyBlob(ctx context.Context, d Digest) error {
	rc, _, err := l.OpenBlob(ctx, d)
	if err != nil {
		return err
	}
	defer rc.Close()
	_, err = io.Copy(io.Discard, rc)
	return err
}
