// Package s3store is the S3 objstore backend, written against MinIO with
// minio-go. Conditional writes use S3 conditional PUTs: If-None-Match: *
// for PutIfAbsent and If-Match: <etag> for CompareAndSwap, which the server
// evaluates atomically, so no lock service is needed.
package s3store

import (
	"context"
	"fmt"
	"net/url"
	"strconv"
	"strings"

	"github.com/minio/minio-go/v7"
	"github.com/minio/minio-go/v7/pkg/credentials"

	"github.com/granaryml/granary/internal/objstore"
)

// Options configures New.
type Options struct {
	Endpoint string // host:port
	Secure   bool   // HTTPS
	Bucket   string
	// Prefix places the store's keys under Prefix+"/" in the bucket, so
	// several stores (or tests) can share one bucket.
	Prefix      string
	Region      string                   // empty: asked from the server
	Credentials *credentials.Credentials // nil: anonymous requests
}

// Store is a Store on an S3 bucket (and optional prefix). Create it with
// New.
type Store struct {
	client *minio.Client
	core   minio.Core // for GetObject that fails at the call, not the first Read
	opts   Options
	prefix string // "" or Prefix + "/"
}

var _ objstore.Store = (*Store)(nil)

// New connects to the bucket and fails unless it exists: a typo in a
// bucket name should fail at startup, not at the first write. It also
// fails (ErrNoConditionalWrites) if the provider ignores conditional
// writes, which it checks with a few requests on a probe key.
func New(ctx context.Context, opts Options) (*Store, error) {
	if opts.Endpoint == "" || opts.Bucket == "" {
		return nil, fmt.Errorf("s3store: endpoint and bucket are required (got %q, %q)", opts.Endpoint, opts.Bucket)
	}
	s := &Store{opts: opts}
	if p := strings.Trim(opts.Prefix, "/"); p != "" {
		if err := objstore.ValidateKey(p); err != nil {
			return nil, fmt.Errorf("s3store: prefix: %w", err)
		}
		s.prefix = p + "/"
	}
	var err error
	s.client, err = minio.New(opts.Endpoint, &minio.Options{
		Creds:  opts.Credentials,
		Secure: opts.Secure,
		Region: opts.Region,
	})
	if err != nil {
		return nil, fmt.Errorf("s3store: client for %s: %w", opts.Endpoint, err)
	}
	s.core = minio.Core{Client: s.client}
	ok, err := s.client.BucketExists(ctx, opts.Bucket)
	if err != nil {
		return nil, fmt.Errorf("s3store: check bucket %q at %s: %w", opts.Bucket, opts.Endpoint, err)
	}
	if !ok {
		return nil, fmt.Errorf("s3store: bucket %q does not exist at %s (create it first): %w", opts.Bucket, opts.Endpoint, objstore.ErrNotFound)
	}
	if err := s.probeConditionalWrites(ctx); err != nil {
		return nil, err
	}
	return s, nil
}

// String returns the store's URL in the form storeurl.Open accepts,
// without credentials.
func (s *Store) String() string {
	q := url.Values{}
	q.Set("endpoint", s.opts.Endpoint)
	q.Set("secure", strconv.FormatBool(s.opts.Secure))
	if s.opts.Region != "" {
		q.Set("region", s.opts.Region)
	}
	// ':' is legal in a query; leaving it unescaped keeps host:port readable.
	query := strings.ReplaceAll(q.Encode(), "%3A", ":")
	u := url.URL{Scheme: "s3", Host: s.opts.Bucket, Path: "/" + strings.TrimSuffix(s.prefix, "/"), RawQuery: query}
	return u.String()
}

func (s *Store) objectName(key string) string { return s.prefix + key }

func checkKey(op, key string) error {
	if err := objstore.ValidateKey(key); err != nil {
		return fmt.Errorf("s3store: %s: %w", op, err)
	}
	return nil
}

func infoOf(key string, o minio.ObjectInfo) objstore.ObjectInfo {
	return objstore.ObjectInfo{Key: key, Size: o.Size, ETag: o.ETag, ModTime: o.LastModified}
}
