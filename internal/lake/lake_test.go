package lake_test

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/minio/minio-go/v7/pkg/credentials"

	"github.com/granaryml/granary/internal/devstack/devtest"
	"github.com/granaryml/granary/internal/lake"
	"github.com/granaryml/granary/internal/objstore"
	"github.com/granaryml/granary/internal/objstore/filestore"
	"github.com/granaryml/granary/internal/objstore/s3store"
	"github.com/granaryml/granary/internal/tabular"
)

// lakeCase is one behaviour every backend must show.
type lakeCase struct {
	name string
	run  func(t *testing.T, l *lake.Lake)
}

// TestLakeOnEveryBackend runs the same cases on a local directory and on
// a real MinIO server, since the commit protocol must not depend on which
// store is underneath.
func TestLakeOnEveryBackend(t *testing.T) {
	cases := []lakeCase{
		{"blobs are content addressed and deduplicated", testBlobDedup},
		{"a blob whose bytes disagree with its digest is refused", testBlobDigestMismatch},
		{"re-uploading a damaged blob repairs it", testBlobRepairOnReupload},
		{"a repair with the wrong bytes is refused", testBlobRepairRefusesWrongBytes},
		{"a memo's blob is trusted only intact", testHoldIntactBlob},
		{"manifests are immutable and ids are content hashes", testManifestIdentity},
		{"a tampered manifest is detected", testManifestTamper},
		{"refs move by CAS and every move is logged", testRefMoves},
		{"racing ref moves all land and are logged once", testRefRace},
		{"a move interrupted before its log entry is completed on retry", testRefLogRepair},
		{"a lost log entry is credited to the mover, not the next caller", testRefLogCreditsTheMover},
		{"refs resolve by alias, id and unique prefix", testResolve},
		{"gc removes only old unreferenced blobs", testGC},
	}
	t.Run("file", func(t *testing.T) {
		for _, c := range cases {
			t.Run(c.name, func(t *testing.T) {
				s, err := filestore.New(t.TempDir())
				if err != nil {
					t.Fatal(err)
				}
				c.run(t, lake.New(s))
			})
		}
	})
	t.Run("s3", func(t *testing.T) {
		m := devtest.Minio(t)
		if err := m.EnsureBucket(t.Context(), "lake-test"); err != nil {
			t.Fatal(err)
		}
		for i, c := range cases {
			t.Run(c.name, func(t *testing.T) {
				s, err := s3store.New(t.Context(), s3store.Options{
					Endpoint: m.Endpoint(), Bucket: "lake-test", Prefix: fmt.Sprintf("case-%d", i),
					Credentials: credentials.NewStaticV4(m.AccessKey(), m.SecretKey(), ""),
				})
				if err != nil {
					t.Fatal(err)
				}
				c.run(t, lake.New(s))
			})
		}
	})
}

func digestOf(b []byte) lake.Digest {
	sum := sha256.Sum256(b)
	return lake.Digest("sha256:" + hex.EncodeToString(sum[:]))
}

func testBlobDedup(t *testing.T, l *lake.Lake) {
	ctx := t.Context()
	data := []byte("id,amount\n1,2.5\n")
	d := digestOf(data)
	written, err := l.PutBlob(ctx, d, bytes.NewReader(data), int64(len(data)))
	if err != nil || !written {
		t.Fatalf("first put: written=%v err=%v", written, err)
	}
	written, err = l.PutBlob(ctx, d, bytes.NewReader(data), int64(len(data)))
	if err != nil || written {
		t.Fatalf("second put of the same bytes must write nothing: written=%v err=%v", written, err)
	}
	if err := l.VerifyBlob(ctx, d); err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(lake.BlobKey(d), "objects/sha256/"+d.Hex()[:2]+"/") {
		t.Fatalf("blob key %s does not follow the layout", lake.BlobKey(d))
	}
}

