package tabular

import (
	"errors"
	"strconv"
	"strings"
	"unicode/utf8"
)

// ErrBadInput matches (errors.Is) every error caused by the data or schema a
// user supplied, as opposed to I/O failures or cancellation.
var ErrBadInput = errors.New("bad input")

// InputError locates a problem in user data.
type InputError struct {
	File   string // name of the input, as given in the options
	Line   int64  // 1-based physical line (CSV, JSONL, YAML); 0 when not applicable
	Row    int64  // 1-based data row (header excluded); 0 when not applicable
	Column string // column name; "" when not applicable
	Err    error
}

func (e *InputError) Error() string {
	var b strings.Builder
	if e.File != "" {
		b.WriteString(e.File)
	} else {
		b.WriteString("<input>")
	}
	if e.Line > 0 {
		b.WriteByte(':')
		b.WriteString(strconv.FormatInt(e.Line, 10))
	}
	b.WriteString(": ")
	switch {
	case e.Row > 0 && e.Column != "":
		b.WriteString("row ")
		b.WriteString(strconv.FormatInt(e.Row, 10))
		b.WriteString(", column ")
		b.WriteString(strconv.Quote(e.Column))
		b.WriteString(": ")
	case e.Row > 0:
		b.WriteString("row ")
		b.WriteString(strconv.FormatInt(e.Row, 10))
		b.WriteString(": ")
	case e.Column != "":
		b.WriteString("column ")
		b.WriteString(strconv.Quote(e.Column))
		b.WriteString(": ")
	}
	if e.Err != nil {
		b.WriteString(e.Err.Error())
	} else {
		b.WriteString(ErrBadInput.Error())
	}
	return b.String()
}

// Unwrap returns the underlying cause.
func (e *InputError) Unwrap() error { return e.Err }

// Is makes every InputError match ErrBadInput.
func (e *InputError) Is(target error) bool { return target == ErrBadInput }

// withFile fills in the file name of an InputError that lacks one.
func withFile(err error, file string) error {
	var ie *InputError
	if errors.As(err, &ie) && ie.File == "" {
		ie.File = file
	}
	return err
}

// quoteValue renders a user value for an error message: Go-quoted so that
// control bytes and invalid UTF-8 stay visible, and cut to a readable length.
func quoteValue(b []byte) string {
	const limit = 64
	if len(b) <= limit {
		return strconv.Quote(string(b))
	}
	cut := limit
	for cut > limit-utf8.UTFMax && !utf8.RuneStart(b[cut]) {
		cut--
	}
	return strconv.Quote(string(b[:cut])) + "…"
}
