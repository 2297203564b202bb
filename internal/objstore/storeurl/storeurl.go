// Package storeurl opens the objstore.Store a URL names:
//
//	file:///abs/dir        a directory (created if missing)
//	file://rel/dir         a directory relative to the working directory,
//	                       e.g. file://.granary/lake (what `granary dev` uses)
//	/abs/dir, rel/dir      a bare path, same as file:// (one starting with
//	                       "word:" is taken for a URL, so a mistyped
//	                       scheme fails instead of creating a directory)
//	s3://bucket/prefix?endpoint=host:port&secure=false&region=r
//
// S3 credentials come only from the environment (AWS_ACCESS_KEY_ID /
// AWS_SECRET_ACCESS_KEY, or MINIO_ROOT_USER / MINIO_ROOT_PASSWORD): a URL
// travels through flags, logs and workflow payloads, and must never carry
// secrets.
package storeurl

import (
	"context"
	"fmt"
	"net/url"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"

	"github.com/minio/minio-go/v7/pkg/credentials"
	"github.com/minio/minio-go/v7/pkg/s3utils"

	"github.com/granaryml/granary/internal/objstore"
	"github.com/granaryml/granary/internal/objstore/filestore"
	"github.com/granaryml/granary/internal/objstore/s3store"
)

// defaultS3Endpoint serves s3:// URLs without an endpoint parameter.
const defaultS3Endpoint = "s3.amazonaws.com"

// Open opens the store rawURL names. For s3:// it checks that the bucket
// exists, which needs the network; ctx bounds that.
func Open(ctx context.Context, rawURL string) (objstore.Store, error) {
	loc, err := parse(rawURL)
	if err != nil {
		return nil, err
	}
	if loc.dir != "" {
		return filestore.New(loc.dir)
	}
	loc.s3.Credentials = credentials.NewChainCredentials([]credentials.Provider{
		&credentials.EnvAWS{},
		&credentials.EnvMinio{},
	})
	return s3store.New(ctx, loc.s3)
}

// location is a parsed URL: a directory, or S3 options without
// credentials.
type location struct {
	dir string
	s3  s3store.Options
}

// schemeLike matches "name:" at the start of a string, to tell a URL
// (including a mistyped one) from a bare path.
var schemeLike = regexp.MustCompile(`^[A-Za-z][A-Za-z0-9+.-]*:`)

func parse(rawURL string) (location, error) {
	switch {
	case rawURL == "":
		return location{}, fmt.Errorf("%w: empty", objstore.ErrInvalidURL)
	case !schemeLike.MatchString(rawURL):
		return fileLocation(rawURL, rawURL)
	}
	u, err := url.Parse(rawURL)
	if err != nil {
		// url.Error quotes the whole URL, user info included.
		return location{}, invalid(rawURL, "cannot parse")
	}
	if u.User != nil {
		return location{}, invalid(rawURL, "credentials must come from the environment, not the URL")
	}
	switch u.Scheme {
	case "file":
		return parseFile(rawURL, u)
	case "s3":
		return parseS3(rawURL, u)
	}
	return location{}, invalid(rawURL, fmt.Sprintf("unsupported scheme %q (want file:// or s3://)", u.Scheme))
}

func parseFile(rawURL string, u *url.URL) (location, error) {
	if u.RawQuery != "" || u.Fragment != "" {
		return location{}, invalid(rawURL, "file URLs take no query or fragment")
	}
	var p string
	switch {
	case u.Opaque != "": // file:rel/dir
		p = u.Opaque
	case u.Host == "" || u.Host == "localhost": // file:///abs, file://localhost/abs (RFC 8089)
		p = u.Path
	default:
		// file://.granary/lake: not RFC 8089, but what people write for a
		// path relative to the working directory; the "host" is its first
		// segment.
		p = u.Host + u.Path
	}
	return fileLocation(rawURL, p)
}

