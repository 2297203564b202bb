package storetest

import (
	"fmt"
	"strings"
	"testing"

	"github.com/granaryml/granary/internal/objstore"
)

func testConditionalWrites(t *testing.T, s objstore.Store) {
	ctx := t.Context()
	const key = "models/churn/aliases/prod"
	created, err := s.PutIfAbsent(ctx, key, strings.NewReader("v1"), 2)
	if err != nil {
		t.Fatal(err)
	}
	_, err = s.PutIfAbsent(ctx, key, strings.NewReader("v2"), 2)
	wantErr(t, "second PutIfAbsent", err, objstore.ErrAlreadyExists)
	wantContent(t, s, key, "v1")

	swapped, err := s.CompareAndSwap(ctx, key, created.ETag, strings.NewReader("v2"), 2)
	if err != nil {
		t.Fatalf("CompareAndSwap with the current ETag: %v", err)
	}
	if swapped.ETag == created.ETag {
		t.Fatalf("ETag unchanged by CompareAndSwap: %q", swapped.ETag)
	}
	wantContent(t, s, key, "v2")

	_, err = s.CompareAndSwap(ctx, key, created.ETag, strings.NewReader("v3"), 2)
	wantErr(t, "CompareAndSwap with a stale ETag", err, objstore.ErrPreconditionFailed)
	_, err = s.CompareAndSwap(ctx, key, "not-an-etag", strings.NewReader("v3"), 2)
	wantErr(t, "CompareAndSwap with a bogus ETag", err, objstore.ErrPreconditionFailed)
	wantContent(t, s, key, "v2")

	// Put is unconditional and invalidates ETags read before it.
	put(t, s, key, "v9")
	_, err = s.CompareAndSwap(ctx, key, swapped.ETag, strings.NewReader("v3"), 2)
	wantErr(t, "CompareAndSwap after a Put", err, objstore.ErrPreconditionFailed)

	if err := s.Delete(ctx, key); err != nil {
		t.Fatal(err)
	}
	if _, err := s.PutIfAbsent(ctx, key, strings.NewReader("v1"), 2); err != nil {
		t.Fatalf("PutIfAbsent after Delete: %v", err)
	}
}

// Rewrites in quick succession with equal-sized content must still get
// distinct ETags, or a stale CompareAndSwap could succeed (ABA). File
// timestamps are too coarse to guarantee that on their own.
func testETagChangesOnEveryWrite(t *testing.T, s objstore.Store) {
	ctx := t.Context()
	const key = "refs/fast"
	seen := map[string]int{}
	first := ""
	for i := range 50 {
		content := fmt.Sprintf("%04d", i)
		info := put(t, s, key, content)
		if prev, dup := seen[info.ETag]; dup {
			t.Fatalf("write %d got the ETag of write %d: %q", i, prev, info.ETag)
		}
		seen[info.ETag] = i
		if i == 0 {
			first = info.ETag
		}
	}
	_, err := s.CompareAndSwap(ctx, key, first, strings.NewReader("late"), 4)
	wantErr(t, "CompareAndSwap with the first ETag", err, objstore.ErrPreconditionFailed)
	if err := s.Delete(ctx, key); err != nil {
		t.Fatal(err)
	}
	// New content, so that S3's content-derived ETags differ as well.
	info := put(t, s, key, "9999")
	if prev, dup := seen[info.ETag]; dup {
		t.Fatalf("recreated key got the ETag of write %d: %q", prev, info.ETag)
	}
}

func testSizeMismatch(t *testing.T, s objstore.Store) {
	type write func(key, etag, content string, size int64) error
	ctx := t.Context()
	ops := []struct {
		name     string
		existing bool // the key holds "old" (and the write passes its ETag)
		do       write
	}{
		{"Put", false, func(key, _, c string, n int64) error {
			_, err := s.Put(ctx, key, strings.NewReader(c), n)
			return err
		}},
		{"Put over an object", true, func(key, _, c string, n int64) error {
			_, err := s.Put(ctx, key, strings.NewReader(c), n)
			return err
		}},
		{"PutIfAbsent", false, func(key, _, c string, n int64) error {
			_, err := s.PutIfAbsent(ctx, key, strings.NewReader(c), n)
			return err
		}},
		{"CompareAndSwap", true, func(key, etag, c string, n int64) error {
			_, err := s.CompareAndSwap(ctx, key, etag, strings.NewReader(c), n)
			return err
		}},
	}
	sizes := []struct {
		name    string
		content string
		size    int64
	}{
		{"short", "12345", 10},
		{"long", "123456789012345", 10},
		{"data for an empty object", "x", 0},
		{"nothing for a non-empty object", "", 3},
		{"negative size", "x", -1},
	}
	for i, op := range ops {
		for j, sz := range sizes {
			t.Run(op.name+"/"+sz.name, func(t *testing.T) {
				key := fmt.Sprintf("mismatch/%d/%d", i, j)
				etag := ""
				if op.existing {
					etag = put(t, s, key, "old").ETag
				}
				err := op.do(key, etag, sz.content, sz.size)
				wantErr(t, op.name, err, objstore.ErrSizeMismatch)
				if op.existing {
					wantContent(t, s, key, "old")
				} else {
					wantAbsent(t, s, key)
				}
			})
		}
	}
}
