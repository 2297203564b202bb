package s3store_test

import (
	"errors"
	"fmt"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/minio/minio-go/v7/pkg/credentials"

	"github.com/granaryml/granary/internal/devstack"
	"github.com/granaryml/granary/internal/devstack/devtest"
	"github.com/granaryml/granary/internal/objstore"
	"github.com/granaryml/granary/internal/objstore/s3store"
	"github.com/granaryml/granary/internal/objstore/storetest"
)

const bucket = "granary-test"

func startMinio(t *testing.T) *devstack.Minio {
	t.Helper()
	m := devtest.Minio(t)
	if err := m.EnsureBucket(t.Context(), bucket); err != nil {
		t.Fatal(err)
	}
	return m
}

func options(m *devstack.Minio, prefix string) s3store.Options {
	return s3store.Options{
		Endpoint:    m.Endpoint(),
		Bucket:      bucket,
		Prefix:      prefix,
		Credentials: credentials.NewStaticV4(m.AccessKey(), m.SecretKey(), ""),
	}
}

func TestConformance(t *testing.T) {
	m := startMinio(t)
	var n atomic.Int64
	// One server for the whole suite; each subtest gets a fresh prefix, which
	// also proves that prefixes isolate stores sharing a bucket.
	storetest.Run(t, func(t *testing.T) objstore.Store {
		prefix := fmt.Sprintf("suite/%03d-%s", n.Add(1), strings.NewReplacer("/", "-", " ", "-").Replace(t.Name()))
		s, err := s3store.New(t.Context(), options(m, prefix))
		if err != nil {
			t.Fatal(err)
		}
		return s
	})
}

func TestNewChecksTheBucket(t *testing.T) {
	m := startMinio(t)
	opts := options(m, "")
	opts.Bucket = "no-such-bucket"
	_, err := s3store.New(t.Context(), opts)
	if !errors.Is(err, objstore.ErrNotFound) || !strings.Contains(err.Error(), "no-such-bucket") {
		t.Fatalf("New on a missing bucket: %v, want ErrNotFound naming the bucket", err)
	}
	opts = options(m, "")
	opts.Credentials = credentials.NewStaticV4(m.AccessKey(), "wrong-secret", "")
	if _, err := s3store.New(t.Context(), opts); err == nil {
		t.Fatal("New succeeded with a wrong secret key")
	}
}

func TestStringHidesCredentials(t *testing.T) {
	m := startMinio(t)
	s, err := s3store.New(t.Context(), options(m, "lake/prod"))
	if err != nil {
		t.Fatal(err)
	}
	want := "s3://" + bucket + "/lake/prod?endpoint=" + m.Endpoint() + "&secure=false"
	if got := s.String(); got != want || strings.Contains(got, m.SecretKey()) {
		t.Fatalf("String() = %q, want %q", got, want)
	}
}
