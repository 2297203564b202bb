package serving_test

import (
	"fmt"
	"math"
	"strconv"
	"testing"

	"github.com/granaryml/granary/internal/lake"
	"github.com/granaryml/granary/internal/serving"
)

// TestMetricsCountRequestsLoadsAndSwaps checks /metrics against the
// requests made: latency histograms count every request of their route
// with cumulative buckets, responses are counted by code, and the loaded
// version and the swap counter follow an alias move.
func TestMetricsCountRequestsLoadsAndSwaps(t *testing.T) {
	l, _ := testLake(t)
	v1 := commitUsers(t, l, 50, 1, "latest")
	srv := newTestServer(t, l, serving.Options{})
	h := srv.Handler()
	if res := refresh(t, srv); len(res.Swaps) != 1 || res.Swaps[0] != "user_orders@latest" {
		t.Fatalf("first refresh: %+v", res)
	}

	m := scrape(t, h)
	loaded := find(m, "granary_serve_index_loaded", map[string]string{"view": "user_orders", "alias": "latest"})
	if len(loaded) != 1 || loaded[0].labels["version"] != v1 || loaded[0].value != 1 {
		t.Fatalf("index_loaded after the first refresh: %+v", loaded)
	}
	if got := value(t, m, "granary_serve_index_entities", map[string]string{"view": "user_orders", "alias": "latest"}); got != 50 {
		t.Errorf("index_entities %g, want 50", got)
	}
	if got := value(t, m, "granary_serve_index_bytes", map[string]string{"view": "user_orders", "alias": "latest"}); got <= 0 {
		t.Errorf("index_bytes %g", got)
	}
	swaps0 := value(t, m, "granary_serve_index_swaps_total", nil)
	if swaps0 != 1 {
		t.Errorf("swaps after the first load: %g, want 1", swaps0)
	}
	if got := value(t, m, "granary_serve_index_load_seconds_count", nil); got != 1 {
		t.Errorf("index loads %g, want 1", got)
	}

	// 12 found, 3 unknown entities, 2 bad keys, 1 without a token.
	want := map[string]int{"200": 0, "404": 0, "400": 0, "401": 0}
	for i := 1; i <= 15; i++ {
		rec := call(h, "GET", fmt.Sprintf("/v1/features/user_orders?user_id=%d", i*4), "", token)
		want[strconv.Itoa(rec.Code)]++
	}
	for _, q := range []string{"user_id=x", "uid=1"} {
		want[strconv.Itoa(call(h, "GET", "/v1/features/user_orders?"+q, "", token).Code)]++
	}
	want[strconv.Itoa(call(h, "GET", "/v1/features/user_orders?user_id=1", "", "").Code)]++
	if want["200"] != 12 || want["404"] != 3 || want["400"] != 2 || want["401"] != 1 {
		t.Fatalf("responses %v", want)
	}
	for range 3 {
		if rec := call(h, "POST", "/v1/features:batch", `{"view":"user_orders","entities":[{"user_id":1},{"user_id":2},{"user_id":999}]}`, token); rec.Code != 200 {
			t.Fatalf("batch: %d %s", rec.Code, rec.Body)
		}
	}

	m = scrape(t, h)
	checkHistogram(t, m, "granary_serve_request_duration_seconds", map[string]string{"route": "features"}, 18)
	checkHistogram(t, m, "granary_serve_request_duration_seconds", map[string]string{"route": "features_batch"}, 3)
	checkHistogram(t, m, "granary_serve_request_duration_seconds", map[string]string{"route": "model_alias"}, 0)
	// The first scrape is counted once it has been answered.
	checkHistogram(t, m, "granary_serve_request_duration_seconds", map[string]string{"route": "metrics"}, 1)
	for code, n := range want {
		if got := value(t, m, "granary_serve_responses_total", map[string]string{"route": "features", "code": code}); got != float64(n) {
			t.Errorf("responses_total{features,%s} %g, want %d", code, got, n)
		}
	}
	if got := value(t, m, "granary_serve_responses_total", map[string]string{"route": "features_batch", "code": "200"}); got != 3 {
		t.Errorf("responses_total{features_batch,200} %g, want 3", got)
	}
	// Entities looked up: 15 + 3 batches of 3; bad keys and the
	// unauthorized request look nothing up.
	if got := value(t, m, "granary_serve_entities_total", nil); got != 15+9 {
		t.Errorf("entities_total %g, want 24", got)
	}

	// A refresh that sees nothing new swaps nothing.
	if res := refresh(t, srv); len(res.Swaps) != 0 {
		t.Errorf("refresh without a move swapped %v", res.Swaps)
	}
	if got := value(t, scrape(t, h), "granary_serve_index_swaps_total", nil); got != swaps0 {
		t.Errorf("swaps after an idle refresh: %g, want %g", got, swaps0)
	}

	// Move latest (and add an alias): two swaps, the gauge follows.
	v2 := commitUsers(t, l, 60, 2, "latest")
	moveRef(t, l, lake.KindIndex, "user_orders", "prod", v1)
	if res := refresh(t, srv); len(res.Swaps) != 2 || len(res.Errors) != 0 {
		t.Fatalf("refresh after the moves: %+v", res)
	}
	m = scrape(t, h)
	if got := value(t, m, "granary_serve_index_swaps_total", nil); got != swaps0+2 {
		t.Errorf("swaps after moving latest and adding prod: %g, want %g", got, swaps0+2)
	}
	for alias, id := range map[string]string{"latest": v2, "prod": v1} {
		if got := value(t, m, "granary_serve_index_loaded", map[string]string{"view": "user_orders", "alias": alias, "version": id}); got != 1 {
			t.Errorf("index_loaded{%s} %g", alias, got)
		}
	}
	if got := find(m, "granary_serve_index_loaded", map[string]string{"alias": "latest", "version": v1}); len(got) != 0 {
		t.Errorf("the old latest is still reported loaded: %+v", got)
	}
	if got := value(t, m, "granary_serve_index_entities", map[string]string{"view": "user_orders", "alias": "latest"}); got != 60 {
		t.Errorf("index_entities after the move %g, want 60", got)
	}
	// v1 stayed in memory for prod: only v2 was loaded.
	if got := value(t, m, "granary_serve_index_load_seconds_count", nil); got != 2 {
		t.Errorf("index loads %g, want 2", got)
	}
	checkHistogram(t, m, "granary_serve_index_load_seconds", nil, 2)
	if got := value(t, m, "granary_serve_index_load_errors_total", nil); got != 0 {
		t.Errorf("load errors %g", got)
	}
	if got := value(t, m, "granary_serve_catalog_age_seconds", nil); got < 0 {
		t.Errorf("catalog age %g", got)
	}
	if v, _ := getUser(t, h, 3, ""); v != v2 {
		t.Errorf("latest serves %s, want %s", v, v2)
	}
}

