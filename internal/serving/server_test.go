package serving_test

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/granaryml/granary/internal/lake"
	"github.com/granaryml/granary/internal/objstore/filestore"
	"github.com/granaryml/granary/internal/serving"
	"github.com/granaryml/granary/internal/serving/servingtest"
	"github.com/granaryml/granary/internal/tabular"
)

const token = "s3cret-token-0123456789abcdef0123456789"

// usersIndex is n users keyed by user_id with spend = id * gen and a name.
func usersIndex(n int, gen float64) servingtest.Index {
	schema := tabular.Schema{Columns: []tabular.Column{{Name: "user_id", Type: tabular.Int64}, {Name: "spend", Type: tabular.Float64, Nullable: true}, {Name: "tier", Type: tabular.String, Nullable: true}}}
	t := tabular.NewTable(schema)
	src := &tabular.Batch{Len: 1, Vectors: []tabular.Vector{{Type: tabular.Int64, Ints: []int64{0}}, {Type: tabular.Float64, Floats: []float64{0}, Nulls: []bool{false}}, {Type: tabular.String, Bytes: nil, Offsets: []uint32{0, 0}, Nulls: []bool{false}}}}
	for i := 1; i <= n; i++ {
		src.Vectors[0].Ints[0] = int64(i)
		src.Vectors[1].Floats[0] = float64(i) * gen
		src.Vectors[1].Nulls[0] = i%10 == 0
		tier := fmt.Sprintf("gen%g", gen)
		src.Vectors[2].Bytes = []byte(tier)
		src.Vectors[2].Offsets[1] = uint32(len(tier))
		t.AppendRow(src, 0, []int{0, 1, 2})
	}
	return servingtest.Index{View: "user_orders", AsOf: 1_700_000_000_000_000, Shards: 3, Keys: schema.Columns[:1], Columns: schema.Columns[1:], Batch: t.Batch()}
}

type fixture struct {
	lake *lake.Lake
	srv  *serving.Server
	http *httptest.Server
}

