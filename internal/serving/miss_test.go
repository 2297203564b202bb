package serving_test

import (
	"context"
	"fmt"
	"io"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/granaryml/granary/internal/lake"
	"github.com/granaryml/granary/internal/objstore"
	"github.com/granaryml/granary/internal/objstore/filestore"
	"github.com/granaryml/granary/internal/serving"
)

// countingStore counts reads of refs, the lookups a request for an
// unknown alias costs the lake.
type countingStore struct {
	objstore.Store
	refReads   atomic.Int64
	modelLists atomic.Int64
}

func (c *countingStore) Get(ctx context.Context, key string, o objstore.GetOptions) (io.ReadCloser, objstore.ObjectInfo, error) {
	if strings.Contains(key, "/refs/") {
		c.refReads.Add(1)
	}
	return c.Store.Get(ctx, key, o)
}

// A client asking again and again for an alias that does not exist costs
// the lake one lookup, not one per request; once the alias exists, a
// refresh makes it servable at once.
func TestUnknownAliasesAreNotLookedUpPerRequest(t *testing.T) {
	fs, err := filestore.New(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	cs := &countingStore{Store: fs}
	l := lake.New(cs)
	commitUsers(t, l, 20, 1, "latest")
	srv := newTestServer(t, l, serving.Options{})
	refresh(t, srv)
	h := srv.Handler()
	before := cs.refReads.Load()
	for range 50 {
		if rec := call(h, "GET", "/v1/features/user_orders?user_id=1&version=canary", "", token); rec.Code != 404 {
			t.Fatalf("unknown alias: %d %s", rec.Code, rec.Body)
		}
		if rec := call(h, "GET", "/v1/features/nosuchview?user_id=1", "", token); rec.Code != 404 {
			t.Fatalf("unknown view: %d %s", rec.Code, rec.Body)
		}
	}
	if n := cs.refReads.Load() - before; n > 2 {
		t.Fatalf("100 requests for a missing alias and view read refs %d times; want one read each", n)
	}
	id := commitUsers(t, l, 20, 2, "canary")
	refresh(t, srv)
	if v, gen := getUser(t, h, 1, "canary"); v != id || gen != 2 {
		t.Fatalf("after the alias was created and a refresh: version %s generation %g", v, gen)
	}
}

func (c *countingStore) List(ctx context.Context, o objstore.ListOptions) (objstore.ListPage, error) {
	if strings.HasPrefix(o.Prefix, "models/") || strings.HasPrefix("models/", o.Prefix) {
		c.modelLists.Add(1)
	}
	return c.Store.List(ctx, o)
}

// Polling never walks the models' history (versions, audit events): a
// refresh reads one ref per model alias clients asked for.
func TestRefreshReadsOnlyTheModelAliasesAskedFor(t *testing.T) {
	fs, err := filestore.New(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	cs := &countingStore{Store: fs}
	l := lake.New(cs)
	for i := range 5 {
		id := commitModel(t, l, "churn", []byte{byte(i)}, 0.8)
		moveRef(t, l, lake.KindModel, "churn", fmt.Sprint("a", i), id)
	}
	srv := newTestServer(t, l, serving.Options{})
	refresh(t, srv)
	if rec := call(srv.Handler(), "GET", "/v1/models/churn/aliases/a1", "", token); rec.Code != 200 {
		t.Fatalf("churn@a1: %d %s", rec.Code, rec.Body)
	}
	lists, reads := cs.modelLists.Load(), cs.refReads.Load()
	res := refresh(t, srv)
	if res.Models != 1 || cs.modelLists.Load() != lists || cs.refReads.Load()-reads != 1 {
		t.Fatalf("refresh: %+v, %d listings of models/, %d ref reads; want 1 alias, no listing, 1 read", res, cs.modelLists.Load()-lists, cs.refReads.Load()-reads)
	}
}
