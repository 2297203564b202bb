package client

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"net/url"
	"strings"
	"time"
)

// VersionHeader is the response header naming the version a response
// was read from; the client checks it against the body's "version".
const VersionHeader = "X-Granary-Version"

// Defaults for zero Options fields.
const (
	DefaultTimeout          = 2 * time.Second
	DefaultRetries          = 2
	DefaultMinBackoff       = 50 * time.Millisecond
	DefaultMaxBackoff       = 2 * time.Second
	DefaultMaxBatch         = 1000
	DefaultBatchConcurrency = 4
	DefaultMaxResponseBytes = 64 << 20
)

// NoRetries as Options.Retries makes every call a single attempt.
const NoRetries = -1

// Options configure a Client. The zero value of every field picks a
// default suited to a web service calling a nearby granary serve.
type Options struct {
	// Token is sent as "Authorization: Bearer <Token>"; empty sends no
	// Authorization header (for a server run with --no-auth).
	Token string
	// HTTPClient sends the requests; nil uses a client of its own with
	// connection, TLS and idle timeouts and keep-alive connections sized
	// for many concurrent lookups. Its Timeout, if any, bounds each
	// attempt in addition to Options.Timeout.
	HTTPClient *http.Client
	// Timeout bounds each attempt (connect, send, read the whole
	// response); 0 means DefaultTimeout, negative means no bound beyond
	// the context's. The context's deadline bounds the call as a whole,
	// retries included.
	Timeout time.Duration
	// Retries is how many more attempts a call makes after a connection
	// error, a timed-out attempt or a 5xx answer; 4xx answers are never
	// retried. 0 means DefaultRetries; NoRetries (or any negative value)
	// means none.
	Retries int
	// MinBackoff and MaxBackoff bound the wait before a retry: it doubles
	// from MinBackoff with each attempt, up to MaxBackoff, and is then
	// jittered to between half and all of that. 0 means the defaults.
	MinBackoff, MaxBackoff time.Duration
	// MaxBatch is the most entities GetFeaturesBatch sends in one request;
	// larger inputs are split. 0 means DefaultMaxBatch, the server's
	// default limit; set it to the server's --max-batch if that differs.
	MaxBatch int
	// BatchConcurrency is how many chunks of one GetFeaturesBatch call are
	// in flight at once; 0 means DefaultBatchConcurrency.
	BatchConcurrency int
	// MaxResponseBytes bounds the size of one response body; 0 means
	// DefaultMaxResponseBytes.
	MaxResponseBytes int64
	// UserAgent is sent as the User-Agent header; empty sends
	// "granary-go-client".
	UserAgent string
}

// Client calls one granary serving API. It is safe for concurrent use;
// create one per process and share it.
type Client struct {
	base       string // scheme://host[/prefix], no trailing slash
	token      string
	hc         *http.Client
	timeout    time.Duration
	retries    int
	minBackoff time.Duration
	maxBackoff time.Duration
	maxBatch   int
	batchConc  int
	maxResp    int64
	userAgent  string
}

// New returns a client of the serving API at baseURL, e.g.
// "http://127.0.0.1:8090" (a path prefix, for a server behind a reverse
// proxy, is kept).
func New(baseURL string, o Options) (*Client, error) {
	u, err := url.Parse(strings.TrimSpace(baseURL))
	if err != nil {
		return nil, fmt.Errorf("%w: base URL %q: %v", ErrInvalidArgument, baseURL, err)
	}
	if (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, fmt.Errorf("%w: base URL %q: want http://host[:port] or https://host[:port]", ErrInvalidArgument, baseURL)
	}
	if u.RawQuery != "" || u.Fragment != "" || u.User != nil {
		return nil, fmt.Errorf("%w: base URL %q: no query, fragment or user info allowed", ErrInvalidArgument, baseURL)
	}
	c := &Client{
		base:       strings.TrimRight(u.Scheme+"://"+u.Host+u.EscapedPath(), "/"),
		token:      strings.TrimSpace(o.Token),
		hc:         o.HTTPClient,
		timeout:    o.Timeout,
		retries:    o.Retries,
		minBackoff: o.MinBackoff,
		maxBackoff: o.MaxBackoff,
		maxBatch:   o.MaxBatch,
		batchConc:  o.BatchConcurrency,
		maxResp:    o.MaxResponseBytes,
		userAgent:  o.UserAgent,
	}
	if c.hc == nil {
		c.hc = defaultHTTPClient()
	}
	if c.timeout == 0 {
		c.timeout = DefaultTimeout
	}
	switch {
	case c.retries == 0:
		c.retries = DefaultRetries
	case c.retries < 0:
		c.retries = 0
	}
	if c.minBackoff <= 0 {
		c.minBackoff = DefaultMinBackoff
	}
	if c.maxBackoff <= 0 {
		c.maxBackoff = DefaultMaxBackoff
	}
	c.maxBackoff = max(c.maxBackoff, c.minBackoff)
	if c.maxBatch <= 0 {
		c.maxBatch = DefaultMaxBatch
	}
	if c.batchConc <= 0 {
		c.batchConc = DefaultBatchConcurrency
	}
	if c.maxResp <= 0 {
		c.maxResp = DefaultMaxResponseBytes
	}
	if c.userAgent == "" {
		c.userAgent = "granary-go-client"
	}
	return c, nil
}

