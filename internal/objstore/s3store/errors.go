package s3store

import (
	"fmt"
	"net/http"

	"github.com/minio/minio-go/v7"

	"github.com/granaryml/granary/internal/objstore"
)

// Operation names, as they appear in errors; mapErr also keys on them.
const (
	opGet         = "get"
	opStat        = "stat"
	opPut         = "put"
	opPutIfAbsent = "put-if-absent"
	opCAS         = "compare-and-swap"
	opList        = "list"
	opDelete      = "delete"
)

// mapErr translates an S3 error into the objstore sentinel it means for
// op, keeping the server's error in the chain for logs.
func mapErr(op, key string, err error) error {
	if err == nil {
		return nil
	}
	if sentinel := sentinelFor(op, minio.ToErrorResponse(err)); sentinel != nil {
		return fmt.Errorf("s3store: %s %q: %w: %w", op, key, sentinel, err)
	}
	return fmt.Errorf("s3store: %s %q: %w", op, key, err)
}

func sentinelFor(op string, resp minio.ErrorResponse) error {
	conditional := op == opPutIfAbsent || op == opCAS
	switch {
	case resp.Code == minio.NoSuchKey || resp.Code == minio.NoSuchBucket ||
		resp.StatusCode == http.StatusNotFound:
		return objstore.ErrNotFound
	// A failed If-Match / If-None-Match is 412 PreconditionFailed ("At
	// least one of the pre-conditions you specified did not hold"). When
	// conditional writes race, S3 (and MinIO) may instead answer 409
	// ConditionalRequestConflict for the losers: the same outcome.
	case resp.Code == minio.PreconditionFailed || resp.StatusCode == http.StatusPreconditionFailed ||
		resp.Code == "ConditionalRequestConflict" || (conditional && resp.StatusCode == http.StatusConflict):
		if op == opPutIfAbsent {
			return objstore.ErrAlreadyExists
		}
		return objstore.ErrPreconditionFailed
	case resp.Code == minio.InvalidRange || resp.StatusCode == http.StatusRequestedRangeNotSatisfiable:
		return objstore.ErrInvalidRange
	// MinIO stores objects as directories on its drives, so like the file
	// backend it cannot hold both "a" and "a/b".
	case resp.Code == "XMinioParentIsObject" || resp.Code == "XMinioObjectExistsAsDirectory" ||
		resp.Code == "XMinioInvalidObjectName" || resp.Code == "KeyTooLongError":
		return objstore.ErrInvalidKey
	}
	return nil
}
