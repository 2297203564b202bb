// Package storetest is the conformance suite for objstore.Store: every
// backend runs it, so the lake's commit protocol can rely on the contract
// documented in objstore rather than on any backend's quirks.
package storetest

import (
	"errors"
	"io"
	"strings"
	"testing"

	"github.com/granaryml/granary/internal/objstore"
)

// Run runs the suite. newStore must return an empty store, isolated from
// the stores of other calls (a fresh directory, bucket or prefix); it is
// called once per subtest.
func Run(t *testing.T, newStore func(t *testing.T) objstore.Store) {
	RunWith(t, Options{}, newStore)
}

// Options adapts the suite to a backend.
type Options struct {
	// InMemory skips the check that a large object streams in bounded
	// memory: a store that holds objects in memory cannot pass it, and
	// everything else it must still prove.
	InMemory bool
}

// RunWith is Run with options.
func RunWith(t *testing.T, o Options, newStore func(t *testing.T) objstore.Store) {
	tests := []struct {
		name string
		fn   func(t *testing.T, s objstore.Store)
	}{
		{"Basics", testBasics},
		{"EmptyObject", testEmptyObject},
		{"Ranges", testRanges},
		{"NotFound", testNotFound},
		{"ConditionalWrites", testConditionalWrites},
		{"ETagChangesOnEveryWrite", testETagChangesOnEveryWrite},
		{"SizeMismatch", testSizeMismatch},
		{"ConcurrentCompareAndSwap", testConcurrentCAS},
		{"PutIfAbsentRace", testPutIfAbsentRace},
		{"InvalidKeys", testInvalidKeys},
		{"ListOrder", testListOrder},
		{"ListPagination", testListPagination},
		{"LargeObjectStreams", testLargeObject},
	}
	for _, tc := range tests {
		if o.InMemory && tc.name == "LargeObjectStreams" {
			continue
		}
		t.Run(tc.name, func(t *testing.T) {
			tc.fn(t, newStore(t))
		})
	}
}

func put(t *testing.T, s objstore.Store, key, content string) objstore.ObjectInfo {
	t.Helper()
	info, err := s.Put(t.Context(), key, strings.NewReader(content), int64(len(content)))
	if err != nil {
		t.Fatalf("Put(%q): %v", key, err)
	}
	return info
}

func get(t *testing.T, s objstore.Store, key string, opts objstore.GetOptions) (string, objstore.ObjectInfo) {
	t.Helper()
	rc, info, err := s.Get(t.Context(), key, opts)
	if err != nil {
		t.Fatalf("Get(%q, %+v): %v", key, opts, err)
	}
	defer rc.Close()
	b, err := io.ReadAll(rc)
	if err != nil {
		t.Fatalf("reading %q: %v", key, err)
	}
	return string(b), info
}

// wantContent fails unless key holds exactly want.
func wantContent(t *testing.T, s objstore.Store, key, want string) {
	t.Helper()
	if got, _ := get(t, s, key, objstore.GetOptions{}); got != want {
		t.Fatalf("%q holds %q, want %q", key, abbrev(got), abbrev(want))
	}
}

func wantAbsent(t *testing.T, s objstore.Store, key string) {
	t.Helper()
	if info, err := s.Stat(t.Context(), key); !errors.Is(err, objstore.ErrNotFound) {
		t.Fatalf("Stat(%q) = %+v, %v; want ErrNotFound", key, info, err)
	}
}

func wantErr(t *testing.T, what string, err, target error) {
	t.Helper()
	if !errors.Is(err, target) {
		t.Fatalf("%s: err = %v, want %v", what, err, target)
	}
}

func abbrev(s string) string {
	if len(s) > 40 {
		return s[:40] + "..."
	}
	return s
}
