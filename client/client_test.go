package client_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/granaryml/granary/client"
	"github.com/granaryml/granary/internal/lake"
)

func TestGetFeaturesTypedValues(t *testing.T) {
	e := newEnv(t)
	id := e.commit(t, usersIndex(100, 2), "latest")
	c := newClient(t, e.serve(t, nil), client.Options{})

	fv, err := c.GetFeatures(t.Context(), "user_orders", client.Key{"user_id": 7})
	if err != nil {
		t.Fatal(err)
	}
	if fv.Version != id || fv.View != "user_orders" || fv.ViewVersion != "test" || !fv.AsOf.Equal(time.UnixMicro(asOf)) {
		t.Fatalf("metadata: %+v, want version %s", fv, id)
	}
	if fv.Entity["user_id"] != json.Number("7") {
		t.Errorf("entity %v", fv.Entity)
	}
	if v, ok := fv.Float("spend"); !ok || v != 14 {
		t.Errorf("spend = %v %v, want 14", v, ok)
	}
	if v, ok := fv.String("tier"); !ok || v != "gen2" {
		t.Errorf("tier = %q %v", v, ok)
	}
	// bigBase+7 does not survive a float64 round trip; UseNumber keeps it.
	if v, ok := fv.Int("big"); !ok || v != bigBase+7 {
		t.Errorf("big = %d %v, want %d", v, ok, bigBase+7)
	}
	if fv.Features["big"] != json.Number(fmt.Sprint(bigBase+7)) {
		t.Errorf("raw big = %#v", fv.Features["big"])
	}
	if v, ok := fv.Bool("active"); !ok || v {
		t.Errorf("active = %v %v, want false (7 is odd)", v, ok)
	}
	if v, ok := fv.Time("last_seen"); !ok || !v.Equal(time.UnixMicro(asOf).Add(7*time.Second)) {
		t.Errorf("last_seen = %v %v", v, ok)
	}
	if v, ok := fv.Float("ratio"); !ok || v != 1.75 {
		t.Errorf("ratio = %v %v", v, ok)
	}
	// Wrong types, absent features.
	if _, ok := fv.Int("tier"); ok {
		t.Error("Int of a string feature is ok")
	}
	if _, ok := fv.Int("ratio"); ok {
		t.Error("Int of 1.75 is ok")
	}
	if _, ok := fv.Bool("spend"); ok {
		t.Error("Bool of a number is ok")
	}
	if _, ok := fv.Float("nope"); ok || fv.IsNull("nope") {
		t.Error("absent feature reads as present")
	}

	// Null: user 10's spend.
	fv, err = c.GetFeatures(t.Context(), "user_orders", client.Key{"user_id": int64(10)})
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := fv.Float("spend"); ok || !fv.IsNull("spend") {
		t.Errorf("null spend: %#v", fv.Features["spend"])
	}
	if v, ok := fv.Bool("active"); !ok || !v {
		t.Errorf("active = %v %v, want true (10 is even)", v, ok)
	}

	// NaN and the infinities travel as strings.
	for id, check := range map[int]func(float64) bool{
		1: math.IsNaN,
		2: func(f float64) bool { return math.IsInf(f, 1) },
		3: func(f float64) bool { return math.IsInf(f, -1) },
	} {
		fv, err := c.GetFeatures(t.Context(), "user_orders", client.Key{"user_id": id})
		if err != nil {
			t.Fatal(err)
		}
		if v, ok := fv.Float("ratio"); !ok || !check(v) {
			t.Errorf("user %d ratio = %v %v (raw %#v)", id, v, ok, fv.Features["ratio"])
		}
	}
}

