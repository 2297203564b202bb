//go:build unix

package cli_test

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/granaryml/granary/cli"
	"github.com/granaryml/granary/internal/devstack"
	"github.com/granaryml/granary/internal/lake"
	"github.com/granaryml/granary/internal/objstore/filestore"
	"github.com/granaryml/granary/internal/serving/servingtest"
	"github.com/granaryml/granary/internal/tabular"
)

// TestServeRefusesWeakTokens: serve does not start on a short token or on
// a tokens file that others may read, and says why.
func TestServeRefusesWeakTokens(t *testing.T) {
	dir := t.TempDir()
	lakeURL := "file://" + dir
	writeTokens := func(mode os.FileMode, text string) string {
		p := filepath.Join(t.TempDir(), "tokens")
		if err := os.WriteFile(p, []byte(text), mode); err != nil {
			t.Fatal(err)
		}
		if err := os.Chmod(p, mode); err != nil {
			t.Fatal(err)
		}
		return p
	}
	cases := []struct {
		name, env string
		file      string
		want      string
	}{
		{name: "short env token", env: "s3cret", want: "GRANARY_SERVE_TOKENS entry 1"},
		{name: "short named env token", env: "web:" + tokA + ",ci:abc", want: `token "ci" is 3 characters`},
		{name: "world-readable file", file: writeTokens(0o644, "web:"+tokA+"\n"), want: "chmod 600"},
		{name: "short token in file", file: writeTokens(0o600, "# ok\nweb:"+tokA+"\nci:tok\n"), want: ":3:"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Setenv("GRANARY_SERVE_TOKENS", c.env)
			args := []string{"--lake", lakeURL, "serve", "--addr", "127.0.0.1:0"}
			if c.file != "" {
				args = append(args, "--tokens-file", c.file)
			}
			ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
			defer cancel()
			code, _, errOut := runCLI(t, ctx, args...)
			if code == 0 || !strings.Contains(errOut, c.want) || !strings.Contains(errOut, "32") && !strings.Contains(errOut, "chmod") {
				t.Fatalf("exit %d, stderr %q; want a refusal containing %q", code, errOut, c.want)
			}
			if strings.Contains(errOut, tokA) {
				t.Fatalf("the error printed a secret: %s", errOut)
			}
		})
	}
}

// startServe runs granary serve on a free loopback port until the test
// ends, and returns its base URL.
func startServe(t *testing.T, lakeURL string, args ...string) string {
	t.Helper()
	port, err := devstack.FreePort()
	if err != nil {
		t.Fatal(err)
	}
	addr := fmt.Sprintf("127.0.0.1:%d", port)
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan int, 1)
	errOut := &syncWriter{b: &strings.Builder{}}
	go func() {
		done <- cli.Run(ctx, append([]string{"granary", "--lake", lakeURL, "serve", "--addr", addr}, args...), cli.Options{Stdout: io.Discard, Stderr: errOut})
	}()
	t.Cleanup(func() {
		cancel()
		select {
		case code := <-done:
			if code != 0 {
				errOut.mu.Lock()
				t.Errorf("serve exited %d: %s", code, errOut.b.String())
				errOut.mu.Unlock()
			}
		case <-time.After(15 * time.Second):
			t.Error("serve did not stop within 15s")
		}
	})
	waitHTTP(t, "http://"+addr+"/readyz", "", http.StatusOK)
	return "http://" + addr
}

