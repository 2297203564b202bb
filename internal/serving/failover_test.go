package serving_test

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/granaryml/granary/internal/lake"
	"github.com/granaryml/granary/internal/serving"
)

// TestFailedLoadKeepsServingThePreviousVersion moves latest to a version
// with a damaged shard file: the refresh reports the failure, requests
// keep being answered by the previous version, the failure is counted,
// and once the file is repaired the next refresh swaps.
func TestFailedLoadKeepsServingThePreviousVersion(t *testing.T) {
	l, root := testLake(t)
	v1 := commitUsers(t, l, 40, 1, "latest")
	srv := newTestServer(t, l, serving.Options{})
	h := srv.Handler()
	refresh(t, srv)

	v2 := commitUsers(t, l, 40, 2)
	m, err := l.GetManifest(t.Context(), lake.KindIndex, "user_orders", v2)
	if err != nil || len(m.Files) != 3 {
		t.Fatalf("manifest of %s: %v %+v", v2, err, m)
	}
	// Flip one byte in the middle of shard 1: same size, bad checksum.
	blob := filepath.Join(root, filepath.FromSlash(lake.BlobKey(m.Files[1].Digest)))
	good, err := os.ReadFile(blob)
	if err != nil {
		t.Fatal(err)
	}
	bad := bytes.Clone(good)
	bad[len(bad)/2] ^= 0xff
	if err := os.WriteFile(blob, bad, 0o644); err != nil {
		t.Fatal(err)
	}
	moveRef(t, l, lake.KindIndex, "user_orders", "latest", v2)

	res, err := srv.Refresh(t.Context())
	if err != nil {
		t.Fatalf("a failed load fails the whole refresh: %v", err)
	}
	if len(res.Errors) != 1 || !strings.Contains(res.Errors[0], "user_orders@latest") || len(res.Swaps) != 0 {
		t.Fatalf("refresh result %+v, want one error for user_orders@latest and no swap", res)
	}
	for id := 1; id <= 40; id += 13 {
		if v, gen := getUser(t, h, id, ""); v != v1 || gen != 1 {
			t.Errorf("user %d after a failed load: %s generation %g, want %s", id, v, gen, v1)
		}
	}
	rec := call(h, "POST", "/v1/features:batch", `{"view":"user_orders","entities":[{"user_id":1},{"user_id":2}]}`, token)
	if rec.Code != 200 || rec.Header().Get(serving.VersionHeader) != v1 {
		t.Errorf("batch after a failed load: %d %s", rec.Code, rec.Body)
	}
	// The push path says the same.
	rec = call(h, "POST", "/v1/admin/reload", "", token)
	if rec.Code != 200 || !strings.Contains(rec.Body.String(), "user_orders@latest") {
		t.Errorf("reload with a damaged version: %d %s", rec.Code, rec.Body)
	}
	// Asking for the damaged version itself is an error, not its bytes,
	// and does not disturb latest.
	rec = call(h, "GET", "/v1/features/user_orders?user_id=1&version="+v2, "", token)
	if rec.Code < 500 {
		t.Errorf("the damaged version by id: %d %s", rec.Code, rec.Body)
	}
	if strings.Contains(rec.Body.String(), "checksum") {
		t.Errorf("internal detail in a 5xx body: %s", rec.Body)
	}
	metrics := scrape(t, h)
	// Two refreshes tried to load it; the request by id was answered from
	// the recent failure instead of reading the broken blob again.
	if n := value(t, metrics, "granary_serve_index_load_errors_total", nil); n != 2 {
		t.Errorf("load errors %g, want 2 (two refreshes; the pinned request reuses the failure)", n)
	}
	if n := value(t, metrics, "granary_serve_index_loaded", map[string]string{"view": "user_orders", "alias": "latest"}); n != 1 {
		t.Errorf("index_loaded %g", n)
	}
	if got := find(metrics, "granary_serve_index_loaded", map[string]string{"version": v1}); len(got) != 1 {
		t.Errorf("index_loaded does not name %s: %+v", v1, got)
	}
	if v, _ := getUser(t, h, 5, ""); v != v1 {
		t.Errorf("latest after asking for the damaged version: %s", v)
	}

	// Repaired: a failed load is not remembered, the next refresh swaps.
	if err := os.WriteFile(blob, good, 0o644); err != nil {
		t.Fatal(err)
	}
	if res := refresh(t, srv); len(res.Errors) != 0 || len(res.Swaps) != 1 {
		t.Fatalf("refresh after the repair: %+v", res)
	}
	if v, gen := getUser(t, h, 5, ""); v != v2 || gen != 2 {
		t.Errorf("after the repair: %s generation %g, want %s", v, gen, v2)
	}
}

// TestFailedFirstLoadLeavesTheAliasUnserved: an alias whose first version
// cannot load (its files are gone) is reported and answers errors, while
// the view's other aliases are served.
func TestFailedFirstLoadLeavesTheAliasUnserved(t *testing.T) {
	l, root := testLake(t)
	v1 := commitUsers(t, l, 10, 1, "latest")
	v2 := commitUsers(t, l, 10, 2, "prod")
	m, err := l.GetManifest(t.Context(), lake.KindIndex, "user_orders", v2)
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range m.Files {
		if err := os.Remove(filepath.Join(root, filepath.FromSlash(lake.BlobKey(f.Digest)))); err != nil {
			t.Fatal(err)
		}
	}
	srv := newTestServer(t, l, serving.Options{})
	h := srv.Handler()
	res, err := srv.Refresh(t.Context())
	if err != nil || len(res.Errors) != 1 || !strings.Contains(res.Errors[0], "user_orders@prod") || !srv.Ready() {
		t.Fatalf("refresh: %+v %v (ready %v)", res, err, srv.Ready())
	}
	if v, _ := getUser(t, h, 1, ""); v != v1 {
		t.Errorf("latest: %s, want %s", v, v1)
	}
	rec := call(h, "GET", "/v1/features/user_orders?user_id=1&version=prod", "", token)
	if rec.Code == 200 {
		t.Errorf("prod with its files missing: %d %s", rec.Code, rec.Body)
	}
	errorCode(t, rec, rec.Code)
}
