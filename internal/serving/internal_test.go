package serving

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/granaryml/granary/internal/lake"
	"github.com/granaryml/granary/internal/objstore/filestore"
	"github.com/granaryml/granary/internal/serving/servingtest"
	"github.com/granaryml/granary/internal/tabular"
)

// A handler that panics answers a JSON 500 without details, is counted,
// and the server goes on answering.
func TestRouteTurnsAPanicIntoA500(t *testing.T) {
	store, err := filestore.New(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	s, err := New(Options{Lake: lake.New(store), AllowNoAuth: true})
	if err != nil {
		t.Fatal(err)
	}
	h := s.route(routeOther, false, func(http.ResponseWriter, *http.Request) error { panic("bug: index out of range") })
	for range 2 {
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, httptest.NewRequest("GET", "/boom", nil))
		var body ErrorBody
		if err := json.Unmarshal(rec.Body.Bytes(), &body); err != nil || rec.Code != 500 || body.Error.Code != CodeInternal || strings.Contains(rec.Body.String(), "index out of range") {
			t.Fatalf("panicking handler: %d %s", rec.Code, rec.Body)
		}
	}
	var metrics strings.Builder
	s.writeMetrics(&metrics)
	if !strings.Contains(metrics.String(), `granary_serve_responses_total{route="other",code="500"} 2`) {
		t.Fatalf("the two 500s are not counted:\n%s", metrics.String())
	}
}

// Between discoveries a poll reads only the refs of the views it serves:
// it sees an alias move there, not a view materialized for the first
// time; a full refresh (start-up, a push, every discoverEvery polls) does.
func TestPollsReadKnownViewsAndDiscoveryFindsNewOnes(t *testing.T) {
	store, err := filestore.New(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	l := lake.New(store)
	commit := func(view string, score float64, aliases ...string) string {
		t.Helper()
		schema := tabular.Schema{Columns: []tabular.Column{{Name: "id", Type: tabular.Int64}, {Name: "score", Type: tabular.Float64}}}
		b := &tabular.Batch{Len: 1, Vectors: []tabular.Vector{{Type: tabular.Int64, Ints: []int64{1}}, {Type: tabular.Float64, Floats: []float64{score}}}}
		id, err := servingtest.Commit(t.Context(), l, servingtest.Index{View: view, Keys: schema.Columns[:1], Columns: schema.Columns[1:], Batch: b}, aliases...)
		if err != nil {
			t.Fatal(err)
		}
		return id
	}
	v1 := commit("a", 1, "latest")
	s, err := New(Options{Lake: l, AllowNoAuth: true})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.refresh(t.Context(), true); err != nil {
		t.Fatal(err)
	}
	v2 := commit("a", 2, "latest")
	commit("b", 3, "latest")
	if _, err := s.refresh(t.Context(), false); err != nil {
		t.Fatal(err)
	}
	cat := s.cat.Load()
	if got := cat.views["a"]["latest"]; got == nil || got.Version != v2 || v1 == v2 {
		t.Fatalf("a poll missed the moved alias of a served view: %v", got)
	}
	if _, ok := cat.views["b"]; ok {
		t.Fatal("a poll between discoveries listed every serving index")
	}
	if _, err := s.refresh(t.Context(), true); err != nil {
		t.Fatal(err)
	}
	if s.cat.Load().views["b"]["latest"] == nil {
		t.Fatal("a full refresh did not find the new view")
	}
}
