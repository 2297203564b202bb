package lake

import (
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"hash"
	"io"

	"github.com/granaryml/granary/internal/objstore"
)

// blobSource is how one caller can write a blob's bytes, as often as
// storeBlob needs to.
type blobSource struct {
	size int64
	// create stores the bytes unless the key exists (ErrAlreadyExists).
	create func(context.Context) error
	// replace overwrites the key: the repair of a damaged blob.
	replace func(context.Context) error
}

// maxBlobAttempts bounds storeBlob's loop; each extra round means a gc or
// another writer changed the key in between, which is rare.
const maxBlobAttempts = 5

// blobState is what keepExisting found.
type blobState int

const (
	blobIntact blobState = iota
	blobDamaged
	blobGone
)

// storeBlob makes the key of d hold d's bytes and protects them from gc
// for HoldFor. written reports whether src's bytes were stored (a new blob
// or a repair).
func (l *Lake) storeBlob(ctx context.Context, d Digest, src blobSource) (written bool, err error) {
	key := BlobKey(d)
	for range maxBlobAttempts {
		info, err := l.store.Stat(ctx, key)
		switch {
		case err == nil:
			state, err := l.keepExisting(ctx, d, info, src.size)
			if err != nil {
				return written, err
			}
			switch state {
			case blobIntact:
				return written, nil
			case blobGone:
				continue
			}
			if err := src.replace(ctx); err != nil {
				return written, err
			}
		case errors.Is(err, objstore.ErrNotFound):
			err := src.create(ctx)
			if errors.Is(err, objstore.ErrAlreadyExists) {
				continue // someone else stored it first: check theirs
			}
			if err != nil {
				return written, err
			}
		default:
			return written, err
		}
		written = true
		// A fresh write needs no pin (its modification time protects it),
		// but a sweep announced before it may have judged the key's old
		// state and still delete it.
		waited, err := l.waitSweeps(ctx, []Digest{d})
		if err != nil {
			return written, err
		}
		if !waited {
			return written, nil
		}
		if _, err := l.store.Stat(ctx, key); err == nil {
			return written, nil
		} else if !errors.Is(err, objstore.ErrNotFound) {
			return written, err
		}
	}
	return written, fmt.Errorf("blob %s: still not stored after %d attempts (gc or another writer kept changing it)", d, maxBlobAttempts)
}

// keepExisting holds a blob that is already stored and checks its bytes.
//
// The check reads the whole blob: that is what lets a re-upload repair
// bit rot or tampering, and it costs a read of what the skipped write
// would have written (a sequential local read on a file lake, a GET of the
// whole object on S3, instead of nothing before).
func (l *Lake) keepExisting(ctx context.Context, d Digest, info objstore.ObjectInfo, size int64) (blobState, error) {
	if info.Size != size {
		return blobDamaged, nil
	}
	if err := l.hold(ctx, nil, []Digest{d}); err != nil {
		return 0, err
	}
	got, n, err := l.hashStored(ctx, d)
	switch {
	case errors.Is(err, objstore.ErrNotFound):
		return blobGone, nil
	case err != nil:
		return 0, err
	case got != d || n != size:
		return blobDamaged, nil
	}
	return blobIntact, nil
}

// HoldIntactBlob holds a blob the caller will rely on without having its
// bytes (a memo of earlier work), and checks that it is stored intact:
// ErrCollected if it is gone, ErrDigestMismatch if it is damaged.
func (l *Lake) HoldIntactBlob(ctx context.Context, d Digest, size int64) error {
	if err := l.HoldBlobs(ctx, d); err != nil {
		return err
	}
	got, n, err := l.hashStored(ctx, d)
	switch {
	case errors.Is(err, objstore.ErrNotFound):
		return fmt.Errorf("%w: %s", ErrCollected, d)
	case err != nil:
		return err
	case got != d || n != size:
		return fmt.Errorf("%w: stored blob %s hashes to %s (%d bytes, want %d)", ErrDigestMismatch, d, got, n, size)
	}
	return nil
}

func (l *Lake) hashStored(ctx context.Context, d Digest) (Digest, int64, error) {
	rc, _, err := l.store.Get(ctx, BlobKey(d), objstore.GetOptions{})
	if err != nil {
		return "", 0, err
	}
	defer rc.Close()
	return HashReader(rc)
}

// putVerified writes size bytes of r to key through put, refusing them
// unless they hash to d.
func putVerified(ctx context.Context, put func(context.Context, string, io.Reader, int64) (objstore.ObjectInfo, error), key string, d Digest, r io.Reader, size int64) error {
	vr := &digestReader{r: r, h: sha256.New(), want: d, left: size}
	_, err := put(ctx, key, vr, size)
	if vr.mismatch != nil {
		// The store never got the last bytes, so it published nothing; a
		// client library may have reported that as something else.
		return vr.mismatch
	}
	return err
}

// digestReader passes through exactly left bytes and withholds the last
// ones unless everything hashes to want, so a store streaming from it
// never completes an object under the wrong name (the same trick as
// objstore.ExactReader for sizes).
type digestReader struct {
	r        io.Reader
	h        hash.Hash
	want     Digest
	left     int64
	err      error
	mismatch error
}

func (v *digestReader) Read(p []byte) (int, error) {
	if v.err != nil {
		return 0, v.err
	}
	if len(p) == 0 {
		return 0, nil
	}
	if int64(len(p)) < v.left {
		n, err := v.r.Read(p)
		v.h.Write(p[:n])
		v.left -= int64(n)
		return n, err // a short source ends early; the store's size check reports it
	}
	n, err := io.ReadFull(v.r, p[:v.left])
	v.h.Write(p[:n])
	v.left -= int64(n)
	if err != nil {
		if errors.Is(err, io.ErrUnexpectedEOF) {
			err = io.EOF
		}
		v.err = err
		return n, err
	}
	if got := digestOf(v.h); got != v.want {
		v.mismatch = fmt.Errorf("%w: expected %s, read %s", ErrDigestMismatch, v.want, got)
		v.err = v.mismatch
		return 0, v.err
	}
	v.err = io.EOF
	return n, io.EOF
}

// rewinder lets storeBlob write a caller's reader more than once: a
// second write starts from where the first began if the reader can seek.
type rewinder struct {
	r     io.Reader
	start int64
	read  int64
	began bool
}

func (w *rewinder) Read(p []byte) (int, error) {
	n, err := w.r.Read(p)
	w.read += int64(n)
	return n, err
}

func (w *rewinder) rewind(d Digest) error {
	sk, ok := w.r.(io.Seeker)
	if !w.began {
		w.began = true
		if ok {
			if pos, err := sk.Seek(0, io.SeekCurrent); err == nil {
				w.start = pos
			}
		}
		return nil
	}
	if w.read == 0 {
		return nil
	}
	if !ok {
		return fmt.Errorf("blob %s must be written again (gc or another writer changed it meanwhile), but its source cannot be re-read: retry", d)
	}
	if _, err := sk.Seek(w.start, io.SeekStart); err != nil {
		return fmt.Errorf("blob %s: rewind source: %w", d, err)
	}
	w.read = 0
	return nil
}
