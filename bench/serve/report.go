package main

import (
	"bufio"
	"bytes"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"time"
)

type summary struct {
	Date       string         `json:"date"`
	Machine    string         `json:"machine"`
	Pinned     bool           `json:"pinned"` // server on CPU 0, load generator on CPU 1
	Granary    string         `json:"granary"`
	LoadStart  string         `json:"load_at_start"`
	Meta       *meta          `json:"data"`
	Server     *serverLoaded  `json:"server"`
	ServerEnd  *serverStopped `json:"server_end,omitempty"`
	Redis      *redisLoaded   `json:"redis"`
	RedisEnd   map[string]any `json:"redis_end,omitempty"`
	Check      *checkResult   `json:"check"`
	Cells      []loadResult   `json:"cells"`
	Attempts   []loadResult   `json:"attempts"` // every run, discarded ones included
	TargetP99  string         `json:"target_single_c16_p99"`
	TargetVsRd string         `json:"target_p99_vs_redis"`
}

// runReport reads a results directory written by bench/serve.sh and
// prints (and writes to summary.md / summary.json) the comparison.
func runReport(args []string) error {
	fs := flag.NewFlagSet("report", flag.ExitOnError)
	res := fs.String("res", "", "results directory")
	dir := fs.String("dir", "", "data directory written by gen")
	version := fs.String("granary", "", "granary version built")
	loadStart := fs.String("load-start", "", "load average at the start")
	pinned := fs.Bool("pinned", false, "the server ran on CPU 0 and the load generator on CPU 1")
	fs.Parse(args)
	var s summary
	var err error
	if s.Meta, err = readMeta(*dir); err != nil {
		return err
	}
	// The run's date: when its last cell finished (the report may be
	// regenerated later from the same files).
	when := time.Now()
	if files, _ := filepath.Glob(filepath.Join(*res, "cell-*.json")); len(files) > 0 {
		when = time.Time{}
		for _, f := range files {
			if fi, err := os.Stat(f); err == nil && fi.ModTime().After(when) {
				when = fi.ModTime()
			}
		}
	}
	s.Date = when.UTC().Format("2006-01-02 15:04 UTC")
	s.Machine = machine()
	s.Granary, s.LoadStart, s.Pinned = *version, *loadStart, *pinned
	for _, line := range jsonLines(filepath.Join(*res, "server.json")) {
		switch {
		case bytes.Contains(line, []byte(`"loaded"`)):
			s.Server = &serverLoaded{}
			json.Unmarshal(line, s.Server)
		case bytes.Contains(line, []byte(`"stopped"`)):
			s.ServerEnd = &serverStopped{}
			json.Unmarshal(line, s.ServerEnd)
		}
	}
	if l := jsonLines(filepath.Join(*res, "redis-load.json")); len(l) > 0 {
		s.Redis = &redisLoaded{}
		json.Unmarshal(l[0], s.Redis)
	}
	if l := jsonLines(filepath.Join(*res, "redis-end.json")); len(l) > 0 {
		json.Unmarshal(l[0], &s.RedisEnd)
	}
	if l := jsonLines(filepath.Join(*res, "check.json")); len(l) > 0 {
		s.Check = &checkResult{}
		json.Unmarshal(l[0], s.Check)
	}
	files, _ := filepath.Glob(filepath.Join(*res, "cell-*.json"))
	for _, f := range files {
		l := jsonLines(f)
		if len(l) == 0 {
			continue
		}
		var r loadResult
		if json.Unmarshal(l[0], &r) != nil {
			continue
		}
		s.Attempts = append(s.Attempts, r)
		if !strings.Contains(f, ".discarded-") {
			s.Cells = append(s.Cells, r)
		}
	}
	order := func(a, b loadResult) int {
		if c := strings.Compare(modeKey(a), modeKey(b)); c != 0 {
			return c
		}
		if a.Conc != b.Conc {
			return a.Conc - b.Conc
		}
		if a.Rate != b.Rate {
			return int(a.Rate - b.Rate)
		}
		return strings.Compare(a.Target, b.Target)
	}
	slices.SortFunc(s.Cells, order)
	slices.SortStableFunc(s.Attempts, order)

	var md strings.Builder
	w := func(format string, a ...any) { fmt.Fprintf(&md, format, a...) }
	m := s.Meta
	w("Machine: %s. %s. granary %s. Load average at start: %s.\n\n", s.Machine, s.Date, s.Granary, s.LoadStart)
	if s.Pinned {
		w("**Pinned** (PIN=1): the server under test (granary's, or redis-server) ran on CPU 0 and the load generator on CPU 1 (taskset), so the client's work does not compete with the server's, as with a client on another machine.\n\n")
	}
	w("Data: %s entities x %d features (%s), %d shards, seed %d; 1%% of looked-up ids absent.", commas(int64(m.Entities)), m.Features, typeMix(m), m.Shards, m.Seed)
	if s.Redis != nil {
		w(" Redis %s, %s hashes.", s.Redis.Version, s.Redis.Encoding)
	}
	if len(s.Cells) > 0 && !s.Cells[0].Decode {
		w(" **Answers not decoded** by the load generator (DECODE=0): latencies leave out the client's parsing.")
	}
	w("\n\n")
	w("| target | mode | conc | req/s | entities/s | p50 ms | p99 ms | p99.9 ms | max ms | requests | server CPU µs/req | client CPU µs/req | foreign CPU %% |\n")
	w("|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|\n")
	for _, c := range s.Cells {
		name := c.Target
		if c.Target == "redis" {
			name = "Redis (" + strings.ToUpper(c.RedisCmd) + ")"
		}
		if c.Target == "granary" {
			name = "**granary**"
		}
		stop := ""
		if c.StoppedBy == "time" {
			stop = " (time limit)"
		}
		if c.Errors > 0 {
			stop += fmt.Sprintf(" ⚠ %d errors", c.Errors)
		}
		per := func(cpu float64) string {
			if c.Requests == 0 || cpu == 0 {
				return "—"
			}
			return fmt.Sprintf("%.0f", cpu/float64(c.Requests)*1e6)
		}
		mode := c.Mode
		if c.Rate > 0 {
			mode = fmt.Sprintf("%s, open loop at %s/s", c.Mode, commas(int64(c.Rate)))
		}
		w("| %s | %s | %d | %s | %s | %.3f | %.3f | %.3f | %.2f | %s%s | %s | %s | %.1f |\n", name, mode, c.Conc, commas(int64(c.RPS+0.5)), commas(int64(c.EPS+0.5)),
			c.P50us/1e3, c.P99us/1e3, c.P999us/1e3, c.MaxUs/1e3, commas(int64(c.Requests)), stop, per(c.ServerCPUs), per(c.ClientCPUs), c.ForeignPct)
	}
	w("\nLatency is end to end in the load generator (a separate process on the same 2 cores): request built, sent over loopback, answer read and decoded into typed values (granary: encoding/json into a struct with one typed field per feature; Redis: go-redis, then strconv on every field). Closed loop (each worker sends its next request when the previous answer is decoded) unless marked open loop (requests on a fixed schedule, at most conc in flight; latency from the actual send), every latency kept; p99.9 of a few thousand requests is close to the max. \"server CPU\" is granary's or redis-server's CPU time per request during the measured phase; \"foreign CPU\" the share of the machine other processes took.\n\n")

	// Memory and load time.
	w("| | granary | Redis |\n|---|---|---|\n")
	if sv := s.Server; sv != nil && s.Redis != nil {
		rd := s.Redis
		n := float64(m.Entities)
		w("| load | index load (first Refresh: read %d shard files, CRC-check) **%.2f s** | HSET of every entity, pipelined: %.1f s (a data load, not a restart) |\n", m.Shards, sv.LoadSeconds, rd.LoadSeconds)
		w("| memory per entity after load | **%.0f B** RSS growth (%.0f B index files, heap in use %.0f B) | **%.0f B** used_memory growth (%.0f B RSS growth) |\n",
			float64(sv.RSSAfterKiB-sv.RSSBeforeKiB)*1024/n, float64(m.IndexBytes)/n, float64(sv.HeapInuseAfter)/n,
			float64(rd.UsedMemory-rd.UsedMemoryEmpty)/n, float64(rd.RSSKiB-rd.RSSEmptyKiB)*1024/n)
		w("| process RSS after load | %s MiB | %s MiB |\n", mib(sv.RSSAfterKiB), mib(rd.RSSKiB))
		if e := s.ServerEnd; e != nil {
			rEnd := "—"
			if v, ok := s.RedisEnd["hwm_kib"].(float64); ok {
				rEnd = mib(int64(v)) + " MiB peak"
			}
			w("| process RSS after the runs | %s MiB (peak %s MiB; %d GCs) | %s |\n", mib(e.RSSKiB), mib(e.HWMKiB), e.NumGC, rEnd)
		}
	}
	w("\nGranary's load reads the shard files from the page cache (gen wrote them just before or an earlier run did); from a cold disk or an object store it is bounded by read bandwidth.\n\n")

	if h := handlerQuantiles(filepath.Join(*res, "server-metrics.txt")); h != "" {
		w("Time inside granary's handler (its own histogram, granary_serve_request_duration_seconds, over every request of the run, warm-ups included; from after net/http has read the request line and headers to the handler's return, so it holds the batch body's read and any wait for a CPU, but not the final flush of the answer): %s.\n\n", h)
	}
	if c := s.Check; c != nil {
		verdict := "**match**"
		if !c.Match {
			verdict = fmt.Sprintf("**MISMATCH** (%d)", c.Mismatches)
		}
		w("Cross-check: %s: %d ids (%d found, %d absent), %d values (%d nulls) identical from granary (single and batch) and Redis (HMGET and HGETALL, single and pipelined); floats bit for bit.\n\n",
			verdict, c.Sample, c.Found, c.Missing, c.Values, c.Nulls)
	}

	// Targets.
	find := func(target, mode string, conc int) *loadResult {
		for i := range s.Cells {
			c := &s.Cells[i]
			if c.Target == target && c.Mode == mode && c.Conc == conc && c.Rate == 0 {
				return c
			}
		}
		return nil
	}
	w("Targets:\n")
	if g := find("granary", "single", 16); g != nil {
		s.TargetP99 = passFail(g.P99us < 1000 && g.Errors == 0)
		w("- p99 < 1 ms for single lookups at concurrency 16: granary %.3f ms → **%s**\n", g.P99us/1e3, s.TargetP99)
	}
	all, any := true, false
	var cmp []string
	for _, c := range s.Cells {
		if c.Target != "granary" || c.Rate > 0 {
			continue
		}
		r := find("redis", c.Mode, c.Conc)
		if r == nil {
			continue
		}
		any = true
		ok := c.P99us < r.P99us && c.Errors == 0
		all = all && ok
		mark := "✓"
		if !ok {
			mark = "✗"
		}
		cmp = append(cmp, fmt.Sprintf("%s c%d %.3f vs %.3f ms %s", c.Mode, c.Conc, c.P99us/1e3, r.P99us/1e3, mark))
	}
	if any {
		s.TargetVsRd = passFail(all)
		w("- p99 lower than Redis in the same run, every cell: **%s** (%s)\n", s.TargetVsRd, strings.Join(cmp, "; "))
	}
	w("- for reference, Feast's published figures (not measured here): p99 3.9 ms for a single lookup, 22 ms for a batch of 100.\n")

	if len(s.Attempts) > len(s.Cells) {
		w("\nDiscarded attempts (foreign CPU over the limit, re-run):\n\n| target | mode | conc | req/s | p99 ms | foreign CPU %% |\n|---|---|---:|---:|---:|---:|\n")
		for _, a := range s.Attempts {
			if !slices.ContainsFunc(s.Cells, func(c loadResult) bool { return c == a }) {
				w("| %s | %s | %d | %s | %.3f | %.1f |\n", a.Target, a.Mode, a.Conc, commas(int64(a.RPS+0.5)), a.P99us/1e3, a.ForeignPct)
			}
		}
	}

	out := md.String()
	fmt.Print(out)
	if err := os.WriteFile(filepath.Join(*res, "summary.md"), []byte(out), 0o644); err != nil {
		return err
	}
	b, _ := json.MarshalIndent(s, "", "  ")
	return os.WriteFile(filepath.Join(*res, "summary.json"), append(b, '\n'), 0o644)
}

