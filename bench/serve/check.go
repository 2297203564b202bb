package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"math/rand/v2"
	"os"
	"strings"
)

type checkResult struct {
	Sample     int      `json:"sample"`
	Found      int      `json:"found"`
	Missing    int      `json:"missing"`
	Nulls      int      `json:"nulls"`
	Values     int      `json:"values_compared"`
	Mismatches int      `json:"mismatches"`
	Examples   []string `json:"examples,omitempty"`
	Match      bool     `json:"match"`
}

// runCheck looks up a sample of ids (existing and absent) in granary and
// in Redis, one at a time and in batches of 100, through the same
// fetchers the load runs use, and compares every value: floats bit for
// bit, nulls, strings, the as_of time, found or not. Any difference is
// an error (exit 1).
func runCheck(args []string) error {
	fs := flag.NewFlagSet("check", flag.ExitOnError)
	dir := fs.String("dir", "", "directory written by gen")
	gaddr := fs.String("granary", "", "granary base URL")
	token := fs.String("token", "", "granary bearer token")
	raddr := fs.String("redis", "", "Redis address")
	n := fs.Int("n", 1000, "ids to compare")
	seed := fs.Uint64("seed", 99, "random seed for the ids")
	fs.Parse(args)
	if *n < 10 {
		return fmt.Errorf("-n: at least 10")
	}
	m, err := readMeta(*dir)
	if err != nil {
		return err
	}
	ctx := context.Background()
	g := newGranaryClient(*gaddr, *token, m.Columns, 1).fetcher()
	rdb := newRedisClient(*raddr, 1)
	defer rdb.Close()
	fetchers := map[string]fetcher{"granary": g}
	for _, cmd := range []string{"hmget", "hgetall"} {
		f, _ := newRedisFetcher(rdb, m.Columns, cmd)
		fetchers["redis-"+cmd] = f
	}
	rng := rand.New(rand.NewPCG(*seed, 1))
	ids := make([]int64, *n)
	for i := range ids {
		switch {
		case i < 3: // the edges
			ids[i] = []int64{1, int64(m.Entities), int64(m.Entities) + 1}[i]
		case rng.IntN(50) == 0:
			ids[i] = int64(m.Entities) + 1 + rng.Int64N(int64(m.Entities))
		default:
			ids[i] = 1 + rng.Int64N(int64(m.Entities))
		}
	}
	res := checkResult{Sample: len(ids)}
	got := map[string][]entity{}
	// One at a time, then the same ids in batches of 100.
	for name, f := range fetchers {
		single := make([]entity, len(ids))
		for i, id := range ids {
			if err := f.fetch(ctx, []int64{id}, single[i:i+1]); err != nil {
				return fmt.Errorf("%s: %v", name, err)
			}
		}
		got[name+"/single"] = single
		batched := make([]entity, len(ids))
		for lo := 0; lo < len(ids); {
			hi := min(lo+100, len(ids))
			if len(ids)-hi == 1 {
				hi = len(ids) // a batch of 1 would take the single path
			}
			if err := f.fetch(ctx, ids[lo:hi], batched[lo:hi]); err != nil {
				return fmt.Errorf("%s batch: %v", name, err)
			}
			lo = hi
		}
		got[name+"/batch"] = batched
	}
	ref := got["granary/single"]
	for i, id := range ids {
		e := ref[i]
		if e.found {
			res.Found++
			for _, v := range e.vals {
				if v.kind == 0 {
					res.Nulls++
				}
			}
		} else {
			res.Missing++
		}
		if want := id <= int64(m.Entities); e.found != want {
			res.Mismatches++
			res.Examples = append(res.Examples, fmt.Sprintf("id %d: granary found=%v", id, e.found))
		}
		if e.found && e.asOf != m.AsOf/1_000_000 {
			res.Mismatches++
			res.Examples = append(res.Examples, fmt.Sprintf("id %d: granary as_of %d, want %d", id, e.asOf, m.AsOf/1_000_000))
		}
		for name, es := range got {
			if name == "granary/single" {
				continue
			}
			o := es[i]
			if o.found != e.found || o.asOf != e.asOf {
				res.Mismatches++
				res.Examples = append(res.Examples, fmt.Sprintf("id %d: %s found=%v as_of=%d, granary found=%v as_of=%d", id, name, o.found, o.asOf, e.found, e.asOf))
				continue
			}
			for j := range e.vals {
				res.Values++
				if !o.vals[j].equal(e.vals[j]) {
					res.Mismatches++
					if len(res.Examples) < 20 {
						res.Examples = append(res.Examples, fmt.Sprintf("id %d %s: %s gives %v, granary %v", id, m.Columns[j].Name, name, o.vals[j], e.vals[j]))
					}
				}
			}
		}
	}
	res.Match = res.Mismatches == 0 && res.Found > 0 && res.Missing > 0
	json.NewEncoder(os.Stdout).Encode(res)
	if !res.Match {
		return fmt.Errorf("granary and Redis disagree: %d mismatches (%d found, %d missing): %s", res.Mismatches, res.Found, res.Missing, strings.Join(res.Examples, "; "))
	}
	fmt.Fprintf(os.Stderr, "serve check: match: %d ids (%d found, %d absent), %d values (%d nulls) identical in granary (single, batch) and Redis (HMGET, HGETALL; single, pipelined)\n",
		res.Sample, res.Found, res.Missing, res.Values, res.Nulls)
	return nil
}
