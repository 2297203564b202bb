package client

import (
	"context"
	"encoding/json"
	"fmt"
	"math"
	"net/url"
	"strconv"
	"sync"
	"time"
)

// Key identifies one entity of a view: a value for each of the view's key
// columns, e.g. Key{"user_id": 42}. Values are strings, integers, floats,
// booleans, json.Number or time.Time (for timestamp keys).
type Key map[string]any

// ReadOption modifies one feature lookup.
type ReadOption func(*readOptions)

type readOptions struct {
	version string
}

// Version reads the view at ref instead of its "latest" alias: another
// alias ("prod"), a version id, or a unique version id prefix of at least
// 8 hex characters. Pass a result's Version to read exactly the version a
// previous lookup read. A version the server does not hold in memory (no
// longer behind an alias) is loaded on first use; if that outlasts
// Options.Timeout, a retry finds it loaded.
func Version(ref string) ReadOption {
	return func(o *readOptions) { o.version = ref }
}

func collect(opts []ReadOption) readOptions {
	var o readOptions
	for _, f := range opts {
		if f != nil {
			f(&o)
		}
	}
	return o
}

// FeatureVector is one entity's features, as read from one version of a
// view's serving index.
type FeatureVector struct {
	View string
	// Version is the serving index version id the features were read
	// from (checked against the X-Granary-Version header).
	Version string
	// ViewVersion is the feature view version the index was built from.
	ViewVersion string
	// AsOf is the point in time the features describe.
	AsOf time.Time
	// Entity is the entity's key, each value in its canonical form
	// (json.Number for numbers, RFC 3339 strings for timestamps).
	Entity map[string]any
	// Features are the raw values; see Features for typed access.
	Features Features
}

// Float returns feature name as a float64; see Features.Float.
func (v *FeatureVector) Float(name string) (float64, bool) { return v.Features.Float(name) }

// Int returns feature name as an int64; see Features.Int.
func (v *FeatureVector) Int(name string) (int64, bool) { return v.Features.Int(name) }

// String returns feature name as a string; see Features.String.
func (v *FeatureVector) String(name string) (string, bool) { return v.Features.String(name) }

// Bool returns feature name as a bool; see Features.Bool.
func (v *FeatureVector) Bool(name string) (bool, bool) { return v.Features.Bool(name) }

// Time returns feature name as a time; see Features.Time.
func (v *FeatureVector) Time(name string) (time.Time, bool) { return v.Features.Time(name) }

// IsNull reports whether feature name is present and null.
func (v *FeatureVector) IsNull(name string) bool { return v.Features.IsNull(name) }

// Features maps feature names to their JSON values as decoded: nil for
// null, json.Number for numbers (so int64 values keep every digit),
// string, bool. Timestamps are RFC 3339 strings, and the float values
// NaN, +Inf and -Inf are the strings "NaN", "Infinity" and "-Infinity".
// The typed accessors return ok false for a missing feature, a null, or
// a value of another type.
type Features map[string]any

// Float returns a numeric feature as a float64, reading the strings
// "NaN", "Infinity" and "-Infinity" as those values.
func (f Features) Float(name string) (float64, bool) {
	switch x := f[name].(type) {
	case json.Number:
		v, err := x.Float64()
		return v, err == nil
	case float64:
		return x, true
	case int64:
		return float64(x), true
	case string:
		switch x {
		case "NaN":
			return math.NaN(), true
		case "Infinity":
			return math.Inf(1), true
		case "-Infinity":
			return math.Inf(-1), true
		}
	}
	return 0, false
}

// Int returns an integer feature as an int64, exactly. A number with a
// fraction or outside the int64 range is not ok.
func (f Features) Int(name string) (int64, bool) {
	switch x := f[name].(type) {
	case json.Number:
		if v, err := x.Int64(); err == nil {
			return v, true
		}
		// Integral floats written with an exponent ("1e+06").
		v, err := x.Float64()
		if err == nil && v == math.Trunc(v) && math.Abs(v) <= 1<<53 {
			return int64(v), true
		}
	case int64:
		return x, true
	case float64:
		if x == math.Trunc(x) && math.Abs(x) <= 1<<53 {
			return int64(x), true
		}
	}
	return 0, false
}

// String returns a string feature (including a timestamp's RFC 3339
// text, and a float's "NaN" or "Infinity" spelling).
func (f Features) String(name string) (string, bool) {
	s, ok := f[name].(string)
	return s, ok
}

// Bool returns a boolean feature.
func (f Features) Bool(name string) (bool, bool) {
	b, ok := f[name].(bool)
	return b, ok
}

// Time returns a timestamp feature, parsed from its RFC 3339 text.
func (f Features) Time(name string) (time.Time, bool) {
	switch x := f[name].(type) {
	case string:
		t, err := time.Parse(time.RFC3339Nano, x)
		return t, err == nil
	case time.Time:
		return x, true
	}
	return time.Time{}, false
}

// IsNull reports whether feature name is present and null.
func (f Features) IsNull(name string) bool {
	v, ok := f[name]
	return ok && v == nil
}

