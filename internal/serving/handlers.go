package serving

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"net/http"
	"net/url"
	"runtime/debug"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/granaryml/granary/internal/lake"
	"github.com/granaryml/granary/internal/online"
	"github.com/granaryml/granary/internal/tabular"
)

// VersionHeader names the version a response came from.
const VersionHeader = "X-Granary-Version"

// Handler returns the API's routes.
func (s *Server) Handler() http.Handler {
	mux := http.NewServeMux()
	mux.Handle("GET /v1/features/{view}", s.route(routeFeatures, true, s.getFeatures))
	mux.Handle("POST /v1/features:batch", s.route(routeBatch, true, s.postBatch))
	mux.Handle("GET /v1/models/{name}/aliases/{alias}", s.route(routeModel, true, s.getModelAlias))
	mux.Handle("POST /v1/admin/reload", s.route(routeReload, true, s.postReload))
	mux.Handle("GET /healthz", s.route(routeHealth, false, s.getHealth))
	mux.Handle("GET /readyz", s.route(routeHealth, false, s.getReady))
	mux.Handle("GET /metrics", s.route(routeMetrics, !s.publicMetrics, s.getMetrics))
	mux.Handle("/", s.route(routeOther, false, func(w http.ResponseWriter, r *http.Request) error {
		return fmt.Errorf("%w: no route %s %s (see GET /v1/features/{view}, POST /v1/features:batch, GET /v1/models/{name}/aliases/{alias})", errNotFound, r.Method, r.URL.Path)
	}))
	return mux
}

type handlerFunc func(w http.ResponseWriter, r *http.Request) error

// route wraps a handler with auth, panic recovery (a bug answers 500, it
// never takes the server down), the error mapping and metrics.
func (s *Server) route(name string, auth bool, h handlerFunc) http.Handler {
	rm := s.metrics.routes[name]
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		status := http.StatusOK
		defer func() {
			if p := recover(); p != nil {
				if p == http.ErrAbortHandler {
					panic(p)
				}
				s.log.Error("panic serving request", "route", name, "path", r.URL.Path, "panic", p, "stack", string(debug.Stack()))
				status = writeError(w, fmt.Errorf("panic: %v", p))
			}
			rm.record(status, time.Since(start).Seconds())
		}()
		var err error
		if auth && !s.authorized(r) {
			err = fmt.Errorf("%w: send Authorization: Bearer <token>", errUnauthorized)
		} else {
			err = h(w, r)
		}
		if err != nil {
			if st, _ := statusOf(err); st == http.StatusInternalServerError {
				s.log.Error("request failed", "route", name, "path", r.URL.Path, "err", err)
			}
			status = writeError(w, err)
		}
	})
}

var bufPool = sync.Pool{New: func() any { b := make([]byte, 0, 4096); return &b }}

// jsonContentType is shared by every response: net/http only reads the
// header values it is given.
var jsonContentType = []string{"application/json"}

func writeJSON(w http.ResponseWriter, version string, body []byte) {
	h := w.Header()
	// Keys are already canonical, so plain map stores spare Set's
	// canonicalisation and a slice per header.
	h["Content-Type"] = jsonContentType
	// A known length spares net/http chunked encoding for bodies over
	// its 2 KiB buffer (every batch answer).
	h["Content-Length"] = []string{strconv.Itoa(len(body))}
	if version != "" {
		h[VersionHeader] = []string{version}
	}
	w.Write(body)
}

