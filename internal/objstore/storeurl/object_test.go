package storeurl

import (
	"errors"
	"strings"
	"testing"

	"github.com/granaryml/granary/internal/objstore"
)

func TestParseObject(t *testing.T) {
	tests := []struct {
		url  string
		want Object
	}{
		{"s3://raw/events.csv?endpoint=127.0.0.1:9000&secure=false",
			Object{Store: "s3://raw?endpoint=127.0.0.1:9000&secure=false", Key: "events.csv", Endpoint: "127.0.0.1:9000"}},
		{"s3://raw/2024/05/events.csv?endpoint=MinIO.internal.:9000&secure=false",
			Object{Store: "s3://raw/2024/05?endpoint=MinIO.internal.:9000&secure=false", Key: "events.csv", Endpoint: "minio.internal:9000"}},
		{"s3://raw/events.csv", Object{Store: "s3://raw", Key: "events.csv", Endpoint: "s3.amazonaws.com:443"}},
		{"s3://raw/e.csv?endpoint=minio", Object{Store: "s3://raw?endpoint=minio", Key: "e.csv", Endpoint: "minio:443"}},
		{"s3://raw/e.csv?endpoint=minio&secure=false", Object{Store: "s3://raw?endpoint=minio&secure=false", Key: "e.csv", Endpoint: "minio:80"}},
		{"s3://raw/e.csv?endpoint=[::1]:9000&secure=false", Object{Store: "s3://raw?endpoint=[::1]:9000&secure=false", Key: "e.csv", Endpoint: "[::1]:9000"}},
	}
	for _, tc := range tests {
		t.Run(tc.url, func(t *testing.T) {
			got, err := ParseObject(tc.url)
			if err != nil {
				t.Fatal(err)
			}
			if got != tc.want {
				t.Errorf("ParseObject = %+v, want %+v", got, tc.want)
			}
		})
	}
}

// Credentials never reach a workflow payload: the CLI parses every
// source URL with ParseObject first, and its errors never repeat them.
func TestParseObjectRejectsCredentialsAndJunk(t *testing.T) {
	const secret = "wJalrXUtnFEMI-secret"
	tests := []struct {
		url      string
		mentions string
	}{
		{"s3://AKIAEXAMPLE:" + secret + "@raw/e.csv?endpoint=h:9000", "credentials must come from the environment"},
		{"s3://" + secret + "@raw/e.csv", "credentials must come from the environment"},
		{"s3://raw/e.csv?X-Amz-Credential=AKIA%2F20240101&X-Amz-Signature=" + secret, "credentials must come from the environment"},
		{"s3://raw/e.csv?AWSAccessKeyId=AKIA&Signature=" + secret, "credentials must come from the environment"},
		{"s3://raw/e.csv?endpoint=h:9000&aws_secret_access_key=" + secret, "credentials must come from the environment"},
		{"s3://raw/e.csv?endpoint=h:9000&session_token=" + secret, "credentials must come from the environment"},
		{"s3://raw/e.csv?colour=" + secret, `unknown parameter "colour"`},
		{"s3://raw", "no object key"},
		{"s3://raw/", "no object key"},
		{"s3://raw/dir/", "key"},
		{"s3://raw/../e.csv", "prefix"},
		{"s3://Bad_Bucket/e.csv", "bucket"},
		{"file:///etc/passwd", "s3://bucket/key"},
		{"http://169.254.169.254/latest/meta-data", "s3://bucket/key"},
	}
	for _, tc := range tests {
		t.Run(tc.url, func(t *testing.T) {
			got, err := ParseObject(tc.url)
			if !errors.Is(err, objstore.ErrInvalidURL) {
				t.Fatalf("ParseObject = %+v, %v; want ErrInvalidURL", got, err)
			}
			if !strings.Contains(err.Error(), tc.mentions) {
				t.Errorf("error %q does not mention %q", err, tc.mentions)
			}
			if strings.Contains(err.Error(), secret) {
				t.Errorf("error leaks the secret: %q", err)
			}
		})
	}
}

func TestAllowlist(t *testing.T) {
	a, err := NewAllowlist("minio:9000", " S3.amazonaws.com ", "", "minio:9000")
	if err != nil {
		t.Fatal(err)
	}
	if got := strings.Join(a.Endpoints(), " "); got != "minio:9000 s3.amazonaws.com:443 s3.amazonaws.com:80" {
		t.Fatalf("Endpoints = %q", got)
	}
	tests := []struct {
		url   string
		allow bool
	}{
		{"s3://raw/e.csv?endpoint=minio:9000&secure=false", true},
		{"s3://raw/e.csv?endpoint=MINIO:9000", true},
		{"s3://raw/e.csv", true}, // AWS, the default endpoint
		{"s3://raw/e.csv?endpoint=s3.amazonaws.com:443", true},
		{"s3://raw/e.csv?endpoint=minio:9001&secure=false", false},
		{"s3://raw/e.csv?endpoint=minio&secure=false", false},
		{"s3://raw/e.csv?endpoint=169.254.169.254&secure=false", false},
		{"s3://raw/e.csv?endpoint=metadata.google.internal&secure=false", false},
		{"s3://raw/e.csv?endpoint=127.0.0.1:7233&secure=false", false},
		{"s3://raw/e.csv?endpoint=minio.evil.example:9000", false},
	}
	for _, tc := range tests {
		t.Run(tc.url, func(t *testing.T) {
			o, err := ParseObject(tc.url)
			if err != nil {
				t.Fatal(err)
			}
			err = a.Check(o)
			if tc.allow && err != nil {
				t.Fatalf("want allowed, got %v", err)
			}
			if !tc.allow && (!errors.Is(err, ErrEndpointNotAllowed) || !strings.Contains(err.Error(), o.Endpoint)) {
				t.Fatalf("want ErrEndpointNotAllowed naming %s, got %v", o.Endpoint, err)
			}
		})
	}

	o, _ := ParseObject("s3://raw/e.csv?endpoint=minio:9000&secure=false")
	if err := (Allowlist{}).Check(o); !errors.Is(err, ErrEndpointNotAllowed) {
		t.Fatalf("the zero allowlist must allow nothing, got %v", err)
	}
	if _, err := NewAllowlist("http://minio:9000"); !errors.Is(err, objstore.ErrInvalidURL) {
		t.Fatalf("a URL is not an endpoint: %v", err)
	}
}

func TestEndpoint(t *testing.T) {
	for url, want := range map[string]string{
		"s3://lake/prod?endpoint=127.0.0.1:9000&secure=false": "127.0.0.1:9000",
		"s3://lake":        "s3.amazonaws.com:443",
		"file:///srv/lake": "",
	} {
		got, err := Endpoint(url)
		if err != nil || got != want {
			t.Errorf("Endpoint(%q) = %q, %v; want %q", url, got, err, want)
		}
	}
	if _, err := Endpoint("s3://lake?endpoint=a&endpoint=b"); err == nil {
		t.Error("a bad lake URL must fail")
	}
}
