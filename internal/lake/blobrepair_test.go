package lake_test

import (
	"bytes"
	"errors"
	"testing"

	"github.com/granaryml/granary/internal/lake"
	"github.com/granaryml/granary/internal/objstore"
)

// damageVerified damages a stored blob (see damage) and checks the lake
// notices.
func damageVerified(t *testing.T, l *lake.Lake, d lake.Digest, with []byte) {
	t.Helper()
	damage(t, l.Store(), d, with)
	if err := l.VerifyBlob(t.Context(), d); !errors.Is(err, lake.ErrDigestMismatch) {
		t.Fatalf("damaged blob still verifies: %v", err)
	}
}

// Uploading content whose blob exists but is damaged repairs it, whether
// the damage kept the size (a flipped bit) or not (a truncation), and
// through both write paths (PutBlob and a spool).
func testBlobRepairOnReupload(t *testing.T, l *lake.Lake) {
	ctx := t.Context()
	data := []byte("id,amount\n1,2.5\n2,7.25\n")
	d := digestOf(data)
	if _, err := l.PutBlob(ctx, d, bytes.NewReader(data), int64(len(data))); err != nil {
		t.Fatal(err)
	}
	flipped := bytes.Clone(data)
	flipped[3] ^= 0x20
	for _, tc := range []struct {
		name   string
		damage []byte
		spool  bool
	}{
		{"same size, PutBlob", flipped, false},
		{"truncated, PutBlob", data[:5], false},
		{"same size, spool", flipped, true},
		{"longer, spool", append(bytes.Clone(data), "junk"...), true},
	} {
		damageVerified(t, l, d, tc.damage)
		var written bool
		if tc.spool {
			sp, err := lake.NewSpool(t.TempDir(), "repair-*")
			if err != nil {
				t.Fatal(err)
			}
			if _, err := sp.Write(data); err != nil {
				t.Fatal(err)
			}
			got, _, err := sp.Commit(ctx, l)
			sp.Close()
			if err != nil || got != d {
				t.Fatalf("%s: spool commit: %s, %v", tc.name, got, err)
			}
			written = true
		} else {
			var err error
			if written, err = l.PutBlob(ctx, d, bytes.NewReader(data), int64(len(data))); err != nil {
				t.Fatalf("%s: %v", tc.name, err)
			}
		}
		if !written {
			t.Errorf("%s: the repair reported nothing written", tc.name)
		}
		if err := l.VerifyBlob(ctx, d); err != nil {
			t.Fatalf("%s: re-upload did not repair the blob: %v", tc.name, err)
		}
	}
	// An intact blob is left alone.
	if written, err := l.PutBlob(ctx, d, bytes.NewReader(data), int64(len(data))); err != nil || written {
		t.Fatalf("re-upload over an intact blob: written=%v, %v", written, err)
	}
}

// A "repair" with bytes that do not match the digest either is refused
// and replaces nothing.
func testBlobRepairRefusesWrongBytes(t *testing.T, l *lake.Lake) {
	ctx := t.Context()
	data := []byte("the real content")
	d := digestOf(data)
	if _, err := l.PutBlob(ctx, d, bytes.NewReader(data), int64(len(data))); err != nil {
		t.Fatal(err)
	}
	rotten := []byte("the real c0ntent")
	damageVerified(t, l, d, rotten)
	impostor := []byte("not the content!")
	if _, err := l.PutBlob(ctx, d, bytes.NewReader(impostor), int64(len(impostor))); !errors.Is(err, lake.ErrDigestMismatch) {
		t.Fatalf("want ErrDigestMismatch, got %v", err)
	}
	// The raw stored bytes: OpenBlob would withhold a corrupt blob's.
	rc, _, err := l.Store().Get(ctx, lake.BlobKey(d), objstore.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer rc.Close()
	var got bytes.Buffer
	if _, err := got.ReadFrom(rc); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got.Bytes(), rotten) {
		t.Fatalf("a refused repair changed the stored bytes to %q", got.Bytes())
	}
}

// A memo of earlier work (the conversion memo) is only trusted if its
// blob is there and intact.
func testHoldIntactBlob(t *testing.T, l *lake.Lake) {
	ctx := t.Context()
	data := []byte("converted parquet, say")
	d := digestOf(data)
	if err := l.HoldIntactBlob(ctx, d, int64(len(data))); !errors.Is(err, lake.ErrCollected) || !errors.Is(err, lake.ErrNotFound) {
		t.Fatalf("missing blob: want ErrCollected, got %v", err)
	}
	if _, err := l.PutBlob(ctx, d, bytes.NewReader(data), int64(len(data))); err != nil {
		t.Fatal(err)
	}
	if err := l.HoldIntactBlob(ctx, d, int64(len(data))); err != nil {
		t.Fatalf("intact blob: %v", err)
	}
	damageVerified(t, l, d, []byte("converted parquet, sat"))
	if err := l.HoldIntactBlob(ctx, d, int64(len(data))); !errors.Is(err, lake.ErrDigestMismatch) {
		t.Fatalf("damaged blob: want ErrDigestMismatch, got %v", err)
	}
}