func testBlobDigestMismatch(t *testing.T, l *lake.Lake) {
	ctx := t.Context()
	claimed := digestOf([]byte("what the caller promised"))
	actual := []byte("what was actually sent!!")
	_, err := l.PutBlob(ctx, claimed, bytes.NewReader(actual), int64(len(actual)))
	if !errors.Is(err, lake.ErrDigestMismatch) {
		t.Fatalf("want ErrDigestMismatch, got %v", err)
	}
	if _, err := l.Store().Stat(ctx, lake.BlobKey(claimed)); !errors.Is(err, objstore.ErrNotFound) {
		t.Fatalf("mismatched blob must not stay under the claimed key: %v", err)
	}
}

// commitVersion stores one blob and a manifest naming it; label makes the
// content (and so the id) distinct.
func commitVersion(t *testing.T, l *lake.Lake, name, label string) string {
	t.Helper()
	data := []byte("content of " + label)
	d := digestOf(data)
	if _, err := l.PutBlob(t.Context(), d, bytes.NewReader(data), int64(len(data))); err != nil {
		t.Fatal(err)
	}
	m := &lake.Manifest{
		Kind: lake.KindDataset, Name: name,
		Schema: tabular.Schema{Columns: []tabular.Column{{Name: "label", Type: tabular.String}}},
		Files:  []lake.File{{Digest: d, Rows: 1, Bytes: int64(len(data))}},
		Params: map[string]string{"label": label},
	}
	id, _, err := l.CommitManifest(t.Context(), m)
	if err != nil {
		t.Fatal(err)
	}
	return id
}

func testManifestIdentity(t *testing.T, l *lake.Lake) {
	a := commitVersion(t, l, "orders", "a")
	again := commitVersion(t, l, "orders", "a")
	b := commitVersion(t, l, "orders", "b")
	if a != again {
		t.Fatalf("same content gave ids %s and %s", a, again)
	}
	if a == b {
		t.Fatal("different content gave the same id")
	}
	m, err := l.GetManifest(t.Context(), lake.KindDataset, "orders", a)
	if err != nil {
		t.Fatal(err)
	}
	if id, _ := m.ID(); id != a {
		t.Fatalf("manifest re-hashes to %s, stored as %s", id, a)
	}
	ids, err := l.ListVersions(t.Context(), lake.KindDataset, "orders")
	if err != nil || len(ids) != 2 {
		t.Fatalf("ListVersions = %v, %v; want 2 versions", ids, err)
	}
}

func testManifestTamper(t *testing.T, l *lake.Lake) {
	id := commitVersion(t, l, "orders", "a")
	key := "datasets/orders/versions/" + id + ".json"
	forged := []byte(`{"format":1,"kind":"datasets","name":"orders","rows":999}`)
	if _, err := l.Store().Put(t.Context(), key, bytes.NewReader(forged), int64(len(forged))); err != nil {
		t.Fatal(err)
	}
	if _, err := l.GetManifest(t.Context(), lake.KindDataset, "orders", id); !errors.Is(err, lake.ErrCorrupt) {
		t.Fatalf("want ErrCorrupt for a manifest that does not hash to its id, got %v", err)
	}
}

func testRefMoves(t *testing.T, l *lake.Lake) {
	ctx := t.Context()
	v1 := commitVersion(t, l, "orders", "1")
	v2 := commitVersion(t, l, "orders", "2")
	if _, err := l.MoveRef(ctx, lake.MoveOptions{Kind: lake.KindDataset, Name: "orders", Ref: "prod", To: v1, ExpectAbsent: true, By: "ana"}); err != nil {
		t.Fatal(err)
	}
	// A stale expectation must not overwrite someone else's move.
	_, err := l.MoveRef(ctx, lake.MoveOptions{Kind: lake.KindDataset, Name: "orders", Ref: "prod", To: v2, Expect: v2})
	if !errors.Is(err, lake.ErrConflict) {
		t.Fatalf("want ErrConflict for a stale expectation, got %v", err)
	}
	mv, err := l.MoveRef(ctx, lake.MoveOptions{Kind: lake.KindDataset, Name: "orders", Ref: "prod", To: v2, Expect: v1, By: "bo", Reason: "new data"})
	if err != nil {
		t.Fatal(err)
	}
	if mv.From != v1 || mv.To != v2 || mv.Seq != 2 {
		t.Fatalf("unexpected move %+v", mv)
	}
	if _, err := l.MoveRef(ctx, lake.MoveOptions{Kind: lake.KindDataset, Name: "orders", Ref: "prod", To: strings.Repeat("0", 64)}); !errors.Is(err, lake.ErrNotFound) {
		t.Fatalf("moving a ref to a version that does not exist must fail with ErrNotFound, got %v", err)
	}
	log, err := l.Log(ctx, lake.KindDataset, "orders")
	if err != nil {
		t.Fatal(err)
	}
	if len(log) != 2 || log[0].To != v1 || log[1].From != v1 || log[1].By != "bo" || log[1].Reason != "new data" {
		t.Fatalf("log = %+v", log)
	}
}

