package lake_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"
	"testing"

	"github.com/minio/minio-go/v7/pkg/credentials"

	"github.com/granaryml/granary/internal/devstack/devtest"
	"github.com/granaryml/granary/internal/lake"
	"github.com/granaryml/granary/internal/objstore"
	"github.com/granaryml/granary/internal/objstore/filestore"
	"github.com/granaryml/granary/internal/objstore/s3store"
)

// scrubFixture is a lake with a dataset (two versions sharing a blob,
// one of them behind "latest"), a model (two artifact files) and a spec
// (an artifact blob), plus the bytes of every blob.
type scrubFixture struct {
	l        *lake.Lake
	s        objstore.Store
	shared   []byte // in both dataset versions
	only2    []byte // in dataset version 2 only
	weights  []byte // model file
	spec     []byte // spec artifact
	v1, v2   string
	model    string
	specID   string
	allBlobs int
}

func putBlob(t *testing.T, l *lake.Lake, data []byte) lake.File {
	t.Helper()
	d := digestOf(data)
	if _, err := l.PutBlob(t.Context(), d, bytes.NewReader(data), int64(len(data))); err != nil {
		t.Fatal(err)
	}
	return lake.File{Digest: d, Bytes: int64(len(data)), Rows: 1}
}

func commit(t *testing.T, l *lake.Lake, m *lake.Manifest, refs ...string) string {
	t.Helper()
	id, _, err := l.CommitManifest(t.Context(), m)
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range refs {
		if _, err := l.MoveRef(t.Context(), lake.MoveOptions{Kind: m.Kind, Name: m.Name, Ref: r, To: id}); err != nil {
			t.Fatal(err)
		}
	}
	return id
}

func newScrubFixture(t *testing.T, s objstore.Store) *scrubFixture {
	t.Helper()
	f := &scrubFixture{l: lake.New(s), s: s,
		shared: randomBytes(70<<10, 11), only2: randomBytes(5<<20, 12), weights: randomBytes(3000, 13), spec: []byte("project: shop\n")}
	shared, only2, weights, spec := putBlob(t, f.l, f.shared), putBlob(t, f.l, f.only2), putBlob(t, f.l, f.weights), putBlob(t, f.l, f.spec)
	f.v1 = commit(t, f.l, &lake.Manifest{Kind: lake.KindDataset, Name: "orders", Files: []lake.File{shared}})
	f.v2 = commit(t, f.l, &lake.Manifest{Kind: lake.KindDataset, Name: "orders", Files: []lake.File{shared, only2}}, "latest", "prod")
	w2 := weights
	w2.Partition = "weights.bin"
	f.model = commit(t, f.l, &lake.Manifest{Kind: lake.KindModel, Name: "churn", Files: []lake.File{w2},
		Artifact: &lake.Artifact{Digest: digestOf([]byte("a listing, not a blob")), Files: 1}}, "prod")
	f.specID = commit(t, f.l, &lake.Manifest{Kind: lake.KindSpec, Name: "shop",
		Artifact: &lake.Artifact{Digest: spec.Digest, Bytes: spec.Bytes, Files: 1}}, "latest")
	f.allBlobs = 4
	return f
}

// TestScrubOnEveryBackend runs the scrub cases on a local directory and
// on a real MinIO server: quarantine relies on ETags, which the backends
// compute differently.
func TestScrubOnEveryBackend(t *testing.T) {
	onEveryBackend(t, []storeCase{
		{"an intact lake has no problems", testScrubIntact},
		{"damage is reported with the versions and refs using it", testScrubReports},
		{"repair quarantines so a re-upload restores", testScrubRepair},
		{"repair leaves a blob rewritten meanwhile", testScrubRepairRace},
		{"a scrub resumes after a digest", testScrubResume},
		{"full reads verify the digest", testOpenBlobVerifies},
		{"small blobs are verified by ranged readers", testRangeReaderVerifiesSmall},
	})
}

