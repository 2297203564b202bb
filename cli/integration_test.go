package cli_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"go.temporal.io/sdk/client"

	"github.com/granaryml/granary/cli"
	"github.com/granaryml/granary/internal/devstack"
	"github.com/granaryml/granary/internal/devstack/devtest"
	"github.com/granaryml/granary/internal/objstore/storeurl"
	gworker "github.com/granaryml/granary/worker"
	"github.com/granaryml/granary/workflows"
)

// stack is a real Temporal dev server plus an in-process worker on one lake.
type stack struct {
	address, namespace, lake string
	flags                    []string // global flags pointing the CLI at it
}

// startStack runs a stack on a fresh file lake.
func startStack(t *testing.T) stack {
	return startStackOn(t, "file://"+t.TempDir())
}

// startStackOn runs a real Temporal dev server and a worker on lakeURL.
func startStackOn(t *testing.T, lakeURL string) stack {
	t.Helper()
	srv := devtest.Temporal(t, devstack.TemporalOptions{SearchAttributes: workflows.SearchAttributeNames()})
	store, err := storeurl.Open(t.Context(), lakeURL)
	if err != nil {
		t.Fatal(err)
	}
	tc, err := client.Dial(client.Options{HostPort: srv.Address(), Namespace: srv.Namespace(), Logger: quietSDKLogger()})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(tc.Close)
	// As `granary worker` does: s3:// sources from the lake's endpoint only.
	own, err := storeurl.Endpoint(lakeURL)
	if err != nil {
		t.Fatal(err)
	}
	allowed, err := storeurl.NewAllowlist(own)
	if err != nil {
		t.Fatal(err)
	}
	w, err := gworker.New(gworker.Options{Client: tc, Store: store, AllowedEndpoints: allowed})
	if err != nil {
		t.Fatal(err)
	}
	if err := w.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(w.Stop)
	return stack{
		address: srv.Address(), namespace: srv.Namespace(), lake: lakeURL,
		flags: []string{"--temporal-address", srv.Address(), "--namespace", srv.Namespace(), "--lake", lakeURL},
	}
}

func TestLakeCheckThroughRealTemporal(t *testing.T) {
	st := startStack(t)
	args := append(append([]string{}, st.flags...), "--output", "json", "lake", "check", "--bytes", "65536")
	code, out, errOut := runCLI(t, t.Context(), args...)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	var res struct {
		Store      string  `json:"store"`
		Bytes      int     `json:"bytes"`
		WriteMS    float64 `json:"write_ms"`
		ReadMS     float64 `json:"read_ms"`
		WorkflowID string  `json:"workflow_id"`
		URL        string  `json:"url"`
	}
	if err := json.Unmarshal([]byte(out), &res); err != nil {
		t.Fatalf("stdout is not one JSON document: %v\n%s", err, out)
	}
	if res.Bytes != 65536 || !strings.HasPrefix(res.Store, "file://") || !strings.HasPrefix(res.WorkflowID, "lakecheck/") {
		t.Fatalf("unexpected result %+v", res)
	}
	if !strings.Contains(res.URL, "/workflows/lakecheck%2F") {
		t.Fatalf("run URL %q does not link to the workflow", res.URL)
	}
	t.Logf("lake check on a file lake: write %.2f ms, read %.2f ms", res.WriteMS, res.ReadMS)
}

// TestDevCommandStartsAndStopsEverything runs `granary dev` in-process on
// free ports, with a file lake and with --minio, uses it (lake check, the
// serving API with and without its token), then cancels it as Ctrl-C would
// and checks that every server it started is gone.
func TestDevCommandStartsAndStopsEverything(t *testing.T) {
	devtest.RequireIntegration(t, "temporal")
	t.Run("file-lake", func(t *testing.T) { testDev(t, false) })
	t.Run("minio-lake", func(t *testing.T) {
		devtest.RequireIntegration(t, "minio")
		testDev(t, true)
	})
}

