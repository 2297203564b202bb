package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"runtime"
	"slices"
	"sync"
	"sync/atomic"
	"time"
)

// loadResult is what one load run prints (one cell of the matrix).
type loadResult struct {
	Target    string  `json:"target"`
	Mode      string  `json:"mode"`
	Batch     int     `json:"batch"`
	Conc      int     `json:"conc"`
	RedisCmd  string  `json:"redis_cmd,omitempty"`
	Rate      float64 `json:"rate,omitempty"`        // open loop: requests/s asked for
	Late      int64   `json:"late_starts,omitempty"` // open loop: sent over 1 ms after due
	Decode    bool    `json:"decode"`
	Requests  int     `json:"requests"` // measured (after warm-up)
	Warmup    int     `json:"warmup"`
	Lookups   int64   `json:"lookups"` // entities asked for
	Misses    int64   `json:"misses"`  // of which not found
	Errors    int64   `json:"errors"`
	FirstErr  string  `json:"first_error,omitempty"`
	StoppedBy string  `json:"stopped_by"` // "count" or "time"
	Seconds   float64 `json:"seconds"`
	RPS       float64 `json:"rps"`
	EPS       float64 `json:"entities_per_s"`
	P50us     float64 `json:"p50_us"`
	P90us     float64 `json:"p90_us"`
	P99us     float64 `json:"p99_us"`
	P999us    float64 `json:"p999_us"`
	MaxUs     float64 `json:"max_us"`
	MeanUs    float64 `json:"mean_us"`
	// CPU during the measured phase: this process, the server process,
	// and the rest of the machine as a share of all its cores.
	ClientCPUs   float64 `json:"client_cpu_s"`
	ServerCPUs   float64 `json:"server_cpu_s"`
	ForeignPct   float64 `json:"foreign_cpu_pct"`
	LoadBefore   string  `json:"load_before"`
	LoadAfter    string  `json:"load_after"`
	ClientGC     uint32  `json:"client_gc"`
	ClientProcs  int     `json:"client_gomaxprocs"`
	MissFraction float64 `json:"miss_fraction"`
}

// runLoad drives one closed loop: conc workers, each sending its next
// request as soon as the previous answer is decoded, uniformly random
// user ids (a miss fraction of them absent), until -requests are
// measured or -duration passes. A warm-up (not measured) opens the
// connections first. Every latency is kept and sorted.
func runLoad(args []string) error {
	fs := flag.NewFlagSet("load", flag.ExitOnError)
	dir := fs.String("dir", "", "directory written by gen")
	target := fs.String("target", "granary", "granary or redis")
	addr := fs.String("addr", "", "granary: http://host:port; redis: host:port")
	token := fs.String("token", "", "granary bearer token")
	mode := fs.String("mode", "single", "single or batchN (batch100: 100 entities per request)")
	conc := fs.Int("conc", 1, "concurrent workers (closed loop)")
	requests := fs.Int("requests", 10000, "requests to measure")
	duration := fs.Duration("duration", 20*time.Second, "measure at most this long")
	warmup := fs.Int("warmup", 1000, "requests before measuring")
	miss := fs.Float64("miss", 0.01, "fraction of ids that do not exist")
	seed := fs.Uint64("seed", 7, "random seed for the ids")
	serverPID := fs.Int("server-pid", 0, "server process, for its CPU time")
	rate := fs.Float64("rate", 0, "open loop: send this many requests/s in total on a fixed schedule (0: closed loop), at most -conc at once; late_starts counts requests sent over 1 ms after due")
	redisCmd := fs.String("redis-cmd", "hmget", "hmget (Feast's command) or hgetall")
	decode := fs.Bool("decode", true, "decode answers into typed values (false: read them, check the status, no parsing beyond what go-redis does)")
	fs.Parse(args)
	m, err := readMeta(*dir)
	if err != nil {
		return err
	}
	batch := 1
	if *mode != "single" {
		if _, err := fmt.Sscanf(*mode, "batch%d", &batch); err != nil || batch < 1 {
			return fmt.Errorf("-mode %q: single or batchN", *mode)
		}
	}
	var newFetcher func() (fetcher, error)
	switch *target {
	case "granary":
		c := newGranaryClient(*addr, *token, m.Columns, *conc)
		c.noDecode = !*decode
		newFetcher = func() (fetcher, error) { return c.fetcher(), nil }
	case "redis":
		rdb := newRedisClient(*addr, *conc)
		defer rdb.Close()
		newFetcher = func() (fetcher, error) {
			f, err := newRedisFetcher(rdb, m.Columns, *redisCmd)
			if f != nil {
				f.noDecode = !*decode
			}
			return f, err
		}
	default:
		return fmt.Errorf("-target %q: granary or redis", *target)
	}
	fetchers := make([]fetcher, *conc)
	for i := range fetchers {
		if fetchers[i], err = newFetcher(); err != nil {
			return err
		}
	}
	res := loadResult{Target: *target, Mode: *mode, Batch: batch, Conc: *conc, Warmup: *warmup, Decode: *decode, Rate: *rate, MissFraction: *miss, ClientProcs: runtime.GOMAXPROCS(0)}
	if *target == "redis" {
		res.RedisCmd = *redisCmd
	}
	ctx := context.Background()
	ph := phase{fetchers: fetchers, batch: batch, entities: int64(m.Entities), miss: *miss, seed: *seed}
	ph.run(ctx, *warmup, time.Now().Add(*duration), false)
	if ph.errors.Load() > 0 {
		return fmt.Errorf("warm-up: %d errors, first: %v", ph.errors.Load(), ph.firstErr)
	}

	ph.seed++
	var ms0, ms1 runtime.MemStats
	runtime.ReadMemStats(&ms0)
	res.LoadBefore = loadAvg()
	busy0, self0, srv0 := machineBusySeconds(), selfCPUSeconds(), procCPUSeconds(*serverPID)
	t0 := time.Now()
	ph.rate = *rate
	lat := ph.run(ctx, *requests, t0.Add(*duration), true)
	wall := time.Since(t0).Seconds()
	busy1, self1, srv1 := machineBusySeconds(), selfCPUSeconds(), procCPUSeconds(*serverPID)
	res.LoadAfter = loadAvg()
	runtime.ReadMemStats(&ms1)
	res.ClientGC = ms1.NumGC - ms0.NumGC
	res.ClientCPUs, res.ServerCPUs = self1-self0, srv1-srv0
	if *serverPID == 0 {
		res.ServerCPUs = 0
	}
	res.ForeignPct = math.Max(0, (busy1-busy0-res.ClientCPUs-res.ServerCPUs)/(wall*float64(runtime.NumCPU()))*100)

	res.Requests = len(lat)
	res.StoppedBy = "count"
	if len(lat) < *requests {
		res.StoppedBy = "time"
	}
	res.Lookups, res.Misses, res.Errors, res.Late = ph.lookups.Load(), ph.misses.Load(), ph.errors.Load(), ph.late.Load()
	if ph.firstErr != nil {
		res.FirstErr = ph.firstErr.Error()
	}
	res.Seconds = wall
	res.RPS = float64(len(lat)) / wall
	res.EPS = float64(res.Lookups) / wall
	if len(lat) > 0 {
		slices.Sort(lat)
		us := func(d time.Duration) float64 { return float64(d.Nanoseconds()) / 1e3 }
		q := func(p float64) float64 { return us(lat[max(0, int(math.Ceil(p*float64(len(lat))))-1)]) }
		res.P50us, res.P90us, res.P99us, res.P999us, res.MaxUs = q(0.5), q(0.9), q(0.99), q(0.999), us(lat[len(lat)-1])
		var sum time.Duration
		for _, d := range lat {
			sum += d
		}
		res.MeanUs = us(sum) / float64(len(lat))
	}
	if err := json.NewEncoder(os.Stdout).Encode(res); err != nil {
		return err
	}
	if res.Errors > 0 {
		return fmt.Errorf("%d errors, first: %s", res.Errors, res.FirstErr)
	}
	return nil
}

