package devstack_test

import (
	"context"
	"net/http"
	"testing"
	"time"

	"go.temporal.io/api/operatorservice/v1"
	"go.temporal.io/sdk/client"

	"github.com/granaryml/granary/internal/devstack"
	"github.com/granaryml/granary/internal/devstack/devtest"
)

func TestTemporalStartStop(t *testing.T) {
	devtest.RequireIntegration(t, "temporal")
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	start := time.Now()
	srv, err := devstack.StartTemporal(ctx, devstack.TemporalOptions{
		DBFile:           t.TempDir() + "/temporal.db",
		Namespace:        "granary-test",
		SearchAttributes: map[string]string{"GranaryKind": "Keyword", "GranaryName": "Keyword"},
	})
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Stop()
	t.Logf("temporal healthy after %v at %s (UI %s)", time.Since(start).Round(time.Millisecond), srv.Address(), srv.UIURL())

	c, err := client.DialContext(ctx, client.Options{HostPort: srv.Address(), Namespace: srv.Namespace()})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.CheckHealth(ctx, &client.CheckHealthRequest{}); err != nil {
		t.Fatal(err)
	}
	sa, err := c.OperatorService().ListSearchAttributes(ctx, &operatorservice.ListSearchAttributesRequest{Namespace: srv.Namespace()})
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"GranaryKind", "GranaryName"} {
		if _, ok := sa.GetCustomAttributes()[name]; !ok {
			t.Errorf("search attribute %s not registered; have %v", name, sa.GetCustomAttributes())
		}
	}
	c.Close()
	requireHTTP200(t, srv.UIURL())

	stopAndCheckGone(t, srv.Pid(), srv.Stop)
}

func TestMinioStartStop(t *testing.T) {
	devtest.RequireIntegration(t, "minio")
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	start := time.Now()
	srv, err := devstack.StartMinio(ctx, devstack.MinioOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Stop()
	t.Logf("minio healthy after %v at %s", time.Since(start).Round(time.Millisecond), srv.Endpoint())

	requireHTTP200(t, "http://"+srv.Endpoint()+"/minio/health/live")
	for range 2 { // the second call finds the bucket already owned
		if err := srv.EnsureBucket(ctx, "granary-test"); err != nil {
			t.Fatal(err)
		}
	}
	if srv.AccessKey() == "" || len(srv.SecretKey()) < 8 {
		t.Errorf("credentials %q/%d chars: MinIO needs a user and an 8+ char password", srv.AccessKey(), len(srv.SecretKey()))
	}

	stopAndCheckGone(t, srv.Pid(), srv.Stop)
}

func TestDevtestHelpers(t *testing.T) {
	// Both servers side by side, as an end-to-end test would use them; the
	// helpers stop them in Cleanup.
	tmp := devtest.Temporal(t)
	m := devtest.Minio(t)
	if tmp.Address() == "" || m.Endpoint() == "" {
		t.Fatal("servers without addresses")
	}
}

func stopAndCheckGone(t *testing.T, pid int, stop func() error) {
	t.Helper()
	start := time.Now()
	if err := stop(); err != nil {
		t.Fatalf("Stop: %v", err)
	}
	t.Logf("stopped in %v", time.Since(start).Round(time.Millisecond))
	if alive := stillRunning(pid); alive != "" {
		t.Errorf("after Stop: %s", alive)
	}
	if err := stop(); err != nil {
		t.Errorf("second Stop: %v", err)
	}
}

func requireHTTP200(t *testing.T, url string) {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("GET %s: %s", url, resp.Status)
	}
}