// checkHistogram checks one histogram series: buckets cumulative in
// increasing le, +Inf equal to _count, and _count equal to n.
func checkHistogram(t *testing.T, m []promSample, name string, labels map[string]string, n int) {
	t.Helper()
	buckets := find(m, name+"_bucket", labels)
	if len(buckets) < 2 {
		t.Fatalf("%s%v: %d buckets", name, labels, len(buckets))
	}
	prevLe, prev := math.Inf(-1), 0.0
	for _, b := range buckets {
		le, err := strconv.ParseFloat(b.labels["le"], 64) // "+Inf" parses
		if err != nil || le <= prevLe || b.value < prev {
			t.Errorf("%s%v: bucket le=%q count %g after le=%g count %g", name, labels, b.labels["le"], b.value, prevLe, prev)
		}
		prevLe, prev = le, b.value
	}
	if !math.IsInf(prevLe, 1) {
		t.Errorf("%s%v: last bucket le=%g, want +Inf", name, labels, prevLe)
	}
	if count := value(t, m, name+"_count", labels); count != prev || count != float64(n) {
		t.Errorf("%s%v: _count %g, +Inf bucket %g, want %d", name, labels, count, prev, n)
	}
	if sum := value(t, m, name+"_sum", labels); sum < 0 || (n == 0 && sum != 0) {
		t.Errorf("%s%v: _sum %g", name, labels, sum)
	}
}
