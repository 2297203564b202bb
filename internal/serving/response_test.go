package serving_test

import (
	"encoding/json"
	"net/url"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/granaryml/granary/internal/serving"
	"github.com/granaryml/granary/internal/serving/servingtest"
	"github.com/granaryml/granary/internal/tabular"
)

// TestResponsesEscapeEveryString serves a view keyed by strings that JSON
// must escape, whose header's view_version is such a string too: every
// response is valid JSON and reads back as what was stored.
func TestResponsesEscapeEveryString(t *testing.T) {
	names := []string{"", "plain", `quo"te`, `back\slash`, "new\nline\ttab\x01", "line\u2028sep", "héllo ✓", "bad\xffutf8", "</script>"}
	keys := []tabular.Column{{Name: "name", Type: tabular.String}}
	cols := []tabular.Column{{Name: "note", Type: tabular.String, Nullable: true}}
	b := &tabular.Batch{Len: len(names), Vectors: []tabular.Vector{
		{Type: tabular.String, Offsets: []uint32{0}},
		{Type: tabular.String, Offsets: []uint32{0}, Nulls: make([]bool, len(names))},
	}}
	for _, n := range names {
		for c := range b.Vectors {
			v := &b.Vectors[c]
			v.Bytes = append(v.Bytes, n...)
			v.Offsets = append(v.Offsets, uint32(len(v.Bytes)))
		}
	}
	const viewVersion = "vv \"1\"\\\n"
	l, _ := testLake(t)
	id, err := servingtest.Commit(t.Context(), l, servingtest.Index{View: "notes", ViewVersion: viewVersion, AsOf: 1, Shards: 2, Keys: keys, Columns: cols, Batch: b}, "latest")
	if err != nil {
		t.Fatal(err)
	}
	srv := newTestServer(t, l, serving.Options{})
	refresh(t, srv)
	h := srv.Handler()

	// What encoding/json makes of a stored string: invalid UTF-8 reads
	// back as U+FFFD.
	decoded := func(s string) string { return strings.ToValidUTF8(s, string(utf8.RuneError)) }
	var entities []string
	for _, n := range names {
		rec := call(h, "GET", "/v1/features/notes?name="+url.QueryEscape(n), "", token)
		var r featureResponse
		if err := json.Unmarshal(rec.Body.Bytes(), &r); rec.Code != 200 || err != nil {
			t.Fatalf("name %q: %d %v %q", n, rec.Code, err, rec.Body)
		}
		if r.Version != id || r.ViewVersion != viewVersion || r.AsOf != "1970-01-01T00:00:00.000001Z" || r.Entity["name"] != decoded(n) || r.Features["note"] != decoded(n) {
			t.Errorf("name %q: %s", n, rec.Body)
		}
		if strings.Contains(rec.Body.String(), "\u2028") {
			t.Errorf("name %q: unescaped U+2028 in %q", n, rec.Body)
		}
		if utf8.ValidString(n) {
			e, _ := json.Marshal(map[string]string{"name": n})
			entities = append(entities, string(e))
		}
	}
	rec := call(h, "POST", "/v1/features:batch", `{"view":"notes","entities":[`+strings.Join(entities, ",")+`,{"name":"absent"}]}`, token)
	var r batchResponse
	if err := json.Unmarshal(rec.Body.Bytes(), &r); rec.Code != 200 || err != nil || len(r.Results) != len(entities)+1 {
		t.Fatalf("batch: %d %v %q", rec.Code, err, rec.Body)
	}
	for i, res := range r.Results[:len(entities)] {
		var want map[string]string
		json.Unmarshal([]byte(entities[i]), &want)
		if !res.Found || res.Entity["name"] != want["name"] || res.Features["note"] != want["name"] {
			t.Errorf("batch result %d: %+v, want %s", i, res, entities[i])
		}
	}
	if last := r.Results[len(entities)]; last.Found || last.Entity["name"] != "absent" {
		t.Errorf("absent entity: %+v", last)
	}
	// A not-found message quotes the key, inside a valid error body.
	rec = call(h, "GET", "/v1/features/notes?name="+url.QueryEscape("no\"pe\n"), "", token)
	errorCode(t, rec, 404)
}
