package s3store_test

import (
	"errors"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"strings"
	"testing"

	"github.com/minio/minio-go/v7"
	"github.com/minio/minio-go/v7/pkg/credentials"

	"github.com/granaryml/granary/internal/objstore"
	"github.com/granaryml/granary/internal/objstore/s3store"
)

// New refuses a provider that ignores conditional writes. The provider is
// the real MinIO behind a proxy that drops the conditional headers; the
// bucket allows anonymous access, because dropping a header would
// otherwise break the request's signature before the condition mattered.
func TestNewRefusesAProviderThatIgnoresConditionalWrites(t *testing.T) {
	m := startMinio(t)
	ctx := t.Context()
	const anon = "granary-anon"
	if err := m.EnsureBucket(ctx, anon); err != nil {
		t.Fatal(err)
	}
	admin, err := minio.New(m.Endpoint(), &minio.Options{Creds: credentials.NewStaticV4(m.AccessKey(), m.SecretKey(), "")})
	if err != nil {
		t.Fatal(err)
	}
	policy := `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"AWS":["*"]},"Action":["s3:*"],` +
		`"Resource":["arn:aws:s3:::` + anon + `","arn:aws:s3:::` + anon + `/*"]}]}`
	if err := admin.SetBucketPolicy(ctx, anon, policy); err != nil {
		t.Fatal(err)
	}
	front := func(drop ...string) string {
		rp := httputil.NewSingleHostReverseProxy(&url.URL{Scheme: "http", Host: m.Endpoint()})
		direct := rp.Director
		rp.Director = func(r *http.Request) {
			direct(r)
			for _, h := range drop {
				r.Header.Del(h)
			}
		}
		srv := httptest.NewServer(rp)
		t.Cleanup(srv.Close)
		return srv.Listener.Addr().String()
	}
	open := func(endpoint string) error {
		_, err := s3store.New(ctx, s3store.Options{Endpoint: endpoint, Bucket: anon, Credentials: credentials.NewStaticV4("", "", "")})
		return err
	}
	// An honest proxy passes: what fails below is the dropped headers, not
	// the proxy or anonymous access.
	if err := open(front()); err != nil {
		t.Fatalf("through an honest proxy: %v", err)
	}
	for _, tc := range []struct {
		drop []string
		want string
	}{
		{[]string{"If-None-Match"}, "PutIfAbsent on an existing key succeeded (If-None-Match was ignored)"},
		{[]string{"If-Match"}, "CompareAndSwap with a wrong ETag succeeded (If-Match was ignored)"},
		{[]string{"If-Match", "If-None-Match"}, "If-None-Match was ignored"},
	} {
		err := open(front(tc.drop...))
		if !errors.Is(err, s3store.ErrNoConditionalWrites) || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("dropping %v: New = %v; want ErrNoConditionalWrites saying %q", tc.drop, err, tc.want)
		}
	}
	// The probes clean up after themselves.
	for o := range admin.ListObjects(ctx, anon, minio.ListObjectsOptions{Recursive: true}) {
		if o.Err != nil {
			t.Fatal(o.Err)
		}
		t.Errorf("probe left %q behind", o.Key)
	}
}

// Read-only credentials cannot write the probe; New accepts them, since
// no write of theirs can land, conditional or not.
func TestNewAcceptsReadOnlyAccess(t *testing.T) {
	m := startMinio(t)
	ctx := t.Context()
	const ro = "granary-readonly"
	if err := m.EnsureBucket(ctx, ro); err != nil {
		t.Fatal(err)
	}
	admin, err := minio.New(m.Endpoint(), &minio.Options{Creds: credentials.NewStaticV4(m.AccessKey(), m.SecretKey(), "")})
	if err != nil {
		t.Fatal(err)
	}
	policy := `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"AWS":["*"]},"Action":["s3:GetBucketLocation","s3:ListBucket","s3:GetObject"],` +
		`"Resource":["arn:aws:s3:::` + ro + `","arn:aws:s3:::` + ro + `/*"]}]}`
	if err := admin.SetBucketPolicy(ctx, ro, policy); err != nil {
		t.Fatal(err)
	}
	s, err := s3store.New(ctx, s3store.Options{Endpoint: m.Endpoint(), Bucket: ro, Credentials: credentials.NewStaticV4("", "", "")})
	if err != nil {
		t.Fatalf("read-only access: %v", err)
	}
	if _, err := s.Put(ctx, "x", strings.NewReader("x"), 1); err == nil {
		t.Fatal("an anonymous write to a read-only bucket succeeded; the test's premise is wrong")
	}
	if _, err := s.Stat(ctx, "x"); !errors.Is(err, objstore.ErrNotFound) {
		t.Fatalf("Stat through read-only access: %v", err)
	}
}