func fileLocation(rawURL, p string) (location, error) {
	if p == "" {
		return location{}, invalid(rawURL, "no directory")
	}
	abs, err := filepath.Abs(filepath.FromSlash(p))
	if err != nil {
		return location{}, invalid(rawURL, err.Error())
	}
	return location{dir: abs}, nil
}

var s3Params = []string{"endpoint", "secure", "region"}

func parseS3(rawURL string, u *url.URL) (location, error) {
	if u.Host == "" {
		return location{}, invalid(rawURL, "no bucket (want s3://bucket/prefix)")
	}
	if err := s3utils.CheckValidBucketNameStrict(u.Host); err != nil {
		return location{}, invalid(rawURL, fmt.Sprintf("bucket %q: %v", u.Host, err))
	}
	if u.Fragment != "" {
		return location{}, invalid(rawURL, "s3 URLs take no fragment")
	}
	q, err := url.ParseQuery(u.RawQuery)
	if err != nil {
		return location{}, invalid(rawURL, "malformed query")
	}
	for name, values := range q {
		if !slices.Contains(s3Params, name) {
			why := fmt.Sprintf("unknown parameter %q (known: %s)", name, strings.Join(s3Params, ", "))
			if credentialLike(name) {
				why += "; credentials must come from the environment, not the URL"
			}
			return location{}, invalid(rawURL, why)
		}
		if len(values) != 1 {
			return location{}, invalid(rawURL, fmt.Sprintf("parameter %q given %d times", name, len(values)))
		}
	}
	opts := s3store.Options{
		Bucket:   u.Host,
		Prefix:   strings.Trim(u.Path, "/"),
		Endpoint: q.Get("endpoint"),
		Region:   q.Get("region"),
		Secure:   true, // plain HTTP only when asked for
	}
	if opts.Endpoint == "" {
		opts.Endpoint = defaultS3Endpoint
	}
	if s := q.Get("secure"); s != "" {
		if opts.Secure, err = strconv.ParseBool(s); err != nil {
			return location{}, invalid(rawURL, fmt.Sprintf("secure=%q is not a boolean", s))
		}
	}
	if opts.Prefix != "" {
		if err := objstore.ValidateKey(opts.Prefix); err != nil {
			return location{}, invalid(rawURL, "prefix: "+err.Error())
		}
	}
	return location{s3: opts}, nil
}

// credentialLike spots parameter names that carry secrets in presigned or
// hand-made URLs (X-Amz-Credential, X-Amz-Signature, AWSAccessKeyId,
// secret_key, token…), to say why such a URL is refused.
func credentialLike(name string) bool {
	n := strings.ToLower(name)
	for _, s := range []string{"x-amz-", "awsaccesskeyid", "signature", "credential", "secret", "token", "password", "access_key", "accesskey"} {
		if strings.Contains(n, s) {
			return true
		}
	}
	return false
}

func invalid(rawURL, why string) error {
	return fmt.Errorf("%w %s: %s", objstore.ErrInvalidURL, redact(rawURL), why)
}

// redact makes a URL safe to print: user info goes, and so do the values
// of query parameters other than the known, harmless ones, in case someone
// put a secret there. It works on the raw string because the URL may not
// parse.
func redact(rawURL string) string {
	s := rawURL
	if scheme, rest, ok := strings.Cut(s, "://"); ok {
		authEnd := strings.IndexAny(rest, "/?#")
		if authEnd < 0 {
			authEnd = len(rest)
		}
		if at := strings.LastIndexByte(rest[:authEnd], '@'); at >= 0 {
			rest = "REDACTED@" + rest[at+1:]
		}
		s = scheme + "://" + rest
	}
	base, query, ok := strings.Cut(s, "?")
	if !ok {
		return strconv.Quote(s)
	}
	parts := strings.Split(query, "&")
	for i, part := range parts {
		name, _, hasValue := strings.Cut(part, "=")
		if hasValue && !slices.Contains(s3Params, name) {
			parts[i] = name + "=REDACTED"
		}
	}
	return strconv.Quote(base + "?" + strings.Join(parts, "&"))
}
