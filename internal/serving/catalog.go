package serving

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"time"

	"github.com/granaryml/granary/internal/lake"
	"github.com/granaryml/granary/internal/online"
)

// catalog is one consistent picture of the features served: every view's
// aliases with their loaded index. A refresh builds a new catalog and
// swaps the pointer; a request reads the pointer once, so it never sees
// two pictures.
type catalog struct {
	views map[string]map[string]*online.Index // view -> alias -> index
	at    time.Time
}

// modelAliases caches the model aliases clients asked for. Only those are
// re-read at each refresh (one ref read each), so polling never walks the
// models' version and audit history.
type modelAliases struct {
	mu sync.RWMutex
	m  map[string]*ModelAlias // "model@alias"
}

func (c *modelAliases) get(model, alias string) *ModelAlias {
	c.mu.RLock()
	defer c.mu.RUnlock()
	return c.m[model+"@"+alias]
}

func (c *modelAliases) put(ma *ModelAlias) {
	c.mu.Lock()
	c.m[ma.Model+"@"+ma.Alias] = ma
	c.mu.Unlock()
}

func (c *modelAliases) snapshot() []*ModelAlias {
	c.mu.RLock()
	defer c.mu.RUnlock()
	out := make([]*ModelAlias, 0, len(c.m))
	for _, ma := range c.m {
		out = append(out, ma)
	}
	return out
}

func (c *modelAliases) drop(ma *ModelAlias) {
	c.mu.Lock()
	delete(c.m, ma.Model+"@"+ma.Alias)
	c.mu.Unlock()
}

func (c *modelAliases) len() int {
	c.mu.RLock()
	defer c.mu.RUnlock()
	return len(c.m)
}

// ModelAlias is what GET /v1/models/{name}/aliases/{alias} answers.
type ModelAlias struct {
	Model    string         `json:"model"`
	Alias    string         `json:"alias"`
	Version  string         `json:"version"`
	Artifact *lake.Artifact `json:"artifact,omitempty"`
	Inputs   []lake.Input   `json:"inputs,omitempty"`
}

// indexCache keeps loaded indexes by version id: those the catalog uses,
// plus a few recently pinned by ?version=<id> requests.
type indexCache struct {
	mu      sync.Mutex
	byID    map[string]*online.Index
	pinned  []string // least recently used first
	maxPins int
	loading map[string]*loadCall
	// failed remembers recent load failures, so a broken version asked
	// for by id is not re-read from the lake by every request.
	failed map[string]loadFailure
	misses map[missKey]missEntry
}

type loadFailure struct {
	err error
	at  time.Time
}

// failedLoadTTL is how long a failed load is answered from memory.
const failedLoadTTL = 10 * time.Second

// Requests for a view or ref the lake does not have are answered from
// memory for missTTL, so a client asking for one in a loop costs the lake
// one lookup per missTTL, not one per request; at most maxMisses are kept.
const (
	missTTL   = 2 * time.Second
	maxMisses = 4096
)

type missKey struct{ view, ref string }

type missEntry struct {
	err error
	at  time.Time
}

// missed returns the remembered error of a recent miss of (view, ref).
func (c *indexCache) missed(view, ref string, now time.Time) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if m, ok := c.misses[missKey{view, ref}]; ok && now.Sub(m.at) < missTTL {
		return m.err
	}
	return nil
}

// forgetMisses drops every remembered miss.
func (c *indexCache) forgetMisses() {
	c.mu.Lock()
	clear(c.misses)
	c.mu.Unlock()
}

