package client_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"net/http"
	"net/http/httptest"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/granaryml/granary/client"
	"github.com/granaryml/granary/internal/lake"
	"github.com/granaryml/granary/internal/objstore/filestore"
	"github.com/granaryml/granary/internal/serving"
	"github.com/granaryml/granary/internal/serving/servingtest"
	"github.com/granaryml/granary/internal/tabular"
)

const token = "client-test-token-0123456789abcdef0123"

// asOf is every test index's point in time (microseconds).
const asOf = 1_700_000_000_000_000

// bigBase is added to each user id in the "big" feature: such int64
// values are not exactly representable as float64.
const bigBase = int64(1)<<62 + 1

// env is a real granary lake and serving server.
type env struct {
	lake *lake.Lake
	srv  *serving.Server
}

func newEnv(t *testing.T) *env {
	return newEnvWith(t, serving.Options{})
}

func newEnvWith(t *testing.T, o serving.Options) *env {
	t.Helper()
	store, err := filestore.New(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	l := lake.New(store)
	o.Lake = l
	if o.Tokens == nil {
		o.Tokens = []string{token}
	}
	srv, err := serving.New(o)
	if err != nil {
		t.Fatal(err)
	}
	return &env{lake: l, srv: srv}
}

// usersIndex is users 1..n of view user_orders keyed by user_id, with
//
//	spend     float64   id*gen, null for every tenth user
//	tier      string    "gen<gen>"
//	big       int64     bigBase+id
//	active    bool      id is even
//	last_seen timestamp asOf + id seconds
//	ratio     float64   NaN, +Inf, -Inf for users 1, 2, 3; else id/4
func usersIndex(n int, gen float64) servingtest.Index {
	cols := []tabular.Column{
		{Name: "user_id", Type: tabular.Int64},
		{Name: "spend", Type: tabular.Float64, Nullable: true},
		{Name: "tier", Type: tabular.String},
		{Name: "big", Type: tabular.Int64},
		{Name: "active", Type: tabular.Bool},
		{Name: "last_seen", Type: tabular.Timestamp},
		{Name: "ratio", Type: tabular.Float64},
	}
	b := &tabular.Batch{Len: n, Vectors: []tabular.Vector{
		{Type: tabular.Int64},
		{Type: tabular.Float64, Nulls: []bool{}},
		{Type: tabular.String, Offsets: []uint32{0}},
		{Type: tabular.Int64},
		{Type: tabular.Bool},
		{Type: tabular.Timestamp},
		{Type: tabular.Float64},
	}}
	v := b.Vectors
	tier := fmt.Sprintf("gen%g", gen)
	for i := 1; i <= n; i++ {
		v[0].Ints = append(v[0].Ints, int64(i))
		v[1].Floats = append(v[1].Floats, float64(i)*gen)
		v[1].Nulls = append(v[1].Nulls, i%10 == 0)
		v[2].Bytes = append(v[2].Bytes, tier...)
		v[2].Offsets = append(v[2].Offsets, uint32(len(v[2].Bytes)))
		v[3].Ints = append(v[3].Ints, bigBase+int64(i))
		v[4].Bools = append(v[4].Bools, i%2 == 0)
		v[5].Ints = append(v[5].Ints, asOf+int64(i)*1_000_000)
		ratio := float64(i) / 4
		switch i {
		case 1:
			ratio = math.NaN()
		case 2:
			ratio = math.Inf(1)
		case 3:
			ratio = math.Inf(-1)
		}
		v[6].Floats = append(v[6].Floats, ratio)
	}
	return servingtest.Index{View: "user_orders", AsOf: asOf, Shards: 3, Keys: cols[:1], Columns: cols[1:], Batch: b}
}

// regionIndex is view region_daily keyed by (region string, day
// timestamp) with orders = 100*region number + day number.
func regionIndex() servingtest.Index {
	cols := []tabular.Column{
		{Name: "region", Type: tabular.String},
		{Name: "day", Type: tabular.Timestamp},
		{Name: "orders", Type: tabular.Int64},
	}
	b := &tabular.Batch{Vectors: []tabular.Vector{
		{Type: tabular.String, Offsets: []uint32{0}},
		{Type: tabular.Timestamp},
		{Type: tabular.Int64},
	}}
	v := b.Vectors
	for r, region := range []string{"eu", "us", "apac"} {
		for d := range 5 {
			v[0].Bytes = append(v[0].Bytes, region...)
			v[0].Offsets = append(v[0].Offsets, uint32(len(v[0].Bytes)))
			v[1].Ints = append(v[1].Ints, day(d).UnixMicro())
			v[2].Ints = append(v[2].Ints, int64(100*r+d))
			b.Len++
		}
	}
	return servingtest.Index{View: "region_daily", AsOf: asOf, Keys: cols[:2], Columns: cols[2:], Batch: b}
}

func day(d int) time.Time { return time.Date(2024, 3, 1+d, 0, 0, 0, 0, time.UTC) }

// commit commits ix, moves aliases to it and refreshes the server.
func (e *env) commit(t testing.TB, ix servingtest.Index, aliases ...string) string {
	t.Helper()
	id, err := e.publish(ix, aliases...)
	if err != nil {
		t.Fatal(err)
	}
	return id
}

// publish is commit for handler goroutines, which must not call Fatal.
func (e *env) publish(ix servingtest.Index, aliases ...string) (string, error) {
	id, err := servingtest.Commit(context.Background(), e.lake, ix, aliases...)
	if err != nil {
		return "", err
	}
	res, err := e.srv.Refresh(context.Background())
	if err == nil && len(res.Errors) > 0 {
		err = fmt.Errorf("refresh: %v", res.Errors)
	}
	return id, err
}

func (e *env) refresh(t testing.TB) {
	t.Helper()
	res, err := e.srv.Refresh(context.Background())
	if err != nil || len(res.Errors) > 0 {
		t.Fatalf("refresh: %v %v", err, res.Errors)
	}
}

// serve serves the real handler, behind wrap if not nil.
func (e *env) serve(t *testing.T, wrap func(http.Handler) http.Handler) string {
	t.Helper()
	h := e.srv.Handler()
	if wrap != nil {
		h = wrap(h)
	}
	hs := httptest.NewServer(h)
	t.Cleanup(hs.Close)
	return hs.URL
}

func newClient(t *testing.T, url string, o client.Options) *client.Client {
	t.Helper()
	if o.Token == "" {
		o.Token = token
	}
	if o.MinBackoff == 0 {
		o.MinBackoff = time.Millisecond
		o.MaxBackoff = 5 * time.Millisecond
	}
	c, err := client.New(url, o)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// injector sits in front of the real handler: it counts requests, keeps
// their bodies, and lets fault decide, per request (numbered from 1),
// whether to answer it itself instead of passing it on.
type injector struct {
	next  http.Handler
	fault func(n int, w http.ResponseWriter, r *http.Request) bool
	count atomic.Int64

	mu     sync.Mutex
	bodies [][]byte
}

func (in *injector) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	n := int(in.count.Add(1))
	body, _ := io.ReadAll(r.Body)
	r.Body = io.NopCloser(bytes.NewReader(body))
	in.mu.Lock()
	in.bodies = append(in.bodies, body)
	in.mu.Unlock()
	if in.fault != nil && in.fault(n, w, r) {
		return
	}
	in.next.ServeHTTP(w, r)
}

func (in *injector) requests() int { return int(in.count.Load()) }

// batchBodies decodes the batch requests seen so far.
func (in *injector) batchBodies(t *testing.T) []serving.BatchRequest {
	t.Helper()
	in.mu.Lock()
	defer in.mu.Unlock()
	var out []serving.BatchRequest
	for _, b := range in.bodies {
		if len(b) == 0 {
			continue
		}
		var req serving.BatchRequest
		if err := json.Unmarshal(b, &req); err != nil {
			t.Fatalf("batch body %s: %v", b, err)
		}
		out = append(out, req)
	}
	return out
}

// serveInjected serves the real handler behind an injector with fault.
func (e *env) serveInjected(t *testing.T, fault func(n int, w http.ResponseWriter, r *http.Request) bool) (string, *injector) {
	in := &injector{fault: fault}
	url := e.serve(t, func(h http.Handler) http.Handler { in.next = h; return in })
	return url, in
}

// unavailable answers like the server does when it is not ready.
func unavailable(w http.ResponseWriter) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(http.StatusServiceUnavailable)
	io.WriteString(w, `{"error":{"code":"unavailable","message":"first load of the lake's indexes not finished"}}`+"\n")
}

// hangUp closes the connection without an answer.
func hangUp(t *testing.T, w http.ResponseWriter) {
	conn, _, err := http.NewResponseController(w).Hijack()
	if err != nil {
		t.Errorf("hijack: %v", err)
		return
	}
	conn.Close()
}
