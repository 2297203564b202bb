package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"runtime/debug"
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
   GET  /healthz, /readyz (no token needed)
   GET  /metrics (Prometheus; see --metrics-auth)
Every response names the version it came from (body and X-Granary-Version).
Indexes are reloaded when an alias moves (polled every --poll, or pushed)
and swapped atomically: no request fails or mixes two versions.

Requests need "Authorization: Bearer TOKEN"; tokens come from
GRANARY_SERVE_TOKENS (comma separated) and/or --tokens-file (one per line),
each written NAME:TOKEN (or a bare TOKEN, named token#<hash prefix>). The
name is recorded as the actor of actions made with the token (reloads).
A token has at least 32 characters (openssl rand -hex 32 makes one); the
tokens file must be readable by its owner only (chmod 600).

/metrics names every view, alias and version served: with --metrics-auth
auto (the default) it needs a token unless --addr is a loopback address.

Examples:
   GRANARY_SERVE_TOKENS=web:$(openssl rand -hex 32) granary serve
   granary serve --addr 0.0.0.0:8090 --tokens-file /etc/granary/tokens --poll 2s
   curl -H "Authorization: Bearer $WEB_TOKEN" 'http://127.0.0.1:8090/v1/features/user_orders?user_id=42'`,
		Flags: []ucli.Flag{
			&ucli.StringFlag{Name: "addr", Value: DefaultServeAddr, Usage: "listen on `HOST:PORT`", EnvVars: []string{"GRANARY_SERVE_ADDR"}},
			&ucli.StringFlag{Name: "tokens-file", Usage: "read bearer tokens from `FILE`, one per line (# comments)", EnvVars: []string{"GRANARY_SERVE_TOKENS_FILE"}},
			&ucli.BoolFlag{Name: "no-auth", Usage: "accept requests without a token (local development only)"},
			&ucli.DurationFlag{Name: "poll", Value: 5 * time.Second, Usage: "re-read aliases every `DURATION`"},
			&ucli.IntFlag{Name: "max-batch", Value: 1000, Usage: "at most `N` entities per batch request"},
			&ucli.StringFlag{Name: "metrics-auth", Value: metricsAuthAuto, Usage: "`MODE` of GET /metrics: token, none, or auto (none when --addr is loopback, token otherwise)"},
			&ucli.DurationFlag{Name: "write-timeout", Value: defaultWriteTimeout, Usage: "drop a response not written within `DURATION` of its request (a client that stops reading)"},
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
			switch c.String("metrics-auth") {
			case metricsAuthAuto, metricsAuthToken, metricsAuthNone:
			default:
				return usagef("--metrics-auth %q: want auto, token or none", c.String("metrics-auth"))
			}
			if c.Duration("write-timeout") <= 0 {
				return usagef("--write-timeout must be positive")
			}
			store, err := openLake(c.Context, c)
			if err != nil {
				return err
			}
			return runServe(c.Context, serveConfig{
				Addr: c.String("addr"), Lake: lake.New(store), Tokens: tokens, NoAuth: c.Bool("no-auth"),
				Poll: c.Duration("poll"), MaxBatch: c.Int("max-batch"), Log: c.App.ErrWriter,
				MetricsAuth: c.String("metrics-auth"), WriteTimeout: c.Duration("write-timeout"),
			}, nil)
		},
	}
}

// serveTokens gathers tokens from the environment's comma-separated list
// and a file of one token per line, refusing short tokens and a tokens
// file others can read.
func serveTokens(env, file string) ([]string, error) {
	tokens, err := serving.TokensFromList("GRANARY_SERVE_TOKENS", env)
	if err != nil {
		return nil, err
	}
	if file == "" {
		return tokens, nil
	}
	more, err := serving.ReadTokensFile(file)
	if err != nil {
		return nil, fmt.Errorf("--tokens-file: %w", err)
	}
	return append(tokens, more...), nil
}

// Modes of --metrics-auth.
const (
	metricsAuthAuto  = "auto"
	metricsAuthToken = "token"
	metricsAuthNone  = "none"
)

// defaultWriteTimeout bounds how long a response may take to be written
// (from the end of its request's headers), so a client that stops
// reading cannot hold a connection and its buffers forever. A full batch
// answer (1000 entities, a few MB with wide rows) needs well under a
// second on any network a feature service runs on; two minutes leaves room
// for a slow link and for a pinned version's first load.
const defaultWriteTimeout = 2 * time.Minute

type serveConfig struct {
	Addr     string
	Lake     *lake.Lake
	Tokens   []string
	NoAuth   bool
	Poll     time.Duration
	MaxBatch int
	Log      io.Writer
	// MetricsAuth is a --metrics-auth mode; "" is auto.
	MetricsAuth string
	// WriteTimeout is http.Server's; 0 is defaultWriteTimeout.
	WriteTimeout time.Duration
}

// publicMetrics resolves --metrics-auth for a listener: auto opens
// /metrics only when no other machine can reach it.
func publicMetrics(mode string, addr net.Addr) bool {
	switch mode {
	case metricsAuthNone:
		return true
	case metricsAuthToken:
		return false
	}
	tcp, ok := addr.(*net.TCPAddr)
	return ok && tcp.IP.IsLoopback()
}

// runServe serves until ctx ends, then stops accepting, lets in-flight
// requests finish (up to 10 s) and returns. ready, if not nil, receives
// the listening address once requests are accepted.
func runServe(ctx context.Context, cfg serveConfig, ready chan<- string) error {
	log := slog.New(slog.NewTextHandler(cfg.Log, nil)).With("component", "serve")
	ln, err := net.Listen("tcp", cfg.Addr)
	if err != nil {
		return fmt.Errorf("serve: %w", err)
	}
	public := publicMetrics(cfg.MetricsAuth, ln.Addr())
	srv, err := serving.New(serving.Options{Lake: cfg.Lake, Tokens: cfg.Tokens, AllowNoAuth: cfg.NoAuth, PublicMetrics: public, Poll: cfg.Poll, MaxBatch: cfg.MaxBatch, Logger: log})
	if err != nil {
		ln.Close()
		return err
	}
	writeTimeout := cfg.WriteTimeout
	if writeTimeout <= 0 {
		writeTimeout = defaultWriteTimeout
	}
	hs := &http.Server{Handler: srv.Handler(), ReadHeaderTimeout: 10 * time.Second, ReadTimeout: 30 * time.Second, WriteTimeout: writeTimeout, IdleTimeout: 2 * time.Minute}
	runCtx, stopRun := context.WithCancel(ctx)
	defer stopRun()
	go srv.Run(runCtx)
	if cfg.NoAuth {
		log.Warn("serving WITHOUT authentication (--no-auth)")
	}
	log.Info("serving", "addr", "http://"+ln.Addr().String(), "tokens", len(cfg.Tokens), "public_metrics", public)
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