func testRefRace(t *testing.T, l *lake.Lake) {
	ctx := t.Context()
	const movers = 8
	versions := make([]string, movers)
	for i := range versions {
		versions[i] = commitVersion(t, l, "orders", fmt.Sprint("race-", i))
	}
	var wg sync.WaitGroup
	errs := make(chan error, movers)
	for i := range movers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, err := l.MoveRef(ctx, lake.MoveOptions{Kind: lake.KindDataset, Name: "orders", Ref: "latest", To: versions[i]})
			errs <- err
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatalf("a racing move failed: %v", err)
		}
	}
	log, err := l.Log(ctx, lake.KindDataset, "orders")
	if err != nil {
		t.Fatal(err)
	}
	if len(log) != movers {
		t.Fatalf("%d moves logged, want %d", len(log), movers)
	}
	seen := map[string]bool{}
	bySeq := map[int64]lake.RefMove{}
	for _, mv := range log {
		seen[mv.To] = true
		bySeq[mv.Seq] = mv
	}
	for i := int64(1); i <= movers; i++ {
		mv, ok := bySeq[i]
		if !ok {
			t.Fatalf("log has a gap at seq %d", i)
		}
		if i > 1 && mv.From != bySeq[i-1].To {
			t.Fatalf("move %d starts from %s but move %d ended at %s", i, mv.From, i-1, bySeq[i-1].To)
		}
	}
	if len(seen) != movers {
		t.Fatalf("only %d of %d versions were ever pointed at", len(seen), movers)
	}
	ref, _, err := l.GetRef(ctx, lake.KindDataset, "orders", "latest")
	if err != nil {
		t.Fatal(err)
	}
	if ref.Version != bySeq[movers].To {
		t.Fatalf("ref ends at %s, last logged move went to %s", ref.Version, bySeq[movers].To)
	}
}

func testRefLogRepair(t *testing.T, l *lake.Lake) {
	ctx := t.Context()
	v1 := commitVersion(t, l, "orders", "1")
	// Simulate a crash between the CAS and the log write: the ref moved,
	// the log entry is missing.
	ref := []byte(`{"version":"` + v1 + `","seq":1}`)
	if _, err := l.Store().PutIfAbsent(ctx, "datasets/orders/refs/latest", bytes.NewReader(ref), int64(len(ref))); err != nil {
		t.Fatal(err)
	}
	if _, err := l.MoveRef(ctx, lake.MoveOptions{Kind: lake.KindDataset, Name: "orders", Ref: "latest", To: v1, By: "retry"}); err != nil {
		t.Fatal(err)
	}
	log, err := l.Log(ctx, lake.KindDataset, "orders")
	if err != nil || len(log) != 1 || log[0].To != v1 || log[0].Seq != 1 {
		t.Fatalf("retried move should write exactly the missing entry: %+v, %v", log, err)
	}
	if _, err := l.MoveRef(ctx, lake.MoveOptions{Kind: lake.KindDataset, Name: "orders", Ref: "latest", To: v1}); err != nil {
		t.Fatal(err)
	}
	if log, _ := l.Log(ctx, lake.KindDataset, "orders"); len(log) != 1 {
		t.Fatalf("a repeated move must not log twice: %d entries", len(log))
	}
}