// phase is one closed loop over the fetchers.
type phase struct {
	fetchers []fetcher
	batch    int
	entities int64
	miss     float64
	seed     uint64
	rate     float64 // > 0: request k is due at start + k/rate

	lookups, misses, errors atomic.Int64
	late                    atomic.Int64 // open loop: sent over 1 ms after due
	errOnce                 sync.Once
	firstErr                error
}

// run sends up to n requests in total, stopping at deadline, and returns
// the latencies when record is set.
func (ph *phase) run(ctx context.Context, n int, deadline time.Time, record bool) []time.Duration {
	var next atomic.Int64
	start := time.Now()
	lats := make([][]time.Duration, len(ph.fetchers))
	var wg sync.WaitGroup
	for w, f := range ph.fetchers {
		wg.Go(func() {
			rng := rand.New(rand.NewPCG(ph.seed, uint64(w)))
			ids := make([]int64, ph.batch)
			out := make([]entity, ph.batch)
			var lat []time.Duration
			if record {
				lat = make([]time.Duration, 0, n/len(ph.fetchers)+16)
			}
			for {
				k := next.Add(1)
				if k > int64(n) {
					break
				}
				var due time.Time
				if ph.rate > 0 {
					due = start.Add(time.Duration(float64(k-1) / ph.rate * 1e9))
					if due.After(deadline) {
						break
					}
					time.Sleep(time.Until(due))
				}
				for i := range ids {
					if rng.Float64() < ph.miss {
						ids[i] = ph.entities + 1 + rng.Int64N(ph.entities)
					} else {
						ids[i] = 1 + rng.Int64N(ph.entities)
					}
				}
				t := time.Now()
				if t.After(deadline) {
					break
				}
				if ph.rate > 0 && t.Sub(due) > time.Millisecond {
					// Every worker busy: the schedule slips. (Latency
					// counts from the send, not from due: Go timers fire
					// up to ~1 ms late, which is not the server's doing.)
					ph.late.Add(1)
				}
				err := f.fetch(ctx, ids, out)
				d := time.Since(t)
				if err != nil {
					ph.errors.Add(1)
					ph.errOnce.Do(func() { ph.firstErr = err })
					continue
				}
				if record {
					lat = append(lat, d)
					var missed int64
					for i := range out {
						if !out[i].found {
							missed++
						}
					}
					ph.lookups.Add(int64(len(ids)))
					ph.misses.Add(missed)
				}
			}
			lats[w] = lat
		})
	}
	wg.Wait()
	var all []time.Duration
	for _, l := range lats {
		all = append(all, l...)
	}
	return all
}
