// Package serving is granary's online API: feature lookups from
// materialized indexes and model alias lookups, for web services.
//
// Every response names the version it came from (body and the
// X-Granary-Version header). What is served is one catalog, swapped as a
// whole when a refresh (a poll of the lake's refs, or a push to
// /v1/admin/reload) sees an alias move; a request reads the catalog once,
// so even a batch never mixes two versions.
package serving

import (
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"fmt"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/granaryml/granary/internal/lake"
	"github.com/granaryml/granary/internal/online"
)

// GCPercent is the GOGC a serving process should run with (granary serve
// sets it unless GOGC is in the environment): loaded indexes are most of
// the heap and hold no pointers, so frequent collections are cheap, and
// the heap grows at most 25% over the indexes instead of doubling.
const GCPercent = 25

// Options configure a Server.
type Options struct {
	Lake *lake.Lake
	// Tokens are the accepted bearer tokens, each "name:secret" or a bare
	// secret (see ParseToken); a secret shorter than MinTokenLength is
	// refused. Empty means no auth, which New refuses unless AllowNoAuth
	// is set.
	Tokens      []string
	AllowNoAuth bool
	// PublicMetrics serves GET /metrics without a token. It names every
	// view, alias and version served, so it is off unless the listener is
	// only reachable from the machine itself (granary serve decides).
	PublicMetrics bool
	// Poll is how often refs are re-read; 0 means 5s. Pushes to
	// /v1/admin/reload refresh at once.
	Poll time.Duration
	// MaxBatch bounds POST /v1/features:batch; 0 means 1000.
	MaxBatch int
	// MaxPinned bounds how many versions requested by id (not alias) stay
	// loaded; 0 means 4.
	MaxPinned int
	Logger    *slog.Logger
	// Clock overrides time.Now in tests.
	Clock func() time.Time
}

// Server answers the API. Create it with New, start Run, serve Handler.
type Server struct {
	lake   *lake.Lake
	tokens [][sha256.Size]byte
	names  []string // of tokens, index for index
	// publicMetrics: GET /metrics needs no token.
	publicMetrics bool
	poll          time.Duration
	maxBatch      int
	log           *slog.Logger
	clock         func() time.Time
	metrics       *metrics
	cat           atomic.Pointer[catalog]
	ready         atomic.Bool
	refreshMu     sync.Mutex
	cache         indexCache
	models        modelAliases
}

// New checks o and returns a server with an empty catalog; it is not
// ready until the first refresh (Run does one at once).
func New(o Options) (*Server, error) {
	if o.Lake == nil {
		return nil, fmt.Errorf("serving: no lake")
	}
	s := &Server{lake: o.Lake, poll: o.Poll, maxBatch: o.MaxBatch, log: o.Logger, clock: o.Clock, metrics: newMetrics(), publicMetrics: o.PublicMetrics}
	tokens, err := parseTokens(o.Tokens)
	if err != nil {
		return nil, err
	}
	for _, t := range tokens {
		s.tokens = append(s.tokens, sha256.Sum256([]byte(t.Secret)))
		s.names = append(s.names, t.Name)
	}
	if len(s.tokens) == 0 && !o.AllowNoAuth {
		return nil, fmt.Errorf("serving: no bearer tokens configured (set GRANARY_SERVE_TOKENS or --tokens-file; --no-auth only for local development)")
	}
	if s.poll <= 0 {
		s.poll = 5 * time.Second
	}
	if s.maxBatch <= 0 {
		s.maxBatch = 1000
	}
	if s.log == nil {
		s.log = slog.New(slog.DiscardHandler)
	}
	if s.clock == nil {
		s.clock = time.Now
	}
	maxPins := o.MaxPinned
	if maxPins <= 0 {
		maxPins = 4
	}
	s.cache = indexCache{byID: map[string]*online.Index{}, loading: map[string]*loadCall{}, failed: map[string]loadFailure{}, misses: map[missKey]missEntry{}, maxPins: maxPins}
	s.cat.Store(&catalog{views: map[string]map[string]*online.Index{}})
	s.models.m = map[string]*ModelAlias{}
	return s, nil
}

func (s *Server) now() time.Time { return s.clock() }

// Ready reports whether the first refresh has succeeded.
func (s *Server) Ready() bool { return s.ready.Load() }

// discoverEvery is how many polls pass between full listings of the
// serving indexes (which find views materialized for the first time);
// the polls between read only the refs of the views already served.
// Materialize's push (/v1/admin/reload) lists at once.
const discoverEvery = 12

// Run refreshes at once, then every Poll, until ctx ends. A failed
// refresh is logged and retried at the next tick; what was loaded keeps
// being served.
func (s *Server) Run(ctx context.Context) {
	t := time.NewTicker(s.poll)
	defer t.Stop()
	for tick := 0; ; tick++ {
		if res, err := s.refresh(ctx, tick%discoverEvery == 0); err != nil {
			if ctx.Err() != nil {
				return
			}
			s.log.Error("refresh failed; serving what is loaded", "err", err)
		} else if len(res.Swaps) > 0 {
			s.log.Info("serving new versions", "swaps", res.Swaps)
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// authorized compares the presented token's hash with every configured
// one in constant time, so neither a token's content nor which token
// matched shows in response timing.
func (s *Server) authorized(r *http.Request) bool {
	if len(s.tokens) == 0 {
		return true
	}
	h := r.Header.Get("Authorization")
	// The scheme name is case-insensitive (RFC 9110 section 11.1).
	if len(h) < 7 || !strings.EqualFold(h[:7], "Bearer ") {
		return false
	}
	tok := h[7:]
	sum := sha256.Sum256([]byte(strings.TrimSpace(tok)))
	match := 0
	for i := range s.tokens {
		match |= subtle.ConstantTimeCompare(sum[:], s.tokens[i][:])
	}
	return match == 1
}

// actor names who made a request: the name of the token it presented
// ("" when none matched), "anonymous" on a server without auth. Only
// actions call it, so the lookups' hot path stays as it is.
func (s *Server) actor(r *http.Request) string {
	if len(s.tokens) == 0 {
		return "anonymous"
	}
	h := r.Header.Get("Authorization")
	if len(h) < 7 || !strings.EqualFold(h[:7], "Bearer ") {
		return ""
	}
	sum := sha256.Sum256([]byte(strings.TrimSpace(h[7:])))
	// Which token matched is selected in constant time too.
	found := -1
	for i := range s.tokens {
		found = subtle.ConstantTimeSelect(subtle.ConstantTimeCompare(sum[:], s.tokens[i][:]), i, found)
	}
	if found < 0 {
		return ""
	}
	return s.names[found]
}