func TestCompositeAndTimestampKeys(t *testing.T) {
	e := newEnv(t)
	e.commit(t, regionIndex(), "latest")
	c := newClient(t, e.serve(t, nil), client.Options{})

	fv, err := c.GetFeatures(t.Context(), "region_daily", client.Key{"region": "us", "day": day(3).In(time.FixedZone("X", 3600))})
	if err != nil {
		t.Fatal(err)
	}
	if v, ok := fv.Int("orders"); !ok || v != 103 {
		t.Errorf("orders = %d %v, want 103", v, ok)
	}
	if fv.Entity["region"] != "us" || fv.Entity["day"] != day(3).Format(time.RFC3339Nano) {
		t.Errorf("entity %v", fv.Entity)
	}

	b, err := c.GetFeaturesBatch(t.Context(), "region_daily", []client.Key{
		{"region": "apac", "day": day(4)},
		{"region": "eu", "day": day(9)},
		{"region": "eu", "day": day(0).Format(time.RFC3339)},
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(b.Results) != 3 || !b.Results[0].Found || b.Results[1].Found || !b.Results[2].Found {
		t.Fatalf("results %+v", b.Results)
	}
	if v, _ := b.Results[0].Features.Int("orders"); v != 204 {
		t.Errorf("apac day 4 orders = %d", v)
	}
	if v, _ := b.Results[2].Features.Int("orders"); v != 0 {
		t.Errorf("eu day 0 orders = %d", v)
	}
}

func TestBatchKeepsOrderAndReportsMissing(t *testing.T) {
	e := newEnv(t)
	id := e.commit(t, usersIndex(50, 3), "latest")
	c := newClient(t, e.serve(t, nil), client.Options{})

	keys := []client.Key{{"user_id": 5}, {"user_id": 999}, {"user_id": "12"}, {"user_id": json.Number("1")}, {"user_id": uint8(20)}}
	b, err := c.GetFeaturesBatch(t.Context(), "user_orders", keys)
	if err != nil {
		t.Fatal(err)
	}
	if b.Version != id || b.View != "user_orders" || !b.AsOf.Equal(time.UnixMicro(asOf)) || len(b.Results) != len(keys) {
		t.Fatalf("batch %+v", b)
	}
	wantFound := []bool{true, false, true, true, true}
	wantEntity := []string{"5", "999", "12", "1", "20"}
	for i, r := range b.Results {
		if r.Found != wantFound[i] || r.Entity["user_id"] != json.Number(wantEntity[i]) {
			t.Errorf("result %d: %+v", i, r)
		}
	}
	if v, ok := b.Results[0].Features.Float("spend"); !ok || v != 15 {
		t.Errorf("user 5 spend %v %v", v, ok)
	}
	if b.Results[1].Features != nil || b.Vector(1) != nil {
		t.Errorf("missing entity has features %v", b.Results[1].Features)
	}
	if v, ok := b.Vector(2).Float("spend"); !ok || v != 36 || b.Vector(2).Version != id {
		t.Errorf("user 12 spend %v %v", v, ok)
	}
	if !b.Results[4].Features.IsNull("spend") {
		t.Errorf("user 20 spend %#v, want null", b.Results[4].Features["spend"])
	}
	if v, ok := b.Results[3].Features.Float("ratio"); !ok || !math.IsNaN(v) {
		t.Errorf("user 1 ratio %v %v", v, ok)
	}

	// No keys: still one request, which names the version.
	b, err = c.GetFeaturesBatch(t.Context(), "user_orders", nil)
	if err != nil || b.Version != id || len(b.Results) != 0 {
		t.Fatalf("empty batch: %+v %v", b, err)
	}
}

func TestVersionOptionPinsAliasOrID(t *testing.T) {
	e := newEnv(t)
	v1 := e.commit(t, usersIndex(20, 1), "latest", "prod")
	v2 := e.commit(t, usersIndex(20, 2), "latest")
	if v1 == v2 {
		t.Fatal("same version twice")
	}
	c := newClient(t, e.serve(t, nil), client.Options{})
	key := client.Key{"user_id": 3}
	cases := []struct {
		name  string
		opts  []client.ReadOption
		want  string
		spend float64
	}{
		{"default is latest", nil, v2, 6},
		{"alias", []client.ReadOption{client.Version("prod")}, v1, 3},
		{"full id", []client.ReadOption{client.Version(v1)}, v1, 3},
		{"id prefix", []client.ReadOption{client.Version(v1[:12])}, v1, 3},
		{"explicit latest", []client.ReadOption{client.Version("latest")}, v2, 6},
	}
	for _, tc := range cases {
		fv, err := c.GetFeatures(t.Context(), "user_orders", key, tc.opts...)
		if err != nil {
			t.Fatalf("%s: %v", tc.name, err)
		}
		if v, _ := fv.Float("spend"); fv.Version != tc.want || v != tc.spend {
			t.Errorf("%s: version %s spend %v, want %s %v", tc.name, lake.ShortID(fv.Version), v, lake.ShortID(tc.want), tc.spend)
		}
		b, err := c.GetFeaturesBatch(t.Context(), "user_orders", []client.Key{key}, tc.opts...)
		if err != nil {
			t.Fatalf("%s batch: %v", tc.name, err)
		}
		if v, _ := b.Results[0].Features.Float("spend"); b.Version != tc.want || v != tc.spend {
			t.Errorf("%s batch: version %s spend %v", tc.name, lake.ShortID(b.Version), v)
		}
	}
	_, err := c.GetFeatures(t.Context(), "user_orders", key, client.Version("canary"))
	if !client.IsNotFound(err) {
		t.Errorf("unknown alias: %v", err)
	}
}

func TestModelAlias(t *testing.T) {
	e := newEnv(t)
	ctx := t.Context()
	blob := []byte("pretend these are model weights")
	d, n, err := lake.HashReader(strings.NewReader(string(blob)))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := e.lake.PutBlob(ctx, d, strings.NewReader(string(blob)), n); err != nil {
		t.Fatal(err)
	}
	commitModel := func(auc float64) string {
		id, _, err := e.lake.CommitManifest(ctx, &lake.Manifest{
			Kind: lake.KindModel, Name: "churn",
			Artifact: &lake.Artifact{Digest: d, Bytes: n, Files: 2, Framework: "xgboost", Metrics: map[string]float64{"auc": auc}},
			Inputs:   []lake.Input{{Role: "training_set", Kind: lake.KindDataset, Name: "churn_train", Version: strings.Repeat("ab", 32)}},
		})
		if err != nil {
			t.Fatal(err)
		}
		return id
	}
	move := func(alias, id string) {
		if _, err := e.lake.MoveRef(ctx, lake.MoveOptions{Kind: lake.KindModel, Name: "churn", Ref: alias, To: id, By: "test"}); err != nil {
			t.Fatal(err)
		}
	}
	m1, m2 := commitModel(0.91), commitModel(0.93)
	move("prod", m1)
	e.refresh(t)
	c := newClient(t, e.serve(t, nil), client.Options{})

	ma, err := c.ModelAlias(ctx, "churn", "prod")
	if err != nil {
		t.Fatal(err)
	}
	if ma.Model != "churn" || ma.Alias != "prod" || ma.Version != m1 || ma.Artifact == nil ||
		ma.Artifact.Digest != string(d) || ma.Artifact.Bytes != n || ma.Artifact.Files != 2 || ma.Artifact.Framework != "xgboost" || ma.Artifact.Metrics["auc"] != 0.91 {
		t.Fatalf("model alias %+v %+v", ma, ma.Artifact)
	}
	if len(ma.Inputs) != 1 || ma.Inputs[0].Role != "training_set" || ma.Inputs[0].Kind != "datasets" || ma.Inputs[0].Name != "churn_train" {
		t.Errorf("inputs %+v", ma.Inputs)
	}

	// Promoted after the last refresh: the server reads the lake.
	move("canary", m2)
	ma, err = c.ModelAlias(ctx, "churn", "canary")
	if err != nil || ma.Version != m2 || ma.Artifact.Metrics["auc"] != 0.93 {
		t.Fatalf("fresh alias: %+v %v", ma, err)
	}

	for _, q := range [][2]string{{"churn", "staging"}, {"nope", "prod"}} {
		_, err := c.ModelAlias(ctx, q[0], q[1])
		var ce *client.Error
		if !client.IsNotFound(err) || !errors.As(err, &ce) || ce.Status != 404 || ce.Message == "" {
			t.Errorf("%s@%s: %v", q[0], q[1], err)
		}
	}
}

func TestServerErrorsAreTypedAndNotRetried(t *testing.T) {
	e := newEnv(t)
	e.commit(t, usersIndex(2000, 1), "latest")
	url, in := e.serveInjected(t, nil)
	c := newClient(t, url, client.Options{Retries: 5})
	wrongToken := newClient(t, url, client.Options{Token: "tok2", Retries: 5})
	noToken := newClient(t, url, client.Options{Token: " ", Retries: 5})
	// The server's default limit is 1000 entities; this client sends more.
	bigChunks := newClient(t, url, client.Options{MaxBatch: 1500, Retries: 5})
	keys := make([]client.Key, 1200)
	for i := range keys {
		keys[i] = client.Key{"user_id": i + 1}
	}
	ctx := t.Context()
	cases := []struct {
		name   string
		call   func() error
		status int
		code   string
		is     func(error) bool
	}{
		{"wrong token", func() error {
			_, err := wrongToken.GetFeatures(ctx, "user_orders", client.Key{"user_id": 1})
			return err
		}, 401, client.CodeUnauthorized, client.IsUnauthorized},
		{"no token", func() error {
			_, err := noToken.ModelAlias(ctx, "churn", "prod")
			return err
		}, 401, client.CodeUnauthorized, client.IsUnauthorized},
		{"unknown entity", func() error {
			_, err := c.GetFeatures(ctx, "user_orders", client.Key{"user_id": 5000})
			return err
		}, 404, client.CodeNotFound, client.IsNotFound},
		{"unknown view", func() error {
			_, err := c.GetFeatures(ctx, "nope", client.Key{"user_id": 1})
			return err
		}, 404, client.CodeNotFound, client.IsNotFound},
		{"unknown view in batch", func() error {
			_, err := c.GetFeaturesBatch(ctx, "nope", keys[:2])
			return err
		}, 404, client.CodeNotFound, client.IsNotFound},
		{"key of the wrong type", func() error {
			_, err := c.GetFeatures(ctx, "user_orders", client.Key{"user_id": "abc"})
			return err
		}, 400, client.CodeBadRequest, client.IsBadRequest},
		{"wrong key column", func() error {
			_, err := c.GetFeaturesBatch(ctx, "user_orders", []client.Key{{"uid": 1}})
			return err
		}, 400, client.CodeBadRequest, client.IsBadRequest},
		{"batch over the server's limit", func() error {
			_, err := bigChunks.GetFeaturesBatch(ctx, "user_orders", keys)
			return err
		}, 413, client.CodeTooLarge, client.IsTooLarge},
	}
	helpers := []func(error) bool{client.IsNotFound, client.IsUnauthorized, client.IsBadRequest, client.IsTooLarge, client.IsUnavailable}
	for _, tc := range cases {
		before := in.requests()
		err := tc.call()
		var ce *client.Error
		if !errors.As(err, &ce) || ce.Status != tc.status || ce.Code != tc.code || ce.Message == "" || !tc.is(err) {
			t.Errorf("%s: %v, want %d %s", tc.name, err, tc.status, tc.code)
			continue
		}
		matching := 0
		for _, h := range helpers {
			if h(err) {
				matching++
			}
		}
		if matching != 1 {
			t.Errorf("%s: %d Is* helpers match %v", tc.name, matching, err)
		}
		if got := in.requests() - before; got != 1 {
			t.Errorf("%s: %d requests, want 1 (4xx must not be retried)", tc.name, got)
		}
	}
}

func TestInvalidArgumentsSendNothing(t *testing.T) {
	e := newEnv(t)
	e.commit(t, usersIndex(10, 1), "latest")
	url, in := e.serveInjected(t, nil)
	c := newClient(t, url, client.Options{})
	ctx := t.Context()
	calls := map[string]func() error{
		"no view": func() error { _, err := c.GetFeatures(ctx, "", client.Key{"user_id": 1}); return err },
		"no key":  func() error { _, err := c.GetFeatures(ctx, "user_orders", nil); return err },
		"slice key": func() error {
			_, err := c.GetFeatures(ctx, "user_orders", client.Key{"user_id": []int{1}})
			return err
		},
		"NaN key": func() error {
			_, err := c.GetFeatures(ctx, "user_orders", client.Key{"user_id": math.NaN()})
			return err
		},
		"NaN number": func() error {
			_, err := c.GetFeaturesBatch(ctx, "user_orders", []client.Key{{"user_id": json.Number("NaN")}})
			return err
		},
		"null key": func() error {
			_, err := c.GetFeaturesBatch(ctx, "user_orders", []client.Key{{"user_id": nil}})
			return err
		},
		"empty in batch": func() error {
			_, err := c.GetFeaturesBatch(ctx, "user_orders", []client.Key{{"user_id": 1}, {}})
			return err
		},
		"version key": func() error {
			_, err := c.GetFeatures(ctx, "user_orders", client.Key{"version": 1})
			return err
		},
		"no alias": func() error { _, err := c.ModelAlias(ctx, "churn", ""); return err },
	}
	for name, call := range calls {
		if err := call(); !errors.Is(err, client.ErrInvalidArgument) {
			t.Errorf("%s: %v", name, err)
		}
	}
	if n := in.requests(); n != 0 {
		t.Errorf("%d requests sent for invalid arguments", n)
	}
	for _, u := range []string{"", "127.0.0.1:8090", "ftp://x", "http://", "http://h/?a=b", "http://u:p@h"} {
		if _, err := client.New(u, client.Options{}); !errors.Is(err, client.ErrInvalidArgument) {
			t.Errorf("New(%q): %v", u, err)
		}
	}
}

func TestBaseURLPathPrefix(t *testing.T) {
	e := newEnv(t)
	id := e.commit(t, usersIndex(10, 1), "latest")
	url := e.serve(t, func(h http.Handler) http.Handler {
		mux := http.NewServeMux()
		mux.Handle("/granary/", http.StripPrefix("/granary", h))
		return mux
	})
	c := newClient(t, url+"/granary/", client.Options{})
	fv, err := c.GetFeatures(t.Context(), "user_orders", client.Key{"user_id": 4})
	if err != nil || fv.Version != id {
		t.Fatalf("behind a prefix: %+v %v", fv, err)
	}
	b, err := c.GetFeaturesBatch(t.Context(), "user_orders", []client.Key{{"user_id": 4}})
	if err != nil || b.Version != id || !b.Results[0].Found {
		t.Fatalf("batch behind a prefix: %+v %v", b, err)
	}
}

// A response whose header and body disagree about the version is refused.
func TestVersionHeaderIsChecked(t *testing.T) {
	e := newEnv(t)
	e.commit(t, usersIndex(10, 1), "latest")
	for _, tc := range []struct{ name, header string }{{"different", strings.Repeat("0", 64)}, {"missing", ""}} {
		url, _ := e.serveInjected(t, func(_ int, w http.ResponseWriter, r *http.Request) bool {
			rec := httptest.NewRecorder()
			e.srv.Handler().ServeHTTP(rec, r)
			for k, v := range rec.Header() {
				w.Header()[k] = v
			}
			w.Header().Set(client.VersionHeader, tc.header)
			if tc.header == "" {
				w.Header().Del(client.VersionHeader)
			}
			w.WriteHeader(rec.Code)
			w.Write(rec.Body.Bytes())
			return true
		})
		c := newClient(t, url, client.Options{})
		_, err := c.GetFeatures(t.Context(), "user_orders", client.Key{"user_id": 1})
		if !errors.Is(err, client.ErrVersionMismatch) {
			t.Errorf("%s header, single: %v", tc.name, err)
		}
		_, err = c.GetFeaturesBatch(t.Context(), "user_orders", []client.Key{{"user_id": 1}})
		if !errors.Is(err, client.ErrVersionMismatch) {
			t.Errorf("%s header, batch: %v", tc.name, err)
		}
	}
}

func TestBatchSplitsIntoChunksOfAtMost1000(t *testing.T) {
	e := newEnv(t)
	id := e.commit(t, usersIndex(2000, 1), "latest")
	url, in := e.serveInjected(t, nil)
	c := newClient(t, url, client.Options{})

	keys := make([]client.Key, 2500)
	for i := range keys {
		keys[i] = client.Key{"user_id": i + 1} // users 2001.. do not exist
	}
	b, err := c.GetFeaturesBatch(t.Context(), "user_orders", keys)
	if err != nil {
		t.Fatal(err)
	}
	reqs := in.batchBodies(t)
	if len(reqs) != 3 {
		t.Fatalf("%d requests, want 3", len(reqs))
	}
	total := 0
	for _, r := range reqs {
		if len(r.Entities) > 1000 || r.View != "user_orders" || r.Version != "" {
			t.Errorf("chunk of %d entities, view %q, version %q", len(r.Entities), r.View, r.Version)
		}
		total += len(r.Entities)
	}
	if total != 2500 || b.Version != id || len(b.Results) != 2500 {
		t.Fatalf("%d entities sent, %d results, version %s", total, len(b.Results), b.Version)
	}
	for i, r := range b.Results {
		uid := int64(i + 1)
		if got, _ := r.Entity["user_id"].(json.Number).Int64(); got != uid || r.Found != (uid <= 2000) {
			t.Fatalf("result %d: %+v", i, r)
		}
		if v, ok := r.Features.Int("big"); r.Found && (!ok || v != bigBase+uid) {
			t.Fatalf("result %d big = %d", i, v)
		}
	}
}

// An alias that moves between two chunks of a batch: the chunks read from
// the new version are read again, pinned to the first chunk's version.
func TestBatchChunksComeFromOneVersion(t *testing.T) {
	e := newEnv(t)
	v1 := e.commit(t, usersIndex(30, 1), "latest")
	var v2 string
	url, in := e.serveInjected(t, func(n int, w http.ResponseWriter, r *http.Request) bool {
		if n != 2 {
			return false
		}
		// Between the first chunk and the second, a new version goes live.
		id, err := e.publish(usersIndex(30, 5), "latest")
		if err != nil {
			t.Error(err)
		}
		v2 = id
		return false
	})
	c := newClient(t, url, client.Options{MaxBatch: 10, BatchConcurrency: 1})
	keys := make([]client.Key, 25)
	for i := range keys {
		keys[i] = client.Key{"user_id": i + 1}
	}
	b, err := c.GetFeaturesBatch(t.Context(), "user_orders", keys)
	if err != nil {
		t.Fatal(err)
	}
	if v2 == "" || v2 == v1 {
		t.Fatal("the alias did not move")
	}
	if b.Version != v1 {
		t.Fatalf("batch version %s, want the first chunk's %s", lake.ShortID(b.Version), lake.ShortID(v1))
	}
	for i, r := range b.Results {
		if uid := float64(i + 1); r.Found && !r.Features.IsNull("spend") {
			if v, _ := r.Features.Float("spend"); v != uid {
				t.Errorf("user %v spend %v: read from the new version", uid, v)
			}
		}
		if v, _ := r.Features.String("tier"); v != "gen1" {
			t.Errorf("result %d tier %q", i, v)
		}
	}
	reqs := in.batchBodies(t)
	if len(reqs) != 5 {
		t.Fatalf("%d batch requests, want 3 chunks + 2 re-reads", len(reqs))
	}
	for i, r := range reqs {
		if want := map[bool]string{false: "", true: v1}[i >= 3]; r.Version != want {
			t.Errorf("request %d asked version %q, want %q", i, r.Version, want)
		}
	}
	// The alias did move: a new batch reads v2 throughout.
	b, err = c.GetFeaturesBatch(t.Context(), "user_orders", keys)
	if err != nil || b.Version != v2 {
		t.Fatalf("after the move: %v %v", b.Version, err)
	}
	if v, _ := b.Results[24].Features.Float("spend"); v != 125 {
		t.Errorf("user 25 spend %v at v2", v)
	}
}

func TestRetriesUnavailableThenSucceeds(t *testing.T) {
	e := newEnv(t)
	id := e.commit(t, usersIndex(10, 1), "latest")
	url, in := e.serveInjected(t, func(n int, w http.ResponseWriter, r *http.Request) bool {
		if n <= 2 {
			unavailable(w)
			return true
		}
		return false
	})
	c := newClient(t, url, client.Options{}) // default: 2 retries
	fv, err := c.GetFeatures(t.Context(), "user_orders", client.Key{"user_id": 3})
	if err != nil {
		t.Fatal(err)
	}
	if v, _ := fv.Float("spend"); fv.Version != id || v != 3 {
		t.Errorf("after retries: %s %v", fv.Version, v)
	}
	if n := in.requests(); n != 3 {
		t.Errorf("%d requests, want 3", n)
	}
}

func TestRetriesBatchPostAfter5xx(t *testing.T) {
	e := newEnv(t)
	e.commit(t, usersIndex(10, 1), "latest")
	url, in := e.serveInjected(t, func(n int, w http.ResponseWriter, r *http.Request) bool {
		if n == 1 {
			http.Error(w, "<html>bad gateway</html>", http.StatusBadGateway)
			return true
		}
		return false
	})
	c := newClient(t, url, client.Options{})
	b, err := c.GetFeaturesBatch(t.Context(), "user_orders", []client.Key{{"user_id": 4}, {"user_id": 6}})
	if err != nil {
		t.Fatal(err)
	}
	if v, _ := b.Results[1].Features.Float("spend"); len(b.Results) != 2 || v != 6 {
		t.Errorf("results %+v", b.Results)
	}
	reqs := in.batchBodies(t)
	if len(reqs) != 2 || len(reqs[1].Entities) != 2 {
		t.Errorf("requests %+v, want the same body twice", reqs)
	}
}

func TestRetriesAreBounded(t *testing.T) {
	e := newEnv(t)
	e.commit(t, usersIndex(10, 1), "latest")
	url, in := e.serveInjected(t, func(n int, w http.ResponseWriter, r *http.Request) bool {
		unavailable(w)
		return true
	})
	c := newClient(t, url, client.Options{})
	_, err := c.GetFeatures(t.Context(), "user_orders", client.Key{"user_id": 3})
	var ce *client.Error
	if !client.IsUnavailable(err) || !errors.As(err, &ce) || ce.Status != 503 || !strings.Contains(err.Error(), "3 attempts") {
		t.Fatalf("err = %v", err)
	}
	if n := in.requests(); n != 3 {
		t.Errorf("%d requests, want 1 + 2 retries", n)
	}

	in.count.Store(0)
	c = newClient(t, url, client.Options{Retries: client.NoRetries})
	if _, err := c.ModelAlias(t.Context(), "churn", "prod"); !client.IsUnavailable(err) || in.requests() != 1 {
		t.Errorf("NoRetries: %v after %d requests", err, in.requests())
	}
}

func TestRetriesDroppedConnections(t *testing.T) {
	e := newEnv(t)
	id := e.commit(t, usersIndex(10, 1), "latest")
	var always atomic.Bool
	url, in := e.serveInjected(t, func(n int, w http.ResponseWriter, r *http.Request) bool {
		if n <= 2 || always.Load() {
			hangUp(t, w)
			return true
		}
		return false
	})
	// No keep-alive: the transport never retries a reused connection on
	// its own, so every attempt counted below is the client's.
	hc := &http.Client{Transport: &http.Transport{DisableKeepAlives: true}}
	c := newClient(t, url, client.Options{HTTPClient: hc})
	b, err := c.GetFeaturesBatch(t.Context(), "user_orders", []client.Key{{"user_id": 2}})
	if err != nil {
		t.Fatal(err)
	}
	if b.Version != id || !b.Results[0].Found {
		t.Errorf("batch %+v", b)
	}
	if n := in.requests(); n != 3 {
		t.Errorf("%d requests, want 3", n)
	}

	// Out of retries: the connection error, not an *Error.
	in.count.Store(0)
	always.Store(true)
	_, err = c.GetFeatures(t.Context(), "user_orders", client.Key{"user_id": 2})
	var ce *client.Error
	if err == nil || errors.As(err, &ce) || !strings.Contains(err.Error(), "3 attempts") {
		t.Errorf("dropped every time: %v", err)
	}
	if n := in.requests(); n != 3 {
		t.Errorf("%d requests, want 3", n)
	}
}

func TestRetriesTimedOutAttempt(t *testing.T) {
	e := newEnv(t)
	e.commit(t, usersIndex(10, 1), "latest")
	url, in := e.serveInjected(t, func(n int, w http.ResponseWriter, r *http.Request) bool {
		if n == 1 {
			select { // stall until the client gives up on this attempt
			case <-r.Context().Done():
			case <-time.After(30 * time.Second):
			}
			return true
		}
		return false
	})
	c := newClient(t, url, client.Options{Timeout: 100 * time.Millisecond})
	start := time.Now()
	fv, err := c.GetFeatures(t.Context(), "user_orders", client.Key{"user_id": 5})
	if err != nil {
		t.Fatal(err)
	}
	if v, _ := fv.Float("spend"); v != 5 || in.requests() != 2 {
		t.Errorf("spend %v after %d requests", v, in.requests())
	}
	if d := time.Since(start); d > 10*time.Second {
		t.Errorf("took %v: the stalled attempt was not cut at its timeout", d)
	}
}

func TestCancelStopsRetries(t *testing.T) {
	e := newEnv(t)
	e.commit(t, usersIndex(10, 1), "latest")
	ctx, cancel := context.WithCancel(t.Context())
	url, in := e.serveInjected(t, func(n int, w http.ResponseWriter, r *http.Request) bool {
		cancel() // the caller gives up while the first attempt is answered
		unavailable(w)
		return true
	})
	c := newClient(t, url, client.Options{Retries: 10, MinBackoff: 20 * time.Second, MaxBackoff: 20 * time.Second})
	start := time.Now()
	_, err := c.GetFeatures(ctx, "user_orders", client.Key{"user_id": 1})
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("err = %v", err)
	}
	if d := time.Since(start); d > 5*time.Second {
		t.Errorf("returned after %v, not at once", d)
	}
	if n := in.requests(); n != 1 {
		t.Errorf("%d requests after cancel, want 1", n)
	}

	// Cancelling during a backoff ends the wait at once.
	answered := make(chan struct{}, 1)
	url2, in2 := e.serveInjected(t, func(n int, w http.ResponseWriter, r *http.Request) bool {
		unavailable(w)
		select {
		case answered <- struct{}{}:
		default:
		}
		return true
	})
	c = newClient(t, url2, client.Options{Retries: 3, MinBackoff: 20 * time.Second, MaxBackoff: 20 * time.Second})
	ctx, cancel = context.WithCancel(t.Context())
	go func() {
		<-answered
		time.Sleep(200 * time.Millisecond) // the client is in its 20s backoff
		cancel()
	}()
	start = time.Now()
	_, err = c.ModelAlias(ctx, "churn", "prod")
	if !errors.Is(err, context.Canceled) || !client.IsUnavailable(err) {
		t.Fatalf("cancel during backoff: %v", err)
	}
	if d, n := time.Since(start), in2.requests(); d > 5*time.Second || n != 1 {
		t.Errorf("cancel during backoff: returned after %v and %d requests", d, n)
	}

	// A deadline ends a run of retries early.
	in2.count.Store(0)
	c = newClient(t, url2, client.Options{Retries: 1000, MinBackoff: 40 * time.Millisecond, MaxBackoff: 40 * time.Millisecond})
	dctx, dcancel := context.WithTimeout(t.Context(), time.Second)
	defer dcancel()
	start = time.Now()
	_, err = c.GetFeaturesBatch(dctx, "user_orders", []client.Key{{"user_id": 1}})
	if !errors.Is(err, context.DeadlineExceeded) || !client.IsUnavailable(err) {
		t.Fatalf("deadline: %v", err)
	}
	if d, n := time.Since(start), in2.requests(); d > 5*time.Second || n < 2 || n > 60 {
		t.Errorf("deadline: returned after %v and %d requests", d, n)
	}
}
