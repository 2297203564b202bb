package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"time"

	"github.com/granaryml/granary/internal/lake"
	"github.com/granaryml/granary/internal/objstore/filestore"
	"github.com/granaryml/granary/internal/online"
	"github.com/granaryml/granary/internal/serving/servingtest"
	"github.com/granaryml/granary/internal/tabular"
)

// runGen writes a file lake under DIR/lake holding one serving index
// version of view bench_view (alias latest), and DIR/bench.json. When
// DIR/bench.json already names the same parameters it does nothing.
func runGen(args []string) error {
	fs := flag.NewFlagSet("gen", flag.ExitOnError)
	dir := fs.String("dir", "", "output directory (lake in DIR/lake)")
	var p params
	fs.IntVar(&p.Entities, "entities", 1_000_000, "entities (user_id 1..N)")
	fs.IntVar(&p.Features, "features", 20, "feature columns")
	fs.Uint64Var(&p.Seed, "seed", 1, "random seed")
	fs.IntVar(&p.Shards, "shards", 8, "index shards")
	fs.Parse(args)
	if *dir == "" || p.Entities <= 0 || p.Features <= 0 || p.Shards <= 0 {
		return fmt.Errorf("need -dir and positive -entities, -features, -shards")
	}
	if m, err := readMeta(*dir); err == nil && m.params == p && m.Format == online.FormatVersion {
		fmt.Fprintf(os.Stderr, "serve gen: %s already holds %d entities x %d features (seed %d, %d shards), version %s\n", *dir, p.Entities, p.Features, p.Seed, p.Shards, lake.ShortID(m.Version))
		return nil
	}
	// Different or no parameters: start from an empty directory.
	if err := os.RemoveAll(*dir); err != nil {
		return err
	}
	if err := os.MkdirAll(lakeDir(*dir), 0o755); err != nil {
		return err
	}
	start := time.Now()
	b, cols := generate(p)
	genS := time.Since(start).Seconds()
	store, err := filestore.New(lakeDir(*dir))
	if err != nil {
		return err
	}
	l := lake.New(store)
	ctx := context.Background()
	keys := []tabular.Column{{Name: keyName, Type: tabular.Int64}}
	id, err := servingtest.Commit(ctx, l, servingtest.Index{View: viewName, ViewVersion: "bench", AsOf: asOfMicros, Shards: p.Shards, Keys: keys, Columns: cols, Batch: b}, "latest")
	if err != nil {
		return err
	}
	man, err := l.GetManifest(ctx, lake.KindIndex, viewName, id)
	if err != nil {
		return err
	}
	m := meta{params: p, View: viewName, Version: id, AsOf: asOfMicros, Columns: cols, GenSeconds: time.Since(start).Seconds(), Format: online.FormatVersion}
	for _, f := range man.Files {
		m.IndexBytes += f.Bytes
	}
	mb, _ := json.MarshalIndent(m, "", "  ")
	if err := os.WriteFile(metaPath(*dir), append(mb, '\n'), 0o644); err != nil {
		return err
	}
	fmt.Fprintf(os.Stderr, "serve gen: %d entities x %d features in %.1fs (values %.1fs, index write %.1fs): version %s, %d shards, %.1f MB (%.0f bytes/entity)\n",
		p.Entities, p.Features, m.GenSeconds, genS, m.GenSeconds-genS, lake.ShortID(id), p.Shards, float64(m.IndexBytes)/1e6, float64(m.IndexBytes)/float64(p.Entities))
	return nil
}
