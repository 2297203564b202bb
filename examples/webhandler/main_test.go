package main

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/granaryml/granary/client"
	"github.com/granaryml/granary/internal/lake"
	"github.com/granaryml/granary/internal/objstore/filestore"
	"github.com/granaryml/granary/internal/serving"
	"github.com/granaryml/granary/internal/serving/servingtest"
	"github.com/granaryml/granary/internal/tabular"
)

// users is view user_orders: users 1..n with spend = 2*id.
func users(n int) servingtest.Index {
	cols := []tabular.Column{{Name: "user_id", Type: tabular.Int64}, {Name: "spend", Type: tabular.Float64}}
	b := &tabular.Batch{Len: n, Vectors: []tabular.Vector{{Type: tabular.Int64}, {Type: tabular.Float64}}}
	for i := 1; i <= n; i++ {
		b.Vectors[0].Ints = append(b.Vectors[0].Ints, int64(i))
		b.Vectors[1].Floats = append(b.Vectors[1].Floats, 2*float64(i))
	}
	return servingtest.Index{View: "user_orders", AsOf: 1_700_000_000_000_000, Keys: cols[:1], Columns: cols[1:], Batch: b}
}

// token is the serving token of the tests; serving refuses any shorter
// than 32 characters.
const token = "example-token-0123456789abcdef0123"

// TestRecommendAgainstRealServer runs the handler against a real granary
// serving server: with and without the model, for known and unknown users.
func TestRecommendAgainstRealServer(t *testing.T) {
	ctx := context.Background()
	store, err := filestore.New(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	l := lake.New(store)
	viewVersion, err := servingtest.Commit(ctx, l, users(10), "latest")
	if err != nil {
		t.Fatal(err)
	}
	srv, err := serving.New(serving.Options{Lake: l, Tokens: []string{"web:" + token}})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := srv.Refresh(ctx); err != nil {
		t.Fatal(err)
	}
	granary := httptest.NewServer(srv.Handler())
	defer granary.Close()
	c, err := client.New(granary.URL, client.Options{Token: token})
	if err != nil {
		t.Fatal(err)
	}
	app := httptest.NewServer(newHandler(c, config{View: "user_orders", Model: "churn", Alias: "prod"}, slog.New(slog.DiscardHandler)))
	defer app.Close()

	get := func(query string) (int, Recommendation) {
		t.Helper()
		resp, err := http.Get(app.URL + "/recommend?" + query)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		body, _ := io.ReadAll(resp.Body)
		var rec Recommendation
		if resp.StatusCode == 200 {
			if err := json.Unmarshal(body, &rec); err != nil {
				t.Fatalf("%s: %v", body, err)
			}
		}
		return resp.StatusCode, rec
	}

	// No model promoted yet: features, but the fallback strategy.
	code, rec := get("user_id=3")
	if code != 200 || !rec.Found || rec.FeaturesVersion != viewVersion || rec.Features["spend"] != 6.0 || rec.Model != nil || rec.Strategy != "popular" || rec.Degraded {
		t.Fatalf("no model: %d %+v", code, rec)
	}

	// Promote a model to prod.
	blob := "weights"
	d, n, _ := lake.HashReader(strings.NewReader(blob))
	if _, err := l.PutBlob(ctx, d, strings.NewReader(blob), n); err != nil {
		t.Fatal(err)
	}
	modelVersion, _, err := l.CommitManifest(ctx, &lake.Manifest{Kind: lake.KindModel, Name: "churn", Artifact: &lake.Artifact{Digest: d, Bytes: n, Files: 1, Framework: "sklearn"}})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := l.MoveRef(ctx, lake.MoveOptions{Kind: lake.KindModel, Name: "churn", Ref: "prod", To: modelVersion}); err != nil {
		t.Fatal(err)
	}

	code, rec = get("user_id=3")
	if code != 200 || rec.Strategy != "personalized" || rec.Model == nil || rec.Model.Version != modelVersion || rec.Model.Digest != string(d) || rec.Model.Framework != "sklearn" {
		t.Fatalf("with model: %d %+v", code, rec)
	}
	// An unknown user is tolerated.
	code, rec = get("user_id=999")
	if code != 200 || rec.Found || rec.Features != nil || rec.Strategy != "popular" || rec.Model == nil || rec.Degraded {
		t.Fatalf("unknown user: %d %+v", code, rec)
	}
	if code, _ := get("user_id=abc"); code != 400 {
		t.Errorf("bad user_id: %d", code)
	}

	// granary refusing the token degrades, it does not fail the page.
	bad, _ := client.New(granary.URL, client.Options{Token: "wrong"})
	app2 := httptest.NewServer(newHandler(bad, config{View: "user_orders", Model: "churn", Alias: "prod"}, slog.New(slog.DiscardHandler)))
	defer app2.Close()
	app.URL = app2.URL
	code, rec = get("user_id=3")
	if code != 200 || !rec.Degraded || rec.Found || rec.Model != nil || rec.Strategy != "popular" {
		t.Fatalf("wrong token: %d %+v", code, rec)
	}
}
