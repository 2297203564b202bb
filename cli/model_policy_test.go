package cli_test

import (
	"os/user"
	"strings"
	"testing"
	"time"
)

// TestPromotionPolicyThroughTheCLI: on a real Temporal dev server, the
// policy in the applied spec holds whatever flags the requester passes,
// the audit trail names the OS user (not --by) as the decider, and a
// rollback to a version that never held the alias is a promotion.
func TestPromotionPolicyThroughTheCLI(t *testing.T) {
	if testing.Short() {
		t.Skip("needs a Temporal dev server")
	}
	st := startStack(t)
	run := func(args ...string) (string, string) {
		t.Helper()
		code, out, errOut := runCLI(t, t.Context(), append(append([]string{}, st.flags...), args...)...)
		if code != 0 {
			t.Fatalf("granary %v: exit %d: %s", args, code, errOut)
		}
		return out, errOut
	}
	fail := func(args ...string) string {
		t.Helper()
		code, out, errOut := runCLI(t, t.Context(), append(append([]string{}, st.flags...), args...)...)
		if code == 0 {
			t.Fatalf("granary %v should fail:\n%s", args, out)
		}
		return out + errOut
	}
	type reg struct{ Version string }
	register := func(name, content, metrics string) string {
		out, _ := run("--output", "json", "model", "register", "churn", writeFile(t, name, content), "--metrics", writeFile(t, name+".json", metrics))
		return mustJSON[reg](t, out).Version
	}
	weak := register("weak.bin", "weak", `{"auc": 0.10}`)
	good := register("good.bin", "good", `{"auc": 0.90}`)
	other := register("other.bin", "other", `{"auc": 0.95}`)

	applied, _ := run("features", "apply", writeFile(t, "policy.yaml", `project: ml
models:
  - name: churn
    aliases:
      - name: prod
        require_approval: true
        approval_timeout: 1h
        gates: ["auc >= 0.8 && auc >= champion.auc - 0.01"]
`))
	if !strings.Contains(applied, "+ promotion policy churn/prod") {
		t.Errorf("features apply should list the policy it adds:\n%s", applied)
	}

	// No flags: the policy's gate still applies, with no champion yet.
	if e := fail("model", "promote", "churn@"+weak[:10], "--to", "prod", "--wait"); !strings.Contains(e, "gates_failed") || !strings.Contains(e, "policy of churn/prod") {
		t.Fatalf("a weak model promoted without flags:\n%s", e)
	}

	// No --require-approval: the policy's approval is still awaited.
	_, info := run("model", "promote", "churn@"+good[:10], "--to", "prod")
	if !strings.Contains(info, "approval within 1h0m0s") {
		t.Errorf("the requester should be told what the policy demands: %s", info)
	}
	waitStep(t, run, "approval")
	if out, _ := run("model", "approve", "churn@"+good[:10], "--alias", "prod", "--by", "someone-else", "--comment", "eval ok"); !strings.HasPrefix(out, "approved churn@"+good[:12]+" for prod\n") {
		t.Errorf("approve printed %q", out)
	}
	waitAlias(t, run, good)

	me, err := user.Current()
	if err != nil {
		t.Fatal(err)
	}
	hist, _ := run("--output", "json", "model", "history", "churn", "--alias", "prod")
	type event struct {
		Step, Outcome, By, Version string
		Detail                     map[string]string
	}
	var approved, requested *event
	for _, e := range mustJSON[[]event](t, hist) {
		switch {
		case e.Step == "approval" && e.Outcome == "approved":
			approved = &e
		case e.Step == "requested" && e.Version == good:
			requested = &e
		}
	}
	if approved == nil || approved.By != me.Username || approved.Detail["claimed_by"] != "someone-else" || !strings.HasPrefix(approved.Detail["identity"], "granary-cli:"+me.Username+"@") {
		t.Errorf("the approval must name the OS user, keep --by as a note and the Temporal identity: %+v", approved)
	}
	if requested == nil || requested.By != me.Username || !strings.HasPrefix(requested.Detail["identity"], "granary-cli:") {
		t.Errorf("the request must name the OS user and Temporal identity: %+v", requested)
	}

	// "Rollback" to a version that never held prod: gates and approval,
	// like a promotion. Rejected here, prod stays.
	_, info = run("model", "rollback", "churn", "--alias", "prod", "--to", other[:10])
	if !strings.Contains(info, "never held prod") {
		t.Errorf("the requester should be told the rollback is checked: %s", info)
	}
	waitStep(t, run, "approval")
	if out, _ := run("model", "reject", "churn@"+other[:10], "--alias", "prod", "--comment", "not a rollback"); !strings.HasPrefix(out, "rejected churn@"+other[:12]+" for prod\n") {
		t.Errorf("reject printed %q", out)
	}
	time.Sleep(time.Second)
	list, _ := run("--output", "json", "model", "list")
	if !strings.Contains(list, `"prod": "`+good) {
		t.Fatalf("a rejected rollback moved prod: %s", list)
	}
}

func waitStep(t *testing.T, run func(...string) (string, string), step string) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		status, _ := run("model", "status", "churn", "--alias", "prod")
		if strings.Contains(status, "step "+step) {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("promotion never reached %s: %s", step, status)
		}
		time.Sleep(200 * time.Millisecond)
	}
}

func waitAlias(t *testing.T, run func(...string) (string, string), version string) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		list, _ := run("--output", "json", "model", "list")
		if strings.Contains(list, `"prod": "`+version) {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("prod never moved to %s: %s", version[:8], list)
		}
		time.Sleep(200 * time.Millisecond)
	}
}
