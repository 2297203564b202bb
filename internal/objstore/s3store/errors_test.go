package s3store

import (
	"errors"
	"net/http"
	"strings"
	"testing"

	"github.com/minio/minio-go/v7"

	"github.com/granaryml/granary/internal/objstore"
)

func TestMapErr(t *testing.T) {
	resp := func(status int, code string) error {
		return minio.ErrorResponse{StatusCode: status, Code: code, Message: "server says " + code}
	}
	preconditionFailed := resp(http.StatusPreconditionFailed, "PreconditionFailed")
	raceLost := resp(http.StatusConflict, "ConditionalRequestConflict")
	tests := []struct {
		op   string
		err  error
		want error // nil: no sentinel, the error passes through
	}{
		{opGet, resp(http.StatusNotFound, "NoSuchKey"), objstore.ErrNotFound},
		{opStat, resp(http.StatusNotFound, ""), objstore.ErrNotFound}, // HEAD has no body
		{opGet, resp(http.StatusNotFound, "NoSuchBucket"), objstore.ErrNotFound},
		{opCAS, resp(http.StatusNotFound, "NoSuchKey"), objstore.ErrNotFound},
		{opCAS, preconditionFailed, objstore.ErrPreconditionFailed},
		{opCAS, raceLost, objstore.ErrPreconditionFailed},
		{opCAS, resp(http.StatusConflict, "Conflict"), objstore.ErrPreconditionFailed},
		{opPutIfAbsent, preconditionFailed, objstore.ErrAlreadyExists},
		{opPutIfAbsent, raceLost, objstore.ErrAlreadyExists},
		{opPutIfAbsent, resp(http.StatusConflict, "Conflict"), objstore.ErrAlreadyExists},
		{opPut, resp(http.StatusConflict, "Conflict"), nil}, // not a precondition
		{opGet, resp(http.StatusRequestedRangeNotSatisfiable, "InvalidRange"), objstore.ErrInvalidRange},
		{opPut, resp(http.StatusBadRequest, "XMinioParentIsObject"), objstore.ErrInvalidKey},
		{opPut, resp(http.StatusForbidden, "AccessDenied"), nil},
		{opPut, errors.New("connection refused"), nil},
	}
	sentinels := []error{objstore.ErrNotFound, objstore.ErrPreconditionFailed, objstore.ErrAlreadyExists, objstore.ErrInvalidRange, objstore.ErrInvalidKey}
	for _, tc := range tests {
		t.Run(tc.op+"/"+tc.err.Error(), func(t *testing.T) {
			got := mapErr(tc.op, "refs/prod", tc.err)
			for _, s := range sentinels {
				if errors.Is(got, s) != (s == tc.want) {
					t.Errorf("errors.Is(%v, %v) = %v", got, s, !(s == tc.want))
				}
			}
			if !errors.Is(got, tc.err) {
				t.Errorf("%v lost the server's error", got)
			}
			if msg := got.Error(); !strings.Contains(msg, tc.op) || !strings.Contains(msg, `"refs/prod"`) {
				t.Errorf("%q does not name the operation and key", msg)
			}
		})
	}
	if mapErr(opGet, "k", nil) != nil {
		t.Error("mapErr(nil) != nil")
	}
}