type storeCase struct {
	name string
	run  func(t *testing.T, s objstore.Store)
}

// onEveryBackend runs cases on a fresh file store each, then on a fresh
// prefix of one MinIO server (skipped with -short).
func onEveryBackend(t *testing.T, cases []storeCase) {
	t.Run("file", func(t *testing.T) {
		for _, c := range cases {
			t.Run(c.name, func(t *testing.T) { c.run(t, newFileLake(t)) })
		}
	})
	t.Run("s3", func(t *testing.T) {
		m := devtest.Minio(t)
		if err := m.EnsureBucket(t.Context(), "integrity-test"); err != nil {
			t.Fatal(err)
		}
		for i, c := range cases {
			t.Run(c.name, func(t *testing.T) {
				s, err := s3store.New(t.Context(), s3store.Options{
					Endpoint: m.Endpoint(), Bucket: "integrity-test", Prefix: fmt.Sprintf("case-%d", i),
					Credentials: credentials.NewStaticV4(m.AccessKey(), m.SecretKey(), ""),
				})
				if err != nil {
					t.Fatal(err)
				}
				c.run(t, s)
			})
		}
	})
}

func newFileLake(t *testing.T) objstore.Store {
	t.Helper()
	s, err := filestore.New(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func testScrubIntact(t *testing.T, s objstore.Store) {
	f := newScrubFixture(t, s)
	var calls int
	rep, err := f.l.Scrub(t.Context(), lake.ScrubOptions{OnBlob: func(done, total int, _ lake.Digest, p *lake.BlobProblem) {
		calls++
		if done != calls || total != f.allBlobs || p != nil {
			t.Errorf("OnBlob(%d, %d, %v) at call %d", done, total, p, calls)
		}
	}})
	if err != nil {
		t.Fatal(err)
	}
	want := int64(len(f.shared) + len(f.only2) + len(f.weights) + len(f.spec))
	if rep.Versions != 4 || rep.Refs != 4 || rep.Blobs != f.allBlobs || rep.Checked != f.allBlobs || rep.Bytes != want ||
		len(rep.BlobProblems) != 0 || len(rep.VersionProblems) != 0 || calls != f.allBlobs {
		t.Fatalf("report %+v (OnBlob called %d times); want 4 versions, 4 refs, %d blobs, %d bytes, no problems", rep, calls, f.allBlobs, want)
	}
}

func problemOf(rep lake.ScrubReport, d lake.Digest) *lake.BlobProblem {
	for i := range rep.BlobProblems {
		if rep.BlobProblems[i].Digest == d {
			return &rep.BlobProblems[i]
		}
	}
	return nil
}

func testScrubReports(t *testing.T, s objstore.Store) {
	f := newScrubFixture(t, s)
	ctx := t.Context()
	shared, only2, weights := digestOf(f.shared), digestOf(f.only2), digestOf(f.weights)
	damage(t, f.s, shared, flipped(f.shared, 100))
	damage(t, f.s, weights, f.weights[:len(f.weights)-1]) // truncated
	if err := f.s.Delete(ctx, lake.BlobKey(only2)); err != nil {
		t.Fatal(err)
	}
	// A tampered manifest, a ref to a version that does not exist and a
	// ref that is not JSON.
	tampered := commit(t, f.l, &lake.Manifest{Kind: lake.KindDataset, Name: "labels", Files: []lake.File{putBlob(t, f.l, []byte("labels"))}}, "latest")
	mkey := "datasets/labels/versions/" + tampered + ".json"
	if _, err := f.s.Put(ctx, mkey, strings.NewReader(`{"format":1,"kind":"datasets","name":"labels"}`), 46); err != nil {
		t.Fatal(err)
	}
	ghost := strings.Repeat("ab", 32)
	ghostRef := `{"version":"` + ghost + `","seq":1}`
	if _, err := f.s.Put(ctx, "datasets/orders/refs/ghost", strings.NewReader(ghostRef), int64(len(ghostRef))); err != nil {
		t.Fatal(err)
	}
	if _, err := f.s.Put(ctx, "models/churn/refs/broken", strings.NewReader("not json"), 8); err != nil {
		t.Fatal(err)
	}

	rep, err := f.l.Scrub(ctx, lake.ScrubOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if len(rep.BlobProblems) != 3 {
		t.Fatalf("want 3 blob problems, got %+v", rep.BlobProblems)
	}
	p := problemOf(rep, shared)
	if p == nil || p.Problem != lake.ProblemCorrupt || p.Key != lake.BlobKey(shared) || p.QuarantinedTo != "" || len(p.UsedBy) != 2 {
		t.Fatalf("shared blob: %+v", p)
	}
	var users []string
	for _, u := range p.UsedBy {
		users = append(users, u.Name+"@"+u.Version+":"+strings.Join(u.Refs, ","))
	}
	slices.Sort(users)
	want := []string{"orders@" + f.v1 + ":", "orders@" + f.v2 + ":latest,prod"}
	slices.Sort(want)
	if !slices.Equal(users, want) {
		t.Fatalf("shared blob used by %v, want %v", users, want)
	}
	if p := problemOf(rep, only2); p == nil || p.Problem != lake.ProblemMissing || len(p.UsedBy) != 1 || p.UsedBy[0].Version != f.v2 {
		t.Fatalf("deleted blob: %+v", p)
	}
	if p := problemOf(rep, weights); p == nil || p.Problem != lake.ProblemCorrupt || p.UsedBy[0].Kind != lake.KindModel || p.UsedBy[0].File != "weights.bin" || !slices.Equal(p.UsedBy[0].Refs, []string{"prod"}) {
		t.Fatalf("truncated model file: %+v", p)
	}
	got := map[string]lake.VersionProblem{}
	for _, vp := range rep.VersionProblems {
		got[vp.Problem] = vp
	}
	if vp := got[lake.ProblemManifest]; vp.Name != "labels" || vp.Version != tampered || !slices.Equal(vp.Refs, []string{"latest"}) {
		t.Fatalf("tampered manifest: %+v", rep.VersionProblems)
	}
	if vp := got[lake.ProblemDanglingRef]; vp.Name != "orders" || vp.Ref != "ghost" || vp.Version != ghost {
		t.Fatalf("dangling ref: %+v", rep.VersionProblems)
	}
	if vp := got[lake.ProblemRef]; vp.Kind != lake.KindModel || vp.Ref != "broken" {
		t.Fatalf("unreadable ref: %+v", rep.VersionProblems)
	}
	if len(rep.VersionProblems) != 3 {
		t.Fatalf("want 3 version problems, got %+v", rep.VersionProblems)
	}
	// Without --repair nothing changes.
	rc, _, err := f.s.Get(ctx, lake.BlobKey(shared), objstore.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(rc)
	rc.Close()
	if !bytes.Equal(b, flipped(f.shared, 100)) {
		t.Fatal("a scrub without repair changed a blob")
	}
}

func testScrubRepair(t *testing.T, s objstore.Store) {
	f := newScrubFixture(t, s)
	ctx := t.Context()
	shared := digestOf(f.shared)
	bad := flipped(f.shared, 7)
	damage(t, f.s, shared, bad)

	rep, err := f.l.Scrub(ctx, lake.ScrubOptions{Repair: true})
	if err != nil {
		t.Fatal(err)
	}
	p := problemOf(rep, shared)
	if len(rep.BlobProblems) != 1 || p == nil || !strings.HasPrefix(p.QuarantinedTo, lake.QuarantinePrefix) || p.RepairNote != "" {
		t.Fatalf("want the corrupt blob quarantined, got %+v", rep.BlobProblems)
	}
	// No reader is served the bad bytes any more: the blob is missing...
	if _, _, err := f.l.OpenBlob(ctx, shared); !errors.Is(err, lake.ErrNotFound) {
		t.Fatalf("open after quarantine: %v, want ErrNotFound", err)
	}
	// ...its bytes are kept for inspection...
	rc, _, err := f.s.Get(ctx, p.QuarantinedTo, objstore.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	kept, _ := io.ReadAll(rc)
	rc.Close()
	if !bytes.Equal(kept, bad) {
		t.Fatal("the quarantined copy is not the corrupt bytes")
	}
	// ...and a scrub now reports it missing rather than corrupt.
	rep, err = f.l.Scrub(ctx, lake.ScrubOptions{})
	if p := problemOf(rep, shared); err != nil || p == nil || p.Problem != lake.ProblemMissing {
		t.Fatalf("after quarantine: %+v, %v", rep.BlobProblems, err)
	}
	// Uploading the same content again (dedup skips only blobs that
	// exist) writes it back, and the lake is whole.
	if written, err := f.l.PutBlob(ctx, shared, bytes.NewReader(f.shared), int64(len(f.shared))); err != nil || !written {
		t.Fatalf("re-upload: written=%v err=%v", written, err)
	}
	rep, err = f.l.Scrub(ctx, lake.ScrubOptions{Repair: true})
	if err != nil || len(rep.BlobProblems) != 0 {
		t.Fatalf("after re-upload: %+v, %v", rep.BlobProblems, err)
	}
}

// rewritingStore rewrites a blob with its good bytes right after the
// scrub copies it to quarantine, as a concurrent re-upload would.
type rewritingStore struct {
	objstore.Store
	key  string
	good []byte
}

func (s *rewritingStore) Put(ctx context.Context, key string, r io.Reader, size int64) (objstore.ObjectInfo, error) {
	info, err := s.Store.Put(ctx, key, r, size)
	if err == nil && strings.HasPrefix(key, lake.QuarantinePrefix) {
		if _, err := s.Store.Put(ctx, s.key, bytes.NewReader(s.good), int64(len(s.good))); err != nil {
			return info, err
		}
	}
	return info, err
}

func testScrubRepairRace(t *testing.T, s objstore.Store) {
	f := newScrubFixture(t, s)
	shared := digestOf(f.shared)
	damage(t, s, shared, flipped(f.shared, 9))
	l := lake.New(&rewritingStore{Store: s, key: lake.BlobKey(shared), good: f.shared})
	rep, err := l.Scrub(t.Context(), lake.ScrubOptions{Repair: true})
	if err != nil {
		t.Fatal(err)
	}
	if p := problemOf(rep, shared); p == nil || !strings.Contains(p.RepairNote, lake.ProblemChangedDuring) {
		t.Fatalf("want the rewritten blob left in place with a note, got %+v", rep.BlobProblems)
	}
	if err := f.l.VerifyBlob(t.Context(), shared); err != nil {
		t.Fatalf("the concurrently repaired blob was removed or damaged: %v", err)
	}
}

func testScrubResume(t *testing.T, s objstore.Store) {
	f := newScrubFixture(t, s)
	var order []lake.Digest
	if _, err := f.l.Scrub(t.Context(), lake.ScrubOptions{OnBlob: func(_, _ int, d lake.Digest, _ *lake.BlobProblem) { order = append(order, d) }}); err != nil {
		t.Fatal(err)
	}
	if !slices.IsSorted(order) || len(order) != f.allBlobs {
		t.Fatalf("blobs not checked once each in digest order: %v", order)
	}
	// Damage one already checked and one not: a resumed scrub sees only
	// the second.
	damage(t, f.s, order[0], []byte("x"))
	damage(t, f.s, order[3], []byte("y"))
	rep, err := f.l.Scrub(t.Context(), lake.ScrubOptions{After: order[1]})
	if err != nil {
		t.Fatal(err)
	}
	if rep.Checked != 2 || len(rep.BlobProblems) != 1 || rep.BlobProblems[0].Digest != order[3] {
		t.Fatalf("resumed scrub: checked %d, problems %+v", rep.Checked, rep.BlobProblems)
	}
}
