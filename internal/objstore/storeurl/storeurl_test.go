package storeurl

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/granaryml/granary/internal/devstack/devtest"
	"github.com/granaryml/granary/internal/objstore"
	"github.com/granaryml/granary/internal/objstore/filestore"
	"github.com/granaryml/granary/internal/objstore/s3store"
)

func TestParse(t *testing.T) {
	cwd, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	s3 := func(o s3store.Options) location { return location{s3: o} }
	tests := []struct {
		url  string
		want location
	}{
		{"file:///var/lib/granary", location{dir: "/var/lib/granary"}},
		{"file:///var/lib/granary/", location{dir: "/var/lib/granary"}},
		{"file:///dir%20with%20space", location{dir: "/dir with space"}},
		{"file://localhost/srv/lake", location{dir: "/srv/lake"}},
		{"file:/srv/lake", location{dir: "/srv/lake"}},
		{"file://.granary/lake", location{dir: filepath.Join(cwd, ".granary/lake")}},
		{"file://lake", location{dir: filepath.Join(cwd, "lake")}},
		{"file:rel/lake", location{dir: filepath.Join(cwd, "rel/lake")}},
		{"/srv/lake", location{dir: "/srv/lake"}},
		{".granary/lake", location{dir: filepath.Join(cwd, ".granary/lake")}},
		{"./a/../b", location{dir: filepath.Join(cwd, "b")}},
		{"s3://lake/prod?endpoint=127.0.0.1:9000&secure=false",
			s3(s3store.Options{Bucket: "lake", Prefix: "prod", Endpoint: "127.0.0.1:9000"})},
		{"s3://lake", s3(s3store.Options{Bucket: "lake", Endpoint: defaultS3Endpoint, Secure: true})},
		{"s3://lake/", s3(s3store.Options{Bucket: "lake", Endpoint: defaultS3Endpoint, Secure: true})},
		{"s3://lake/a/b/?region=eu-west-1&secure=true",
			s3(s3store.Options{Bucket: "lake", Prefix: "a/b", Endpoint: defaultS3Endpoint, Region: "eu-west-1", Secure: true})},
		{"s3://lake?endpoint=minio.internal:9000&secure=0",
			s3(s3store.Options{Bucket: "lake", Endpoint: "minio.internal:9000"})},
	}
	for _, tc := range tests {
		t.Run(tc.url, func(t *testing.T) {
			got, err := parse(tc.url)
			if err != nil {
				t.Fatal(err)
			}
			if got != tc.want {
				t.Errorf("parse = %+v, want %+v", got, tc.want)
			}
		})
	}
}

func TestParseRejects(t *testing.T) {
	const secret = "hunter2-secret"
	tests := []struct {
		url      string
		mentions string // the error explains itself
	}{
		{"", "empty"},
		{"gs://bucket/x", `unsupported scheme "gs"`},
		{"http://example.com/lake", `unsupported scheme "http"`},
		{"s3:///prefix", "no bucket"},
		{"s3://", "no bucket"},
		{"s3://Invalid_Bucket/x", "bucket"},
		{"s3://lake/x?endpoint=h:9000&secret_key=" + secret, `unknown parameter "secret_key"`},
		{"s3://lake/x?Endpoint=h:9000", `unknown parameter "Endpoint"`},
		{"s3://lake/x?endpoint=a&endpoint=b", "given 2 times"},
		{"s3://lake/x?secure=maybe", "not a boolean"},
		{"s3://lake/a//b", "prefix"},
		{"s3://lake/a/../b", "prefix"},
		{"s3://lake/x#frag", "fragment"},
		{"s3://AKIAEXAMPLE:" + secret + "@lake/x", "environment"},
		{"s3://AKIAEXAMPLE:" + secret + "@lake/%zz", "cannot parse"},
		{"file:///x?mode=ro", "no query"},
		{"file://", "no directory"},
	}
	for _, tc := range tests {
		t.Run(tc.url, func(t *testing.T) {
			got, err := parse(tc.url)
			if !errors.Is(err, objstore.ErrInvalidURL) {
				t.Fatalf("parse = %+v, %v; want ErrInvalidURL", got, err)
			}
			msg := err.Error()
			if !strings.Contains(msg, tc.mentions) {
				t.Errorf("error %q does not mention %q", msg, tc.mentions)
			}
			if strings.Contains(msg, secret) {
				t.Errorf("error leaks a secret: %q", msg)
			}
			if tc.url != "" && !strings.Contains(msg, "lake") && !strings.Contains(msg, strings.Split(tc.url, "?")[0]) {
				t.Errorf("error %q does not name the URL", msg)
			}
		})
	}
}

func TestOpenFile(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "lake")
	for _, u := range []string{"file://" + dir, dir} {
		s, err := Open(t.Context(), u)
		if err != nil {
			t.Fatal(err)
		}
		fs, ok := s.(*filestore.Store)
		if !ok || fs.Dir() != dir {
			t.Fatalf("Open(%q) = %T %v, want a filestore on %s", u, s, s, dir)
		}
		if s.String() != "file://"+dir {
			t.Errorf("String() = %q", s.String())
		}
		fs.Close()
	}
}

// Credentials reach the S3 backend from the environment only.
func TestOpenS3WithEnvironmentCredentials(t *testing.T) {
	m := devtest.Minio(t)
	if err := m.EnsureBucket(t.Context(), "lake"); err != nil {
		t.Fatal(err)
	}
	url := "s3://lake/dev?endpoint=" + m.Endpoint() + "&secure=false"
	for _, env := range []string{"AWS_ACCESS_KEY_ID", "AWS_ACCESS_KEY", "AWS_SECRET_ACCESS_KEY", "AWS_SECRET_KEY", "AWS_SESSION_TOKEN", "MINIO_ROOT_USER", "MINIO_ROOT_PASSWORD", "MINIO_ACCESS_KEY", "MINIO_SECRET_KEY"} {
		t.Setenv(env, "")
	}
	if _, err := Open(t.Context(), url); err == nil {
		t.Fatal("Open succeeded without credentials in the environment")
	}
	t.Setenv("AWS_ACCESS_KEY_ID", m.AccessKey())
	t.Setenv("AWS_SECRET_ACCESS_KEY", m.SecretKey())
	s, err := Open(t.Context(), url)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.Put(t.Context(), "hello", strings.NewReader("world"), 5); err != nil {
		t.Fatal(err)
	}
	if s.String() != url {
		t.Errorf("String() = %q, want %q", s.String(), url)
	}

	t.Setenv("AWS_ACCESS_KEY_ID", "")
	t.Setenv("AWS_SECRET_ACCESS_KEY", "")
	t.Setenv("MINIO_ROOT_USER", m.AccessKey())
	t.Setenv("MINIO_ROOT_PASSWORD", m.SecretKey())
	if _, err := Open(t.Context(), url); err != nil {
		t.Fatalf("with MinIO variables: %v", err)
	}
}