// commitWideIndex commits a one-entity view whose row holds a string of
// width bytes, so a batch repeating that entity makes a response as large
// as a test needs.
func commitWideIndex(t *testing.T, dir string, width int) {
	t.Helper()
	store, err := filestore.New(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer store.Close()
	schema := tabular.Schema{Columns: []tabular.Column{{Name: "user_id", Type: tabular.Int64}, {Name: "blob", Type: tabular.String}}}
	text := strings.Repeat("x", width)
	b := &tabular.Batch{Len: 1, Vectors: []tabular.Vector{
		{Type: tabular.Int64, Ints: []int64{1}},
		{Type: tabular.String, Bytes: []byte(text), Offsets: []uint32{0, uint32(len(text))}},
	}}
	if _, err := servingtest.Commit(t.Context(), lake.New(store), servingtest.Index{View: "wide", Keys: schema.Columns[:1], Columns: schema.Columns[1:], Batch: b}, "latest"); err != nil {
		t.Fatal(err)
	}
}

func batchOf(n int) string {
	return `{"view":"wide","entities":[` + strings.TrimSuffix(strings.Repeat(`{"user_id":1},`, n), ",") + `]}`
}

// TestServeWriteTimeout: a full-size batch answer (1000 entities, 20 MB)
// arrives whole under the default write timeout, while a client that
// stops reading is cut off once the timeout passes instead of holding the
// connection and its 20 MB response forever.
func TestServeWriteTimeout(t *testing.T) {
	dir := t.TempDir()
	commitWideIndex(t, dir, 20<<10)
	t.Setenv("GRANARY_SERVE_TOKENS", tokA)
	body := batchOf(1000)

	t.Run("large batch under the default", func(t *testing.T) {
		url := startServe(t, "file://"+dir)
		req, _ := http.NewRequestWithContext(t.Context(), "POST", url+"/v1/features:batch", strings.NewReader(body))
		req.Header.Set("Authorization", "Bearer "+tokA)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		n, err := io.Copy(io.Discard, resp.Body)
		if err != nil || resp.StatusCode != 200 || n < 1000*(20<<10) {
			t.Fatalf("batch answer: %d, %d bytes, %v", resp.StatusCode, n, err)
		}
	})

	t.Run("client that stops reading", func(t *testing.T) {
		url := startServe(t, "file://"+dir, "--write-timeout", "300ms")
		// A small receive buffer makes the server's writes block as soon
		// as the client stops reading.
		d := net.Dialer{Control: func(_, _ string, c syscall.RawConn) error {
			var serr error
			err := c.Control(func(fd uintptr) { serr = syscall.SetsockoptInt(int(fd), syscall.SOL_SOCKET, syscall.SO_RCVBUF, 4096) })
			if err != nil {
				return err
			}
			return serr
		}}
		conn, err := d.DialContext(t.Context(), "tcp", strings.TrimPrefix(url, "http://"))
		if err != nil {
			t.Fatal(err)
		}
		defer conn.Close()
		fmt.Fprintf(conn, "POST /v1/features:batch HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer %s\r\nContent-Type: application/json\r\nContent-Length: %d\r\n\r\n%s", tokA, len(body), body)
		time.Sleep(1500 * time.Millisecond) // well past the write timeout
		conn.SetReadDeadline(time.Now().Add(20 * time.Second))
		resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
		if err != nil {
			return // cut off before even the headers arrived: also a cut
		}
		n, err := io.Copy(io.Discard, resp.Body)
		if err == nil {
			t.Fatalf("the whole %d-byte answer arrived after the client stalled past --write-timeout", n)
		}
		if n >= resp.ContentLength {
			t.Fatalf("read %d of %d bytes; the server should have cut the response", n, resp.ContentLength)
		}
	})
}

// TestServeMetricsAuth: on loopback /metrics is open by default, and
// --metrics-auth token closes it.
func TestServeMetricsAuth(t *testing.T) {
	dir := t.TempDir()
	commitWideIndex(t, dir, 10)
	t.Setenv("GRANARY_SERVE_TOKENS", "web:"+tokA)
	for mode, want := range map[string]int{"auto": 200, "token": 401, "none": 200} {
		url := startServe(t, "file://"+dir, "--metrics-auth", mode)
		if status, body := get(t, url+"/metrics", ""); status != want {
			t.Errorf("--metrics-auth %s on loopback: /metrics without a token %d, want %d (%.200s)", mode, status, want, body)
		}
		if status, _ := get(t, url+"/metrics", tokA); status != 200 {
			t.Errorf("--metrics-auth %s: /metrics with a token %d", mode, status)
		}
	}
	code, _, errOut := runCLI(t, t.Context(), "--lake", "file://"+dir, "serve", "--metrics-auth", "open")
	if code == 0 || !strings.Contains(errOut, "auto, token or none") {
		t.Fatalf("a bad --metrics-auth: exit %d, %s", code, errOut)
	}
}
