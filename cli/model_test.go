package cli_test

import (
	"strings"
	"sync"
	"testing"
	"time"
)

// TestModelRegistryAndPromotion tells a model's story on a real Temporal
// dev server: register, promote with gates, two promotions racing for one
// alias, approval, rollback, and the audit trail of all of it.
func TestModelRegistryAndPromotion(t *testing.T) {
	st := startStack(t)
	run := func(args ...string) string {
		t.Helper()
		code, out, errOut := runCLI(t, t.Context(), append(append([]string{}, st.flags...), args...)...)
		if code != 0 {
			t.Fatalf("granary %v: exit %d: %s", args, code, errOut)
		}
		return out
	}
	fail := func(args ...string) string {
		t.Helper()
		code, _, errOut := runCLI(t, t.Context(), append(append([]string{}, st.flags...), args...)...)
		if code == 0 {
			t.Fatalf("granary %v should fail", args)
		}
		return errOut
	}
	type reg struct{ Version string }
	artifact := writeFile(t, "model.bin", "weights v1")
	v1 := mustJSON[reg](t, run("--output", "json", "model", "register", "churn", artifact, "--metrics", writeFile(t, "m1.json", `{"auc": 0.80, "loss": 0.4}`), "--param", "depth=6")).Version
	v2 := mustJSON[reg](t, run("--output", "json", "model", "register", "churn", writeFile(t, "model2.bin", "weights v2"), "--metrics", writeFile(t, "m2.json", `{"auc": 0.82, "loss": 0.35}`))).Version
	v3 := mustJSON[reg](t, run("--output", "json", "model", "register", "churn", writeFile(t, "model3.bin", "weights v3"), "--metrics", writeFile(t, "m3.json", `{"auc": 0.83, "loss": 0.30}`))).Version

	// Each registration is a run; registering the same content again
	// attaches to it and creates nothing.
	again := mustJSON[struct {
		Version    string `json:"version"`
		Created    bool   `json:"created"`
		Attached   bool   `json:"attached"`
		WorkflowID string `json:"workflow_id"`
	}](t, run("--output", "json", "model", "register", "churn", artifact, "--metrics", writeFile(t, "m1again.json", `{"auc": 0.80, "loss": 0.4}`), "--param", "depth=6"))
	if again.Version != v1 || again.Created || !again.Attached || !strings.HasPrefix(again.WorkflowID, "register/churn/") {
		t.Fatalf("a repeated registration must attach to the first run and report v1, not created: %+v", again)
	}
	for deadline := time.Now().Add(20 * time.Second); ; time.Sleep(300 * time.Millisecond) { // visibility is eventually consistent
		runs := mustJSON[[]struct {
			WorkflowID string `json:"workflow_id"`
			Status     string
			Version    string
		}](t, run("--output", "json", "runs", "list", "--kind", "register", "--name", "churn"))
		done := map[string]bool{}
		for _, r := range runs {
			if r.Status == "completed" {
				done[r.Version] = true
			}
		}
		if len(runs) == 3 && done[v1] && done[v2] && done[v3] && runs[len(runs)-1].WorkflowID != "" {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("runs list --kind register should show the three registrations: %+v", runs)
		}
	}

	// Bad input fails before any workflow starts, in one line.
	if e := fail("model", "register", "churn", artifact, "--metrics", writeFile(t, "bad.json", `{"auc": "high"}`)); !strings.Contains(e, `metric "auc" is high, not a number`) {
		t.Errorf("malformed metrics: %s", e)
	}
	if e := fail("model", "promote", "churn@"+v1[:10], "--to", "prod", "--gate", "acu >= 0.8"); !strings.Contains(e, `unknown metric "acu"`) {
		t.Errorf("gate typo: %s", e)
	}
	if e := fail("model", "promote", "nosuch@latest", "--to", "prod"); !strings.Contains(e, "nosuch") {
		t.Errorf("unknown model: %s", e)
	}

	out := run("model", "promote", "churn@"+v1[:10], "--to", "prod", "--gate", "auc >= 0.75", "--gate", "auc >= champion.auc", "--wait")
	if !strings.Contains(out, "promoted") || !strings.Contains(out, "skip (no champion)") {
		t.Fatalf("first promotion:\n%s", out)
	}

	// Two promotions to prod at once: the alias workflow runs them one
	// after the other; both land and every step is audited.
	var wg sync.WaitGroup
	for _, v := range []string{v2, v3} {
		wg.Add(1)
		go func() {
			defer wg.Done()
			code, out, errOut := runCLI(t, t.Context(), append(append([]string{}, st.flags...), "model", "promote", "churn@"+v, "--to", "prod", "--gate", "auc >= champion.auc", "--wait")...)
			if code != 0 && !strings.Contains(errOut, "gates_failed") {
				t.Errorf("concurrent promotion of %s: exit %d\n%s%s", v[:8], code, out, errOut)
			}
		}()
	}
	wg.Wait()
	history := run("--output", "json", "model", "history", "churn", "--alias", "prod")
	type event struct{ Step, Outcome, Version, Request string }
	events := mustJSON[[]event](t, history)
	requests := map[string]bool{}
	for _, e := range events {
		if e.Step == "requested" {
			requests[e.Request] = true
		}
	}
	if len(requests) != 3 {
		t.Fatalf("want 3 promotion requests in the audit trail, got %d: %+v", len(requests), events)
	}

	// Approval flow: request, see it waiting, approve, see it land.
	run("model", "promote", "churn@"+v1[:10], "--to", "staging", "--require-approval", "--approval-timeout", "1h")
	deadline := time.Now().Add(30 * time.Second)
	for {
		status := run("model", "status", "churn", "--alias", "staging")
		if strings.Contains(status, "step approval") {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("promotion never reached approval: %s", status)
		}
		time.Sleep(200 * time.Millisecond)
	}
	if e := fail("model", "approve", "churn@"+v2[:10], "--alias", "staging", "--by", "ana"); !strings.Contains(e, "not waiting for approval") {
		t.Errorf("approving the wrong version: %s", e)
	}
	run("model", "approve", "churn@"+v1[:10], "--alias", "staging", "--by", "ana", "--comment", "offline eval ok")
	for {
		list := run("--output", "json", "model", "list")
		if strings.Contains(list, `"staging": "`+v1) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("approved promotion never moved staging: %s", list)
		}
		time.Sleep(200 * time.Millisecond)
	}

	// Roll prod back to the version it held before.
	before := mustJSON[[]struct {
		Name string
		Refs map[string]string
	}](t, run("--output", "json", "model", "list"))[0].Refs["prod"]
	run("model", "rollback", "churn", "--alias", "prod", "--reason", "latency regression", "--wait")
	after := mustJSON[[]struct {
		Name string
		Refs map[string]string
	}](t, run("--output", "json", "model", "list"))[0].Refs["prod"]
	if after == before {
		t.Fatalf("rollback left prod on %s", before)
	}
	story := run("model", "history", "churn")
	for _, want := range []string{"registered", "gates", "approval", "approved", "ana", "offline eval ok", "latency regression", "done"} {
		if !strings.Contains(story, want) {
			t.Errorf("history lacks %q:\n%s", want, story)
		}
	}

	dir := t.TempDir()
	run("model", "download", "churn@"+v1[:10], "--out", dir)
	show := run("model", "show", "churn@"+v1[:10])
	if !strings.Contains(show, "metric auc = 0.8") || !strings.Contains(show, "param depth = 6") {
		t.Fatalf("model show:\n%s", show)
	}
}
