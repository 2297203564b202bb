package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"github.com/granaryml/granary/bench/internal/harness"
	"log/slog"
	"net"
	"net/http"
	"net/http/pprof"
	"os"
	"os/signal"
	"runtime"
	"runtime/debug"
	"syscall"
	"time"

	"github.com/granaryml/granary/internal/lake"
	"github.com/granaryml/granary/internal/objstore/filestore"
	"github.com/granaryml/granary/internal/serving"
)

// serverLoaded is the JSON line the server prints once it accepts
// requests.
type serverLoaded struct {
	Event          string  `json:"event"`
	Addr           string  `json:"addr"`
	PID            int     `json:"pid"`
	LoadSeconds    float64 `json:"load_s"` // the first Refresh: read + check every shard
	Entities       int     `json:"entities"`
	Features       int     `json:"features"`
	Shards         int     `json:"shards"`
	IndexBytes     int64   `json:"index_bytes"`
	RSSBeforeKiB   int64   `json:"rss_before_kib"` // VmRSS before the lake is opened
	RSSAfterKiB    int64   `json:"rss_after_kib"`  // VmRSS right after the first Refresh
	HeapInuseAfter uint64  `json:"heap_inuse_after"`
	HeapAllocAfter uint64  `json:"heap_alloc_after"`
	GOMAXPROCS     int     `json:"gomaxprocs"`
}

// serverStopped is printed on SIGTERM/SIGINT.
type serverStopped struct {
	Event      string  `json:"event"`
	RSSKiB     int64   `json:"rss_kib"`
	HWMKiB     int64   `json:"hwm_kib"`
	HeapInuse  uint64  `json:"heap_inuse"`
	NumGC      uint32  `json:"num_gc"`
	CPUSeconds float64 `json:"cpu_s"`
}

// runServer serves granary's API over DIR's lake as `granary serve` does
// (same http.Server settings, Run polling the refs), after timing the
// first Refresh.
func runServer(args []string) error {
	fs := flag.NewFlagSet("server", flag.ExitOnError)
	dir := fs.String("dir", "", "directory written by gen")
	addr := fs.String("addr", "127.0.0.1:0", "listen address")
	token := fs.String("token", "", "bearer token")
	pprofAddr := fs.String("pprof", "", "serve net/http/pprof on this address (e.g. 127.0.0.1:6060)")
	fs.Parse(args)
	if *dir == "" || *token == "" {
		return fmt.Errorf("need -dir and -token")
	}
	if os.Getenv("GOGC") == "" {
		debug.SetGCPercent(serving.GCPercent) // as granary serve does
	}
	rssBefore := harness.StatusKiB("self", "VmRSS")
	m, err := readMeta(*dir)
	if err != nil {
		return err
	}
	store, err := filestore.New(lakeDir(*dir))
	if err != nil {
		return err
	}
	l := lake.New(store)
	log := slog.New(slog.NewTextHandler(os.Stderr, nil)).With("component", "serve")
	srv, err := serving.New(serving.Options{Lake: l, Tokens: []string{*token}, Logger: log})
	if err != nil {
		return err
	}
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, syscall.SIGINT)
	defer stop()

	start := time.Now()
	res, err := srv.Refresh(ctx)
	loadS := time.Since(start).Seconds()
	if err != nil {
		return err
	}
	if len(res.Errors) > 0 || res.Views != 1 {
		return fmt.Errorf("refresh: %d views, errors %v", res.Views, res.Errors)
	}
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	rssAfter := harness.StatusKiB("self", "VmRSS")

	ln, err := net.Listen("tcp", *addr)
	if err != nil {
		return err
	}
	hs := &http.Server{Handler: srv.Handler(), ReadHeaderTimeout: 10 * time.Second, ReadTimeout: 30 * time.Second, IdleTimeout: 2 * time.Minute}
	go srv.Run(ctx) // polls the refs every 5 s, as granary serve does
	errc := make(chan error, 1)
	go func() { errc <- hs.Serve(ln) }()
	if *pprofAddr != "" {
		mux := http.NewServeMux()
		mux.HandleFunc("/debug/pprof/", pprof.Index)
		mux.HandleFunc("/debug/pprof/profile", pprof.Profile)
		mux.HandleFunc("/debug/pprof/symbol", pprof.Symbol)
		go func() { log.Error("pprof", "err", http.ListenAndServe(*pprofAddr, mux)) }()
	}
	out := json.NewEncoder(os.Stdout)
	out.Encode(serverLoaded{Event: "loaded", Addr: ln.Addr().String(), PID: os.Getpid(), LoadSeconds: loadS,
		Entities: m.Entities, Features: m.Features, Shards: m.Shards, IndexBytes: m.IndexBytes,
		RSSBeforeKiB: rssBefore, RSSAfterKiB: rssAfter, HeapInuseAfter: ms.HeapInuse, HeapAllocAfter: ms.HeapAlloc, GOMAXPROCS: runtime.GOMAXPROCS(0)})

	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
	}
	runtime.ReadMemStats(&ms)
	out.Encode(serverStopped{Event: "stopped", RSSKiB: harness.StatusKiB("self", "VmRSS"), HWMKiB: harness.StatusKiB("self", "VmHWM"),
		HeapInuse: ms.HeapInuse, NumGC: ms.NumGC, CPUSeconds: selfCPUSeconds()})
	shut, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	return hs.Shutdown(shut)
}
