package objstore

import (
	"fmt"
	"strings"
	"unicode/utf8"
)

// MaxKeyLength matches S3's limit so a key valid on one backend is valid on
// every backend.
const MaxKeyLength = 1024

// ValidateKey accepts only keys that cannot escape the store's root on any
// backend: relative, slash-separated, no empty, "." or ".." segment, no NUL
// or other control characters, no backslash, valid UTF-8.
func ValidateKey(key string) error {
	bad := func(why string) error {
		return fmt.Errorf("%w %q: %s", ErrInvalidKey, key, why)
	}
	switch {
	case key == "":
		return bad("empty key")
	case len(key) > MaxKeyLength:
		return bad(fmt.Sprintf("longer than %d bytes", MaxKeyLength))
	case !utf8.ValidString(key):
		return bad("not valid UTF-8")
	case strings.HasPrefix(key, "/"):
		return bad("must not start with '/'")
	case strings.HasSuffix(key, "/"):
		return bad("must not end with '/'")
	}
	for _, r := range key {
		if r < 0x20 || r == 0x7f {
			return bad("contains a control character (NUL, newline, ...)")
		}
		if r == '\\' {
			return bad("contains a backslash")
		}
	}
	for _, seg := range strings.Split(key, "/") {
		switch seg {
		case "":
			return bad("contains an empty path segment ('//')")
		case ".", "..":
			return bad("contains a '" + seg + "' path segment")
		}
	}
	return nil
}

// ValidatePrefix accepts "" (everything) or a prefix made of valid key
// characters; a trailing '/' is allowed since prefixes name folders.
func ValidatePrefix(prefix string) error {
	if prefix == "" {
		return nil
	}
	if err := ValidateKey(strings.TrimSuffix(prefix, "/")); err != nil {
		return fmt.Errorf("prefix: %w", err)
	}
	return nil
}