func testDev(t *testing.T, minio bool) {
	var ports [3]int
	for i := range ports {
		p, err := devstack.FreePort()
		if err != nil {
			t.Fatal(err)
		}
		ports[i] = p
	}
	state := t.TempDir()
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	done := make(chan int, 1)
	var devOut, devErr strings.Builder
	args := []string{"granary", "dev", "--state-dir", state, "--port", fmt.Sprint(ports[0]), "--ui-port", fmt.Sprint(ports[1]), "--serve-port", "0"}
	if minio {
		args = append(args, "--minio", "--minio-port", fmt.Sprint(ports[2]))
	}
	go func() {
		done <- cli.Run(ctx, args, cli.Options{Stdout: &syncWriter{b: &devOut}, Stderr: &syncWriter{b: &devErr}})
	}()

	info := waitForDevInfo(t, filepath.Join(state, "dev.json"), done)
	wantLake := "file://" + filepath.Join(state, "lake")
	if minio {
		wantLake = fmt.Sprintf("s3://granary/lake?endpoint=127.0.0.1:%d&secure=false", ports[2])
	}
	if info.TemporalAddress != fmt.Sprintf("127.0.0.1:%d", ports[0]) || info.Lake != wantLake || info.ServeURL == "" {
		t.Fatalf("unexpected dev info %+v", info)
	}
	resp, err := http.Get(info.UIURL)
	if err != nil {
		t.Fatalf("Temporal UI at %s: %v", info.UIURL, err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("Temporal UI answered %d", resp.StatusCode)
	}

	code, out, errOut := runCLI(t, t.Context(), "--temporal-address", info.TemporalAddress, "--lake", info.Lake, "lake", "check")
	wantStore := "lake ok: file://"
	if minio {
		wantStore = "lake ok: s3://"
	}
	if code != 0 || !strings.Contains(out, wantStore) {
		t.Fatalf("lake check against granary dev: exit %d\n%s\n%s", code, out, errOut)
	}
	if _, err := os.Stat(filepath.Join(state, "temporal.db")); err != nil {
		t.Fatalf("Temporal state is not under the state dir: %v", err)
	}
	if minio {
		if _, err := os.Stat(filepath.Join(state, "minio")); err != nil {
			t.Fatalf("MinIO data is not under the state dir: %v", err)
		}
	}

	// Serving: ready without a token, features need the token in
	// serve-token.
	token, err := os.ReadFile(info.ServeTokenFile)
	if err != nil || len(strings.TrimSpace(string(token))) < 32 {
		t.Fatalf("serve token file %s: %v %q", info.ServeTokenFile, err, token)
	}
	if st, err := os.Stat(info.ServeTokenFile); err != nil || st.Mode().Perm() != 0o600 {
		t.Fatalf("serve token file must be private: %v %v", st.Mode(), err)
	}
	waitHTTP(t, info.ServeURL+"/readyz", "", http.StatusOK)
	waitHTTP(t, info.ServeURL+"/v1/features/user_orders?user_id=1", "", http.StatusUnauthorized)
	waitHTTP(t, info.ServeURL+"/v1/features/user_orders?user_id=1", strings.TrimSpace(string(token)), http.StatusNotFound)

	cancel() // what Ctrl-C does through signal.NotifyContext in main
	select {
	case code := <-done:
		if code != 0 {
			t.Fatalf("granary dev exited %d: %s", code, devErr.String())
		}
	case <-time.After(30 * time.Second):
		t.Fatal("granary dev did not stop within 30s of Ctrl-C")
	}
	addrs := []string{info.TemporalAddress, strings.TrimPrefix(info.ServeURL, "http://")}
	if minio {
		addrs = append(addrs, fmt.Sprintf("127.0.0.1:%d", ports[2]))
	}
	for _, a := range addrs {
		if conn, err := net.DialTimeout("tcp", a, time.Second); err == nil {
			conn.Close()
			t.Fatalf("%s still listens after granary dev stopped", a)
		}
	}
	if _, err := os.Stat(filepath.Join(state, "dev.json")); !os.IsNotExist(err) {
		t.Fatal("dev.json should be removed on shutdown")
	}
	if !strings.Contains(devOut.String(), "Temporal UI") || !strings.Contains(devOut.String(), info.ServeURL) {
		t.Fatalf("banner does not say where the UI and serving are:\n%s", devOut.String())
	}
}

// waitHTTP expects status from GET url (with a bearer token if given).
func waitHTTP(t *testing.T, url, token string, status int) {
	t.Helper()
	req, _ := http.NewRequestWithContext(t.Context(), "GET", url, nil)
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	var last string
	for range 50 {
		resp, err := http.DefaultClient.Do(req)
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == status {
				return
			}
			last = resp.Status
		} else {
			last = err.Error()
		}
		time.Sleep(100 * time.Millisecond)
	}
	t.Fatalf("GET %s: %s, want %d", url, last, status)
}

func waitForDevInfo(t *testing.T, path string, done <-chan int) cli.DevInfo {
	t.Helper()
	deadline := time.Now().Add(2 * time.Minute)
	for time.Now().Before(deadline) {
		select {
		case code := <-done:
			t.Fatalf("granary dev exited early with %d", code)
		default:
		}
		if b, err := os.ReadFile(path); err == nil {
			var info cli.DevInfo
			if err := json.Unmarshal(b, &info); err != nil {
				t.Fatalf("dev.json: %v", err)
			}
			return info
		}
		time.Sleep(200 * time.Millisecond)
	}
	t.Fatal("granary dev did not write dev.json within 2 minutes")
	return cli.DevInfo{}
}
