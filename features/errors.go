package features

import (
	"cmp"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"
)

// ErrInvalidSpec matches (errors.Is) every problem Parse, Validate and Check
// report.
var ErrInvalidSpec = errors.New("invalid feature spec")

// ErrSchemaMismatch additionally matches the problems Check finds: the spec
// is well formed but does not fit the datasets' schemas.
var ErrSchemaMismatch = errors.New("feature spec does not match the dataset schemas")

// Error is one problem in a spec, with where it was written. File, Line and
// Column are empty for a Spec that did not come from Parse.
type Error struct {
	File   string
	Line   int // 1-based; 0 when unknown
	Column int // 1-based; 0 when unknown
	// Field is the path of the offending field, e.g.
	// feature_views[0].features[2].agg; empty for problems with the file
	// as a whole (malformed YAML).
	Field string
	Msg   string

	schema bool // found by Check
}

// Error formats e as file:line:column: field: message, leaving out what is
// unknown.
func (e *Error) Error() string {
	var b strings.Builder
	if e.File != "" {
		b.WriteString(e.File)
		b.WriteByte(':')
	}
	if e.Line > 0 {
		b.WriteString(strconv.Itoa(e.Line))
		b.WriteByte(':')
		if e.Column > 0 {
			b.WriteString(strconv.Itoa(e.Column))
			b.WriteByte(':')
		}
	}
	if b.Len() > 0 {
		b.WriteByte(' ')
	}
	if e.Field != "" {
		b.WriteString(printable(e.Field))
		b.WriteString(": ")
	}
	b.WriteString(printable(e.Msg))
	return b.String()
}

// maxMsgRunes bounds a message, which may quote what the user wrote.
const maxMsgRunes = 500

// printable keeps a problem on one line of reasonable length whatever the
// spec contains: control characters are escaped and the end of a long
// message is cut.
func printable(s string) string {
	clean := true
	for _, r := range s {
		if unicode.IsControl(r) || r == utf8.RuneError {
			clean = false
			break
		}
	}
	if clean && len(s) <= maxMsgRunes {
		return s
	}
	var b strings.Builder
	n := 0
	for _, r := range s {
		if n++; n > maxMsgRunes {
			b.WriteString("...")
			break
		}
		if unicode.IsControl(r) || r == utf8.RuneError {
			q := strconv.QuoteRune(r)
			b.WriteString(q[1 : len(q)-1])
			continue
		}
		b.WriteRune(r)
	}
	return b.String()
}

// Is makes every Error match ErrInvalidSpec, and those found by Check
// ErrSchemaMismatch too.
func (e *Error) Is(target error) bool {
	return target == ErrInvalidSpec || (e.schema && target == ErrSchemaMismatch)
}

// Errors is every problem found in one pass, sorted by position, so a user
// fixes them all at once.
type Errors []*Error

// Error gives one problem per line.
func (es Errors) Error() string {
	lines := make([]string, len(es))
	for i, e := range es {
		lines[i] = e.Error()
	}
	return strings.Join(lines, "\n")
}

// Is matches ErrInvalidSpec, and ErrSchemaMismatch when any problem is one.
func (es Errors) Is(target error) bool {
	if target == ErrInvalidSpec {
		return true
	}
	for _, e := range es {
		if e.Is(target) {
			return true
		}
	}
	return false
}

// Unwrap exposes each problem to errors.As.
func (es Errors) Unwrap() []error {
	out := make([]error, len(es))
	for i, e := range es {
		out[i] = e
	}
	return out
}

func (es Errors) sort() {
	slices.SortStableFunc(es, func(a, b *Error) int {
		return cmp.Or(
			cmp.Compare(a.Line, b.Line),
			cmp.Compare(a.Column, b.Column),
			cmp.Compare(a.Field, b.Field),
			cmp.Compare(a.Msg, b.Msg),
		)
	})
}

// MaxProblems bounds the problems one error reports; past it, the last
// entry says how many more there are. It keeps errors small enough for
// workflow payloads and terminals.
const MaxProblems = 200

// err returns es as an error, nil when empty, sorted and without repeats.
func (es Errors) err() error {
	if len(es) == 0 {
		return nil
	}
	es.sort()
	out := es[:1]
	for _, e := range es[1:] {
		if p := out[len(out)-1]; *p == *e {
			continue
		}
		out = append(out, e)
	}
	if len(out) > MaxProblems {
		next := out[MaxProblems]
		more := &Error{File: next.File, Line: next.Line, Column: next.Column, schema: next.schema,
			Msg: fmt.Sprintf("... and %d more problems", len(out)-MaxProblems)}
		out = append(out[:MaxProblems:MaxProblems], more)
	}
	return out
}

// position is where a field was written. exprCol, for single-line
// expression scalars whose characters map one to one onto the source, is the
// column of the expression's first character; 0 otherwise.
type position struct {
	line, col int
	exprCol   int
}