// getFeatures answers GET /v1/features/{view}?<key>=<value>...[&version=REF].
func (s *Server) getFeatures(w http.ResponseWriter, r *http.Request) error {
	view := r.PathValue("view")
	var pb [4]queryParam
	q, err := parseQuery(pb[:0], r.URL.RawQuery)
	if err != nil {
		return err
	}
	version, n := q.get("version")
	if n > 1 {
		return fmt.Errorf("%w: version given %d times", errBadRequest, n)
	}
	ix, err := s.resolveIndex(r.Context(), s.cat.Load(), view, version)
	if err != nil {
		return err
	}
	keys := ix.Header.Keys
	for _, p := range q {
		if p.name != "version" && !isKey(keys, p.name) {
			return fmt.Errorf("%w: unknown query parameter %q (view %s is keyed by %s; also: version)", errBadRequest, p.name, view, keyNames(keys))
		}
	}
	var kb [64]byte
	key := kb[:0]
	for _, c := range keys {
		v, n := q.get(c.Name)
		if n != 1 {
			return fmt.Errorf("%w: give the key %s exactly once (view %s is keyed by %s)", errBadRequest, c.Name, view, keyNames(keys))
		}
		if key, err = online.AppendKeyText(key, c, v); err != nil {
			return fmt.Errorf("%w: %v", errBadRequest, err)
		}
	}
	s.metrics.entities.Add(1)
	sh, row, ok := ix.Lookup(key)
	if !ok {
		return fmt.Errorf("%w: view %s has no entity %s in version %s", errNotFound, view, entityText(keys, key), lake.ShortID(ix.Version))
	}
	bp := bufPool.Get().(*[]byte)
	defer bufPool.Put(bp)
	out := appendPreamble((*bp)[:0], ix)
	out = append(out, `,"entity":`...)
	out = appendEntity(out, keys, key)
	out = append(out, `,"features":`...)
	out = ix.AppendFeaturesJSON(out, sh, row)
	out = append(out, "}\n"...)
	writeJSON(w, ix.Version, out)
	*bp = out[:0]
	return nil
}

// BatchRequest is the body of POST /v1/features:batch.
type BatchRequest struct {
	View     string                       `json:"view"`
	Version  string                       `json:"version,omitempty"`
	Entities []map[string]json.RawMessage `json:"entities"`
}

// maxEntityBytes bounds one entity's share of a batch body.
const maxEntityBytes = 4 << 10

// postBatch answers POST /v1/features:batch: every entity from one index
// version, in request order; unknown entities are found:false.
func (s *Server) postBatch(w http.ResponseWriter, r *http.Request) error {
	limit := int64(s.maxBatch)*maxEntityBytes + 64<<10
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, limit))
	if err != nil {
		var tooBig *http.MaxBytesError
		if errors.As(err, &tooBig) {
			return fmt.Errorf("%w: body over %d bytes (at most %d entities per batch)", errTooLarge, limit, s.maxBatch)
		}
		return fmt.Errorf("%w: reading body: %v", errBadRequest, err)
	}
	var req BatchRequest
	if err := json.Unmarshal(body, &req); err != nil {
		return fmt.Errorf("%w: body is not a batch request ({\"view\": ..., \"version\": ..., \"entities\": [{key: value}, ...]}): %v", errBadRequest, err)
	}
	if req.View == "" {
		return fmt.Errorf("%w: no view", errBadRequest)
	}
	if len(req.Entities) > s.maxBatch {
		return fmt.Errorf("%w: %d entities, at most %d per batch", errTooLarge, len(req.Entities), s.maxBatch)
	}
	ix, err := s.resolveIndex(r.Context(), s.cat.Load(), req.View, req.Version)
	if err != nil {
		return err
	}
	keys := ix.Header.Keys
	bp := bufPool.Get().(*[]byte)
	defer bufPool.Put(bp)
	out := appendPreamble((*bp)[:0], ix)
	out = append(out, `,"results":[`...)
	var key []byte
	for i, ent := range req.Entities {
		key = key[:0]
		if len(ent) != len(keys) {
			return fmt.Errorf("%w: entity %d has %d fields; view %s is keyed by %s", errBadRequest, i, len(ent), req.View, keyNames(keys))
		}
		for _, c := range keys {
			raw, ok := ent[c.Name]
			if !ok {
				return fmt.Errorf("%w: entity %d has no %s; view %s is keyed by %s", errBadRequest, i, c.Name, req.View, keyNames(keys))
			}
			text, err := jsonScalarText(raw)
			if err != nil {
				return fmt.Errorf("%w: entity %d, %s: %v", errBadRequest, i, c.Name, err)
			}
			if key, err = online.AppendKeyText(key, c, text); err != nil {
				return fmt.Errorf("%w: entity %d: %v", errBadRequest, i, err)
			}
		}
		if i > 0 {
			out = append(out, ',')
		}
		sh, row, found := ix.Lookup(key)
		out = append(out, `{"entity":`...)
		out = appendEntity(out, keys, key)
		if found {
			out = append(out, `,"found":true,"features":`...)
			out = ix.AppendFeaturesJSON(out, sh, row)
		} else {
			out = append(out, `,"found":false,"features":null`...)
		}
		out = append(out, '}')
	}
	s.metrics.entities.Add(uint64(len(req.Entities)))
	out = append(out, "]}\n"...)
	writeJSON(w, ix.Version, out)
	*bp = out[:0]
	return nil
}

