// Command importbench measures granary's import engine on one CSV file,
// running what the CommitDataset activities run, in the same order:
//
//  1. infer: tabular.InferSchema over the whole input (activity InferSchema;
//     the input is handed over as a plain stream, as the activity's
//     heartbeatReader does);
//  2. convert: tabular.Convert with that schema into a local temp parquet
//     file, then fsync (activity ConvertSource, before it uploads the blob);
//  3. stats: tabular.NewStatsAccumulator + AddParquet over the written
//     parquet (activity ComputeStats).
//
// What it leaves out is lake I/O (the CLI's upload of the raw file, the
// blob copy of the parquet) and Temporal; bench/import.sh measures the full
// product path separately.
//
// It prints one JSON object on stdout. peak_rss_mib is this process's
// VmHWM at exit (Linux), i.e. the peak over all three phases.
//
//	go run ./bench/importbench -in bench/out/x.csv -out bench/out/granary.parquet
package main

import (
	"bufio"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"os"
	"runtime"
	"runtime/pprof"
	"strconv"
	"strings"
	"time"

	"github.com/granaryml/granary/internal/tabular"
)

type phase struct {
	Seconds  float64 `json:"seconds"`
	RowsPerS float64 `json:"rows_per_s"`
	MBPerS   float64 `json:"mb_per_s"` // MB = 10^6 bytes of the phase's input
}

type report struct {
	Engine       string           `json:"engine"`
	File         string           `json:"file"`
	Rows         int64            `json:"rows"`
	InputBytes   int64            `json:"input_bytes"`
	ParquetBytes int64            `json:"parquet_bytes"`
	RowGroups    int              `json:"row_groups"`
	Columns      []tabular.Column `json:"columns"`
	Phases       map[string]phase `json:"phases"`
	SyncSeconds  float64          `json:"sync_seconds"` // fsync of the parquet, part of convert (the activity does it too)
	Seconds      float64          `json:"seconds"`      // infer + convert + stats
	RowsPerS     float64          `json:"rows_per_s"`
	MBPerS       float64          `json:"mb_per_s"` // CSV MB (10^6 bytes) per second over all phases
	PeakRSSMiB   float64          `json:"peak_rss_mib"`
	GOMAXPROCS   int              `json:"gomaxprocs"`
	GoVersion    string           `json:"go_version"`
	GOGC         string           `json:"gogc,omitempty"`
	GOMEMLIMIT   string           `json:"gomemlimit,omitempty"`
	StatsMatch   bool             `json:"stats_match"` // ComputeStats == Convert's own stats
}

func main() {
	in := flag.String("in", "", "CSV input file")
	out := flag.String("out", "", "parquet output file (default: a temp file, removed at exit)")
	cpuprofile := flag.String("cpuprofile", "", "write a CPU profile of all phases to `FILE`")
	phaseProfiles := flag.String("phaseprofiles", "", "also write one CPU profile per phase (infer.prof, convert.prof, stats.prof) into `DIR`")
	memprofile := flag.String("memprofile", "", "write a heap (alloc) profile at exit to `FILE`")
	flag.Parse()
	if *in == "" {
		fmt.Fprintln(os.Stderr, "importbench: -in is required")
		os.Exit(2)
	}
	if *cpuprofile != "" {
		f, err := os.Create(*cpuprofile)
		check(err)
		check(pprof.StartCPUProfile(f))
		defer pprof.StopCPUProfile()
	}
	if *cpuprofile != "" && *phaseProfiles != "" {
		fmt.Fprintln(os.Stderr, "importbench: -cpuprofile and -phaseprofiles are exclusive (one CPU profile at a time)")
		os.Exit(2)
	}
	profDir = *phaseProfiles
	rep, err := run(context.Background(), *in, *out)
	check(err)
	if *cpuprofile != "" {
		pprof.StopCPUProfile()
	}
	if *memprofile != "" {
		f, err := os.Create(*memprofile)
		check(err)
		check(pprof.Lookup("allocs").WriteTo(f, 0))
		check(f.Close())
	}
	rep.PeakRSSMiB = vmHWM()
	enc := json.NewEncoder(os.Stdout)
	enc.SetIndent("", "  ")
	check(enc.Encode(rep))
}

func check(err error) {
	if err != nil {
		fmt.Fprintln(os.Stderr, "importbench:", err)
		os.Exit(1)
	}
}

// stream hides everything but Read, as the activity's heartbeatReader does:
// the engine only gets a forward stream, so nothing can seek or map it.
var profDir string

// profile starts a per-phase CPU profile when -phaseprofiles is set and
// returns the function that stops it.
func profile(name string) func() {
	if profDir == "" {
		return func() {}
	}
	f, err := os.Create(profDir + "/" + name + ".prof")
	check(err)
	check(pprof.StartCPUProfile(f))
	return func() {
		pprof.StopCPUProfile()
		check(f.Close())
	}
}