func modeKey(r loadResult) string {
	if r.Mode == "single" {
		return "0"
	}
	return fmt.Sprintf("1%06d", r.Batch)
}

func passFail(ok bool) string {
	if ok {
		return "PASS"
	}
	return "FAIL"
}

func jsonLines(path string) [][]byte {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil
	}
	var out [][]byte
	for _, l := range bytes.Split(b, []byte("\n")) {
		if l = bytes.TrimSpace(l); len(l) > 0 && l[0] == '{' {
			out = append(out, l)
		}
	}
	return out
}

func machine() string {
	cpu, mem := "", ""
	if f, err := os.Open("/proc/cpuinfo"); err == nil {
		sc := bufio.NewScanner(f)
		for sc.Scan() {
			if v, ok := strings.CutPrefix(sc.Text(), "model name"); ok {
				cpu = strings.TrimSpace(strings.TrimPrefix(strings.TrimSpace(v), ":"))
				break
			}
		}
		f.Close()
	}
	if kib := procMemTotalKiB(); kib > 0 {
		mem = fmt.Sprintf(", %.1f GiB", float64(kib)/(1<<20))
	}
	kernel, _ := os.ReadFile("/proc/sys/kernel/osrelease")
	return fmt.Sprintf("%s (%d cores%s), Linux %s, %s", cpu, runtime.NumCPU(), mem, strings.TrimSpace(string(kernel)), runtime.Version())
}

