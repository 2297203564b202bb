package serving_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/granaryml/granary/internal/serving"
)

// TestSwapUnderLoadIsAtomic moves view user_orders' latest alias ten times
// while sixteen clients look users up, alone and in batches of 100. Every
// version's values encode its generation, so a response that mixed two
// versions, or named one version and served another's values, shows.
// Half the moves are pushed to /v1/admin/reload, half are left to the
// poll. No request may fail, and every version must get served.
func TestSwapUnderLoadIsAtomic(t *testing.T) {
	const (
		users    = 2000
		moves    = 10
		workers  = 16
		batch    = 100
		perMove  = 200   // requests served between moves, at least
		maxCalls = 20000 // per worker: a bound, not a target
	)
	l, _ := testLake(t)
	ids := []string{commitUsers(t, l, users, 1, "latest")} // ids[g-1] holds generation g
	srv := newTestServer(t, l, serving.Options{Poll: 20 * time.Millisecond})
	hs := httptest.NewServer(srv.Handler())
	t.Cleanup(hs.Close)
	tr := &http.Transport{MaxIdleConnsPerHost: 2 * workers}
	t.Cleanup(tr.CloseIdleConnections)
	client := &http.Client{Transport: tr, Timeout: 30 * time.Second}

	ctx, cancel := context.WithCancel(t.Context())
	ran := make(chan struct{})
	go func() { defer close(ran); srv.Run(ctx) }()
	defer func() { cancel(); <-ran }()
	waitFor(t, "first refresh", srv.Ready)

	do := func(method, path, body string) (int, http.Header, []byte, error) {
		req, err := http.NewRequestWithContext(t.Context(), method, hs.URL+path, strings.NewReader(body))
		if err != nil {
			return 0, nil, nil, err
		}
		req.Header.Set("Authorization", "Bearer "+token)
		resp, err := client.Do(req)
		if err != nil {
			return 0, nil, nil, err
		}
		defer resp.Body.Close()
		b, err := io.ReadAll(resp.Body)
		return resp.StatusCode, resp.Header, b, err
	}

	var (
		maxGen   atomic.Int64 // newest generation any client has seen
		moved    atomic.Bool  // the mover is done
		requests atomic.Int64
		failures atomic.Int64
	)
	fail := func(format string, args ...any) {
		if failures.Add(1) <= 10 {
			t.Errorf(format, args...)
		}
	}
	seen := make([]map[string]float64, workers) // per worker: version -> generation
	var wg sync.WaitGroup
	for w := range workers {
		seen[w] = map[string]float64{}
		wg.Go(func() {
			rng := rand.New(rand.NewPCG(uint64(w), 42))
			lastGen := 0.0
			for n := 0; n < maxCalls && !moved.Load() && failures.Load() == 0; n++ {
				requests.Add(1)
				version, gen, err := func() (string, float64, error) {
					if n%4 == 3 {
						return batchRequest(do, rng, users, batch)
					}
					return singleRequest(do, 1+rng.IntN(users))
				}()
				if err != nil {
					fail("worker %d request %d: %v", w, n, err)
					return
				}
				if prev, ok := seen[w][version]; ok && prev != gen {
					fail("version %s served generation %g, earlier %g", version, gen, prev)
				}
				seen[w][version] = gen
				if gen < lastGen {
					fail("worker %d went back from generation %g to %g (version %s)", w, lastGen, gen, version)
				}
				lastGen = gen
				for cur := maxGen.Load(); int64(gen) > cur && !maxGen.CompareAndSwap(cur, int64(gen)); cur = maxGen.Load() {
				}
			}
		})
	}

	// The mover: a new generation, then a push or nothing (the poll
	// picks it up), then wait until some client has been served it.
	for g := 2; g <= moves+1 && failures.Load() == 0; g++ {
		ids = append(ids, commitUsers(t, l, users, float64(g), "latest"))
		if g%2 == 0 {
			code, _, body, err := do("POST", "/v1/admin/reload", "")
			if err != nil || code != 200 {
				t.Errorf("reload: %d %v %s", code, err, body)
			}
		}
		if !waitUntil(10*time.Second, func() bool { return maxGen.Load() >= int64(g) }) {
			t.Errorf("generation %d (version %s) not served within 10s", g, ids[g-1])
			break
		}
		// Keep each version under load for a while before the next move.
		until := requests.Load() + perMove
		waitUntil(10*time.Second, func() bool { return requests.Load() >= until || failures.Load() > 0 })
	}
	moved.Store(true)
	wg.Wait()

	// Every observed version carried exactly the generation it was
	// committed with, and all eleven were served.
	genOf := map[string]float64{}
	for i, id := range ids {
		genOf[id] = float64(i + 1)
	}
	served := map[string]bool{}
	for w := range seen {
		for version, gen := range seen[w] {
			if want, ok := genOf[version]; !ok || want != gen {
				t.Errorf("version %s served generation %g, committed with %g", version, gen, want)
			}
			served[version] = true
		}
	}
	if len(served) != moves+1 || len(ids) != moves+1 {
		t.Errorf("%d of %d versions served (%d committed)", len(served), moves+1, len(ids))
	}
	t.Logf("%d requests, %d failures, %d versions served", requests.Load(), failures.Load(), len(served))

	// After the last move the last version is what latest serves.
	version, gen, err := singleRequest(do, 7)
	if err != nil || version != ids[len(ids)-1] || gen != float64(len(ids)) {
		t.Errorf("after the moves: version %s generation %g (%v), want %s", version, gen, err, ids[len(ids)-1])
	}
}

