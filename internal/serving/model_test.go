package serving_test

import (
	"bytes"
	"encoding/json"
	"testing"

	"github.com/granaryml/granary/internal/lake"
	"github.com/granaryml/granary/internal/serving"
)

// commitModel stores artifact bytes as a blob and commits a model version
// whose artifact they are.
func commitModel(t testing.TB, l *lake.Lake, name string, artifact []byte, auc float64) string {
	t.Helper()
	d, n, err := lake.HashReader(bytes.NewReader(artifact))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := l.PutBlob(t.Context(), d, bytes.NewReader(artifact), n); err != nil {
		t.Fatal(err)
	}
	id, _, err := l.CommitManifest(t.Context(), &lake.Manifest{
		Kind: lake.KindModel, Name: name,
		Inputs:   []lake.Input{{Role: "training_set", Kind: lake.KindDataset, Name: "churn_train", Version: "0123456789abcdef"}},
		Artifact: &lake.Artifact{Digest: d, Bytes: n, Files: 1, Framework: "sklearn", Metrics: map[string]float64{"auc": auc}},
	})
	if err != nil {
		t.Fatal(err)
	}
	return id
}

// TestModelAliases: an alias is read from the lake when first asked for,
// then served from memory and kept current by refreshes.
func TestModelAliases(t *testing.T) {
	l, _ := testLake(t)
	m1 := commitModel(t, l, "churn", []byte("model one"), 0.81)
	moveRef(t, l, lake.KindModel, "churn", "prod", m1)
	srv := newTestServer(t, l, serving.Options{})
	h := srv.Handler()
	// Refreshes re-read only the aliases clients asked for: none yet.
	if res := refresh(t, srv); res.Models != 0 || len(res.Errors) != 0 {
		t.Fatalf("refresh: %+v", res)
	}

	get := func(name, alias string) serving.ModelAlias {
		t.Helper()
		rec := call(h, "GET", "/v1/models/"+name+"/aliases/"+alias, "", token)
		var ma serving.ModelAlias
		if err := json.Unmarshal(rec.Body.Bytes(), &ma); rec.Code != 200 || err != nil {
			t.Fatalf("%s@%s: %d %v %s", name, alias, rec.Code, err, rec.Body)
		}
		if rec.Header().Get(serving.VersionHeader) != ma.Version || rec.Header().Get("Content-Type") != "application/json" {
			t.Fatalf("%s@%s: header version %q, body %s", name, alias, rec.Header().Get(serving.VersionHeader), rec.Body)
		}
		return ma
	}
	ma := get("churn", "prod")
	d, _, _ := lake.HashReader(bytes.NewReader([]byte("model one")))
	if ma.Model != "churn" || ma.Alias != "prod" || ma.Version != m1 || ma.Artifact == nil || ma.Artifact.Digest != d ||
		ma.Artifact.Bytes != 9 || ma.Artifact.Framework != "sklearn" || ma.Artifact.Metrics["auc"] != 0.81 || len(ma.Inputs) != 1 || ma.Inputs[0].Name != "churn_train" {
		t.Fatalf("churn@prod: %+v", ma)
	}

	// Promoted after the refresh: a new alias is found in the lake at
	// once; a moved alias serves the catalog's version until the next
	// refresh (or a push to /v1/admin/reload).
	m2 := commitModel(t, l, "churn", []byte("model two"), 0.84)
	moveRef(t, l, lake.KindModel, "churn", "staging", m2)
	if ma := get("churn", "staging"); ma.Version != m2 || ma.Artifact.Metrics["auc"] != 0.84 {
		t.Errorf("churn@staging before a refresh: %+v", ma)
	}
	moveRef(t, l, lake.KindModel, "churn", "prod", m2)
	if ma := get("churn", "prod"); ma.Version != m1 {
		t.Errorf("churn@prod before the push: %s, want %s (the catalog's)", ma.Version, m1)
	}
	if rec := call(h, "POST", "/v1/admin/reload", "", token); rec.Code != 200 {
		t.Fatalf("reload: %d %s", rec.Code, rec.Body)
	}
	if ma := get("churn", "prod"); ma.Version != m2 {
		t.Errorf("churn@prod after the push: %s, want %s", ma.Version, m2)
	}
	// A model created after the refresh is found too.
	f1 := commitModel(t, l, "fraud", []byte("fraud model"), 0.9)
	moveRef(t, l, lake.KindModel, "fraud", "prod", f1)
	if ma := get("fraud", "prod"); ma.Version != f1 {
		t.Errorf("fraud@prod: %+v", ma)
	}
	if res := refresh(t, srv); res.Models != 3 {
		t.Errorf("refresh after three aliases were asked for: %+v", res)
	}

	// Unknown or impossible names are 404s, never 5xx.
	for _, path := range []string{
		"/v1/models/churn/aliases/canary",
		"/v1/models/nope/aliases/prod",
		"/v1/models/Churn/aliases/prod",
		"/v1/models/churn/aliases/PROD",
		"/v1/models/churn/aliases/" + m1,
		"/v1/models/ch%5Curn/aliases/prod",
		"/v1/models/churn/aliases/pr%5Cod",
		"/v1/models/churn/aliases/pr%0Aod",
		"/v1/models/.objstore/aliases/lock",
		"/v1/models/churn%2Frefs/aliases/prod",
		"/v1/models/%2E%2E/aliases/prod",
	} {
		rec := call(h, "GET", path, "", token)
		if rec.Code != 404 {
			t.Errorf("%s: %d %s", path, rec.Code, rec.Body)
			continue
		}
		if code := errorCode(t, rec, 404); code != serving.CodeNotFound {
			t.Errorf("%s: code %s", path, code)
		}
	}
	if rec := call(h, "GET", "/v1/models/churn/aliases/prod", "", ""); rec.Code != 401 {
		t.Errorf("model alias without a token: %d", rec.Code)
	}
}