func procMemTotalKiB() int64 {
	b, err := os.ReadFile("/proc/meminfo")
	if err != nil {
		return 0
	}
	var kib int64
	fmt.Sscanf(string(b), "MemTotal: %d kB", &kib)
	return kib
}

func typeMix(m *meta) string {
	n := map[string]int{}
	nullable := 0
	for _, c := range m.Columns {
		n[string(c.Type)]++
		if c.Nullable {
			nullable++
		}
	}
	var parts []string
	for _, t := range []string{"float64", "int64", "string"} {
		if n[t] > 0 {
			parts = append(parts, fmt.Sprintf("%d %s", n[t], t))
		}
	}
	return strings.Join(parts, ", ") + fmt.Sprintf("; %d nullable, 5%% null", nullable)
}

func mib(kib int64) string { return fmt.Sprintf("%.0f", float64(kib)/1024) }

func commas(n int64) string {
	s := fmt.Sprint(n)
	if n < 0 {
		return "-" + commas(-n)
	}
	var b strings.Builder
	for i, c := range s {
		if i > 0 && (len(s)-i)%3 == 0 {
			b.WriteByte(',')
		}
		b.WriteRune(c)
	}
	return b.String()
}

// handlerQuantiles reads the server's /metrics and gives, per lookup
// route, the histogram bucket bounds that hold p50, p99 and p99.9.
func handlerQuantiles(path string) string {
	b, err := os.ReadFile(path)
	if err != nil {
		return ""
	}
	var parts []string
	for _, route := range []string{"features", "features_batch"} {
		prefix := `granary_serve_request_duration_seconds_bucket{route="` + route + `",le="`
		var les []string
		var cums []float64
		for _, line := range strings.Split(string(b), "\n") {
			rest, ok := strings.CutPrefix(line, prefix)
			if !ok {
				continue
			}
			le, n, _ := strings.Cut(rest, `"} `)
			var x float64
			fmt.Sscan(n, &x)
			les, cums = append(les, le), append(cums, x)
		}
		if len(cums) == 0 || cums[len(cums)-1] == 0 {
			continue
		}
		total := cums[len(cums)-1]
		bound := func(q float64) string {
			for i, c := range cums {
				if c >= q*total {
					if les[i] == "+Inf" {
						return "> " + seconds(les[i-1])
					}
					return "≤ " + seconds(les[i])
				}
			}
			return "?"
		}
		name := map[string]string{"features": "single lookups", "features_batch": "batches"}[route]
		parts = append(parts, fmt.Sprintf("%s (%s requests) p50 %s, p99 %s, p99.9 %s", name, commas(int64(total)), bound(0.5), bound(0.99), bound(0.999)))
	}
	return strings.Join(parts, "; ")
}

func seconds(le string) string {
	var x float64
	fmt.Sscan(le, &x)
	if x < 1e-3 {
		return fmt.Sprintf("%.0f µs", x*1e6)
	}
	return fmt.Sprintf("%g ms", x*1e3)
}
