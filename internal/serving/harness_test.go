package serving_test

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"

	"github.com/granaryml/granary/internal/lake"
	"github.com/granaryml/granary/internal/objstore/filestore"
	"github.com/granaryml/granary/internal/serving"
	"github.com/granaryml/granary/internal/serving/servingtest"
)

// testLake is a lake on a temporary directory; root is the filestore's
// directory, so a test can damage an object behind the lake's back.
func testLake(tb testing.TB) (*lake.Lake, string) {
	tb.Helper()
	root := tb.TempDir()
	store, err := filestore.New(root)
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { store.Close() })
	return lake.New(store), root
}

// newTestServer is a server on l accepting token; o's other fields are
// kept.
func newTestServer(tb testing.TB, l *lake.Lake, o serving.Options) *serving.Server {
	tb.Helper()
	o.Lake = l
	o.Tokens = []string{token}
	srv, err := serving.New(o)
	if err != nil {
		tb.Fatal(err)
	}
	return srv
}

// commitUsers commits usersIndex(n, gen), moving aliases to it.
func commitUsers(tb testing.TB, l *lake.Lake, n int, gen float64, aliases ...string) string {
	tb.Helper()
	id, err := servingtest.Commit(tb.Context(), l, usersIndex(n, gen), aliases...)
	if err != nil {
		tb.Fatal(err)
	}
	return id
}

func refresh(tb testing.TB, srv *serving.Server) serving.RefreshResult {
	tb.Helper()
	res, err := srv.Refresh(tb.Context())
	if err != nil {
		tb.Fatal(err)
	}
	return res
}

func moveRef(tb testing.TB, l *lake.Lake, k lake.Kind, name, ref, to string) {
	tb.Helper()
	if _, err := l.MoveRef(tb.Context(), lake.MoveOptions{Kind: k, Name: name, Ref: ref, To: to, By: "test"}); err != nil {
		tb.Fatal(err)
	}
}

// call serves one request in process, without a network.
func call(h http.Handler, method, target, body, tok string) *httptest.ResponseRecorder {
	req := httptest.NewRequest(method, target, strings.NewReader(body))
	if tok != "" {
		req.Header.Set("Authorization", "Bearer "+tok)
	}
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	return rec
}

// featureResponse is the body of GET /v1/features/{view}.
type featureResponse struct {
	View        string         `json:"view"`
	Version     string         `json:"version"`
	ViewVersion string         `json:"view_version"`
	AsOf        string         `json:"as_of"`
	Entity      map[string]any `json:"entity"`
	Features    map[string]any `json:"features"`
}

// batchResponse is the body of POST /v1/features:batch.
type batchResponse struct {
	View    string `json:"view"`
	Version string `json:"version"`
	Results []struct {
		Entity   map[string]any `json:"entity"`
		Found    bool           `json:"found"`
		Features map[string]any `json:"features"`
	} `json:"results"`
}

// userGen checks one user's features as usersIndex wrote them and returns
// the generation they encode: tier is "gen<g>", spend is id*g, null for
// every tenth user.
func userGen(id float64, features map[string]any) (float64, error) {
	tier, ok := features["tier"].(string)
	if !ok || !strings.HasPrefix(tier, "gen") {
		return 0, fmt.Errorf("user %g: tier %v", id, features["tier"])
	}
	gen, err := strconv.ParseFloat(strings.TrimPrefix(tier, "gen"), 64)
	if err != nil {
		return 0, fmt.Errorf("user %g: tier %q", id, tier)
	}
	spend, present := features["spend"]
	switch {
	case !present:
		return 0, fmt.Errorf("user %g: no spend", id)
	case int64(id)%10 == 0 && spend != nil:
		return 0, fmt.Errorf("user %g: spend %v, want null", id, spend)
	case int64(id)%10 != 0 && spend != id*gen:
		return 0, fmt.Errorf("user %g: spend %v with tier %s, want %g", id, spend, tier, id*gen)
	}
	return gen, nil
}

