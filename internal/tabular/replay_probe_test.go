package tabular

import (
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
)

func TestReplayProbe(t *testing.T) {
	dir := os.Getenv("REPLAY_DIR")
	if dir == "" {
		t.Skip()
	}
	files, _ := filepath.Glob(filepath.Join(dir, "*"))
	for _, f := range files {
		raw, _ := os.ReadFile(f)
		lines := strings.SplitN(string(raw), "\n", 2)
		lit := strings.TrimSpace(lines[1])
		lit = strings.TrimSuffix(strings.TrimPrefix(lit, "[]byte("), ")")
		s, err := strconv.Unquote(lit)
		if err != nil {
			t.Fatalf("%s: %v", f, err)
		}
		start := time.Now()
		done := make(chan struct{})
		go func() {
			select {
			case <-done:
			case <-time.After(5 * time.Second):
				t.Logf("SLOW %s: %q", filepath.Base(f), s)
			}
		}()
		format := CSV
		if strings.Contains(dir, "JSONL") {
			format = JSONL
		}
		checkRoundTrip(t, []byte(s), format)
		close(done)
		if d := time.Since(start); d > 100*time.Millisecond {
			t.Logf("%v %s (%d bytes)", d, filepath.Base(f), len(s))
		}
	}
}
