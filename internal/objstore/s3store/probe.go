package s3store

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/minio/minio-go/v7"

	"github.com/granaryml/granary/internal/objstore"
)

// ErrNoConditionalWrites means the provider accepted a conditional write
// whose condition did not hold: it ignores If-None-Match or If-Match, so
// refs would silently become last-writer-wins and PutIfAbsent would
// overwrite.
var ErrNoConditionalWrites = errors.New("the object store does not honour conditional writes")

// probePrefix holds the probe's object while New runs.
const probePrefix = "_objstore/probe-"

// probeConditionalWrites checks, on a fresh key, that a PutIfAbsent of an
// existing key and a CompareAndSwap with a wrong ETag both fail and leave
// the object alone. Everything granary commits relies on that, and some
// S3-compatible providers (and proxies in front of them) drop the
// headers without an error.
func (s *Store) probeConditionalWrites(ctx context.Context) error {
	var b [8]byte
	rand.Read(b[:])
	key := probePrefix + hex.EncodeToString(b[:])
	const original = "granary conditional-write probe"
	put := func(f func(context.Context, string, io.Reader, int64) (objstore.ObjectInfo, error), content string) error {
		_, err := f(ctx, key, strings.NewReader(content), int64(len(content)))
		return err
	}
	if err := put(s.PutIfAbsent, original); err != nil {
		if isAccessDenied(err) {
			// Read-only credentials (serving, say): no write of theirs can
			// land, conditional or not, so there is nothing to protect.
			return nil
		}
		return fmt.Errorf("s3store: probe conditional writes at %s: %w", s.opts.Endpoint, err)
	}
	defer s.Delete(context.WithoutCancel(ctx), key)

	ignored := func(header, what string, err error) error {
		if err == nil {
			err = fmt.Errorf("%s succeeded (%s was ignored)", what, header)
		}
		return fmt.Errorf("s3store: %s at %s: %w: %v; refs would become last-writer-wins, so granary refuses to use it (use AWS S3, a recent MinIO, or a provider that supports conditional PUTs, and no proxy that drops %s)",
			s.String(), s.opts.Endpoint, ErrNoConditionalWrites, err, header)
	}
	err := put(s.PutIfAbsent, "second writer")
	switch {
	case errors.Is(err, objstore.ErrAlreadyExists):
	case err == nil:
		return ignored("If-None-Match", "PutIfAbsent on an existing key", nil)
	default:
		return fmt.Errorf("s3store: probe conditional writes at %s: %w", s.opts.Endpoint, err)
	}
	err = put(func(ctx context.Context, key string, r io.Reader, size int64) (objstore.ObjectInfo, error) {
		return s.CompareAndSwap(ctx, key, "00000000000000000000000000000000", r, size)
	}, "stale writer")
	switch {
	case errors.Is(err, objstore.ErrPreconditionFailed):
	case err == nil:
		return ignored("If-Match", "CompareAndSwap with a wrong ETag", nil)
	default:
		return fmt.Errorf("s3store: probe conditional writes at %s: %w", s.opts.Endpoint, err)
	}
	rc, _, err := s.Get(ctx, key, objstore.GetOptions{})
	if err != nil {
		return fmt.Errorf("s3store: probe conditional writes at %s: %w", s.opts.Endpoint, err)
	}
	defer rc.Close()
	got, err := io.ReadAll(io.LimitReader(rc, 1<<10))
	if err != nil {
		return fmt.Errorf("s3store: probe conditional writes at %s: %w", s.opts.Endpoint, err)
	}
	if !bytes.Equal(got, []byte(original)) {
		return ignored("If-None-Match or If-Match", "a refused conditional write", fmt.Errorf("it still replaced the object with %q", got))
	}
	return nil
}

func isAccessDenied(err error) bool {
	var resp minio.ErrorResponse
	return errors.As(err, &resp) && resp.Code == "AccessDenied"
}