// jsonScalarText turns a JSON key value into the text AppendKeyText
// reads: strings unquoted, numbers and booleans as written.
func jsonScalarText(raw json.RawMessage) (string, error) {
	// raw comes from a document json.Unmarshal accepted, so it is one
	// valid JSON value without surrounding space: a number is its own
	// text, and a string without escapes is what is between its quotes.
	if n := len(raw); n > 0 {
		switch c := raw[0]; {
		case c == '-' || (c >= '0' && c <= '9'):
			return string(raw), nil
		case c == '"' && n >= 2 && bytes.IndexByte(raw[1:n-1], '\\') < 0:
			return string(raw[1 : n-1]), nil
		}
	}
	var v any
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	if err := dec.Decode(&v); err != nil {
		return "", err
	}
	switch x := v.(type) {
	case string:
		return x, nil
	case json.Number:
		return x.String(), nil
	case bool:
		return strconv.FormatBool(x), nil
	case nil:
		return "", fmt.Errorf("null key")
	}
	return "", fmt.Errorf("key values are strings, numbers or booleans")
}

func appendPreamble(dst []byte, ix *online.Index) []byte {
	dst = append(dst, `{"view":`...)
	dst = online.AppendJSONString(dst, []byte(ix.Header.View))
	dst = append(dst, `,"version":"`...)
	dst = append(dst, ix.Version...)
	dst = append(dst, `","view_version":`...)
	dst = online.AppendJSONString(dst, []byte(ix.Header.ViewVersion))
	dst = append(dst, `,"as_of":"`...)
	dst = ix.AsOf().AppendFormat(dst, time.RFC3339Nano)
	return append(dst, '"')
}

// appendEntity writes a key encoding back as a JSON object, each value in
// its column's canonical form (timestamps in UTC).
func appendEntity(dst []byte, keys []tabular.Column, enc []byte) []byte {
	dst = append(dst, '{')
	for i, c := range keys {
		if i > 0 {
			dst = append(dst, ',')
		}
		dst = online.AppendJSONString(dst, []byte(c.Name))
		dst = append(dst, ':')
		var n int
		dst, n = appendKeyValue(dst, c.Type, enc)
		enc = enc[n:]
	}
	return append(dst, '}')
}

// appendKeyValue decodes one value of a shard.AppendKey encoding.
func appendKeyValue(dst []byte, t tabular.Type, enc []byte) ([]byte, int) {
	switch {
	case len(enc) >= 9 && enc[0] == 1: // int64 or timestamp
		x := int64(binary.LittleEndian.Uint64(enc[1:]))
		if t == tabular.Timestamp {
			dst = append(dst, '"')
			dst = time.UnixMicro(x).UTC().AppendFormat(dst, time.RFC3339Nano)
			return append(dst, '"'), 9
		}
		return strconv.AppendInt(dst, x, 10), 9
	case len(enc) >= 9 && enc[0] == 2:
		return online.AppendJSONFloat(dst, math.Float64frombits(binary.LittleEndian.Uint64(enc[1:]))), 9
	case len(enc) >= 2 && enc[0] == 3:
		return strconv.AppendBool(dst, enc[1] == 1), 2
	case len(enc) >= 9 && enc[0] == 4:
		n := binary.LittleEndian.Uint64(enc[1:])
		if n <= uint64(len(enc)-9) {
			return online.AppendJSONString(dst, enc[9:9+n]), 9 + int(n)
		}
	}
	return append(dst, "null"...), len(enc)
}

func entityText(keys []tabular.Column, enc []byte) string {
	b := appendEntity(nil, keys, enc)
	return string(b)
}

func isKey(keys []tabular.Column, name string) bool {
	for _, c := range keys {
		if c.Name == name {
			return true
		}
	}
	return false
}

func keyNames(keys []tabular.Column) string {
	s := ""
	for i, c := range keys {
		if i > 0 {
			s += ", "
		}
		s += c.Name + " (" + string(c.Type) + ")"
	}
	return s
}

