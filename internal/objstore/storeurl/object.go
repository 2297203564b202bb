package storeurl

import (
	"errors"
	"fmt"
	"net"
	"net/url"
	"slices"
	"strings"

	"github.com/granaryml/granary/internal/objstore"
)

// ErrEndpointNotAllowed is returned for an object URL whose endpoint is not
// on the reader's allowlist. Workers read import sources with their own
// credentials, so a URL naming any host would make them fetch internal
// services or cloud metadata endpoints on a requester's behalf.
var ErrEndpointNotAllowed = errors.New("endpoint not allowed")

// Object is one object named by an s3:// URL: the store that holds it (a
// URL Open accepts) and its key in that store.
type Object struct {
	Store string
	Key   string
	// Endpoint is where requests go, as host:port with the port made
	// explicit, so it can be compared with an allowlist.
	Endpoint string
}

// ParseObject parses s3://bucket/dir/key?endpoint=host:port&secure=…: the
// last path segment is the key, the rest is the store. It sends no request.
// Credentials in the URL (user info, signature or key parameters) are
// refused, and errors never repeat them.
func ParseObject(rawURL string) (Object, error) {
	if !strings.HasPrefix(rawURL, "s3://") {
		return Object{}, invalid(rawURL, "an object URL is s3://bucket/key?endpoint=host:port")
	}
	u, err := url.Parse(rawURL)
	if err != nil {
		return Object{}, invalid(rawURL, "cannot parse")
	}
	if u.User != nil {
		return Object{}, invalid(rawURL, "credentials must come from the environment, not the URL")
	}
	p := strings.TrimPrefix(u.Path, "/")
	if p == "" {
		return Object{}, invalid(rawURL, "no object key (want s3://bucket/key)")
	}
	dir, key := *u, p
	dir.Path, dir.RawPath = "", ""
	if i := strings.LastIndex(p, "/"); i >= 0 {
		dir.Path, key = "/"+p[:i], p[i+1:]
	}
	if err := objstore.ValidateKey(key); err != nil {
		return Object{}, invalid(rawURL, "key: "+err.Error())
	}
	loc, err := parseS3(rawURL, &dir)
	if err != nil {
		return Object{}, err
	}
	return Object{Store: dir.String(), Key: key, Endpoint: hostPort(loc.s3.Endpoint, loc.s3.Secure)}, nil
}

// Endpoint is the host:port an s3:// store URL sends its requests to, or
// "" for a directory store.
func Endpoint(storeURL string) (string, error) {
	loc, err := parse(storeURL)
	if err != nil || loc.dir != "" {
		return "", err
	}
	return hostPort(loc.s3.Endpoint, loc.s3.Secure), nil
}

// hostPort spells an endpoint one way: lower-case host without a trailing
// dot, explicit port (what https or http default to), so "MinIO:443" and
// "minio" with secure=true compare equal.
func hostPort(endpoint string, secure bool) string {
	host, port, err := net.SplitHostPort(endpoint)
	if err != nil {
		host, port = endpoint, "80"
		if secure {
			port = "443"
		}
	}
	return net.JoinHostPort(strings.TrimSuffix(strings.ToLower(host), "."), port)
}

// Allowlist is the set of endpoints import sources may be read from. The
// zero value allows none.
type Allowlist struct {
	endpoints []string // host:port, as hostPort spells them
}

// NewAllowlist takes host:port entries; an entry without a port allows the
// host on the standard HTTPS and HTTP ports. Empty entries are skipped, so
// a list split from an empty environment variable allows nothing.
func NewAllowlist(entries ...string) (Allowlist, error) {
	var a Allowlist
	for _, e := range entries {
		e = strings.TrimSpace(e)
		if e == "" {
			continue
		}
		if strings.ContainsAny(e, "/@?#") {
			return Allowlist{}, fmt.Errorf("%w: allowed endpoint %q: want host or host:port, not a URL", objstore.ErrInvalidURL, e)
		}
		if _, _, err := net.SplitHostPort(e); err == nil {
			a.endpoints = append(a.endpoints, hostPort(e, true))
			continue
		}
		a.endpoints = append(a.endpoints, hostPort(e, true), hostPort(e, false))
	}
	slices.Sort(a.endpoints)
	a.endpoints = slices.Compact(a.endpoints)
	return a, nil
}

// Endpoints lists what the allowlist admits, for messages and logs.
func (a Allowlist) Endpoints() []string { return slices.Clone(a.endpoints) }

// Check returns nil if the object's endpoint is allowed, otherwise an
// error wrapping ErrEndpointNotAllowed that names the endpoint (never the
// rest of the URL).
func (a Allowlist) Check(o Object) error {
	if slices.Contains(a.endpoints, o.Endpoint) {
		return nil
	}
	allowed := "none"
	if len(a.endpoints) > 0 {
		allowed = strings.Join(a.endpoints, ", ")
	}
	return fmt.Errorf("%w: %s is not an endpoint import sources may be read from (allowed: %s; a worker allows its lake's endpoint and those given with --allow-endpoint or GRANARY_ALLOWED_ENDPOINTS)", ErrEndpointNotAllowed, o.Endpoint, allowed)
}
