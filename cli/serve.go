package cli

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"runtime/debug"
	"strings"
	"time"

	ucli "github.com/urfave/cli/v2"

	"github.com/granaryml/granary/internal/lake"
	"github.com/granaryml/granary/internal/serving"
)

// DefaultServeAddr is where granary serve listens unless --addr says.
const DefaultServeAddr = "127.0.0.1:8090"

func serveCommand() *ucli.Command {
	return &ucli.Command{
		Name:  "serve",
		Usage: "serve features and model aliases over HTTP to web services",
		Description: `Loads every materialized serving index (granary materialize) and model
alias from the lake and answers:
   GET  /v1/features/{view}?{key}={value}[&version=REF]
   POST /v1/features:batch      {"view": ..., "version": ..., "entities": [{key: value}, ...]}
   GET  /v1/models/{name}/aliases/{alias}
   POST /v1/admin/reload        (refresh now; PromoteModel and Materialize push here)
   GET  /healthz, /readyz, /metrics (Prometheus; no token needed)
Every response names the version it came from (body and X-Granary-Version).
Indexes are reloaded when an alias moves (polled every --poll, or pushed)
and swapped atomically: no request fails or mixes two versions.

Requests need "Authorization: Bearer TOKEN"; tokens come from
GRANARY_SERVE_TOKENS (comma separated) and/or --tokens-file (one per line).

Examples:
   GRANARY_SERVE_TOKENS=s3cret granary serve
   granary serve --addr 0.0.0.0:8090 --tokens-file /etc/granary/tokens --poll 2s
   curl -H 'Authorization: Bearer s3cret' 'http://127.0.0.1:8090/v1/features/user_orders?user_id=42'`,
		Flags: []ucli.Flag{
			&ucli.StringFlag{Name: "addr", Value: DefaultServeAddr, Usage: "listen on `HOST:PORT`", EnvVars: []string{"GRANARY_SERVE_ADDR"}},
			&ucli.StringFlag{Name: "tokens-file", Usage: "read bearer tokens from `FILE`, one per line (# comments)", EnvVars: []string{"GRANARY_SERVE_TOKENS_FILE"}},
			&ucli.BoolFlag{Name: "no-auth", Usage: "accept requests without a token (local development only)"},
			&ucli.DurationFlag{Name: "poll", Value: 5 * time.Second, Usage: "re-read aliases every `DURATION`"},
			&ucli.IntFlag{Name: "max-batch", Value: 1000, Usage: "at most `N` entities per batch request"},
		},
		Action: func(c *ucli.Context) error {
			if os.Getenv("GOGC") == "" {
				// Loaded indexes are most of the heap and hold no pointers,
				// so collecting often is cheap, while the default (collect
				// when the heap doubles) would let the process grow to twice
				// the indexes' size.
				debug.SetGCPercent(serving.GCPercent)
			}
			tokens, err := serveTokens(os.Getenv("GRANARY_SERVE_TOKENS"), c.String("tokens-file"))
			if err != nil {
				return err
			}
			store, err := openLake(c.Context, c)
			if err != nil {
				return err
			}
			return runServe(c.Context, serveConfig{
				Addr: c.String("addr"), Lake: lake.New(store), Tokens: tokens, NoAuth: c.Bool("no-auth"),
				Poll: c.Duration("poll"), MaxBatch: c.Int("max-batch"), Log: c.App.ErrWriter,
			}, nil)
		},
	}
}

// serveTokens gathers tokens from the environment's comma-separated list
// and a file of one token per line.
func serveTokens(env, file string) ([]string, error) {
	var tokens []string
	for _, t := range strings.Split(env, ",") {
		if t = strings.TrimSpace(t); t != "" {
			tokens = append(tokens, t)
		}
	}
	if file == "" {
		return tokens, nil
	}
	f, err := os.Open(file)
	if err != nil {
		return nil, fmt.Errorf("--tokens-file: %w", err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if t := strings.TrimSpace(sc.Text()); t != "" && !strings.HasPrefix(t, "#") {
			tokens = append(tokens, t)
		}
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("--tokens-file %s: %w", file, err)
	}
	return tokens, nil
}

type serveConfig struct {
	Addr     string
	Lake     *lake.Lake
	Tokens   []string
	NoAuth   bool
	Poll     time.Duration
	MaxBatch int
	Log      io.Writer
}

// runServe serves until ctx ends, then stops accepting, lets in-flight
// requests finish (up to 10 s) and returns. ready, if not nil, receives
// the listening address once requests are accepted.
func runServe(ctx context.Context, cfg serveConfig, ready chan<- string) error {
	log := slog.New(slog.NewTextHandler(cfg.Log, nil)).With("component", "serve")
	srv, err := serving.New(serving.Options{Lake: cfg.Lake, Tokens: cfg.Tokens, AllowNoAuth: cfg.NoAuth, Poll: cfg.Poll, MaxBatch: cfg.MaxBatch, Logger: log})
	if err != nil {
		return err
	}
	ln, err := net.Listen("tcp", cfg.Addr)
	if err != nil {
		return fmt.Errorf("serve: %w", err)
	}
	hs := &http.Server{Handler: srv.Handler(), ReadHeaderTimeout: 10 * time.Second, ReadTimeout: 30 * time.Second, IdleTimeout: 2 * time.Minute}
	runCtx, stopRun := context.WithCancel(ctx)
	defer stopRun()
	go srv.Run(runCtx)
	if cfg.NoAuth {
		log.Warn("serving WITHOUT authentication (--no-auth)")
	}
	log.Info("serving", "addr", "http://"+ln.Addr().String(), "tokens", len(cfg.Tokens))
	if ready != nil {
		ready <- ln.Addr().String()
	}
	errc := make(chan error, 1)
	go func() { errc <- hs.Serve(ln) }()
	select {
	case err := <-errc:
		return fmt.Errorf("serve: %w", err)
	case <-ctx.Done():
	}
	shutCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
	defer cancel()
	if err := hs.Shutdown(shutCtx); err != nil && !errors.Is(err, context.DeadlineExceeded) {
		return fmt.Errorf("serve: shutdown: %w", err)
	}
	log.Info("serve stopped")
	return nil
}