func newFixture(t *testing.T) *fixture {
	t.Helper()
	store, err := filestore.New(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	l := lake.New(store)
	srv, err := serving.New(serving.Options{Lake: l, Tokens: []string{"other:" + strings.Repeat("o", 40), token}})
	if err != nil {
		t.Fatal(err)
	}
	hs := httptest.NewServer(srv.Handler())
	t.Cleanup(hs.Close)
	return &fixture{lake: l, srv: srv, http: hs}
}

func (f *fixture) do(t *testing.T, method, path, body, tok string) (int, http.Header, []byte) {
	t.Helper()
	req, err := http.NewRequestWithContext(t.Context(), method, f.http.URL+path, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	if tok != "" {
		req.Header.Set("Authorization", "Bearer "+tok)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp.StatusCode, resp.Header, b
}

func TestLookupServesIndexedValuesWithVersion(t *testing.T) {
	f := newFixture(t)
	id, err := servingtest.Commit(t.Context(), f.lake, usersIndex(100, 2), "latest")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.srv.Refresh(t.Context()); err != nil {
		t.Fatal(err)
	}
	code, hdr, body := f.do(t, "GET", "/v1/features/user_orders?user_id=7", "", token)
	if code != 200 || hdr.Get(serving.VersionHeader) != id {
		t.Fatalf("GET: %d %s %s", code, hdr.Get(serving.VersionHeader), body)
	}
	var got struct {
		View     string         `json:"view"`
		Version  string         `json:"version"`
		AsOf     string         `json:"as_of"`
		Entity   map[string]any `json:"entity"`
		Features map[string]any `json:"features"`
	}
	if err := json.Unmarshal(body, &got); err != nil {
		t.Fatalf("%v: %s", err, body)
	}
	if got.Version != id || got.Entity["user_id"] != 7.0 || got.Features["spend"] != 14.0 || got.Features["tier"] != "gen2" || got.AsOf != "2023-11-14T22:13:20Z" {
		t.Fatalf("unexpected body %s", body)
	}
	// user 10 has a null spend.
	_, _, body = f.do(t, "GET", "/v1/features/user_orders?user_id=10", "", token)
	if !strings.Contains(string(body), `"spend":null`) {
		t.Fatalf("null feature: %s", body)
	}

	code, _, body = f.do(t, "POST", "/v1/features:batch", `{"view":"user_orders","entities":[{"user_id":3},{"user_id":"1000"},{"user_id":5}]}`, token)
	var batch struct {
		Version string `json:"version"`
		Results []struct {
			Found    bool           `json:"found"`
			Entity   map[string]any `json:"entity"`
			Features map[string]any `json:"features"`
		} `json:"results"`
	}
	if err := json.Unmarshal(body, &batch); code != 200 || err != nil {
		t.Fatalf("batch: %d %v %s", code, err, body)
	}
	if batch.Version != id || len(batch.Results) != 3 || !batch.Results[0].Found || batch.Results[0].Features["spend"] != 6.0 ||
		batch.Results[1].Found || batch.Results[1].Features != nil || batch.Results[2].Features["spend"] != 10.0 {
		t.Fatalf("batch body %s", body)
	}
}

func TestAuthAndErrorsAreJSON(t *testing.T) {
	f := newFixture(t)
	if _, err := servingtest.Commit(t.Context(), f.lake, usersIndex(20, 1), "latest"); err != nil {
		t.Fatal(err)
	}
	if _, err := f.srv.Refresh(t.Context()); err != nil {
		t.Fatal(err)
	}
	many := `{"view":"user_orders","entities":[` + strings.Repeat(`{"user_id":1},`, 1000) + `{"user_id":2}]}`
	cases := []struct {
		name, method, path, body, tok string
		code                          int
		errCode                       string
	}{
		{"no token", "GET", "/v1/features/user_orders?user_id=1", "", "", 401, serving.CodeUnauthorized},
		{"wrong token", "GET", "/v1/features/user_orders?user_id=1", "", "s3cret-tokeN", 401, serving.CodeUnauthorized},
		{"prefix of a token", "GET", "/v1/features/user_orders?user_id=1", "", "s3cret", 401, serving.CodeUnauthorized},
		{"unknown view", "GET", "/v1/features/nope?user_id=1", "", token, 404, serving.CodeNotFound},
		{"unknown entity", "GET", "/v1/features/user_orders?user_id=999", "", token, 404, serving.CodeNotFound},
		{"unknown alias", "GET", "/v1/features/user_orders?user_id=1&version=prod", "", token, 404, serving.CodeNotFound},
		{"bad key type", "GET", "/v1/features/user_orders?user_id=abc", "", token, 400, serving.CodeBadRequest},
		{"missing key", "GET", "/v1/features/user_orders", "", token, 400, serving.CodeBadRequest},
		{"unknown param", "GET", "/v1/features/user_orders?user_id=1&usr=2", "", token, 400, serving.CodeBadRequest},
		{"malformed body", "POST", "/v1/features:batch", `{"view":`, token, 400, serving.CodeBadRequest},
		{"null key", "POST", "/v1/features:batch", `{"view":"user_orders","entities":[{"user_id":null}]}`, token, 400, serving.CodeBadRequest},
		{"wrong key name", "POST", "/v1/features:batch", `{"view":"user_orders","entities":[{"uid":1}]}`, token, 400, serving.CodeBadRequest},
		{"oversized batch", "POST", "/v1/features:batch", many, token, 413, serving.CodeTooLarge},
		{"unknown model", "GET", "/v1/models/churn/aliases/prod", "", token, 404, serving.CodeNotFound},
		{"unknown route", "GET", "/v2/anything", "", token, 404, serving.CodeNotFound},
	}
	for _, c := range cases {
		code, hdr, body := f.do(t, c.method, c.path, c.body, c.tok)
		var eb serving.ErrorBody
		if err := json.Unmarshal(body, &eb); err != nil || code != c.code || eb.Error.Code != c.errCode || eb.Error.Message == "" || hdr.Get("Content-Type") != "application/json" {
			t.Errorf("%s: %d %s, want %d %s", c.name, code, body, c.code, c.errCode)
		}
	}
	// Health and readiness need no token.
	if code, _, _ := f.do(t, "GET", "/healthz", "", ""); code != 200 {
		t.Errorf("healthz: %d", code)
	}
	if code, _, _ := f.do(t, "GET", "/readyz", "", ""); code != 200 {
		t.Errorf("readyz after a refresh: %d", code)
	}
}

func TestServerRefusesToStartWithoutTokens(t *testing.T) {
	store, _ := filestore.New(t.TempDir())
	if _, err := serving.New(serving.Options{Lake: lake.New(store)}); err == nil || !strings.Contains(err.Error(), "GRANARY_SERVE_TOKENS") {
		t.Fatalf("no tokens: %v", err)
	}
	srv, err := serving.New(serving.Options{Lake: lake.New(store), AllowNoAuth: true})
	if err != nil || srv.Ready() {
		t.Fatalf("no-auth server: %v, ready before any refresh: %v", err, srv != nil && srv.Ready())
	}
}

// The auth scheme name is case-insensitive; the token is not.
func TestBearerSchemeIsCaseInsensitive(t *testing.T) {
	f := newFixture(t)
	if _, err := servingtest.Commit(t.Context(), f.lake, usersIndex(5, 1), "latest"); err != nil {
		t.Fatal(err)
	}
	if _, err := f.srv.Refresh(t.Context()); err != nil {
		t.Fatal(err)
	}
	for header, want := range map[string]int{"bearer " + token: 200, "BEARER " + token: 200, "Bearer " + strings.ToUpper(token): 401, "Basic " + token: 401, token: 401} {
		req, _ := http.NewRequestWithContext(t.Context(), "GET", f.http.URL+"/v1/features/user_orders?user_id=1", nil)
		req.Header.Set("Authorization", header)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != want {
			t.Errorf("Authorization %q: %d, want %d", header, resp.StatusCode, want)
		}
	}
}

// Query values are URL-unescaped; a malformed escape is a 400.
func TestQueryEscapes(t *testing.T) {
	f := newFixture(t)
	if _, err := servingtest.Commit(t.Context(), f.lake, usersIndex(50, 1), "latest"); err != nil {
		t.Fatal(err)
	}
	if _, err := f.srv.Refresh(t.Context()); err != nil {
		t.Fatal(err)
	}
	code, _, body := f.do(t, "GET", "/v1/features/user_orders?user%5Fid=%34%32&version=lat%65st", "", token)
	if code != 200 || !strings.Contains(string(body), `"entity":{"user_id":42}`) {
		t.Fatalf("escaped query: %d %s", code, body)
	}
	for _, q := range []string{"user_id=%zz", "user_id=1;version=latest", "user_id=1&user_id=2", "user_id"} {
		if code, _, body := f.do(t, "GET", "/v1/features/user_orders?"+q, "", token); code != 400 {
			t.Errorf("?%s: %d %s, want 400", q, code, body)
		}
	}
}
