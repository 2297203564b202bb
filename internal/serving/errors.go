package serving

import (
	"encoding/json"
	"errors"
	"net/http"
)

var (
	errNotFound     = errors.New("not found")
	errBadRequest   = errors.New("bad request")
	errTooLarge     = errors.New("too large")
	errUnauthorized = errors.New("unauthorized")
	errUnavailable  = errors.New("unavailable")
)

// Error codes in JSON error bodies; clients switch on them.
const (
	CodeBadRequest   = "bad_request"
	CodeUnauthorized = "unauthorized"
	CodeNotFound     = "not_found"
	CodeTooLarge     = "too_large"
	CodeUnavailable  = "unavailable"
	CodeInternal     = "internal"
)

// ErrorBody is every error response: {"error": {"code", "message"}}.
type ErrorBody struct {
	Error struct {
		Code    string `json:"code"`
		Message string `json:"message"`
	} `json:"error"`
}

// statusOf is the one mapping from errors to HTTP status and code.
func statusOf(err error) (int, string) {
	switch {
	case errors.Is(err, errBadRequest):
		return http.StatusBadRequest, CodeBadRequest
	case errors.Is(err, errUnauthorized):
		return http.StatusUnauthorized, CodeUnauthorized
	case errors.Is(err, errNotFound):
		return http.StatusNotFound, CodeNotFound
	case errors.Is(err, errTooLarge):
		return http.StatusRequestEntityTooLarge, CodeTooLarge
	case errors.Is(err, errUnavailable):
		return http.StatusServiceUnavailable, CodeUnavailable
	}
	return http.StatusInternalServerError, CodeInternal
}

func writeError(w http.ResponseWriter, err error) int {
	status, code := statusOf(err)
	var body ErrorBody
	body.Error.Code = code
	body.Error.Message = err.Error()
	if status == http.StatusInternalServerError {
		// Internal details go to the log, not to clients.
		body.Error.Message = "internal error; see the server log"
	}
	if status == http.StatusUnauthorized {
		w.Header().Set("WWW-Authenticate", `Bearer realm="granary"`)
	}
	b, _ := json.Marshal(body)
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	w.Write(append(b, '\n'))
	return status
}
