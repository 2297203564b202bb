package devstack

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// gone reports whether no live process has this id (or, when group is
// set, belongs to this process group). Zombies count as gone: they run
// nothing, and an orphan's reaper (PID 1 in a VM or container) may take
// seconds to collect them.
func gone(id int, group bool) bool {
	dirs, _ := os.ReadDir("/proc")
	for _, d := range dirs {
		pid, err := strconv.Atoi(d.Name())
		if err != nil {
			continue
		}
		state, pgrp, ok := procStat(pid)
		if !ok || state == 'Z' {
			continue
		}
		if (!group && pid == id) || (group && pgrp == id) {
			return false
		}
	}
	return true
}

// procStat parses /proc/<pid>/stat: "pid (comm) state ppid pgrp ...",
// where comm may itself contain spaces and parentheses.
func procStat(pid int) (state byte, pgrp int, ok bool) {
	b, err := os.ReadFile(filepath.Join("/proc", strconv.Itoa(pid), "stat"))
	if err != nil {
		return 0, 0, false
	}
	s := string(b)
	fields := strings.Fields(s[strings.LastIndexByte(s, ')')+1:])
	if len(fields) < 3 {
		return 0, 0, false
	}
	pgrp, err = strconv.Atoi(fields[2])
	return fields[0][0], pgrp, err == nil
}

func waitGone(t *testing.T, pid int, group bool) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for !gone(pid, group) {
		if time.Now().After(deadline) {
			t.Fatalf("process %d (group=%v) still alive", pid, group)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func TestStopEscalatesToKillForTheWholeGroup(t *testing.T) {
	// The shell ignores SIGTERM and so does its child (ignored signals
	// survive exec): only the SIGKILL to the group ends them.
	p, err := startProcess("stubborn", "/bin/sh", []string{"-c", "trap '' TERM; sleep 300 & echo started; wait"}, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	p.grace = 300 * time.Millisecond
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := p.waitHealthy(ctx, func(context.Context) error {
		if !strings.Contains(p.out.String(), "started") {
			return errors.New("not yet")
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	if err := p.stop(); err != nil {
		t.Fatalf("stop: %v", err)
	}
	t.Logf("stop took %v", time.Since(start))
	if d := time.Since(start); d < p.grace || d > p.grace+5*time.Second {
		t.Errorf("stop took %v, want about the %v grace period", d, p.grace)
	}
	waitGone(t, p.Pid(), false)
	waitGone(t, p.Pid(), true)
	if err := p.stop(); err != nil {
		t.Errorf("second stop: %v", err)
	}
}

func TestEarlyExitReportsOutputTail(t *testing.T) {
	script := filepath.Join(t.TempDir(), "fake-minio")
	writeFile(t, script, "#!/bin/sh\necho 'FATAL Unable to bind to port' >&2\nexit 3\n", 0o755)
	_, err := StartMinio(context.Background(), MinioOptions{Binary: script, DataDir: t.TempDir()})
	if err == nil {
		t.Fatal("StartMinio succeeded with a binary that exits at once")
	}
	for _, want := range []string{"exited before becoming healthy", "exit status 3", "FATAL Unable to bind to port"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error lacks %q:\n%v", want, err)
		}
	}
}

func TestStartTimeoutStopsTheServer(t *testing.T) {
	script := filepath.Join(t.TempDir(), "fake-temporal")
	writeFile(t, script, "#!/bin/sh\necho 'still migrating'\nexec sleep 300\n", 0o755)
	ctx, cancel := context.WithTimeout(context.Background(), 500*time.Millisecond)
	defer cancel()
	_, err := StartTemporal(ctx, TemporalOptions{Binary: script})
	if err == nil || !strings.Contains(err.Error(), "not healthy after") || !strings.Contains(err.Error(), "still migrating") {
		t.Fatalf("err = %v, want a timeout carrying the server's output", err)
	}
}

const envOrphanHelper = "GRANARY_DEVSTACK_ORPHAN_HELPER"

// TestOrphanHelper is not a test: TestKilledParentLeavesNoOrphan runs the
// test binary as a parent that starts a server and is then SIGKILLed.
func TestOrphanHelper(t *testing.T) {
	if os.Getenv(envOrphanHelper) == "" {
		t.Skip("helper process for TestKilledParentLeavesNoOrphan")
	}
	p, err := startProcess("sleeper", "/bin/sleep", []string{"300"}, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	os.Stdout.WriteString("child " + strconv.Itoa(p.Pid()) + "\n")
	time.Sleep(time.Minute) // until killed
}

func TestKilledParentLeavesNoOrphan(t *testing.T) {
	cmd := exec.Command(os.Args[0], "-test.run=^TestOrphanHelper$", "-test.v")
	cmd.Env = append(os.Environ(), envOrphanHelper+"=1")
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer cmd.Process.Kill()
	child := 0
	sc := bufio.NewScanner(out)
	for sc.Scan() {
		if _, err := fmt.Sscanf(sc.Text(), "child %d", &child); err == nil {
			break
		}
	}
	if child == 0 {
		t.Fatalf("helper never reported its child: %v", sc.Err())
	}
	// If Pdeathsig failed, don't leave the sleeper behind.
	t.Cleanup(func() { _ = syscall.Kill(child, syscall.SIGKILL) })
	if gone(child, false) {
		t.Fatalf("child %d not running before the parent is killed", child)
	}
	if err := cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	_ = cmd.Wait()
	waitGone(t, child, false)
}
