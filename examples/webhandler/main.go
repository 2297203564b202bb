// Command webhandler is an example web service built on granary's serving
// API through package client: GET /recommend?user_id=N fetches the user's
// features and the model the "prod" alias points at, and answers JSON.
// An unknown user or a model without a "prod" alias is not an error: the
// answer falls back to a non-personalized strategy, as it does (marked
// "degraded") when granary cannot be reached.
//
// Run it next to a granary serve:
//
//	GRANARY_SERVE_URL=http://127.0.0.1:8090 GRANARY_SERVE_TOKEN=... \
//	  go run ./examples/webhandler -addr 127.0.0.1:8080
//	curl '127.0.0.1:8080/recommend?user_id=42'
package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"net/http"
	"os"
	"os/signal"
	"strconv"
	"sync"
	"syscall"
	"time"

	"github.com/granaryml/granary/client"
)

func main() {
	addr := flag.String("addr", "127.0.0.1:8080", "address to listen on")
	serveURL := flag.String("serve-url", envOr("GRANARY_SERVE_URL", "http://127.0.0.1:8090"), "granary serving API (env GRANARY_SERVE_URL); the token is read from GRANARY_SERVE_TOKEN")
	view := flag.String("view", "user_orders", "feature view keyed by user_id")
	model := flag.String("model", "churn", "model whose alias is looked up")
	alias := flag.String("alias", "prod", "model alias")
	budget := flag.Duration("budget", 500*time.Millisecond, "time allowed for granary calls per request, retries included")
	flag.Parse()

	log := slog.New(slog.NewTextHandler(os.Stderr, nil))
	c, err := client.New(*serveURL, client.Options{
		Token:   os.Getenv("GRANARY_SERVE_TOKEN"),
		Timeout: 200 * time.Millisecond,
	})
	if err != nil {
		log.Error("granary client", "err", err)
		os.Exit(2)
	}
	h := newHandler(c, config{View: *view, Model: *model, Alias: *alias, Budget: *budget}, log)
	srv := &http.Server{
		Addr:              *addr,
		Handler:           h,
		ReadHeaderTimeout: 5 * time.Second,
		ReadTimeout:       10 * time.Second,
		WriteTimeout:      10 * time.Second,
		IdleTimeout:       60 * time.Second,
	}

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	errc := make(chan error, 1)
	go func() { errc <- srv.ListenAndServe() }()
	log.Info("listening", "addr", *addr, "granary", *serveURL, "view", *view, "model", *model+"@"+*alias)
	select {
	case err := <-errc:
		log.Error("serve", "err", err)
		os.Exit(1)
	case <-ctx.Done():
	}
	shutdownCtx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := srv.Shutdown(shutdownCtx); err != nil {
		log.Error("shutdown", "err", err)
	}
}

func envOr(name, def string) string {
	if v := os.Getenv(name); v != "" {
		return v
	}
	return def
}

// config names what the handler reads from granary.
type config struct {
	View   string
	Model  string
	Alias  string
	Budget time.Duration // for both granary calls of one request
}

// Recommendation is the /recommend answer.
type Recommendation struct {
	UserID int64 `json:"user_id"`
	// Strategy is "personalized" when both the user's features and the
	// model were found, else "popular".
	Strategy string `json:"strategy"`
	// Degraded is set when granary failed (not merely had no data), so
	// the fallback was forced.
	Degraded bool `json:"degraded,omitempty"`
	// Found says whether the view has features for the user.
	Found           bool            `json:"found"`
	FeaturesVersion string          `json:"features_version,omitempty"`
	Features        client.Features `json:"features,omitempty"`
	Model           *ModelInfo      `json:"model"`
}

// ModelInfo is the model version the alias points at.
type ModelInfo struct {
	Name      string             `json:"name"`
	Alias     string             `json:"alias"`
	Version   string             `json:"version"`
	Digest    string             `json:"digest,omitempty"`
	Framework string             `json:"framework,omitempty"`
	Metrics   map[string]float64 `json:"metrics,omitempty"`
}

func newHandler(c *client.Client, cfg config, log *slog.Logger) http.Handler {
	if cfg.Budget <= 0 {
		cfg.Budget = 500 * time.Millisecond
	}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /recommend", func(w http.ResponseWriter, r *http.Request) {
		uid, err := strconv.ParseInt(r.URL.Query().Get("user_id"), 10, 64)
		if err != nil {
			writeJSON(w, http.StatusBadRequest, map[string]string{"error": "user_id must be an integer"})
			return
		}
		ctx, cancel := context.WithTimeout(r.Context(), cfg.Budget)
		defer cancel()

		// The two lookups are independent: run them side by side.
		var (
			wg              sync.WaitGroup
			fv              *client.FeatureVector
			ma              *client.ModelAlias
			fvErr, modelErr error
		)
		wg.Go(func() { fv, fvErr = c.GetFeatures(ctx, cfg.View, client.Key{"user_id": uid}) })
		wg.Go(func() { ma, modelErr = c.ModelAlias(ctx, cfg.Model, cfg.Alias) })
		wg.Wait()

		rec := Recommendation{UserID: uid, Strategy: "popular"}
		switch {
		case fvErr == nil:
			rec.Found, rec.FeaturesVersion, rec.Features = true, fv.Version, fv.Features
		case client.IsNotFound(fvErr):
			// A new user: no features yet.
		default:
			rec.Degraded = true
			log.Warn("features unavailable; falling back", "user_id", uid, "err", fvErr)
		}
		switch {
		case modelErr == nil:
			rec.Model = &ModelInfo{Name: ma.Model, Alias: ma.Alias, Version: ma.Version}
			if a := ma.Artifact; a != nil {
				rec.Model.Digest, rec.Model.Framework, rec.Model.Metrics = a.Digest, a.Framework, a.Metrics
			}
		case client.IsNotFound(modelErr):
			// No model promoted to the alias yet.
		default:
			rec.Degraded = true
			log.Warn("model alias unavailable; falling back", "model", cfg.Model, "alias", cfg.Alias, "err", modelErr)
		}
		if rec.Found && rec.Model != nil {
			rec.Strategy = "personalized"
		}
		if errors.Is(r.Context().Err(), context.Canceled) {
			return // the caller left
		}
		writeJSON(w, http.StatusOK, rec)
	})
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, http.StatusOK, map[string]string{"status": "ok"})
	})
	return mux
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	b, err := json.Marshal(v)
	if err != nil {
		status = http.StatusInternalServerError
		b = fmt.Appendf(nil, `{"error":%q}`, err.Error())
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	w.Write(append(b, '\n'))
}
