package serving_test

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"maps"
	"net/url"
	"testing"

	"github.com/granaryml/granary/internal/lake"
	"github.com/granaryml/granary/internal/serving"
	"github.com/granaryml/granary/internal/serving/servingtest"
)

// TestPinnedVersionsOutliveAliasMoves asks for an old version by full id
// and by prefix after latest has moved on, in lookups and batches.
func TestPinnedVersionsOutliveAliasMoves(t *testing.T) {
	l, _ := testLake(t)
	v1 := commitUsers(t, l, 30, 1, "latest")
	srv := newTestServer(t, l, serving.Options{})
	h := srv.Handler()
	refresh(t, srv)
	v2 := commitUsers(t, l, 30, 2, "latest")
	refresh(t, srv)

	for _, ref := range []string{"", "latest", v2, v2[:12]} {
		if v, gen := getUser(t, h, 7, ref); v != v2 || gen != 2 {
			t.Errorf("version=%q: %s generation %g, want %s", ref, v, gen, v2)
		}
	}
	for _, ref := range []string{v1, v1[:12], v1[:lake.MinPrefix], v1} {
		if v, gen := getUser(t, h, 7, ref); v != v1 || gen != 1 {
			t.Errorf("version=%q: %s generation %g, want %s", ref, v, gen, v1)
		}
	}
	for _, ref := range []string{v1, v1[:12]} {
		rec := call(h, "POST", "/v1/features:batch", `{"view":"user_orders","version":"`+ref+`","entities":[{"user_id":3},{"user_id":"4"}]}`, token)
		var b batchResponse
		if err := json.Unmarshal(rec.Body.Bytes(), &b); rec.Code != 200 || err != nil || b.Version != v1 || rec.Header().Get(serving.VersionHeader) != v1 || len(b.Results) != 2 {
			t.Fatalf("batch at %s: %d %v %s", ref, rec.Code, err, rec.Body)
		}
		for i, r := range b.Results {
			if gen, err := userGen(float64(3+i), r.Features); err != nil || gen != 1 {
				t.Errorf("batch at %s result %d: generation %g %v", ref, i, gen, err)
			}
		}
	}
	// The pin does not change what latest serves.
	if v, _ := getUser(t, h, 7, ""); v != v2 {
		t.Errorf("latest after pinned requests: %s, want %s", v, v2)
	}

	// Refs naming no version: not found; a version of another view: not
	// found either.
	other := commitUsersAs(t, l, "other_view", 5, 9)
	for _, ref := range []string{"deadbeefdeadbeef", v1[:lake.MinPrefix-1], "prod", "LATEST", "../latest", v1 + "00", other, other[:12], "a b"} {
		rec := call(h, "GET", "/v1/features/user_orders?user_id=1&version="+url.QueryEscape(ref), "", token)
		if code := errorCode(t, rec, 404); code != serving.CodeNotFound {
			t.Errorf("version=%q: code %s", ref, code)
		}
	}
	rec := call(h, "GET", "/v1/features/user_orders?user_id=1&version="+v1+"&version="+v2, "", token)
	if code := errorCode(t, rec, 400); code != serving.CodeBadRequest {
		t.Errorf("two versions: code %s", code)
	}
}

// TestAmbiguousVersionPrefixIsABadRequest commits two versions whose ids
// share their first lake.MinPrefix hex characters (found by hashing
// candidate manifests) and asks for that prefix.
func TestAmbiguousVersionPrefixIsABadRequest(t *testing.T) {
	l, _ := testLake(t)
	v1 := commitUsers(t, l, 20, 1, "latest")
	srv := newTestServer(t, l, serving.Options{})
	h := srv.Handler()
	refresh(t, srv)

	a, b := collidingVersions(t, l, v1, lake.MinPrefix)
	prefix := a[:lake.MinPrefix]
	rec := call(h, "GET", "/v1/features/user_orders?user_id=1&version="+prefix, "", token)
	if code := errorCode(t, rec, 400); code != serving.CodeBadRequest {
		t.Errorf("ambiguous prefix %s: code %s", prefix, code)
	}
	rec = call(h, "POST", "/v1/features:batch", `{"view":"user_orders","version":"`+prefix+`","entities":[{"user_id":1}]}`, token)
	if code := errorCode(t, rec, 400); code != serving.CodeBadRequest {
		t.Errorf("ambiguous prefix %s in a batch: code %s", prefix, code)
	}
	// Longer prefixes tell them apart; both versions hold v1's files.
	n := lake.MinPrefix
	for a[:n] == b[:n] {
		n++
	}
	for _, id := range []string{a, b} {
		if v, gen := getUser(t, h, 1, id[:n]); v != id || gen != 1 {
			t.Errorf("version=%s: %s generation %g", id[:n], v, gen)
		}
	}
}