type stream struct{ r io.Reader }

func (s stream) Read(p []byte) (int, error) { return s.r.Read(p) }

func run(ctx context.Context, in, out string) (*report, error) {
	st, err := os.Stat(in)
	if err != nil {
		return nil, err
	}
	rep := &report{
		Engine: "granary", File: in, InputBytes: st.Size(), Phases: map[string]phase{},
		GOMAXPROCS: runtime.GOMAXPROCS(0), GoVersion: runtime.Version(),
		GOGC: os.Getenv("GOGC"), GOMEMLIMIT: os.Getenv("GOMEMLIMIT"),
	}
	name := baseName(in)

	// Format detection as activities.openSource does it: the first 4 KiB.
	f, err := os.Open(in)
	if err != nil {
		return nil, err
	}
	head := make([]byte, 4096)
	n, _ := io.ReadFull(f, head)
	format, err := tabular.DetectFormat(name, head[:n])
	if err != nil {
		return nil, err
	}
	f.Close()

	// 1. infer
	stop := profile("infer")
	t0 := time.Now()
	f, err = os.Open(in)
	if err != nil {
		return nil, err
	}
	schema, err := tabular.InferSchema(ctx, stream{f}, tabular.ReadOptions{File: name, Format: format})
	f.Close()
	if err != nil {
		return nil, err
	}
	inferS := time.Since(t0).Seconds()
	stop()
	rep.Columns = schema.Columns

	// 2. convert
	var pq *os.File
	if out == "" {
		pq, err = os.CreateTemp("", "importbench-*.parquet")
		if err != nil {
			return nil, err
		}
		defer os.Remove(pq.Name())
	} else {
		pq, err = os.Create(out)
		if err != nil {
			return nil, err
		}
	}
	defer pq.Close()
	stop = profile("convert")
	t1 := time.Now()
	f, err = os.Open(in)
	if err != nil {
		return nil, err
	}
	res, err := tabular.Convert(ctx, stream{f}, pq, tabular.ConvertOptions{
		File: name, Format: format, Schema: schema,
		Progress: func(int64) {},
	})
	f.Close()
	if err != nil {
		return nil, err
	}
	ts := time.Now()
	if err := pq.Sync(); err != nil {
		return nil, err
	}
	rep.SyncSeconds = time.Since(ts).Seconds()
	convertS := time.Since(t1).Seconds()
	stop()
	rep.Rows, rep.ParquetBytes, rep.RowGroups = res.Rows, res.Bytes, res.RowGroups

	// 3. stats over the written parquet, as ComputeStats does (a fresh
	// ReaderAt on the blob; here the local file).
	stop = profile("stats")
	t2 := time.Now()
	rf, err := os.Open(pq.Name())
	if err != nil {
		return nil, err
	}
	rst, err := rf.Stat()
	if err != nil {
		return nil, err
	}
	acc := tabular.NewStatsAccumulator(schema)
	if err := acc.AddParquet(ctx, rf, rst.Size()); err != nil {
		return nil, err
	}
	stats := acc.Stats()
	rf.Close()
	statsS := time.Since(t2).Seconds()
	stop()

	a, _ := json.Marshal(stats)
	b, _ := json.Marshal(res.Stats)
	rep.StatsMatch = string(a) == string(b)

	rows := float64(rep.Rows)
	mb := float64(rep.InputBytes) / 1e6
	pqmb := float64(rep.ParquetBytes) / 1e6
	rep.Phases["infer"] = phase{inferS, rows / inferS, mb / inferS}
	rep.Phases["convert"] = phase{convertS, rows / convertS, mb / convertS}
	rep.Phases["stats"] = phase{statsS, rows / statsS, pqmb / statsS}
	rep.Seconds = inferS + convertS + statsS
	rep.RowsPerS = rows / rep.Seconds
	rep.MBPerS = mb / rep.Seconds
	return rep, nil
}

func baseName(p string) string {
	if i := strings.LastIndexByte(p, '/'); i >= 0 {
		return p[i+1:]
	}
	return p
}

// vmHWM is the process's peak resident set size in MiB (Linux), or the Go
// runtime's view of memory obtained from the OS elsewhere.
func vmHWM() float64 {
	f, err := os.Open("/proc/self/status")
	if err == nil {
		defer f.Close()
		sc := bufio.NewScanner(f)
		for sc.Scan() {
			line := sc.Text()
			if rest, ok := strings.CutPrefix(line, "VmHWM:"); ok {
				kb, err := strconv.ParseFloat(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(rest), "kB")), 64)
				if err == nil {
					return kb / 1024
				}
			}
		}
	}
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	return float64(ms.Sys) / (1 << 20)
}