// featuresBody is the shared part of both lookup responses.
type featuresBody struct {
	View        string `json:"view"`
	Version     string `json:"version"`
	ViewVersion string `json:"view_version"`
	AsOf        string `json:"as_of"`
}

func parseAsOf(req *request, s string) (time.Time, error) {
	t, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		return time.Time{}, fmt.Errorf("granary client: %s: as_of %q: %w", req, s, err)
	}
	return t, nil
}

// GetFeatures reads one entity's features from view. An entity the
// version does not hold is an error for which IsNotFound is true.
func (c *Client) GetFeatures(ctx context.Context, view string, key Key, opts ...ReadOption) (*FeatureVector, error) {
	o := collect(opts)
	if view == "" {
		return nil, fmt.Errorf("%w: no view", ErrInvalidArgument)
	}
	if len(key) == 0 {
		return nil, fmt.Errorf("%w: view %s: empty key", ErrInvalidArgument, view)
	}
	q := url.Values{}
	for name, v := range key {
		if name == "" || name == "version" {
			return nil, fmt.Errorf("%w: view %s: key column %q cannot be sent as a query parameter", ErrInvalidArgument, view, name)
		}
		text, _, err := keyValue(v)
		if err != nil {
			return nil, fmt.Errorf("%w: view %s, key %s: %v", ErrInvalidArgument, view, name, err)
		}
		q.Set(name, text)
	}
	if o.version != "" {
		q.Set("version", o.version)
	}
	req := &request{method: "GET", path: "/v1/features/" + url.PathEscape(view), query: q}
	resp, err := c.do(ctx, req)
	if err != nil {
		return nil, err
	}
	var body struct {
		featuresBody
		Entity   map[string]any `json:"entity"`
		Features Features       `json:"features"`
	}
	if err := decode(req, resp.body, &body); err != nil {
		return nil, err
	}
	if err := checkVersion(req, resp, body.Version); err != nil {
		return nil, err
	}
	asOf, err := parseAsOf(req, body.AsOf)
	if err != nil {
		return nil, err
	}
	return &FeatureVector{View: body.View, Version: body.Version, ViewVersion: body.ViewVersion, AsOf: asOf, Entity: body.Entity, Features: body.Features}, nil
}

// Batch is the features of many entities, all read from one version.
type Batch struct {
	View        string
	Version     string // serving index version id, the same for every result
	ViewVersion string
	AsOf        time.Time
	// Results are in the order of the keys asked for.
	Results []BatchResult
}

// BatchResult is one entity of a Batch. An entity the version does not
// hold has Found false and nil Features.
type BatchResult struct {
	Entity   map[string]any
	Found    bool
	Features Features
}

// Vector returns result i as a FeatureVector, or nil if that entity was
// not found.
func (b *Batch) Vector(i int) *FeatureVector {
	r := b.Results[i]
	if !r.Found {
		return nil
	}
	return &FeatureVector{View: b.View, Version: b.Version, ViewVersion: b.ViewVersion, AsOf: b.AsOf, Entity: r.Entity, Features: r.Features}
}

// GetFeaturesBatch reads the features of many entities of view, all from
// one version, with results in the order of keys. Entities the version
// does not hold are results with Found false, not errors.
//
// More than Options.MaxBatch keys are sent as several requests
// (Options.BatchConcurrency at a time). If the view's alias moves while
// they are answered, the chunks whose version differs from the first
// chunk's are fetched again pinned to the first chunk's version id, so
// the Batch is still one version's.
func (c *Client) GetFeaturesBatch(ctx context.Context, view string, keys []Key, opts ...ReadOption) (*Batch, error) {
	o := collect(opts)
	if view == "" {
		return nil, fmt.Errorf("%w: no view", ErrInvalidArgument)
	}
	ents := make([]map[string]any, len(keys))
	for i, k := range keys {
		if len(k) == 0 {
			return nil, fmt.Errorf("%w: view %s: key %d is empty", ErrInvalidArgument, view, i)
		}
		e := make(map[string]any, len(k))
		for name, v := range k {
			_, js, err := keyValue(v)
			if err != nil {
				return nil, fmt.Errorf("%w: view %s, key %d, %s: %v", ErrInvalidArgument, view, i, name, err)
			}
			e[name] = js
		}
		ents[i] = e
	}
	n := max(1, (len(ents)+c.maxBatch-1)/c.maxBatch) // one request even for no keys: it names the version
	chunk := func(i int) []map[string]any {
		return ents[i*c.maxBatch : min((i+1)*c.maxBatch, len(ents))]
	}
	parts := make([]*Batch, n)
	err := c.parallel(ctx, n, func(ctx context.Context, i int) (err error) {
		parts[i], err = c.batchChunk(ctx, view, o.version, chunk(i))
		return err
	})
	if err != nil {
		return nil, err
	}
	first := parts[0].Version
	var stale []int
	for i, p := range parts {
		if p.Version != first {
			stale = append(stale, i)
		}
	}
	err = c.parallel(ctx, len(stale), func(ctx context.Context, j int) error {
		i := stale[j]
		p, err := c.batchChunk(ctx, view, first, chunk(i))
		if err != nil {
			return fmt.Errorf("granary client: view %s: re-reading entities %d..%d at version %s, the first chunk's: %w", view, i*c.maxBatch, i*c.maxBatch+len(chunk(i))-1, first, err)
		}
		if p.Version != first {
			return fmt.Errorf("%w: view %s: asked for version %s, got %s", ErrVersionMismatch, view, first, p.Version)
		}
		parts[i] = p
		return nil
	})
	if err != nil {
		return nil, err
	}
	out := *parts[0]
	out.Results = make([]BatchResult, 0, len(keys))
	for _, p := range parts {
		out.Results = append(out.Results, p.Results...)
	}
	return &out, nil
}

