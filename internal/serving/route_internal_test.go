package serving

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/granaryml/granary/internal/lake"
	"github.com/granaryml/granary/internal/objstore/filestore"
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
