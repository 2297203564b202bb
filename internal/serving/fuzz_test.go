package serving_test

import (
	"bytes"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"

	"github.com/granaryml/granary/internal/lake"
	"github.com/granaryml/granary/internal/serving"
)

// fuzzServer is what every fuzz target talks to: user_orders with 50
// users at v1 (generation 1, alias prod) and v2 (generation 2, latest),
// and model churn@prod; batches of at most 20.
type fuzzServer struct {
	h      http.Handler
	v1, v2 string
	model  string
	genOf  map[string]float64
}

func newFuzzServer(f *testing.F) *fuzzServer {
	l, _ := testLake(f)
	fs := &fuzzServer{v1: commitUsers(f, l, 50, 1, "prod"), v2: commitUsers(f, l, 50, 2, "latest")}
	fs.genOf = map[string]float64{fs.v1: 1, fs.v2: 2}
	fs.model = commitModel(f, l, "churn", []byte("model"), 0.5)
	moveRef(f, l, lake.KindModel, "churn", "prod", fs.model)
	srv := newTestServer(f, l, serving.Options{MaxBatch: 20, MaxPinned: 2})
	refresh(f, srv)
	fs.h = srv.Handler()
	return fs
}

// check holds for every response: never a 5xx, only the statuses the API
// documents, JSON bodies (errors as ErrorBody with the code matching the
// status), and a version header equal to the body's version.
func (fs *fuzzServer) check(t *testing.T, rec *httptest.ResponseRecorder) map[string]any {
	t.Helper()
	body := rec.Body.Bytes()
	switch rec.Code {
	case 200, 400, 401, 404, 413:
	default:
		t.Fatalf("status %d: %s", rec.Code, body)
	}
	if ct := rec.Header().Get("Content-Type"); ct != "application/json" {
		t.Fatalf("status %d with Content-Type %q: %s", rec.Code, ct, body)
	}
	var obj map[string]any
	if err := json.Unmarshal(body, &obj); err != nil || !json.Valid(body) {
		t.Fatalf("status %d, body not a JSON object (%v): %q", rec.Code, err, body)
	}
	if rec.Code != 200 {
		var eb serving.ErrorBody
		if err := json.Unmarshal(body, &eb); err != nil || eb.Error.Message == "" || eb.Error.Code != errorCodes[rec.Code] {
			t.Fatalf("status %d, error body %s", rec.Code, body)
		}
		if rec.Header().Get(serving.VersionHeader) != "" {
			t.Fatalf("error response with a version header: %s", body)
		}
		return nil
	}
	hv := rec.Header().Get(serving.VersionHeader)
	if v, hasVersion := obj["version"]; (hasVersion || hv != "") && v != hv {
		t.Fatalf("200 with header version %q, body %s", hv, body)
	}
	return obj
}

var errorCodes = map[int]string{400: serving.CodeBadRequest, 401: serving.CodeUnauthorized, 404: serving.CodeNotFound, 413: serving.CodeTooLarge}