// defaultHTTPClient has bounded connect and handshake times and enough
// idle connections per host for a busy web service; overall time is
// bounded per attempt by Options.Timeout through the request context.
func defaultHTTPClient() *http.Client {
	t := http.DefaultTransport.(*http.Transport).Clone()
	t.DialContext = (&net.Dialer{Timeout: 2 * time.Second, KeepAlive: 30 * time.Second}).DialContext
	t.TLSHandshakeTimeout = 3 * time.Second
	t.ResponseHeaderTimeout = 30 * time.Second
	t.MaxIdleConns = 256
	t.MaxIdleConnsPerHost = 64
	t.IdleConnTimeout = 90 * time.Second
	return &http.Client{Transport: t}
}

// request is one API call, re-sent as is on every attempt.
type request struct {
	method string
	path   string // escaped, from the API root: "/v1/..."
	query  url.Values
	body   []byte // JSON, for POST
}

func (r *request) String() string { return r.method + " " + r.path }

// response is a 2xx answer, read whole.
type response struct {
	header http.Header
	body   []byte
}

// do sends req, retrying connection errors, timed-out attempts and 5xx
// answers with backoff until the retries are spent or ctx ends. A non-2xx
// answer is returned as an *Error.
func (c *Client) do(ctx context.Context, req *request) (*response, error) {
	var lastErr error // the last failure not caused by ctx ending
	for attempt := 0; ; attempt++ {
		resp, err, retry := c.attempt(ctx, req)
		if err == nil {
			return resp, nil
		}
		if ctx.Err() != nil && (retry || isContextErr(err)) {
			// The caller gave up: say so, with the last real failure.
			if !isContextErr(err) {
				lastErr = err
			}
			return nil, c.canceled(ctx, req, lastErr)
		}
		lastErr = err
		if !retry || attempt >= c.retries {
			if attempt > 0 {
				return nil, fmt.Errorf("%w (%d attempts)", err, attempt+1)
			}
			return nil, err
		}
		t := time.NewTimer(c.backoff(attempt))
		select {
		case <-ctx.Done():
			t.Stop()
			return nil, c.canceled(ctx, req, lastErr)
		case <-t.C:
		}
	}
}

// canceled is the error of a call whose context ended; it wraps both the
// context's error and the last attempt's failure, if any.
func (c *Client) canceled(ctx context.Context, req *request, last error) error {
	if last == nil {
		return fmt.Errorf("granary client: %s: %w", req, ctx.Err())
	}
	return fmt.Errorf("granary client: %s: %w (last attempt: %w)", req, ctx.Err(), last)
}

func isContextErr(err error) bool {
	return errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded)
}

// attempt sends req once. retry says whether a failure may go away if
// the same request is sent again.
func (c *Client) attempt(ctx context.Context, req *request) (_ *response, _ error, retry bool) {
	actx := ctx
	if c.timeout > 0 {
		var cancel context.CancelFunc
		actx, cancel = context.WithTimeout(ctx, c.timeout)
		defer cancel()
	}
	u := c.base + req.path
	if len(req.query) > 0 {
		u += "?" + req.query.Encode()
	}
	var body io.Reader
	if req.body != nil {
		body = bytes.NewReader(req.body)
	}
	hr, err := http.NewRequestWithContext(actx, req.method, u, body)
	if err != nil {
		return nil, fmt.Errorf("%w: %s: %v", ErrInvalidArgument, req, err), false
	}
	if req.body != nil {
		hr.Header.Set("Content-Type", "application/json")
	}
	hr.Header.Set("Accept", "application/json")
	hr.Header.Set("User-Agent", c.userAgent)
	if c.token != "" {
		hr.Header.Set("Authorization", "Bearer "+c.token)
	}
	hresp, err := c.hc.Do(hr)
	if err != nil {
		// Connection refused or reset, DNS, TLS, or this attempt's
		// timeout: the request is read-only, so sending it again is safe.
		return nil, fmt.Errorf("granary client: %s: %w", req, err), true
	}
	defer hresp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(hresp.Body, c.maxResp+1))
	if err != nil {
		return nil, fmt.Errorf("granary client: %s: reading response: %w", req, err), true
	}
	if int64(len(b)) > c.maxResp {
		return nil, fmt.Errorf("%w: %s: over %d bytes", ErrResponseTooLarge, req, c.maxResp), false
	}
	if hresp.StatusCode < 200 || hresp.StatusCode > 299 {
		e := errorFromResponse(hresp.StatusCode, b)
		return nil, e, e.Temporary()
	}
	return &response{header: hresp.Header, body: b}, nil, false
}

// backoff is the wait before retry number attempt+1: MinBackoff doubled
// attempt times, capped at MaxBackoff, jittered to [d/2, d).
func (c *Client) backoff(attempt int) time.Duration {
	d := c.maxBackoff
	if attempt < 30 {
		d = min(c.minBackoff<<attempt, c.maxBackoff)
	}
	half := d / 2
	return half + rand.N(d-half+1)
}

// decode reads a 2xx body, keeping numbers as json.Number so int64
// feature values keep every digit.
func decode(req *request, b []byte, v any) error {
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.UseNumber()
	if err := dec.Decode(v); err != nil {
		return fmt.Errorf("granary client: %s: decoding response: %w", req, err)
	}
	return nil
}

// checkVersion verifies that the body's version is the header's.
func checkVersion(req *request, resp *response, body string) error {
	hdr := resp.header.Get(VersionHeader)
	switch {
	case body == "":
		return fmt.Errorf("%w: %s: response names no version", ErrVersionMismatch, req)
	case hdr == "":
		return fmt.Errorf("%w: %s: response has no %s header (body says %s)", ErrVersionMismatch, req, VersionHeader, body)
	case hdr != body:
		return fmt.Errorf("%w: %s: %s header says %s, body says %s", ErrVersionMismatch, req, VersionHeader, hdr, body)
	}
	return nil
}
