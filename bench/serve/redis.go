package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"github.com/granaryml/granary/bench/internal/harness"
	"os"
	"strconv"
	"sync"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/granaryml/granary/internal/tabular"
)

type redisLoaded struct {
	Entities        int     `json:"entities"`
	Features        int     `json:"features"`
	LoadSeconds     float64 `json:"load_s"`
	Keys            int64   `json:"keys"`
	UsedMemoryEmpty int64   `json:"used_memory_empty"`
	UsedMemory      int64   `json:"used_memory"`
	UsedMemoryRSS   int64   `json:"used_memory_rss"`
	RSSEmptyKiB     int64   `json:"rss_empty_kib"`
	RSSKiB          int64   `json:"rss_kib"`
	PID             int     `json:"pid"`
	Version         string  `json:"redis_version"`
	Encoding        string  `json:"hash_encoding"`
}

// runRedisLoad writes gen's values (regenerated from DIR/bench.json's
// parameters, not read from the lake, so the cross-check compares two
// independent paths) into Redis: one hash per entity, key
// bench_view:<user_id>, one field per non-null feature in its text form
// (floats as strconv 'g' -1, which reads back bit for bit), plus
// _ts:bench_view (as_of, unix seconds) as Feast keeps it. Nulls are
// absent fields.
func runRedisLoad(args []string) error {
	fs := flag.NewFlagSet("redis-load", flag.ExitOnError)
	dir := fs.String("dir", "", "directory written by gen")
	addr := fs.String("addr", "127.0.0.1:6379", "Redis address")
	workers := fs.Int("workers", 4, "concurrent pipelines")
	chunk := fs.Int("chunk", 500, "HSETs per pipeline")
	fs.Parse(args)
	m, err := readMeta(*dir)
	if err != nil {
		return err
	}
	ctx := context.Background()
	rdb := newRedisClient(*addr, *workers)
	defer rdb.Close()
	if err := rdb.FlushDB(ctx).Err(); err != nil {
		return err
	}
	var out redisLoaded
	out.Entities, out.Features = m.Entities, m.Features
	info, err := rdb.InfoMap(ctx, "server", "memory").Result()
	if err != nil {
		return err
	}
	out.PID, _ = strconv.Atoi(info["Server"]["process_id"])
	out.Version = info["Server"]["redis_version"]
	out.UsedMemoryEmpty, _ = strconv.ParseInt(info["Memory"]["used_memory"], 10, 64)
	out.RSSEmptyKiB = harness.StatusKiB(strconv.Itoa(out.PID), "VmRSS")

	b, cols := generate(m.params)
	start := time.Now()
	ts := strconv.FormatInt(m.AsOf/1_000_000, 10)
	var wg sync.WaitGroup
	errs := make([]error, *workers)
	per := (m.Entities + *workers - 1) / *workers
	for w := range *workers {
		lo, hi := w*per, min((w+1)*per, m.Entities)
		wg.Go(func() { errs[w] = loadRange(ctx, rdb, b, cols, ts, lo, hi, *chunk) })
	}
	wg.Wait()
	for _, err := range errs {
		if err != nil {
			return err
		}
	}
	out.LoadSeconds = time.Since(start).Seconds()
	if out.Keys, err = rdb.DBSize(ctx).Result(); err != nil {
		return err
	}
	if out.Keys != int64(m.Entities) {
		return fmt.Errorf("redis holds %d keys after loading %d entities", out.Keys, m.Entities)
	}
	out.Encoding, _ = rdb.ObjectEncoding(ctx, string(redisKey(nil, 1))).Result()
	info, err = rdb.InfoMap(ctx, "memory").Result()
	if err != nil {
		return err
	}
	out.UsedMemory, _ = strconv.ParseInt(info["Memory"]["used_memory"], 10, 64)
	out.UsedMemoryRSS, _ = strconv.ParseInt(info["Memory"]["used_memory_rss"], 10, 64)
	out.RSSKiB = harness.StatusKiB(strconv.Itoa(out.PID), "VmRSS")
	fmt.Fprintf(os.Stderr, "serve redis-load: %d hashes in %.1fs, used_memory %.1f MB (%.0f bytes/entity), %s encoding\n",
		out.Keys, out.LoadSeconds, float64(out.UsedMemory)/1e6, float64(out.UsedMemory-out.UsedMemoryEmpty)/float64(m.Entities), out.Encoding)
	return json.NewEncoder(os.Stdout).Encode(out)
}

func loadRange(ctx context.Context, rdb *redis.Client, b *tabular.Batch, cols []tabular.Column, ts string, lo, hi, chunk int) error {
	args := make([]any, 0, 2*len(cols)+2)
	var key []byte
	for start := lo; start < hi; start += chunk {
		pipe := rdb.Pipeline()
		for i := start; i < min(start+chunk, hi); i++ {
			args = args[:0]
			for j, c := range cols {
				v := &b.Vectors[1+j]
				if v.IsNull(i) {
					continue
				}
				var s string
				switch c.Type {
				case tabular.Float64:
					s = strconv.FormatFloat(v.Floats[i], 'g', -1, 64)
				case tabular.Int64:
					s = strconv.FormatInt(v.Ints[i], 10)
				case tabular.String:
					s = string(v.StringBytes(i))
				}
				args = append(args, c.Name, s)
			}
			args = append(args, redisTS, ts)
			key = redisKey(key[:0], b.Vectors[0].Ints[i])
			pipe.HSet(ctx, string(key), args...)
		}
		if _, err := pipe.Exec(ctx); err != nil {
			return err
		}
	}
	return nil
}
