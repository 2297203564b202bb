package s3store

import (
	"context"
	"errors"
	"fmt"
	"io"

	"github.com/minio/minio-go/v7"

	"github.com/granaryml/granary/internal/objstore"
)

const (
	// partSize bounds an upload's memory: minio-go buffers one part of a
	// non-seekable stream to sign and checksum it. Larger objects than
	// partSize x maxParts get proportionally larger parts.
	partSize = 16 << 20
	maxParts = 10_000 // S3's limit
)

func (s *Store) Put(ctx context.Context, key string, r io.Reader, size int64) (objstore.ObjectInfo, error) {
	return s.put(ctx, opPut, key, r, size, minio.PutObjectOptions{})
}

func (s *Store) PutIfAbsent(ctx context.Context, key string, r io.Reader, size int64) (objstore.ObjectInfo, error) {
	var opts minio.PutObjectOptions
	opts.SetMatchETagExcept("*") // If-None-Match: *
	return s.put(ctx, opPutIfAbsent, key, r, size, opts)
}

// CompareAndSwap on a missing key needs no extra round trip: S3 and the
// pinned MinIO answer If-Match on a missing key with 404 NoSuchKey, which
// mapErr turns into ErrNotFound (the conformance suite checks it).
func (s *Store) CompareAndSwap(ctx context.Context, key, etag string, r io.Reader, size int64) (objstore.ObjectInfo, error) {
	var opts minio.PutObjectOptions
	opts.SetMatchETag(etag) // If-Match: "<etag>"
	return s.put(ctx, opCAS, key, r, size, opts)
}

func (s *Store) put(ctx context.Context, op, key string, r io.Reader, size int64, opts minio.PutObjectOptions) (objstore.ObjectInfo, error) {
	if err := checkKey(op, key); err != nil {
		return objstore.ObjectInfo{}, err
	}
	src := objstore.NewExactReader(r, size)
	if size <= 0 {
		// minio-go never reads the body of an empty object, so extra bytes
		// would go unnoticed; check before anything is sent.
		if _, err := src.Read(make([]byte, 1)); err != io.EOF {
			return objstore.ObjectInfo{}, fmt.Errorf("s3store: %s %q: %w", op, key, err)
		}
	}
	opts.PartSize = max(partSize, uint64(size+maxParts-1)/maxParts)
	opts.ContentType = "application/octet-stream"
	// src is neither a Seeker nor a ReaderAt, so minio-go streams it part
	// by part (and doesn't retry a half-sent body it cannot rewind).
	up, err := s.client.PutObject(ctx, s.opts.Bucket, s.objectName(key), src, size, opts)
	if m := src.Mismatch(); m != nil {
		// The failed read aborted the upload before its last byte, so
		// nothing became visible; the client may have hidden why.
		return objstore.ObjectInfo{}, fmt.Errorf("s3store: %s %q: %w", op, key, m)
	}
	if err != nil {
		return objstore.ObjectInfo{}, mapErr(op, key, err)
	}
	return objstore.ObjectInfo{Key: key, Size: up.Size, ETag: up.ETag, ModTime: up.LastModified}, nil
}

func (s *Store) Delete(ctx context.Context, key string) error {
	if err := checkKey(opDelete, key); err != nil {
		return err
	}
	err := mapErr(opDelete, key, s.client.RemoveObject(ctx, s.opts.Bucket, s.objectName(key), minio.RemoveObjectOptions{}))
	if errors.Is(err, objstore.ErrNotFound) {
		return nil
	}
	return err
}