// FuzzFeatureQuery: GET /v1/features/user_orders with any query string,
// and any version parameter added to it.
func FuzzFeatureQuery(f *testing.F) {
	fs := newFuzzServer(f)
	for _, seed := range [][2]string{
		{"user_id=7", ""}, {"user_id=7", "latest"}, {"user_id=7", "prod"}, {"user_id=7", fs.v1}, {"user_id=7", fs.v1[:12]},
		{"user_id=7", fs.v2[:lake.MinPrefix]}, {"user_id=10", fs.v1[:lake.MinPrefix-1]}, {"user_id=7", "deadbeefdeadbeef"},
		{"user_id=999", ""}, {"user_id=abc", ""}, {"", ""}, {"user_id=7&user_id=8", ""}, {"user_id=1&x=2", ""},
		{"user_id=%zz", ""}, {"user_id=99999999999999999999", ""}, {"version=latest&user_id=3", "prod"},
		{"user_id=-0", ""}, {"user_id=+7", ""}, {"user_id=0x7", ""}, {"user_id=7;version=prod", ""}, {"user_id=7", "../latest"},
		{"user_id=7", "LATEST"}, {"user_id=7", fs.v1 + "0"}, {"user_id= 7", ""}, {"=7", ""}, {"user_id", ""}, {"&&&", "\x00"},
	} {
		f.Add(seed[0], seed[1])
	}
	f.Fuzz(func(t *testing.T, rawQuery, version string) {
		req := httptest.NewRequest("GET", "/v1/features/user_orders", nil)
		req.URL.RawQuery = rawQuery
		if version != "" {
			if rawQuery != "" {
				req.URL.RawQuery += "&"
			}
			req.URL.RawQuery += "version=" + url.QueryEscape(version)
		}
		req.Header.Set("Authorization", "Bearer "+token)
		rec := httptest.NewRecorder()
		fs.h.ServeHTTP(rec, req)
		obj := fs.check(t, rec)
		if obj == nil {
			return
		}
		var r featureResponse
		if err := json.Unmarshal(rec.Body.Bytes(), &r); err != nil {
			t.Fatal(err)
		}
		gen, ok := fs.genOf[r.Version]
		id, _ := r.Entity["user_id"].(float64)
		if !ok || r.View != "user_orders" || id < 1 || id > 50 {
			t.Fatalf("200 for %q: %s", req.URL.RawQuery, rec.Body)
		}
		if got, err := userGen(id, r.Features); err != nil || got != gen {
			t.Fatalf("version %s (generation %g) served generation %g (%v): %s", r.Version, gen, got, err, rec.Body)
		}
	})
}

// FuzzBatchBody: POST /v1/features:batch with any body.
func FuzzBatchBody(f *testing.F) {
	fs := newFuzzServer(f)
	for _, seed := range []string{
		`{"view":"user_orders","entities":[{"user_id":3},{"user_id":"4"},{"user_id":999}]}`,
		`{"view":"user_orders","version":"prod","entities":[{"user_id":1}]}`,
		`{"view":"user_orders","version":"` + fs.v1[:12] + `","entities":[{"user_id":10},{"user_id":-1}]}`,
		`{"view":"user_orders","version":"` + fs.v2 + `","entities":[]}`,
		`{"view":"user_orders"}`,
		`{"view":"user_orders","entities":[` + strings.Repeat(`{"user_id":1},`, 20) + `{"user_id":2}]}`,
		`{"view":"user_orders","entities":[{"user_id":null}]}`,
		`{"view":"user_orders","entities":[null]}`,
		`{"view":"user_orders","entities":[{"user_id":1.5},{"user_id":1e2},{"user_id":true}]}`,
		`{"view":"user_orders","entities":[{"user_id":[1]}]}`,
		`{"view":"user_orders","entities":[{"user_id":1,"user_id":2}]}`,
		`{"view":"user_orders","entities":[{"uid":1}]}`,
		`{"view":"user_orders","entities":[{"user_id":1,"x":2}]}`,
		`{"view":"nope","entities":[{"user_id":1}]}`,
		`{"view":"../user_orders","entities":[]}`,
		`{"view":"user_orders","version":"deadbeef","entities":[]}`,
		`{"view":"user_orders","entities":{}}`,
		`{"view":"user_orders","entities":[{"user_id":"1"}]} trailing`,
		`{"view":`,
		``,
		`null`,
		`[]`,
		"\xff",
	} {
		f.Add([]byte(seed))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		req := httptest.NewRequest("POST", "/v1/features:batch", bytes.NewReader(body))
		req.Header.Set("Authorization", "Bearer "+token)
		rec := httptest.NewRecorder()
		fs.h.ServeHTTP(rec, req)
		if fs.check(t, rec) == nil {
			return
		}
		var in serving.BatchRequest
		if err := json.Unmarshal(body, &in); err != nil {
			t.Fatalf("200 for a body that is not a batch request (%v): %q", err, body)
		}
		var r batchResponse
		if err := json.Unmarshal(rec.Body.Bytes(), &r); err != nil {
			t.Fatal(err)
		}
		gen, ok := fs.genOf[r.Version]
		if !ok || r.View != in.View || len(r.Results) != len(in.Entities) || len(r.Results) > 20 {
			t.Fatalf("200 for %q: %s", body, rec.Body)
		}
		for i, res := range r.Results {
			id, _ := res.Entity["user_id"].(float64)
			if !res.Found {
				if res.Features != nil || (id >= 1 && id <= 50 && id == float64(int64(id))) {
					t.Fatalf("result %d not found: %s", i, rec.Body)
				}
				continue
			}
			if got, err := userGen(id, res.Features); err != nil || got != gen {
				t.Fatalf("result %d of version %s (generation %g): generation %g (%v): %s", i, r.Version, gen, got, err, rec.Body)
			}
		}
	})
}

