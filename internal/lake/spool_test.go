package lake_test

import (
	"bytes"
	"path/filepath"
	"testing"

	"github.com/granaryml/granary/internal/lake"
	"github.com/granaryml/granary/internal/objstore/filestore"
)

func TestSpoolCommitsUnderTheDigestOfWhatWasWritten(t *testing.T) {
	s, err := filestore.New(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	l := lake.New(s)
	dir := t.TempDir()
	sp, err := lake.NewSpool(dir, "x-*")
	if err != nil {
		t.Fatal(err)
	}
	data := bytes.Repeat([]byte("granary "), 100000)
	for i := 0; i < len(data); i += 7777 { // several writes
		if _, err := sp.Write(data[i:min(i+7777, len(data))]); err != nil {
			t.Fatal(err)
		}
	}
	d, n, err := sp.Commit(t.Context(), l)
	if err != nil {
		t.Fatal(err)
	}
	want, _, _ := lake.HashReader(bytes.NewReader(data))
	if d != want || n != int64(len(data)) {
		t.Fatalf("committed %s (%d bytes), want %s (%d)", d, n, want, len(data))
	}
	if err := l.VerifyBlob(t.Context(), d); err != nil {
		t.Fatal(err)
	}
	if err := sp.Close(); err != nil {
		t.Fatal(err)
	}
	if left, _ := filepath.Glob(filepath.Join(dir, "*")); len(left) != 0 {
		t.Fatalf("spool file left behind: %v", left)
	}
}
