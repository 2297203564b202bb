package devtest_test

import (
	"os"
	"os/exec"
	"strings"
	"testing"

	"github.com/granaryml/granary/internal/devstack/devtest"
)

const envHelper = "GRANARY_DEVTEST_HELPER"

// TestMissingBinaryHelper is not a test on its own: TestMissingBinaryPolicy
// runs it in a child process to observe a skip or a failure.
func TestMissingBinaryHelper(t *testing.T) {
	if os.Getenv(envHelper) == "" {
		t.Skip("helper process for TestMissingBinaryPolicy")
	}
	devtest.RequireIntegration(t, "granary-no-such-server")
	t.Log("RAN: integration test body reached")
}

func TestMissingBinaryPolicy(t *testing.T) {
	tests := []struct {
		name     string
		env      []string
		args     []string
		wantFail bool
		want     string
	}{
		{"developer machine skips with a hint", []string{"CI="}, nil, false, "make tools"},
		{"CI fails", []string{"CI=true"}, nil, true, "make tools"},
		{"-short skips even in CI", []string{"CI=true"}, []string{"-test.short"}, false, "skipped with -short"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			args := append([]string{"-test.run=^TestMissingBinaryHelper$", "-test.v"}, tc.args...)
			cmd := exec.Command(os.Args[0], args...)
			cmd.Env = append(append(os.Environ(), envHelper+"=1"), tc.env...)
			out, err := cmd.CombinedOutput()
			if failed := err != nil; failed != tc.wantFail {
				t.Fatalf("helper failed=%v (%v), want %v:\n%s", failed, err, tc.wantFail, out)
			}
			if strings.Contains(string(out), "RAN:") {
				t.Fatalf("the test body ran without its server:\n%s", out)
			}
			if !strings.Contains(string(out), tc.want) {
				t.Fatalf("output lacks %q:\n%s", tc.want, out)
			}
		})
	}
}
