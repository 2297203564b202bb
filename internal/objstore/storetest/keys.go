package storetest

import (
	"strconv"
	"strings"
	"testing"

	"github.com/granaryml/granary/internal/objstore"
)

// InvalidKeys are keys every backend must reject with ErrInvalidKey before
// touching storage; most would escape a directory root or alias another key.
var InvalidKeys = []string{
	"",
	".",
	"..",
	"../escape",
	"a/../../escape",
	"a/../b",
	"a/./b",
	"/etc/passwd",
	"a/",
	"a//b",
	"a\x00b",
	"a\nb",
	`a\..\b`,
	"\xff\xfe",
	strings.Repeat("k", objstore.MaxKeyLength+1),
}

// InvalidPrefixes are List prefixes every backend must reject.
var InvalidPrefixes = []string{"..", "../", "a/../b", "/a", "a//", "a\x00", "./a"}

func testInvalidKeys(t *testing.T, s objstore.Store) {
	ctx := t.Context()
	for _, key := range InvalidKeys {
		ops := map[string]func() error{
			"Get": func() error {
				rc, _, err := s.Get(ctx, key, objstore.GetOptions{})
				if err == nil {
					rc.Close()
				}
				return err
			},
			"Stat": func() error { _, err := s.Stat(ctx, key); return err },
			"Put": func() error {
				_, err := s.Put(ctx, key, strings.NewReader("x"), 1)
				return err
			},
			"PutIfAbsent": func() error {
				_, err := s.PutIfAbsent(ctx, key, strings.NewReader("x"), 1)
				return err
			},
			"CompareAndSwap": func() error {
				_, err := s.CompareAndSwap(ctx, key, "etag", strings.NewReader("x"), 1)
				return err
			},
			"Delete": func() error { return s.Delete(ctx, key) },
		}
		for name, op := range ops {
			wantErr(t, name+"("+abbrev(strconv.Quote(key))+")", op(), objstore.ErrInvalidKey)
		}
	}
	for _, prefix := range InvalidPrefixes {
		_, err := s.List(ctx, objstore.ListOptions{Prefix: prefix})
		wantErr(t, "List(prefix "+strconv.Quote(prefix)+")", err, objstore.ErrInvalidKey)
	}
	page, err := s.List(ctx, objstore.ListOptions{})
	if err != nil || len(page.Objects) != 0 {
		t.Fatalf("rejected writes left objects behind: %+v, %v", page.Objects, err)
	}
}