// batchChunk sends one POST /v1/features:batch.
func (c *Client) batchChunk(ctx context.Context, view, version string, ents []map[string]any) (*Batch, error) {
	b, err := json.Marshal(struct {
		View     string           `json:"view"`
		Version  string           `json:"version,omitempty"`
		Entities []map[string]any `json:"entities"`
	}{view, version, ents})
	if err != nil {
		return nil, fmt.Errorf("%w: view %s: encoding batch: %v", ErrInvalidArgument, view, err)
	}
	req := &request{method: "POST", path: "/v1/features:batch", body: b}
	resp, err := c.do(ctx, req)
	if err != nil {
		return nil, err
	}
	var body struct {
		featuresBody
		Results []struct {
			Entity   map[string]any `json:"entity"`
			Found    bool           `json:"found"`
			Features Features       `json:"features"`
		} `json:"results"`
	}
	if err := decode(req, resp.body, &body); err != nil {
		return nil, err
	}
	if err := checkVersion(req, resp, body.Version); err != nil {
		return nil, err
	}
	if len(body.Results) != len(ents) {
		return nil, fmt.Errorf("granary client: %s: %d results for %d entities", req, len(body.Results), len(ents))
	}
	asOf, err := parseAsOf(req, body.AsOf)
	if err != nil {
		return nil, err
	}
	out := &Batch{View: body.View, Version: body.Version, ViewVersion: body.ViewVersion, AsOf: asOf, Results: make([]BatchResult, len(body.Results))}
	for i, r := range body.Results {
		out.Results[i] = BatchResult{Entity: r.Entity, Found: r.Found, Features: r.Features}
	}
	return out, nil
}

// parallel runs f(0..n-1), BatchConcurrency at a time; the first error
// cancels the others and is returned.
func (c *Client) parallel(ctx context.Context, n int, f func(ctx context.Context, i int) error) error {
	if n == 0 {
		return nil
	}
	if n == 1 {
		return f(ctx, 0)
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var (
		wg       sync.WaitGroup
		once     sync.Once
		firstErr error
		sem      = make(chan struct{}, c.batchConc)
	)
	for i := range n {
		select {
		case sem <- struct{}{}:
		case <-ctx.Done():
		}
		if ctx.Err() != nil {
			break
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			defer func() { <-sem }()
			if err := f(ctx, i); err != nil {
				once.Do(func() { firstErr = err; cancel() })
			}
		}()
	}
	wg.Wait()
	if firstErr != nil {
		return firstErr
	}
	return ctx.Err()
}

// keyValue checks one key value and returns it as query text and as the
// JSON value of a batch entity.
func keyValue(v any) (string, any, error) {
	switch x := v.(type) {
	case string:
		return x, x, nil
	case bool:
		return strconv.FormatBool(x), x, nil
	case json.Number:
		s := string(x)
		if s == "" || (s[0] != '-' && (s[0] < '0' || s[0] > '9')) || !json.Valid([]byte(s)) {
			return "", nil, fmt.Errorf("%q is not a JSON number", s)
		}
		return s, x, nil
	case time.Time:
		s := x.UTC().Format(time.RFC3339Nano)
		return s, s, nil
	case int:
		return intKey(int64(x))
	case int8:
		return intKey(int64(x))
	case int16:
		return intKey(int64(x))
	case int32:
		return intKey(int64(x))
	case int64:
		return intKey(x)
	case uint:
		return uintKey(uint64(x))
	case uint8:
		return uintKey(uint64(x))
	case uint16:
		return uintKey(uint64(x))
	case uint32:
		return uintKey(uint64(x))
	case uint64:
		return uintKey(x)
	case float32:
		return floatKey(float64(x))
	case float64:
		return floatKey(x)
	case nil:
		return "", nil, fmt.Errorf("null key value")
	}
	return "", nil, fmt.Errorf("key values are strings, integers, floats, booleans, json.Number or time.Time, not %T", v)
}

func intKey(x int64) (string, any, error) {
	s := strconv.FormatInt(x, 10)
	return s, json.Number(s), nil
}

func uintKey(x uint64) (string, any, error) {
	s := strconv.FormatUint(x, 10)
	return s, json.Number(s), nil
}

func floatKey(x float64) (string, any, error) {
	if math.IsNaN(x) || math.IsInf(x, 0) {
		return "", nil, fmt.Errorf("%v is not a key value", x)
	}
	s := strconv.FormatFloat(x, 'g', -1, 64)
	return s, json.Number(s), nil
}
