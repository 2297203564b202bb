package devstack

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"maps"
	"net"
	"net/http"
	"slices"
	"strconv"
	"time"

	"go.temporal.io/api/workflowservice/v1"
	"go.temporal.io/sdk/client"
	tlog "go.temporal.io/sdk/log"
)

// TemporalOptions configures StartTemporal. Zero values get defaults.
type TemporalOptions struct {
	Binary string // default: FindBinary("temporal")
	// DBFile is the SQLite file that keeps workflow history across
	// restarts; empty keeps it in memory, gone when the server stops.
	DBFile    string
	IP        string // default 127.0.0.1
	Port      int    // gRPC frontend; 0 picks a free port
	UIPort    int    // web UI; 0 picks a free port
	Namespace string // default "default"; created at launch
	// SearchAttributes maps custom search attribute names to their types
	// (Keyword, Text, Int, Double, Bool, Datetime, KeywordList).
	SearchAttributes map[string]string
	Log              io.Writer // receives the server's output; nil discards it
}

// Temporal is a running Temporal dev server.
type Temporal struct {
	proc      *process
	addr      string
	uiURL     string
	namespace string
}

// StartTemporal starts `temporal server start-dev` and returns once its
// gRPC frontend answers health checks, the namespace exists and the web UI
// serves. ctx bounds the wait (60s when it has no deadline), not the
// server's lifetime: call Stop.
func StartTemporal(ctx context.Context, opts TemporalOptions) (*Temporal, error) {
	return retryPortClash(opts.Port == 0 && opts.UIPort == 0, func() (*Temporal, error) { return startTemporal(ctx, opts) })
}

func startTemporal(ctx context.Context, opts TemporalOptions) (*Temporal, error) {
	var err error
	if opts.Binary == "" {
		if opts.Binary, err = FindBinary("temporal"); err != nil {
			return nil, err
		}
	}
	if opts.IP == "" {
		opts.IP = "127.0.0.1"
	}
	if opts.Namespace == "" {
		opts.Namespace = "default"
	}
	if opts.Port, err = portOrFree(opts.Port); err != nil {
		return nil, err
	}
	if opts.UIPort, err = portOrFree(opts.UIPort); err != nil {
		return nil, err
	}
	t := &Temporal{
		addr:      net.JoinHostPort(opts.IP, strconv.Itoa(opts.Port)),
		uiURL:     "http://" + net.JoinHostPort(opts.IP, strconv.Itoa(opts.UIPort)),
		namespace: opts.Namespace,
	}
	t.proc, err = startProcess("temporal", opts.Binary, temporalArgs(opts), nil, opts.Log)
	if err != nil {
		return nil, err
	}
	if err := t.proc.waitHealthy(ctx, t.healthy); err != nil {
		return nil, err
	}
	return t, nil
}

func temporalArgs(opts TemporalOptions) []string {
	args := []string{
		"server", "start-dev",
		"--ip", opts.IP,
		"--port", strconv.Itoa(opts.Port),
		"--ui-port", strconv.Itoa(opts.UIPort),
		"--log-level", "warn",
		"--color", "never",
	}
	if opts.DBFile != "" {
		args = append(args, "--db-filename", opts.DBFile)
	}
	if opts.Namespace != "default" { // "default" always exists; naming it again is an error
		args = append(args, "--namespace", opts.Namespace)
	}
	for _, name := range slices.Sorted(maps.Keys(opts.SearchAttributes)) {
		args = append(args, "--search-attribute", name+"="+opts.SearchAttributes[name])
	}
	return args
}

// Address is the gRPC frontend's host:port, for client.Options.HostPort.
func (t *Temporal) Address() string { return t.addr }

// UIURL is the web UI's base URL.
func (t *Temporal) UIURL() string { return t.uiURL }

// Namespace is the namespace created at launch.
func (t *Temporal) Namespace() string { return t.namespace }

// Pid is the server's process id.
func (t *Temporal) Pid() int { return t.proc.Pid() }

// Stop shuts the server down (SIGTERM, then SIGKILL after 10s). Calling it
// again returns the first result.
func (t *Temporal) Stop() error { return t.proc.stop() }

func (t *Temporal) healthy(ctx context.Context) error {
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	c, err := client.DialContext(ctx, client.Options{
		HostPort:  t.addr,
		Namespace: t.namespace,
		// The SDK logs every failed dial; polling makes that noise.
		Logger: tlog.NewStructuredLogger(slog.New(slog.DiscardHandler)),
	})
	if err != nil {
		return err
	}
	defer c.Close()
	if _, err := c.CheckHealth(ctx, &client.CheckHealthRequest{}); err != nil {
		return err
	}
	if _, err := c.WorkflowService().DescribeNamespace(ctx, &workflowservice.DescribeNamespaceRequest{Namespace: t.namespace}); err != nil {
		return fmt.Errorf("namespace %q: %w", t.namespace, err)
	}
	return httpOK(ctx, t.uiURL+"/")
}

func httpOK(ctx context.Context, url string) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return err
	}
	// No keep-alive: a poll must not leave idle connections behind.
	hc := &http.Client{Transport: &http.Transport{DisableKeepAlives: true}}
	resp, err := hc.Do(req)
	if err != nil {
		return err
	}
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 1<<20))
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("GET %s: %s", url, resp.Status)
	}
	return nil
}

func portOrFree(port int) (int, error) {
	if port != 0 {
		return port, nil
	}
	return FreePort()
}
