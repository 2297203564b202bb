package s3store

import (
	"context"
	"errors"
	"fmt"
	"io"
	"math"
	"strconv"
	"strings"

	"github.com/minio/minio-go/v7"

	"github.com/granaryml/granary/internal/objstore"
)

func (s *Store) Get(ctx context.Context, key string, opts objstore.GetOptions) (io.ReadCloser, objstore.ObjectInfo, error) {
	if err := checkKey(opGet, key); err != nil {
		return nil, objstore.ObjectInfo{}, err
	}
	if opts.Offset < 0 {
		return nil, objstore.ObjectInfo{}, mapErr(opGet, key, fmt.Errorf("%w: negative offset %d", objstore.ErrInvalidRange, opts.Offset))
	}
	var gopts minio.GetObjectOptions
	if opts.Offset > 0 || opts.Length > 0 {
		end := int64(0) // with Offset > 0: to the end
		if opts.Length > 0 && opts.Length <= math.MaxInt64-opts.Offset {
			end = opts.Offset + opts.Length - 1
		}
		if err := gopts.SetRange(opts.Offset, end); err != nil {
			return nil, objstore.ObjectInfo{}, mapErr(opGet, key, err)
		}
	}
	// Core.GetObject sends the request now, so a missing key fails here
	// rather than at the first Read as Client.GetObject would.
	body, oi, hdr, err := s.core.GetObject(ctx, s.opts.Bucket, s.objectName(key), gopts)
	if err != nil {
		err = mapErr(opGet, key, err)
		if errors.Is(err, objstore.ErrInvalidRange) {
			return s.rangeAtEnd(ctx, key, opts.Offset, err)
		}
		return nil, objstore.ObjectInfo{}, err
	}
	info := infoOf(key, oi)
	// A ranged response's Content-Length is the range's; the object's size
	// is the total in "Content-Range: bytes 3-6/10".
	if cr := hdr.Get("Content-Range"); cr != "" {
		if _, total, ok := strings.Cut(cr, "/"); ok {
			if n, err := strconv.ParseInt(total, 10, 64); err == nil {
				info.Size = n
			}
		}
	}
	return body, info, nil
}

// rangeAtEnd handles a 416: HTTP cannot express the empty range at the end
// of an object (including any range of an empty object), which the
// contract allows; any other unsatisfiable range is the caller's error.
func (s *Store) rangeAtEnd(ctx context.Context, key string, offset int64, rangeErr error) (io.ReadCloser, objstore.ObjectInfo, error) {
	info, err := s.Stat(ctx, key)
	if err != nil {
		return nil, objstore.ObjectInfo{}, err
	}
	if offset == info.Size {
		return io.NopCloser(strings.NewReader("")), info, nil
	}
	return nil, objstore.ObjectInfo{}, rangeErr
}

func (s *Store) Stat(ctx context.Context, key string) (objstore.ObjectInfo, error) {
	if err := checkKey(opStat, key); err != nil {
		return objstore.ObjectInfo{}, err
	}
	oi, err := s.client.StatObject(ctx, s.opts.Bucket, s.objectName(key), minio.StatObjectOptions{})
	if err != nil {
		return objstore.ObjectInfo{}, mapErr(opStat, key, err)
	}
	return infoOf(key, oi), nil
}
