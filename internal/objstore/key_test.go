package objstore_test

import (
	"errors"
	"path"
	"path/filepath"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/granaryml/granary/internal/objstore"
)

var keyTests = []struct {
	key string
	ok  bool
}{
	{"a", true},
	{"datasets/orders/versions/3f2a.json", true},
	{"objects/sha256/ab/" + strings.Repeat("ab", 32), true},
	{"models/churn/audit/2024-05-01T10:00:00Z-0001.json", true},
	{"a..b", true}, // ".." only matters as a whole segment
	{"...", true},
	{".hidden/x", true},
	{"ünïcødé/κλειδί", true},
	{"with space/and+plus", true},
	{strings.Repeat("k", objstore.MaxKeyLength), true},

	{"", false},
	{".", false},
	{"..", false},
	{"../x", false},
	{"a/..", false},
	{"a/../b", false},
	{"a/./b", false},
	{"./a", false},
	{"/a", false},
	{"/", false},
	{"a/", false},
	{"a//b", false},
	{"a\x00b", false},
	{"a\nb", false},
	{"a\tb", false},
	{"a\x7fb", false},
	{`a\b`, false},
	{`..\x`, false},
	{"\xff", false},
	{"a/\xc3", false},
	{strings.Repeat("k", objstore.MaxKeyLength+1), false},
}

func TestValidateKey(t *testing.T) {
	for _, tc := range keyTests {
		err := objstore.ValidateKey(tc.key)
		if (err == nil) != tc.ok {
			t.Errorf("ValidateKey(%q) = %v, want ok=%v", tc.key, err, tc.ok)
		}
		if err != nil && !errors.Is(err, objstore.ErrInvalidKey) {
			t.Errorf("ValidateKey(%q) = %v, not ErrInvalidKey", tc.key, err)
		}
	}
}

func TestValidatePrefix(t *testing.T) {
	tests := []struct {
		prefix string
		ok     bool
	}{
		{"", true},
		{"a", true},
		{"a/", true},
		{"a/b", true},
		{"datasets/orders/versions/", true},
		{"/", false},
		{"a//", false},
		{"../", false},
		{"a/../", false},
		{"/a/", false},
		{"a\x00/", false},
	}
	for _, tc := range tests {
		err := objstore.ValidatePrefix(tc.prefix)
		if (err == nil) != tc.ok {
			t.Errorf("ValidatePrefix(%q) = %v, want ok=%v", tc.prefix, err, tc.ok)
		}
		if err != nil && !errors.Is(err, objstore.ErrInvalidKey) {
			t.Errorf("ValidatePrefix(%q) = %v, not ErrInvalidKey", tc.prefix, err)
		}
	}
}

// FuzzValidateKey checks the properties backends rely on for every key
// ValidateKey accepts: it has no "." or ".." segment, is relative, is its
// own canonical form (so two keys never alias one file), and joined to a
// root stays strictly inside it.
func FuzzValidateKey(f *testing.F) {
	for _, tc := range keyTests {
		f.Add(tc.key)
	}
	const root = "/srv/lake"
	f.Fuzz(func(t *testing.T, key string) {
		if objstore.ValidateKey(key) != nil {
			return
		}
		for _, seg := range strings.Split(key, "/") {
			if seg == ".." || seg == "." || seg == "" {
				t.Fatalf("accepted %q with segment %q", key, seg)
			}
		}
		if strings.HasPrefix(key, "/") || strings.ContainsAny(key, "\\\x00") || !utf8.ValidString(key) {
			t.Fatalf("accepted %q", key)
		}
		if path.Clean(key) != key {
			t.Fatalf("accepted non-canonical %q (cleans to %q)", key, path.Clean(key))
		}
		joined := filepath.Join(root, filepath.FromSlash(key))
		if !strings.HasPrefix(joined, root+string(filepath.Separator)) {
			t.Fatalf("accepted %q escapes the root: %s", key, joined)
		}
		if rel, err := filepath.Rel(root, joined); err != nil || rel != filepath.FromSlash(key) {
			t.Fatalf("accepted %q is not root-relative as-is: %q, %v", key, rel, err)
		}
		if objstore.ValidatePrefix(key) != nil || objstore.ValidatePrefix(key+"/") != nil {
			t.Fatalf("accepted key %q is not a valid prefix", key)
		}
	})
}