func testResolve(t *testing.T, l *lake.Lake) {
	ctx := t.Context()
	v1 := commitVersion(t, l, "orders", "1")
	if _, err := l.MoveRef(ctx, lake.MoveOptions{Kind: lake.KindDataset, Name: "orders", Ref: "prod", To: v1}); err != nil {
		t.Fatal(err)
	}
	if refs, err := l.Refs(ctx, lake.KindDataset, "orders"); err != nil || len(refs) != 1 || refs["prod"] != v1 {
		t.Errorf("Refs = %v, %v; want only prod -> %s", refs, err, v1)
	}
	for _, ref := range []string{"prod", v1, v1[:8], v1[:20]} {
		got, err := l.Resolve(ctx, lake.KindDataset, "orders", ref)
		if err != nil || got != v1 {
			t.Errorf("Resolve(%q) = %q, %v; want %s", ref, got, err, v1)
		}
	}
	for ref, want := range map[string]error{
		v1[:7]:     lake.ErrNotFound, // too short to be a prefix, and no such alias
		"staging":  lake.ErrNotFound,
		"00000000": lake.ErrNotFound,
	} {
		if _, err := l.Resolve(ctx, lake.KindDataset, "orders", ref); !errors.Is(err, want) {
			t.Errorf("Resolve(%q): want %v, got %v", ref, want, err)
		}
	}
	if _, err := l.Resolve(ctx, lake.KindDataset, "../etc", "latest"); !errors.Is(err, lake.ErrInvalidName) {
		t.Errorf("a name escaping the lake must be rejected, got %v", err)
	}
	if _, err := l.Resolve(ctx, lake.KindDataset, "nosuch", "latest"); err == nil || !strings.Contains(err.Error(), `no dataset named "nosuch"`) {
		t.Errorf("unknown dataset should be named in the error, got %v", err)
	}
}

func testGC(t *testing.T, l *lake.Lake) {
	ctx := t.Context()
	commitVersion(t, l, "orders", "kept")
	orphan := []byte("uploaded, never committed")
	od := digestOf(orphan)
	if _, err := l.PutBlob(ctx, od, bytes.NewReader(orphan), int64(len(orphan))); err != nil {
		t.Fatal(err)
	}
	// Within the grace period nothing goes.
	res, err := l.GC(ctx, lake.GCOptions{Grace: time.Hour, Force: true})
	if err != nil || res.Deleted != 0 || res.TooRecent != 1 {
		t.Fatalf("gc within grace: %+v, %v", res, err)
	}
	later := time.Now().Add(2 * time.Hour)
	res, err = l.GC(ctx, lake.GCOptions{Grace: time.Hour, Force: true, Now: later, DryRun: true})
	if err != nil || len(res.Candidates) != 1 || res.Candidates[0] != od || res.Deleted != 0 {
		t.Fatalf("dry run: %+v, %v", res, err)
	}
	if _, err := l.Store().Stat(ctx, lake.BlobKey(od)); err != nil {
		t.Fatalf("dry run deleted the orphan: %v", err)
	}
	res, err = l.GC(ctx, lake.GCOptions{Grace: time.Hour, Force: true, Now: later})
	if err != nil || res.Deleted != 1 || res.Scanned != 2 {
		t.Fatalf("gc: %+v, %v", res, err)
	}
	if _, err := l.Store().Stat(ctx, lake.BlobKey(od)); !errors.Is(err, objstore.ErrNotFound) {
		t.Fatalf("orphan survived gc: %v", err)
	}
	ids, _ := l.ListVersions(ctx, lake.KindDataset, "orders")
	m, err := l.GetManifest(ctx, lake.KindDataset, "orders", ids[0])
	if err != nil {
		t.Fatal(err)
	}
	if err := l.VerifyBlob(ctx, m.Files[0].Digest); err != nil {
		t.Fatalf("gc removed a referenced blob: %v", err)
	}
}
