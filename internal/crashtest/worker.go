package crashtest

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"time"
)

// BuildGranary builds cmd/granary into dir and returns the binary's path.
// The worker must be its own OS process so that SIGKILL is a real crash:
// no deferred cleanup, no graceful activity cancellation.
func BuildGranary(ctx context.Context, dir string) (string, error) {
	bin := filepath.Join(dir, "granary")
	cmd := exec.CommandContext(ctx, "go", "build", "-o", bin, "github.com/granaryml/granary/cmd/granary")
	if out, err := cmd.CombinedOutput(); err != nil {
		return "", fmt.Errorf("crashtest: go build granary: %v\n%s", err, out)
	}
	return bin, nil
}

// WorkerOptions says how to run `granary worker`.
type WorkerOptions struct {
	Binary          string
	TemporalAddress string
	Namespace       string
	Lake            string
	// Env is added to the test's environment (S3 credentials, TMPDIR).
	Env []string
	// LogDir receives worker-<n>.log, one file per started process.
	LogDir string
}

// Workers starts, kills and stops `granary worker` processes, one at a
// time. Every process leads its own process group, so a kill reaches
// anything it spawned, and Close leaves no orphans.
type Workers struct {
	opts WorkerOptions

	mu  sync.Mutex
	all []*Worker
}

// NewWorkers returns a launcher for workers with opts.
func NewWorkers(opts WorkerOptions) *Workers { return &Workers{opts: opts} }

// Worker is one running `granary worker` process.
type Worker struct {
	N       int       // 1 for the first process started, 2 for the next…
	Started time.Time // when the process was started
	LogPath string

	cmd     *exec.Cmd
	log     *os.File
	exited  chan struct{}
	waitErr error
}

// Start starts a new worker process.
func (ws *Workers) Start() (*Worker, error) {
	ws.mu.Lock()
	defer ws.mu.Unlock()
	n := len(ws.all) + 1
	w := &Worker{N: n, exited: make(chan struct{})}
	if ws.opts.LogDir != "" {
		w.LogPath = filepath.Join(ws.opts.LogDir, fmt.Sprintf("worker-%d.log", n))
		f, err := os.Create(w.LogPath)
		if err != nil {
			return nil, err
		}
		w.log = f
	}
	args := []string{
		"--temporal-address", ws.opts.TemporalAddress,
		"--namespace", ws.opts.Namespace,
		"--lake", ws.opts.Lake,
		"worker",
	}
	w.cmd = exec.Command(ws.opts.Binary, args...)
	w.cmd.Env = append(os.Environ(), ws.opts.Env...)
	if w.log != nil {
		w.cmd.Stdout, w.cmd.Stderr = w.log, w.log
	}
	w.cmd.SysProcAttr = sysProcAttr()
	w.Started = time.Now()
	if err := w.cmd.Start(); err != nil {
		if w.log != nil {
			w.log.Close()
		}
		return nil, fmt.Errorf("crashtest: start worker %d: %w", n, err)
	}
	go func() {
		w.waitErr = w.cmd.Wait()
		if w.log != nil {
			w.log.Close()
		}
		close(w.exited)
	}()
	ws.all = append(ws.all, w)
	return w, nil
}

// Close stops every worker still running: SIGTERM to its group, SIGKILL
// after grace. It returns once all are reaped.
func (ws *Workers) Close(grace time.Duration) {
	ws.mu.Lock()
	all := append([]*Worker(nil), ws.all...)
	ws.mu.Unlock()
	for _, w := range all {
		w.stop(grace)
	}
}

// Pid is the worker's process id (and process group id).
func (w *Worker) Pid() int { return w.cmd.Process.Pid }

// Identity is what the worker calls itself in Temporal (see
// worker.DefaultIdentity): it shows in pending activities, which is how a
// test tells which process is running an activity.
func (w *Worker) Identity() string {
	host, err := os.Hostname()
	if err != nil {
		host = "unknown-host"
	}
	return fmt.Sprintf("granary@%s:%d", host, w.Pid())
}

// Exited is closed once the process has been reaped.
func (w *Worker) Exited() <-chan struct{} { return w.exited }

// Kill sends SIGKILL to the worker's process group and waits until the
// process is reaped. It fails if the process had already exited on its
// own (which would make the "crash" meaningless) or was not killed by
// the signal.
func (w *Worker) Kill() error {
	select {
	case <-w.exited:
		return fmt.Errorf("crashtest: worker %d (pid %d) had already exited: %v; log:\n%s", w.N, w.Pid(), w.waitErr, w.Tail(2000))
	default:
	}
	if err := killGroup(w.Pid()); err != nil {
		return fmt.Errorf("crashtest: kill worker %d: %w", w.N, err)
	}
	select {
	case <-w.exited:
	case <-time.After(10 * time.Second):
		return fmt.Errorf("crashtest: worker %d (pid %d) still alive 10s after SIGKILL", w.N, w.Pid())
	}
	if !killedBySIGKILL(w.cmd.ProcessState) {
		return fmt.Errorf("crashtest: worker %d ended with %v, not by SIGKILL", w.N, w.cmd.ProcessState)
	}
	return nil
}

func (w *Worker) stop(grace time.Duration) {
	select {
	case <-w.exited:
		_ = killGroup(w.Pid()) // anything left in its group
		return
	default:
	}
	_ = terminateGroup(w.Pid())
	select {
	case <-w.exited:
	case <-time.After(grace):
	}
	if err := killGroup(w.Pid()); err != nil {
		_ = w.cmd.Process.Kill()
	}
	<-w.exited
}

// Tail returns up to the last n bytes of the worker's log.
func (w *Worker) Tail(n int) string {
	if w.LogPath == "" {
		return "(no log)"
	}
	b, err := os.ReadFile(w.LogPath)
	if err != nil {
		return "(" + err.Error() + ")"
	}
	if len(b) > n {
		b = b[len(b)-n:]
	}
	return strings.TrimSpace(string(b))
}

// ErrUnsupported is returned where process groups and SIGKILL do not exist.
var ErrUnsupported = errors.New("crashtest: needs a Unix system (process groups, SIGKILL)")

// Leftovers lists the pids of started workers whose process group still
// has a live member; after Close it must be empty.
func (ws *Workers) Leftovers() []int {
	ws.mu.Lock()
	defer ws.mu.Unlock()
	var pids []int
	for _, w := range ws.all {
		if groupAlive(w.Pid()) {
			pids = append(pids, w.Pid())
		}
	}
	return pids
}

// Count is how many worker processes were started.
func (ws *Workers) Count() int {
	ws.mu.Lock()
	defer ws.mu.Unlock()
	return len(ws.all)
}