// getUser looks one user up and returns the version served and the
// generation of its values.
func getUser(tb testing.TB, h http.Handler, id int, version string) (string, float64) {
	tb.Helper()
	target := fmt.Sprintf("/v1/features/user_orders?user_id=%d", id)
	if version != "" {
		target += "&version=" + version
	}
	rec := call(h, "GET", target, "", token)
	if rec.Code != 200 {
		tb.Fatalf("GET %s: %d %s", target, rec.Code, rec.Body)
	}
	var got featureResponse
	if err := json.Unmarshal(rec.Body.Bytes(), &got); err != nil {
		tb.Fatalf("GET %s: %v: %s", target, err, rec.Body)
	}
	if hv := rec.Header().Get(serving.VersionHeader); hv != got.Version {
		tb.Fatalf("GET %s: header version %s, body version %s", target, hv, got.Version)
	}
	gen, err := userGen(float64(id), got.Features)
	if err != nil {
		tb.Fatalf("GET %s: %v", target, err)
	}
	return got.Version, gen
}

// errorCode checks an error response is the JSON error body with the
// given status and returns its code.
func errorCode(tb testing.TB, rec *httptest.ResponseRecorder, status int) string {
	tb.Helper()
	var eb serving.ErrorBody
	if err := json.Unmarshal(rec.Body.Bytes(), &eb); err != nil || rec.Code != status || eb.Error.Message == "" || rec.Header().Get("Content-Type") != "application/json" {
		tb.Fatalf("want a %d JSON error, got %d %q: %s", status, rec.Code, rec.Header().Get("Content-Type"), rec.Body)
	}
	return eb.Error.Code
}

// promSample is one line of the Prometheus text format.
type promSample struct {
	name   string
	labels map[string]string
	value  float64
}

// scrape reads GET /metrics.
func scrape(tb testing.TB, h http.Handler) []promSample {
	tb.Helper()
	rec := call(h, "GET", "/metrics", "", token)
	if rec.Code != 200 || !strings.HasPrefix(rec.Header().Get("Content-Type"), "text/plain") {
		tb.Fatalf("GET /metrics: %d %q", rec.Code, rec.Header().Get("Content-Type"))
	}
	samples, err := parseProm(rec.Body)
	if err != nil {
		tb.Fatalf("GET /metrics: %v\n%s", err, rec.Body)
	}
	return samples
}

func parseProm(r io.Reader) ([]promSample, error) {
	var out []promSample
	sc := bufio.NewScanner(r)
	for sc.Scan() {
		line := sc.Text()
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		i := strings.LastIndexByte(line, ' ')
		if i < 0 {
			return nil, fmt.Errorf("line %q has no value", line)
		}
		v, err := strconv.ParseFloat(line[i+1:], 64)
		if err != nil {
			return nil, fmt.Errorf("line %q: %v", line, err)
		}
		s := promSample{name: line[:i], labels: map[string]string{}, value: v}
		if j := strings.IndexByte(s.name, '{'); j >= 0 {
			if !strings.HasSuffix(s.name, "}") {
				return nil, fmt.Errorf("line %q: unterminated labels", line)
			}
			for _, kv := range splitLabels(s.name[j+1 : len(s.name)-1]) {
				k, qv, ok := strings.Cut(kv, "=")
				uq, err := strconv.Unquote(qv)
				if !ok || err != nil {
					return nil, fmt.Errorf("line %q: label %q", line, kv)
				}
				s.labels[k] = uq
			}
			s.name = s.name[:j]
		}
		out = append(out, s)
	}
	return out, sc.Err()
}

// splitLabels splits `a="x",b="y,z"` at the commas outside quotes.
func splitLabels(s string) []string {
	var out []string
	var cur bytes.Buffer
	quoted, escaped := false, false
	for _, r := range s {
		switch {
		case escaped:
			escaped = false
		case r == '\\':
			escaped = true
		case r == '"':
			quoted = !quoted
		case r == ',' && !quoted:
			out = append(out, cur.String())
			cur.Reset()
			continue
		}
		cur.WriteRune(r)
	}
	if cur.Len() > 0 {
		out = append(out, cur.String())
	}
	return out
}

// find returns the samples named name whose labels include want.
func find(samples []promSample, name string, want map[string]string) []promSample {
	var out []promSample
next:
	for _, s := range samples {
		if s.name != name {
			continue
		}
		for k, v := range want {
			if s.labels[k] != v {
				continue next
			}
		}
		out = append(out, s)
	}
	return out
}

// value is the one sample named name with labels want; it fails the test
// if there is not exactly one.
func value(tb testing.TB, samples []promSample, name string, want map[string]string) float64 {
	tb.Helper()
	got := find(samples, name, want)
	if len(got) != 1 {
		tb.Fatalf("%d samples %s%v, want 1", len(got), name, want)
	}
	return got[0].value
}
