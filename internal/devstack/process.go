package devstack

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"strings"
	"sync"
	"time"
)

const (
	// stopGrace is how long a server gets to shut down cleanly (flush its
	// SQLite file, close listeners) before it is killed.
	stopGrace = 10 * time.Second
	// defaultStartTimeout applies when the caller's context has no deadline;
	// a cold Temporal dev server needs a few seconds on a laptop.
	defaultStartTimeout = 60 * time.Second
	healthPollInterval  = 100 * time.Millisecond
)

// process is one server child process and its lifecycle.
type process struct {
	name string
	cmd  *exec.Cmd
	out  *tailWriter

	exited  chan struct{} // closed once the process has been reaped
	waitErr error         // valid after exited is closed
	grace   time.Duration // SIGTERM to SIGKILL; tests shorten it

	stopOnce sync.Once
	stopErr  error
}

func startProcess(name, binary string, args, env []string, log io.Writer) (*process, error) {
	out := &tailWriter{log: log}
	cmd := exec.Command(binary, args...)
	cmd.Env = append(os.Environ(), env...)
	cmd.Stdout, cmd.Stderr = out, out
	cmd.SysProcAttr = sysProcAttr()
	// A grandchild holding the output pipe open must not make Wait hang.
	cmd.WaitDelay = 5 * time.Second
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("devstack: start %s (%s): %w", name, binary, err)
	}
	p := &process{name: name, cmd: cmd, out: out, exited: make(chan struct{}), grace: stopGrace}
	go func() {
		p.waitErr = cmd.Wait()
		close(p.exited)
	}()
	return p, nil
}

// Pid is the server's process id (also its process group id on Unix).
func (p *process) Pid() int { return p.cmd.Process.Pid }

// waitHealthy polls check until it succeeds, the process exits, or ctx
// (bounded by defaultStartTimeout when it has no deadline) ends. On
// failure the process is stopped and the error carries its last output.
func (p *process) waitHealthy(ctx context.Context, check func(context.Context) error) error {
	if _, ok := ctx.Deadline(); !ok {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, defaultStartTimeout)
		defer cancel()
	}
	start := time.Now()
	tick := time.NewTicker(healthPollInterval)
	defer tick.Stop()
	var lastErr error
	for {
		if lastErr = check(ctx); lastErr == nil {
			return nil
		}
		select {
		case <-p.exited:
			_ = p.stop() // reap anything it left in its group
			return p.failure(fmt.Errorf("exited before becoming healthy: %v", p.waitErr))
		case <-ctx.Done():
			_ = p.stop()
			return p.failure(fmt.Errorf("not healthy after %v (%w); last check: %v", time.Since(start).Round(time.Millisecond), ctx.Err(), lastErr))
		case <-tick.C:
		}
	}
}

func (p *process) failure(err error) error {
	tail := strings.TrimSpace(p.out.String())
	if tail == "" {
		tail = "(no output)"
	}
	return fmt.Errorf("devstack: %s %w\n--- last output of %s ---\n%s", p.name, err, p.name, tail)
}

// stop ends the whole process group: SIGTERM, up to stopGrace to exit,
// then SIGKILL. It is idempotent. It reports a server that had already
// died on its own, since that usually explains failures elsewhere.
func (p *process) stop() error {
	p.stopOnce.Do(func() {
		select {
		case <-p.exited:
			if p.waitErr != nil {
				p.stopErr = p.failure(fmt.Errorf("had exited before Stop: %v", p.waitErr))
			}
		default:
			if err := signalGroup(p.cmd.Process, terminate); err != nil && !errors.Is(err, os.ErrProcessDone) {
				p.stopErr = fmt.Errorf("devstack: stop %s: %w", p.name, err)
			}
			select {
			case <-p.exited:
			case <-time.After(p.grace):
				_ = signalGroup(p.cmd.Process, kill)
				<-p.exited
			}
		}
		// Children the server spawned may outlive it; the group takes them
		// down too. Nothing left is the normal case.
		_ = signalGroup(p.cmd.Process, kill)
	})
	return p.stopErr
}
