package storetest

import (
	"fmt"
	"strings"
	"testing"

	"github.com/granaryml/granary/internal/objstore"
)

func testBasics(t *testing.T, s objstore.Store) {
	ctx := t.Context()
	const key = "datasets/orders/versions/v1.json"
	info := put(t, s, key, "hello, lake")
	if info.Key != key || info.Size != 11 || info.ETag == "" {
		t.Fatalf("Put info = %+v", info)
	}
	st, err := s.Stat(ctx, key)
	if err != nil {
		t.Fatal(err)
	}
	if st.Key != key || st.Size != 11 || st.ETag != info.ETag {
		t.Fatalf("Stat = %+v, want the Put info %+v", st, info)
	}
	body, gi := get(t, s, key, objstore.GetOptions{})
	if body != "hello, lake" || gi.ETag != info.ETag || gi.Size != 11 {
		t.Fatalf("Get = %q, %+v", body, gi)
	}

	re := put(t, s, key, "hello again, lake")
	if re.ETag == info.ETag || re.Size != 17 {
		t.Fatalf("overwrite info = %+v, want a new ETag and size 17", re)
	}
	wantContent(t, s, key, "hello again, lake")

	if err := s.Delete(ctx, key); err != nil {
		t.Fatal(err)
	}
	wantAbsent(t, s, key)
	if err := s.Delete(ctx, key); err != nil {
		t.Fatalf("deleting an absent key: %v", err)
	}
	// After the delete nothing is left, not even the "folders" it was in.
	page, err := s.List(ctx, objstore.ListOptions{})
	if err != nil || len(page.Objects) != 0 {
		t.Fatalf("List after delete = %+v, %v", page, err)
	}
	// A key can be recreated in its now-removed folders.
	put(t, s, key, "back")
	wantContent(t, s, key, "back")
	if s.String() == "" {
		t.Error("String() is empty")
	}
}

func testEmptyObject(t *testing.T, s objstore.Store) {
	info := put(t, s, "empty", "")
	if info.Size != 0 || info.ETag == "" {
		t.Fatalf("info = %+v", info)
	}
	wantContent(t, s, "empty", "")
	if body, _ := get(t, s, "empty", objstore.GetOptions{Offset: 0, Length: 5}); body != "" {
		t.Fatalf("range of an empty object = %q", body)
	}
}

func testRanges(t *testing.T, s objstore.Store) {
	const key, content = "ranges/digits", "0123456789"
	put(t, s, key, content)
	tests := []struct {
		offset, length int64
		want           string
		err            error
	}{
		{0, 0, content, nil},
		{3, 0, "3456789", nil},
		{3, 4, "3456", nil},
		{0, 1, "0", nil},
		{9, 1, "9", nil},
		{8, 10, "89", nil}, // cut at the end
		{0, -1, content, nil},
		{10, 0, "", nil}, // at the end: no bytes, no error
		{10, 5, "", nil},
		{11, 0, "", objstore.ErrInvalidRange},
		{-1, 0, "", objstore.ErrInvalidRange},
	}
	for _, tc := range tests {
		t.Run(fmt.Sprintf("offset=%d,length=%d", tc.offset, tc.length), func(t *testing.T) {
			opts := objstore.GetOptions{Offset: tc.offset, Length: tc.length}
			if tc.err != nil {
				rc, _, err := s.Get(t.Context(), key, opts)
				if err == nil {
					rc.Close()
				}
				wantErr(t, "Get", err, tc.err)
				return
			}
			got, info := get(t, s, key, opts)
			if got != tc.want {
				t.Errorf("got %q, want %q", got, tc.want)
			}
			if info.Size != int64(len(content)) {
				t.Errorf("info.Size = %d, want the object's size %d", info.Size, len(content))
			}
		})
	}
}

func testNotFound(t *testing.T, s objstore.Store) {
	ctx := t.Context()
	_, _, err := s.Get(ctx, "missing", objstore.GetOptions{})
	wantErr(t, "Get", err, objstore.ErrNotFound)
	_, _, err = s.Get(ctx, "missing", objstore.GetOptions{Offset: 2, Length: 3})
	wantErr(t, "Get range", err, objstore.ErrNotFound)
	_, err = s.Stat(ctx, "missing/deeper/key")
	wantErr(t, "Stat", err, objstore.ErrNotFound)
	_, err = s.CompareAndSwap(ctx, "missing", "some-etag", strings.NewReader("x"), 1)
	wantErr(t, "CompareAndSwap", err, objstore.ErrNotFound)
	wantAbsent(t, s, "missing")
	// A prefix of existing keys is not an object.
	put(t, s, "dir/file", "x")
	wantAbsent(t, s, "dir")
	_, _, err = s.Get(ctx, "dir", objstore.GetOptions{})
	wantErr(t, "Get of a folder", err, objstore.ErrNotFound)
	if err := s.Delete(ctx, "dir"); err != nil {
		t.Fatalf("Delete of a folder: %v", err)
	}
	wantContent(t, s, "dir/file", "x")
}