// miss remembers that (view, ref) was not found.
func (c *indexCache) miss(view, ref string, err error, now time.Time) {
	if !errors.Is(err, errNotFound) {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if len(c.misses) >= maxMisses {
		clear(c.misses) // a burst of distinct misses: start over
	}
	c.misses[missKey{view, ref}] = missEntry{err: err, at: now}
}

type loadCall struct {
	done chan struct{}
	ix   *online.Index
	err  error
}

// get returns a loaded index, loading it once however many requests ask
// at the same time.
func (s *Server) loadVersion(ctx context.Context, view, id string, pin bool) (*online.Index, bool, error) {
	c := &s.cache
	c.mu.Lock()
	if ix := c.byID[id]; ix != nil {
		if pin {
			c.touch(id)
		}
		c.mu.Unlock()
		return ix, false, nil
	}
	// Requests back off from a broken version; refreshes always retry,
	// so a repaired version is picked up at the next one.
	if f, ok := c.failed[id]; ok && pin && s.now().Sub(f.at) < failedLoadTTL {
		c.mu.Unlock()
		return nil, false, f.err
	}
	if call := c.loading[id]; call != nil {
		c.mu.Unlock()
		select {
		case <-call.done:
			return call.ix, false, call.err
		case <-ctx.Done():
			return nil, false, ctx.Err()
		}
	}
	call := &loadCall{done: make(chan struct{})}
	c.loading[id] = call
	c.mu.Unlock()

	start := time.Now()
	// Loading outlives the request that asked: others may wait on it.
	call.ix, call.err = LoadIndex(context.WithoutCancel(ctx), s.lake, view, id)
	s.metrics.loadSeconds.observe(time.Since(start).Seconds())
	if call.err != nil {
		s.metrics.loadErrors.Add(1)
	}

	c.mu.Lock()
	delete(c.loading, id)
	if call.err == nil {
		delete(c.failed, id)
		c.byID[id] = call.ix
		if pin {
			c.touch(id)
		}
	} else {
		c.failed[id] = loadFailure{err: call.err, at: s.now()}
	}
	c.mu.Unlock()
	close(call.done)
	if pin && call.err == nil {
		// Keep memory bounded between refreshes too.
		c.retain(s.cat.Load().inUse())
	}
	return call.ix, true, call.err
}

// inUse lists the versions the catalog serves.
func (cat *catalog) inUse() map[string]bool {
	ids := map[string]bool{}
	for _, aliases := range cat.views {
		for _, ix := range aliases {
			ids[ix.Version] = true
		}
	}
	return ids
}

// lookup returns a loaded index of view by full version id, or nil. A hit
// is a request by id, so it counts as a use of the pin.
func (c *indexCache) lookup(view, id string) *online.Index {
	c.mu.Lock()
	defer c.mu.Unlock()
	ix := c.byID[id]
	if ix == nil || ix.Header.View != view {
		return nil
	}
	c.touch(id)
	return ix
}

// touch marks id recently pinned; caller holds mu.
func (c *indexCache) touch(id string) {
	c.pinned = slices.DeleteFunc(c.pinned, func(p string) bool { return p == id })
	c.pinned = append(c.pinned, id)
}

// retain drops every index neither in use nor among the newest pins.
func (c *indexCache) retain(inUse map[string]bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if len(c.pinned) > c.maxPins {
		c.pinned = c.pinned[len(c.pinned)-c.maxPins:]
	}
	keep := map[string]bool{}
	for _, id := range c.pinned {
		keep[id] = true
	}
	for id := range c.byID {
		if !inUse[id] && !keep[id] {
			delete(c.byID, id)
		}
	}
}

// RefreshResult says what a refresh changed.
type RefreshResult struct {
	Views int `json:"views"`
	// Models counts the model aliases clients have asked for, the ones a
	// refresh re-reads.
	Models int      `json:"models"`
	Swaps  []string `json:"swaps,omitempty"`  // view@alias moved to a new version
	Errors []string `json:"errors,omitempty"` // versions that failed to load (the old one stays)
}

// Refresh reads every serving index's refs and the refs of the model
// aliases clients have asked for, loads versions not yet in memory, and
// swaps in a new catalog. An alias whose new version
// fails to load keeps serving its old one, and the failure is reported.
// Refreshes are serialized.
func (s *Server) Refresh(ctx context.Context) (RefreshResult, error) {
	return s.refresh(ctx, true)
}

// refresh is Refresh; with discover false it reads only the refs of the
// views already served instead of listing every serving index's objects.
func (s *Server) refresh(ctx context.Context, discover bool) (RefreshResult, error) {
	s.refreshMu.Lock()
	defer s.refreshMu.Unlock()
	var res RefreshResult
	old := s.cat.Load()
	next := &catalog{views: map[string]map[string]*online.Index{}, at: s.now()}

	var views []lake.NameSummary
	if discover {
		var err error
		if views, err = s.lake.ListNames(ctx, lake.KindIndex); err != nil {
			return res, fmt.Errorf("list serving indexes: %w", err)
		}
	} else {
		for name := range old.views {
			refs, err := s.lake.Refs(ctx, lake.KindIndex, name)
			if err != nil {
				return res, fmt.Errorf("serving index %s: %w", name, err)
			}
			views = append(views, lake.NameSummary{Name: name, Refs: refs})
		}
	}
	inUse := map[string]bool{}
	for _, v := range views {
		aliases := map[string]*online.Index{}
		for alias, id := range v.Refs {
			ix, loaded, err := s.loadVersion(ctx, v.Name, id, false)
			if err != nil {
				res.Errors = append(res.Errors, fmt.Sprintf("%s@%s: %v", v.Name, alias, err))
				s.log.Error("serving index failed to load; the previous version stays", "view", v.Name, "alias", alias, "version", id, "err", err)
				if prev := old.views[v.Name][alias]; prev != nil {
					aliases[alias] = prev
					inUse[prev.Version] = true
				}
				continue
			}
			if loaded {
				s.log.Info("serving index loaded", "view", v.Name, "alias", alias, "version", id, "entities", ix.Rows(), "bytes", ix.Bytes())
			}
			if prev := old.views[v.Name][alias]; prev == nil || prev.Version != id {
				res.Swaps = append(res.Swaps, v.Name+"@"+alias)
				s.metrics.swaps.Add(1)
			}
			aliases[alias] = ix
			inUse[id] = true
		}
		next.views[v.Name] = aliases
	}

	for _, prev := range s.models.snapshot() {
		ref, _, err := s.lake.GetRef(ctx, lake.KindModel, prev.Model, prev.Alias)
		switch {
		case errors.Is(err, lake.ErrNotFound):
			s.models.drop(prev) // the alias was removed; a request asks the lake again
		case err != nil:
			res.Errors = append(res.Errors, fmt.Sprintf("model %s@%s: %v", prev.Model, prev.Alias, err))
		case ref.Version != prev.Version:
			ma, err := s.modelAlias(ctx, prev.Model, prev.Alias, ref.Version)
			if err != nil {
				res.Errors = append(res.Errors, fmt.Sprintf("model %s@%s: %v", prev.Model, prev.Alias, err))
				continue
			}
			s.models.put(ma)
		}
	}
	s.cat.Store(next)
	s.cache.retain(inUse)
	s.cache.forgetMisses() // what was missing may exist now
	s.ready.Store(true)
	res.Views, res.Models = len(next.views), s.models.len()
	return res, nil
}

func (s *Server) modelAlias(ctx context.Context, model, alias, id string) (*ModelAlias, error) {
	m, err := s.lake.GetManifest(ctx, lake.KindModel, model, id)
	if err != nil {
		return nil, err
	}
	return &ModelAlias{Model: model, Alias: alias, Version: id, Artifact: m.Artifact, Inputs: m.Inputs}, nil
}

// resolveIndex picks the index a request names: an alias of the view
// (default "latest") from the catalog, else a version id or prefix, or an
// alias created since the last refresh, loaded from the lake.
func (s *Server) resolveIndex(ctx context.Context, cat *catalog, view, ref string) (*online.Index, error) {
	if ref == "" {
		ref = "latest"
	}
	aliases, known := cat.views[view]
	if ix := aliases[ref]; ix != nil {
		return ix, nil
	}
	if ix := s.cache.lookup(view, ref); ix != nil {
		return ix, nil // a full version id already in memory
	}
	if err := s.cache.missed(view, ref, s.now()); err != nil {
		return nil, err
	}
	id, err := s.lake.Resolve(ctx, lake.KindIndex, view, ref)
	if err != nil {
		switch {
		case !known && (errors.Is(err, lake.ErrNotFound) || errors.Is(err, lake.ErrInvalidName)):
			err = fmt.Errorf("%w: no serving index for view %q (run: granary materialize %s)", errNotFound, view, view)
		case errors.Is(err, lake.ErrNotFound) || errors.Is(err, lake.ErrInvalidName):
			err = fmt.Errorf("%w: view %s has no version or alias %q", errNotFound, view, ref)
		case errors.Is(err, lake.ErrAmbiguous):
			return nil, fmt.Errorf("%w: %v", errBadRequest, err)
		default:
			return nil, err
		}
		s.cache.miss(view, ref, err, s.now())
		return nil, err
	}
	ix, _, err := s.loadVersion(ctx, view, id, true)
	return ix, err
}