// getModelAlias answers GET /v1/models/{name}/aliases/{alias}.
func (s *Server) getModelAlias(w http.ResponseWriter, r *http.Request) error {
	name, alias := r.PathValue("name"), r.PathValue("alias")
	ma := s.models.get(name, alias)
	if ma == nil {
		// First asked for: read it from the lake; refreshes keep it
		// current from then on. GetRef does not check names, and the
		// store refuses some as keys (a 500): check them here.
		if lake.ValidateName("model", name) != nil || lake.ValidateName("alias", alias) != nil {
			return fmt.Errorf("%w: model %q has no alias %q", errNotFound, name, alias)
		}
		ref, _, err := s.lake.GetRef(r.Context(), lake.KindModel, name, alias)
		if errors.Is(err, lake.ErrNotFound) || errors.Is(err, lake.ErrInvalidName) {
			return fmt.Errorf("%w: model %s has no alias %q", errNotFound, name, alias)
		}
		if err != nil {
			return err
		}
		if ma, err = s.modelAlias(r.Context(), name, alias, ref.Version); err != nil {
			return err
		}
		s.models.put(ma)
	}
	b, err := json.Marshal(ma)
	if err != nil {
		return err
	}
	writeJSON(w, ma.Version, append(b, '\n'))
	return nil
}

// postReload refreshes now: PromoteModel and Materialize push here after
// moving an alias, so the swap does not wait for the next poll.
func (s *Server) postReload(w http.ResponseWriter, r *http.Request) error {
	io.Copy(io.Discard, io.LimitReader(r.Body, 64<<10))
	by := s.actor(r)
	res, err := s.Refresh(r.Context())
	if err != nil {
		s.log.Warn("reload failed", "by", by, "err", err)
		return fmt.Errorf("%w: refresh: %v", errUnavailable, err)
	}
	s.log.Info("reload", "by", by, "swaps", len(res.Swaps))
	b, _ := json.Marshal(res)
	writeJSON(w, "", append(b, '\n'))
	return nil
}

func (s *Server) getHealth(w http.ResponseWriter, r *http.Request) error {
	writeJSON(w, "", []byte(`{"status":"ok"}`+"\n"))
	return nil
}

func (s *Server) getReady(w http.ResponseWriter, r *http.Request) error {
	if !s.Ready() {
		return fmt.Errorf("%w: first load of the lake's indexes not finished", errUnavailable)
	}
	cat := s.cat.Load()
	writeJSON(w, "", fmt.Appendf(nil, `{"status":"ready","views":%d,"models":%d}`+"\n", len(cat.views), s.models.len()))
	return nil
}

func (s *Server) getMetrics(w http.ResponseWriter, r *http.Request) error {
	w.Header().Set("Content-Type", "text/plain; version=0.0.4; charset=utf-8")
	s.writeMetrics(w)
	return nil
}

// queryParam is one name=value of a URL query.
type queryParam struct{ name, value string }

type queryParams []queryParam

// get returns the first value of name and how many times it was given.
func (q queryParams) get(name string) (string, int) {
	var v string
	n := 0
	for _, p := range q {
		if p.name == name {
			if n == 0 {
				v = p.value
			}
			n++
		}
	}
	return v, n
}

// parseQuery splits a raw query into its parameters in order, unescaping
// only those that need it: a lookup's query is a key or two, and
// url.ParseQuery's map costs more than the lookup.
func parseQuery(dst []queryParam, raw string) (queryParams, error) {
	for raw != "" {
		var part string
		part, raw, _ = strings.Cut(raw, "&")
		if part == "" {
			continue
		}
		name, value, _ := strings.Cut(part, "=")
		if strings.ContainsAny(part, "%+;") {
			if strings.Contains(part, ";") {
				return nil, fmt.Errorf("%w: invalid semicolon separator in query", errBadRequest)
			}
			var err error
			if name, err = url.QueryUnescape(name); err != nil {
				return nil, fmt.Errorf("%w: query parameter %q: %v", errBadRequest, part, err)
			}
			if value, err = url.QueryUnescape(value); err != nil {
				return nil, fmt.Errorf("%w: query parameter %q: %v", errBadRequest, part, err)
			}
		}
		dst = append(dst, queryParam{name, value})
	}
	return dst, nil
}
