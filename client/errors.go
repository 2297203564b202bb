package client

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"
)

// Error codes of the serving API's JSON error bodies, in Error.Code.
const (
	CodeBadRequest   = "bad_request"  // 400: malformed key, unknown parameter, ambiguous version prefix
	CodeUnauthorized = "unauthorized" // 401: missing or wrong bearer token
	CodeNotFound     = "not_found"    // 404: unknown view, version, alias, model or entity
	CodeTooLarge     = "too_large"    // 413: batch over the server's limit
	CodeUnavailable  = "unavailable"  // 503: server not ready or refresh failed
	CodeInternal     = "internal"     // 500 and other server failures
)

// Error is an error answered by the server: its HTTP status and the
// API's error code and message. Test for it with errors.As or the Is*
// helpers; errors the client raises itself (bad arguments, connection
// failures, version mismatches) are not *Error values.
type Error struct {
	Status  int    // HTTP status, e.g. 404
	Code    string // API error code, e.g. CodeNotFound
	Message string // the server's explanation
}

func (e *Error) Error() string {
	return fmt.Sprintf("granary serving: %d %s: %s", e.Status, e.Code, e.Message)
}

// Temporary reports whether the same request may succeed later (5xx).
func (e *Error) Temporary() bool { return e.Status >= 500 }

var (
	// ErrVersionMismatch means a response's body and X-Granary-Version
	// header name different versions (or the header is missing), so the
	// client cannot tell which version it read; or a chunk of a batch
	// could not be read from the same version as the first chunk.
	ErrVersionMismatch = errors.New("granary client: version mismatch")
	// ErrInvalidArgument is wrapped by errors about the caller's input,
	// found before any request is sent (an empty view name, a key value
	// that is not a string, number, boolean or time).
	ErrInvalidArgument = errors.New("granary client: invalid argument")
	// ErrResponseTooLarge means a response exceeded Options.MaxResponseBytes.
	ErrResponseTooLarge = errors.New("granary client: response too large")
)

// codeOf returns the API error code in err, or "" if err is not an *Error.
func codeOf(err error) string {
	var e *Error
	if errors.As(err, &e) {
		return e.Code
	}
	return ""
}

// IsNotFound reports whether err is the server's 404: an unknown view,
// version, alias or model, or (for GetFeatures) an entity the version
// does not hold.
func IsNotFound(err error) bool { return codeOf(err) == CodeNotFound }

// IsUnauthorized reports whether the server refused the token (401).
func IsUnauthorized(err error) bool { return codeOf(err) == CodeUnauthorized }

// IsBadRequest reports whether the server refused the request as
// malformed (400), e.g. a key value of the wrong type for the view.
func IsBadRequest(err error) bool { return codeOf(err) == CodeBadRequest }

// IsTooLarge reports whether a batch exceeded the server's limit (413);
// lower Options.MaxBatch to the server's --max-batch.
func IsTooLarge(err error) bool { return codeOf(err) == CodeTooLarge }

// IsUnavailable reports whether the server answered 503 (not ready yet,
// or a refresh failing), or a proxy in front of it 502 or 504, on every
// attempt.
func IsUnavailable(err error) bool { return codeOf(err) == CodeUnavailable }

// errorFromResponse turns a non-2xx answer into an *Error, reading the
// API's {"error": {"code", "message"}} body when there is one (a proxy in
// between may answer with HTML or nothing).
func errorFromResponse(status int, body []byte) *Error {
	e := &Error{Status: status}
	var eb struct {
		Error struct {
			Code    string `json:"code"`
			Message string `json:"message"`
		} `json:"error"`
	}
	if json.Unmarshal(body, &eb) == nil && eb.Error.Code != "" {
		e.Code, e.Message = eb.Error.Code, eb.Error.Message
		return e
	}
	e.Code = codeForStatus(status)
	msg := strings.TrimSpace(string(body))
	if len(msg) > 512 {
		msg = msg[:512] + "..."
	}
	if msg == "" {
		msg = http.StatusText(status)
	}
	e.Message = msg
	return e
}

func codeForStatus(status int) string {
	switch {
	case status == http.StatusBadRequest:
		return CodeBadRequest
	case status == http.StatusUnauthorized || status == http.StatusForbidden:
		return CodeUnauthorized
	case status == http.StatusNotFound:
		return CodeNotFound
	case status == http.StatusRequestEntityTooLarge:
		return CodeTooLarge
	case status == http.StatusServiceUnavailable || status == http.StatusBadGateway || status == http.StatusGatewayTimeout:
		return CodeUnavailable
	case status >= 500:
		return CodeInternal
	}
	return fmt.Sprintf("http_%d", status)
}