type doFunc func(method, path, body string) (int, http.Header, []byte, error)

// singleRequest looks up one user and returns the version and the
// generation of its values.
func singleRequest(do doFunc, id int) (string, float64, error) {
	code, hdr, body, err := do("GET", fmt.Sprintf("/v1/features/user_orders?user_id=%d", id), "")
	if err != nil {
		return "", 0, err
	}
	if code != 200 {
		return "", 0, fmt.Errorf("GET user %d: %d %s", id, code, body)
	}
	var r featureResponse
	if err := json.Unmarshal(body, &r); err != nil {
		return "", 0, fmt.Errorf("GET user %d: %v: %s", id, err, body)
	}
	if hv := hdr.Get(serving.VersionHeader); hv != r.Version || r.Version == "" {
		return "", 0, fmt.Errorf("GET user %d: header version %q, body version %q", id, hv, r.Version)
	}
	if r.Entity["user_id"] != float64(id) {
		return "", 0, fmt.Errorf("GET user %d: entity %v", id, r.Entity)
	}
	gen, err := userGen(float64(id), r.Features)
	return r.Version, gen, err
}

// batchRequest looks up n users (a few unknown ones among them) and checks
// every result holds the same generation.
func batchRequest(do doFunc, rng *rand.Rand, users, n int) (string, float64, error) {
	ids := make([]int, n)
	var req strings.Builder
	req.WriteString(`{"view":"user_orders","entities":[`)
	for i := range ids {
		ids[i] = 1 + rng.IntN(users+users/100) // about 1% past the last user
		if i > 0 {
			req.WriteByte(',')
		}
		fmt.Fprintf(&req, `{"user_id":%d}`, ids[i])
	}
	req.WriteString("]}")
	code, hdr, body, err := do("POST", "/v1/features:batch", req.String())
	if err != nil {
		return "", 0, err
	}
	if code != 200 {
		return "", 0, fmt.Errorf("batch: %d %s", code, body)
	}
	var r batchResponse
	if err := json.Unmarshal(body, &r); err != nil {
		return "", 0, fmt.Errorf("batch: %v: %s", err, body)
	}
	if hv := hdr.Get(serving.VersionHeader); hv != r.Version || r.Version == "" {
		return "", 0, fmt.Errorf("batch: header version %q, body version %q", hv, r.Version)
	}
	if len(r.Results) != n {
		return "", 0, fmt.Errorf("batch: %d results for %d entities", len(r.Results), n)
	}
	gen := -1.0
	for i, res := range r.Results {
		if res.Entity["user_id"] != float64(ids[i]) {
			return "", 0, fmt.Errorf("batch result %d: entity %v, want user %d", i, res.Entity, ids[i])
		}
		if ids[i] > users {
			if res.Found || res.Features != nil {
				return "", 0, fmt.Errorf("batch result %d: unknown user %d found: %v", i, ids[i], res.Features)
			}
			continue
		}
		if !res.Found {
			return "", 0, fmt.Errorf("batch result %d: user %d not found in %s", i, ids[i], r.Version)
		}
		g, err := userGen(float64(ids[i]), res.Features)
		if err != nil {
			return "", 0, fmt.Errorf("batch result %d: %v", i, err)
		}
		if gen >= 0 && g != gen {
			return "", 0, fmt.Errorf("batch of version %s mixes generations %g and %g", r.Version, gen, g)
		}
		gen = g
	}
	if gen < 0 {
		return "", 0, fmt.Errorf("batch: no known user among %v", ids)
	}
	return r.Version, gen, nil
}

// waitUntil polls cond until it holds or d passes.
func waitUntil(d time.Duration, cond func() bool) bool {
	deadline := time.Now().Add(d)
	for !cond() {
		if time.Now().After(deadline) {
			return false
		}
		time.Sleep(2 * time.Millisecond)
	}
	return true
}

func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	if !waitUntil(10*time.Second, cond) {
		t.Fatalf("%s: not within 10s", what)
	}
}
