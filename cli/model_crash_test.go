package cli_test

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/granaryml/granary/internal/crashtest"
	"github.com/granaryml/granary/internal/devstack"
	"github.com/granaryml/granary/internal/devstack/devtest"
	"github.com/granaryml/granary/workflows"
)

// TestApprovalSurvivesWorkerKill SIGKILLs the only worker while a
// promotion waits for approval, starts a new one, and approves: the wait
// is durable state in Temporal, not in the worker, so the promotion
// completes and the audit trail shows one request, waited for once.
func TestApprovalSurvivesWorkerKill(t *testing.T) {
	devtest.RequireIntegration(t, "temporal", "minio")
	srv := devtest.Temporal(t, devstack.TemporalOptions{SearchAttributes: workflows.SearchAttributeNames()})
	m := devtest.Minio(t)
	if err := m.EnsureBucket(t.Context(), "approval"); err != nil {
		t.Fatal(err)
	}
	t.Setenv("AWS_ACCESS_KEY_ID", m.AccessKey())
	t.Setenv("AWS_SECRET_ACCESS_KEY", m.SecretKey())
	lakeURL := fmt.Sprintf("s3://approval/lake?endpoint=%s&secure=false", m.Endpoint())
	bin, err := crashtest.BuildGranary(t.Context(), t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	workers := crashtest.NewWorkers(crashtest.WorkerOptions{
		Binary: bin, TemporalAddress: srv.Address(), Namespace: srv.Namespace(), Lake: lakeURL,
		Env: []string{"AWS_ACCESS_KEY_ID=" + m.AccessKey(), "AWS_SECRET_ACCESS_KEY=" + m.SecretKey()}, LogDir: t.TempDir(),
	})
	t.Cleanup(func() { workers.Close(5 * time.Second) })
	first, err := workers.Start()
	if err != nil {
		t.Fatal(err)
	}
	flags := []string{"--temporal-address", srv.Address(), "--namespace", srv.Namespace(), "--lake", lakeURL}
	run := func(args ...string) string {
		t.Helper()
		code, out, errOut := runCLI(t, t.Context(), append(append([]string{}, flags...), args...)...)
		if code != 0 {
			t.Fatalf("granary %v: exit %d: %s", args, code, errOut)
		}
		return out
	}
	v := mustJSON[struct{ Version string }](t, run("--output", "json", "model", "register", "churn", writeFile(t, "m.bin", "weights"), "--metrics", writeFile(t, "m.json", `{"auc": 0.9}`))).Version
	run("model", "promote", "churn@"+v, "--to", "prod", "--gate", "auc >= 0.8", "--require-approval", "--approval-timeout", "1h")
	waitFor(t, 30*time.Second, func() bool {
		return strings.Contains(run("model", "status", "churn", "--alias", "prod"), "step approval")
	})

	if err := first.Kill(); err != nil {
		t.Fatal(err)
	}
	if _, err := workers.Start(); err != nil {
		t.Fatal(err)
	}
	run("model", "approve", "churn@"+v[:12], "--alias", "prod", "--by", "ana", "--comment", "approved after a worker crash")
	waitFor(t, 60*time.Second, func() bool { return strings.Contains(run("--output", "json", "model", "list"), `"prod": "`+v) })
	waitFor(t, 30*time.Second, func() bool { return strings.Contains(run("model", "history", "churn"), "promoted") })

	type event struct{ Step, Outcome, By string }
	events := mustJSON[[]event](t, run("--output", "json", "model", "history", "churn", "--alias", "prod"))
	count := map[string]int{}
	for _, e := range events {
		count[e.Step+":"+e.Outcome]++
	}
	for _, want := range []string{"requested:ok", "verify:ok", "gates:ok", "approval:waiting", "approval:approved", "alias:ok", "done:promoted"} {
		if count[want] != 1 {
			t.Errorf("audit event %s appears %d times, want once: %+v", want, count[want], events)
		}
	}
	workers.Close(5 * time.Second)
	if left := workers.Leftovers(); len(left) > 0 {
		t.Fatalf("worker processes left behind: %v", left)
	}
}

func waitFor(t *testing.T, d time.Duration, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(d)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("condition not met within %s", d)
		}
		time.Sleep(250 * time.Millisecond)
	}
}