// collidingVersions commits two copies of version base of user_orders,
// differing only in a nonce parameter chosen so their ids share the first
// n hex characters.
func collidingVersions(t *testing.T, l *lake.Lake, base string, n int) (string, string) {
	t.Helper()
	m, err := l.GetManifest(t.Context(), lake.KindIndex, "user_orders", base)
	if err != nil {
		t.Fatal(err)
	}
	const placeholder = "nnnnnnnnnnnn"
	withNonce := func(nonce string) *lake.Manifest {
		c := *m
		c.Params = maps.Clone(m.Params)
		c.Params["nonce"] = nonce
		return &c
	}
	canon, err := withNonce(placeholder).Canonical()
	if err != nil {
		t.Fatal(err)
	}
	at := bytes.Index(canon, []byte(placeholder))
	if at < 0 || bytes.Count(canon, []byte(placeholder)) != 1 {
		t.Fatalf("placeholder not found once in %s", canon)
	}
	// A birthday search over n hex characters (n/2 bytes of the hash).
	seen := map[string]string{}
	for i := 0; ; i++ {
		nonce := fmt.Sprintf("%012d", i)
		copy(canon[at:], nonce)
		sum := sha256.Sum256(canon)
		key := string(sum[:n/2])
		if prev, ok := seen[key]; ok {
			ids := [2]string{}
			for j, nc := range []string{prev, nonce} {
				id, _, err := l.CommitManifest(t.Context(), withNonce(nc))
				if err != nil {
					t.Fatal(err)
				}
				ids[j] = id
			}
			if ids[0][:n] != ids[1][:n] || ids[0] == ids[1] || ids[1] != hex.EncodeToString(sum[:]) {
				t.Fatalf("versions %s and %s do not share %d characters", ids[0], ids[1], n)
			}
			return ids[0], ids[1]
		}
		seen[key] = nonce
	}
}

// TestPinnedVersionsCacheIsBounded pins more old versions than MaxPinned:
// after a refresh only the MaxPinned most recently requested stay in
// memory, which shows in the load counter as the others load again.
func TestPinnedVersionsCacheIsBounded(t *testing.T) {
	l, _ := testLake(t)
	var ids []string
	for g := 1; g <= 5; g++ {
		ids = append(ids, commitUsers(t, l, 20, float64(g)))
	}
	moveRef(t, l, lake.KindIndex, "user_orders", "latest", ids[4])
	srv := newTestServer(t, l, serving.Options{MaxPinned: 2})
	h := srv.Handler()
	refresh(t, srv)
	loads := func() float64 { return value(t, scrape(t, h), "granary_serve_index_load_seconds_count", nil) }
	ask := func(i int, ref string) {
		t.Helper()
		if v, gen := getUser(t, h, 3, ref); v != ids[i] || gen != float64(i+1) {
			t.Fatalf("version=%s: %s generation %g, want %s", ref, v, gen, ids[i])
		}
	}
	if n := loads(); n != 1 {
		t.Fatalf("loads after the first refresh: %g", n)
	}

	// Pin v1, v2, v3 (three loads); asking again costs nothing.
	for i := range 3 {
		ask(i, ids[i])
		ask(i, ids[i][:12])
	}
	if n := loads(); n != 4 {
		t.Fatalf("loads after pinning three versions: %g, want 4", n)
	}
	// Until the next refresh all three stay; then only the two most
	// recently used: v2 and v3.
	refresh(t, srv)
	ask(1, ids[1])
	ask(2, ids[2][:12])
	if n := loads(); n != 4 {
		t.Fatalf("v2 and v3 were dropped: loads %g, want 4", n)
	}
	ask(0, ids[0])
	if n := loads(); n != 5 {
		t.Fatalf("v1 was kept beyond MaxPinned: loads %g, want 5", n)
	}

	// Recency counts every request, by full id or by prefix: v3, asked
	// last and by full id, is more recent than v1, so v4 pushes out v1.
	refresh(t, srv) // keeps v3, v1
	ask(2, ids[2])
	ask(0, ids[0][:12])
	ask(2, ids[2]) // v3 most recent
	ask(3, ids[3]) // loads v4: order v1, v3, v4
	refresh(t, srv)
	if n := loads(); n != 6 {
		t.Fatalf("loads %g, want 6", n)
	}
	ask(2, ids[2])
	ask(3, ids[3][:12])
	if n := loads(); n != 6 {
		t.Errorf("v3 or v4 (the two most recent pins) were dropped: loads %g, want 6", n)
	}
	ask(0, ids[0])
	if n := loads(); n != 7 {
		t.Errorf("v1 (least recently pinned) was kept: loads %g, want 7", n)
	}

	// The version latest serves is never dropped, pinned or not.
	ask(4, "")
	ask(4, ids[4])
	if n := loads(); n != 7 {
		t.Errorf("latest was reloaded: loads %g, want 7", n)
	}
}

// commitUsersAs commits usersIndex(n, gen) as view instead of user_orders.
func commitUsersAs(t *testing.T, l *lake.Lake, view string, n int, gen float64) string {
	t.Helper()
	ix := usersIndex(n, gen)
	ix.View = view
	id, err := servingtest.Commit(t.Context(), l, ix)
	if err != nil {
		t.Fatal(err)
	}
	return id
}