// FuzzPath: GET or POST of any path with any body, with or without a
// token. Redirects (the mux cleaning a path) and the Prometheus page are
// the only non-JSON answers.
func FuzzPath(f *testing.F) {
	fs := newFuzzServer(f)
	for _, seed := range []struct {
		post bool
		path string
		auth bool
	}{
		{false, "/v1/features/user_orders?user_id=1", true},
		{false, "/v1/features/user_orders?user_id=1", false},
		{false, "/v1/features/nope?user_id=1", true},
		{false, "/v1/features/User_Orders?user_id=1", true},
		{false, "/v1/features/user%2Forders?user_id=1", true},
		{false, "/v1/features/%2E%2E?user_id=1", true},
		{false, "/v1/features/a%5Cb?user_id=1", true},
		{false, "/v1/features/user_orders/extra?user_id=1", true},
		{false, "/v1/features/../features/user_orders?user_id=1", true},
		{false, "//v1/features/user_orders?user_id=1", true},
		{true, "/v1/features:batch", true},
		{true, "/v1/features%3Abatch", true},
		{false, "/v1/features:batch", true},
		{false, "/v1/models/churn/aliases/prod", true},
		{false, "/v1/models/churn/aliases/prod", false},
		{false, "/v1/models/churn/aliases/" + fs.model, true},
		{false, "/v1/models/ch%5Curn/aliases/prod", true},
		{false, "/v1/models/churn/aliases/pr%00od", true},
		{false, "/v1/models/churn/aliases/", true},
		{true, "/v1/admin/reload", true},
		{true, "/v1/admin/reload", false},
		{false, "/healthz", false},
		{false, "/readyz", false},
		{false, "/metrics", false},
		{true, "/metrics", false},
		{false, "/", false},
		{false, "/v2/anything", true},
	} {
		f.Add(seed.post, seed.path, seed.auth, "")
	}
	f.Add(true, "/v1/features:batch", true, `{"view":"user_orders","entities":[{"user_id":3}]}`)
	f.Fuzz(func(t *testing.T, post bool, path string, auth bool, body string) {
		u, err := url.ParseRequestURI(path)
		if err != nil || u.Scheme != "" || u.Host != "" || !strings.HasPrefix(u.Path, "/") {
			t.Skip("not a request target a server would accept")
		}
		method := "GET"
		if post {
			method = "POST"
		}
		req := httptest.NewRequest(method, "/", strings.NewReader(body))
		req.URL, req.RequestURI = u, path
		if auth {
			req.Header.Set("Authorization", "Bearer "+token)
		}
		rec := httptest.NewRecorder()
		fs.h.ServeHTTP(rec, req)
		switch {
		case rec.Code >= 500:
			t.Fatalf("%s %q: %d %s", method, path, rec.Code, rec.Body)
		case rec.Code == 301 || rec.Code == 307 || rec.Code == 308:
			if rec.Header().Get("Location") == "" {
				t.Fatalf("%s %q: redirect without a Location", method, path)
			}
		case rec.Code == 200 && strings.HasPrefix(rec.Header().Get("Content-Type"), "text/plain"):
			if method != "GET" || u.Path != "/metrics" || !strings.Contains(rec.Body.String(), "granary_serve_responses_total") {
				t.Fatalf("%s %q: text answer %.200s", method, path, rec.Body)
			}
		default:
			fs.check(t, rec)
		}
	})
}
