package cli_test

import (
	"bytes"
	"context"
	"encoding/json"
	"strings"
	"testing"

	ucli "github.com/urfave/cli/v2"

	"github.com/granaryml/granary/cli"
)

// runCLI drives the real command tree in-process, as a user would.
func runCLI(t *testing.T, ctx context.Context, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	var out, errb bytes.Buffer
	code = cli.Run(ctx, append([]string{"granary"}, args...), cli.Options{
		Stdin: strings.NewReader(""), Stdout: &out, Stderr: &errb,
	})
	return code, out.String(), errb.String()
}

func TestHelpTeachesEveryCommand(t *testing.T) {
	var walk func(path []string, cmds []*ucli.Command)
	checked := 0
	walk = func(path []string, cmds []*ucli.Command) {
		for _, c := range cmds {
			if c.Name == "help" {
				continue
			}
			p := append(append([]string{}, path...), c.Name)
			if len(c.Subcommands) > 0 {
				walk(p, c.Subcommands)
				continue
			}
			code, out, _ := runCLI(t, t.Context(), append(p, "--help")...)
			if code != 0 {
				t.Fatalf("%v --help: exit %d", p, code)
			}
			if !strings.Contains(out, "Examples:") {
				t.Errorf("granary %s --help has no examples", strings.Join(p, " "))
			}
			checked++
		}
	}
	walk(nil, cli.App(cli.Options{}).Commands)
	if checked < 30 {
		t.Fatalf("only %d commands checked; the walk is broken", checked)
	}
}

func TestVersionJSON(t *testing.T) {
	code, out, errOut := runCLI(t, t.Context(), "--output", "json", "version")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	var v struct{ Version, Go string }
	if err := json.Unmarshal([]byte(out), &v); err != nil {
		t.Fatalf("stdout is not JSON: %v\n%s", err, out)
	}
	if v.Version == "" || !strings.HasPrefix(v.Go, "go") {
		t.Fatalf("unexpected version output %+v", v)
	}
}

func TestErrorsAreOneLineWithNonZeroExit(t *testing.T) {
	cases := []struct {
		name     string
		args     []string
		wantCode int
		wantText string
	}{
		{"bad output format", []string{"--output", "yaml", "version"}, 2, `--output "yaml"`},
		{"bad probe size", []string{"lake", "check", "--bytes", "0"}, 2, "--bytes 0"},
		{"unknown command", []string{"frobnicate"}, 2, `unknown command "frobnicate"`},
		{"temporal not running", []string{"--temporal-address", "127.0.0.1:1", "lake", "check"}, 1, "cannot reach Temporal at 127.0.0.1:1"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			code, _, errOut := runCLI(t, t.Context(), tc.args...)
			if code != tc.wantCode {
				t.Fatalf("exit %d, want %d (stderr %q)", code, tc.wantCode, errOut)
			}
			line := strings.TrimSuffix(errOut, "\n")
			if lastLine := line[strings.LastIndex(line, "\n")+1:]; !strings.HasPrefix(lastLine, "granary: ") || !strings.Contains(lastLine, tc.wantText) {
				t.Fatalf("stderr last line %q should be one 'granary: ...' line containing %q", lastLine, tc.wantText)
			}
		})
	}
}
