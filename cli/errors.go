package cli

import (
	"errors"
	"fmt"

	"go.temporal.io/api/serviceerror"
	"go.temporal.io/sdk/temporal"
)

// describeError turns the nested errors Temporal returns ("workflow
// execution error (...): activity error (...): ...") into the one thing a
// user needs: the root cause, its type, and which run to look at.
func describeError(err error) string {
	var re *runError
	if errors.As(err, &re) {
		return re.Error()
	}
	var wfErr *temporal.WorkflowExecutionError
	if !errors.As(err, &wfErr) {
		var unavailable *serviceerror.Unavailable
		if errors.As(err, &unavailable) {
			return fmt.Sprintf("Temporal is unavailable (%s); is `granary dev` or a Temporal cluster running at --temporal-address?", unavailable.Message)
		}
		return err.Error()
	}
	var app *temporal.ApplicationError
	if errors.As(err, &app) {
		msg := app.Message()
		if t := app.Type(); t != "" {
			msg = fmt.Sprintf("%s [%s]", msg, t)
		}
		return msg
	}
	var timeout *temporal.TimeoutError
	if errors.As(err, &timeout) {
		return fmt.Sprintf("timed out (%s)", timeout.TimeoutType())
	}
	var canceled *temporal.CanceledError
	if errors.As(err, &canceled) {
		return "the run was canceled"
	}
	var terminated *temporal.TerminatedError
	if errors.As(err, &terminated) {
		return "the run was terminated"
	}
	return err.Error()
}

// runError reports a failed workflow run: what failed, the root cause
// without Temporal's wrapping, and the link to the run in the UI.
type runError struct {
	what string
	url  string
	err  error
}

func (e *runError) Error() string {
	return fmt.Sprintf("%s: %s (run: %s)", e.what, describeError(e.err), e.url)
}

func (e *runError) Unwrap() error { return e.err }

func runFailed(what, url string, err error) error {
	return &runError{what: what, url: url, err: err}
}
