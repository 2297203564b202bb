package lake_test

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"testing"

	"github.com/granaryml/granary/internal/lake"
	"github.com/granaryml/granary/internal/objstore"
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

// On a local lake the spool file becomes the blob without a copy (a hard
// link): the blob survives the spool's removal, verifies against its
// digest, is readable like a copied one, and a second identical spool
// finds it in place.
func TestSpoolIsAdoptedByALocalLake(t *testing.T) {
	root := t.TempDir()
	s, err := filestore.New(root)
	if err != nil {
		t.Fatal(err)
	}
	l := lake.New(s)
	data := bytes.Repeat([]byte("adopt me "), 50000)
	commit := func() lake.Digest {
		sp, err := lake.NewSpool(t.TempDir(), "x-*")
		if err != nil {
			t.Fatal(err)
		}
		defer sp.Close()
		if _, err := sp.Write(data); err != nil {
			t.Fatal(err)
		}
		d, n, err := sp.Commit(t.Context(), l)
		if err != nil || n != int64(len(data)) {
			t.Fatalf("commit: %v, %d bytes", err, n)
		}
		return d
	}
	d := commit()
	if err := l.VerifyBlob(t.Context(), d); err != nil {
		t.Fatalf("adopted blob does not verify: %v", err)
	}
	fi, err := os.Stat(filepath.Join(root, filepath.FromSlash(lake.BlobKey(d))))
	if err != nil || fi.Mode().Perm() != 0o644 || fi.Size() != int64(len(data)) {
		t.Fatalf("adopted blob file: %v %v", fi, err)
	}
	if again := commit(); again != d {
		t.Fatalf("same bytes, digest %s then %s", d, again)
	}
	if _, err := s.AdoptFileIfAbsent(t.Context(), lake.BlobKey(d), filepath.Join(root, filepath.FromSlash(lake.BlobKey(d)))); !errors.Is(err, objstore.ErrAlreadyExists) {
		t.Fatalf("adopting onto an existing key: %v", err)
	}
	if _, err := s.AdoptFileIfAbsent(t.Context(), "../escape", filepath.Join(root, filepath.FromSlash(lake.BlobKey(d)))); !errors.Is(err, objstore.ErrInvalidKey) {
		t.Fatalf("adopting to a key outside the store: %v", err)
	}
}
