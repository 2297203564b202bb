package serving_test

import (
	"bytes"
	"errors"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/granaryml/granary/internal/lake"
	"github.com/granaryml/granary/internal/objstore/filestore"
	"github.com/granaryml/granary/internal/serving"
)

var (
	secretA = strings.Repeat("a1", 16) // 32 characters
	secretB = strings.Repeat("b2", 20)
)

func TestParseToken(t *testing.T) {
	named, err := serving.ParseToken(" ci-worker:" + secretA + " ")
	if err != nil || named.Name != "ci-worker" || named.Secret != secretA {
		t.Fatalf("name:secret: %+v, %v", named, err)
	}
	bare, err := serving.ParseToken(secretB)
	if err != nil || bare.Secret != secretB || !strings.HasPrefix(bare.Name, "token#") || len(bare.Name) != len("token#")+8 {
		t.Fatalf("bare secret (the old format): %+v, %v", bare, err)
	}
	if again, _ := serving.ParseToken(secretB); again.Name != bare.Name {
		t.Fatalf("a bare token's name must be stable: %q then %q", bare.Name, again.Name)
	}
	for _, in := range []string{"s3cret", "web:short-secret", strings.Repeat("x", serving.MinTokenLength-1), "web:" + secretA[:20] + " " + secretA[:20]} {
		_, err := serving.ParseToken(in)
		if err == nil || !errors.Is(err, serving.ErrBadToken) {
			t.Errorf("%q accepted: %v", in, err)
			continue
		}
		if strings.Contains(err.Error(), "s3cret") || strings.Contains(err.Error(), "short-secret") {
			t.Errorf("the error must not echo the secret: %v", err)
		}
	}
	if _, err := serving.ParseToken("s3cret"); !strings.Contains(err.Error(), "at least 32") {
		t.Errorf("the error should say how long a token must be: %v", err)
	}
}

func TestTokensFromList(t *testing.T) {
	got, err := serving.TokensFromList("GRANARY_SERVE_TOKENS", "web:"+secretA+", ,"+secretB)
	if err != nil || len(got) != 2 {
		t.Fatalf("%q, %v", got, err)
	}
	_, err = serving.TokensFromList("GRANARY_SERVE_TOKENS", secretA+",tok")
	if err == nil || !strings.Contains(err.Error(), "GRANARY_SERVE_TOKENS entry 2") {
		t.Fatalf("a short token must be refused naming its entry: %v", err)
	}
}

func TestReadTokensFile(t *testing.T) {
	dir := t.TempDir()
	write := func(name, text string, mode os.FileMode) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(text), mode); err != nil {
			t.Fatal(err)
		}
		if err := os.Chmod(p, mode); err != nil { // past the umask
			t.Fatal(err)
		}
		return p
	}
	good := write("good", "# web services\nweb:"+secretA+"\n\n"+secretB+"\n", 0o600)
	got, err := serving.ReadTokensFile(good)
	if err != nil || len(got) != 2 {
		t.Fatalf("%q, %v", got, err)
	}
	for _, mode := range []os.FileMode{0o644, 0o640, 0o604, 0o620} {
		p := write("open", "web:"+secretA+"\n", mode)
		_, err := serving.ReadTokensFile(p)
		if err == nil || !errors.Is(err, serving.ErrBadToken) || !strings.Contains(err.Error(), "chmod 600") {
			t.Errorf("mode %04o: %v; want a refusal saying chmod 600", mode, err)
		}
	}
	if _, err := serving.ReadTokensFile(write("ro", "web:"+secretA+"\n", 0o400)); err != nil {
		t.Errorf("mode 0400: %v", err)
	}
	short := write("short", "web:"+secretA+"\n# next one is short\nci:abc\n", 0o600)
	if _, err := serving.ReadTokensFile(short); err == nil || !strings.Contains(err.Error(), short+":3:") {
		t.Errorf("a short token must be refused with its file and line: %v", err)
	}
	if _, err := serving.ReadTokensFile(filepath.Join(dir, "absent")); err == nil {
		t.Error("a missing file must be an error")
	}
}

func TestNewChecksTokens(t *testing.T) {
	store, err := filestore.New(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	l := lake.New(store)
	if _, err := serving.New(serving.Options{Lake: l, Tokens: []string{"tok"}}); err == nil || !errors.Is(err, serving.ErrBadToken) {
		t.Errorf("a 3-character token was accepted: %v", err)
	}
	if _, err := serving.New(serving.Options{Lake: l, Tokens: []string{"a:" + secretA, "b:" + secretA}}); err == nil || !strings.Contains(err.Error(), "same secret") {
		t.Errorf("one secret under two names was accepted: %v", err)
	}
	if _, err := serving.New(serving.Options{Lake: l, Tokens: []string{"a:" + secretA, "a:" + secretB}}); err != nil {
		t.Errorf("two secrets under one name (rotation) must work: %v", err)
	}
}

// TestMetricsNeedATokenUnlessPublic: /metrics names every view, alias
// and version, so it is behind the token unless made public.
func TestMetricsNeedATokenUnlessPublic(t *testing.T) {
	l, _ := testLake(t)
	commitUsers(t, l, 5, 1, "latest")
	for _, public := range []bool{false, true} {
		srv := newTestServer(t, l, serving.Options{PublicMetrics: public})
		refresh(t, srv)
		h := srv.Handler()
		anon := call(h, "GET", "/metrics", "", "")
		if want := map[bool]int{false: 401, true: 200}[public]; anon.Code != want {
			t.Errorf("public=%v: /metrics without a token: %d, want %d", public, anon.Code, want)
		}
		if public && !strings.Contains(anon.Body.String(), `view="user_orders"`) {
			t.Errorf("public metrics should list the views: %.300s", anon.Body)
		}
		if rec := call(h, "GET", "/metrics", "", token); rec.Code != 200 {
			t.Errorf("public=%v: /metrics with the token: %d", public, rec.Code)
		}
		if rec := call(h, "GET", "/healthz", "", ""); rec.Code != 200 {
			t.Errorf("/healthz must stay open for probes: %d", rec.Code)
		}
	}
}

type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (w *lockedBuffer) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.b.Write(p)
}

func (w *lockedBuffer) String() string {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.b.String()
}

// TestReloadRecordsTheTokenName: an action through the API is logged
// under the name of the token that made it, never its secret.
func TestReloadRecordsTheTokenName(t *testing.T) {
	l, _ := testLake(t)
	commitUsers(t, l, 5, 1, "latest")
	var logs lockedBuffer
	srv, err := serving.New(serving.Options{Lake: l, Tokens: []string{"ci-worker:" + secretA, secretB}, Logger: slog.New(slog.NewTextHandler(&logs, nil))})
	if err != nil {
		t.Fatal(err)
	}
	h := srv.Handler()
	if rec := call(h, "POST", "/v1/admin/reload", "", secretA); rec.Code != 200 {
		t.Fatalf("reload: %d %s", rec.Code, rec.Body)
	}
	bare, _ := serving.ParseToken(secretB)
	if rec := call(h, "POST", "/v1/admin/reload", "", secretB); rec.Code != 200 {
		t.Fatalf("reload: %d %s", rec.Code, rec.Body)
	}
	out := logs.String()
	if !strings.Contains(out, "msg=reload by=ci-worker") || !strings.Contains(out, "msg=reload by="+bare.Name) {
		t.Fatalf("reloads should be logged with the token's name: %s", out)
	}
	if strings.Contains(out, secretA) || strings.Contains(out, secretB) {
		t.Fatalf("a secret leaked into the log: %s", out)
	}
}
