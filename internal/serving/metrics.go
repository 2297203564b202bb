package serving

import (
	"fmt"
	"io"
	"math"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
)

// Latency buckets in seconds: fine below a millisecond, where lookups
// live, coarse above.
var latencyBuckets = []float64{0.00005, 0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5}

// histogram is a Prometheus histogram with lock-free observation.
type histogram struct {
	bounds []float64
	counts []atomic.Uint64 // one per bound, plus +Inf
	sumNs  atomic.Uint64   // sum in nanoseconds
}

func newHistogram(bounds []float64) *histogram {
	return &histogram{bounds: bounds, counts: make([]atomic.Uint64, len(bounds)+1)}
}

func (h *histogram) observe(seconds float64) {
	i := sort.SearchFloat64s(h.bounds, seconds)
	h.counts[i].Add(1)
	h.sumNs.Add(uint64(math.Max(0, seconds*1e9)))
}

func (h *histogram) write(w io.Writer, name, labels string) {
	var cum uint64
	sep := ""
	if labels != "" {
		sep = ","
	}
	for i, b := range h.bounds {
		cum += h.counts[i].Load()
		fmt.Fprintf(w, "%s_bucket{%s%sle=\"%s\"} %d\n", name, labels, sep, strconv.FormatFloat(b, 'g', -1, 64), cum)
	}
	cum += h.counts[len(h.bounds)].Load()
	fmt.Fprintf(w, "%s_bucket{%s%sle=\"+Inf\"} %d\n", name, labels, sep, cum)
	fmt.Fprintf(w, "%s_sum{%s} %g\n", name, labels, float64(h.sumNs.Load())/1e9)
	fmt.Fprintf(w, "%s_count{%s} %d\n", name, labels, cum)
}

// Routes, the label of every request metric.
const (
	routeFeatures = "features"
	routeBatch    = "features_batch"
	routeModel    = "model_alias"
	routeReload   = "admin_reload"
	routeHealth   = "health"
	routeMetrics  = "metrics"
	routeOther    = "other"
)

var routes = []string{routeFeatures, routeBatch, routeModel, routeReload, routeHealth, routeMetrics, routeOther}

type metrics struct {
	latency     map[string]*histogram
	mu          sync.Mutex
	responses   map[string]uint64 // route + " " + code
	swaps       atomic.Uint64
	loadErrors  atomic.Uint64
	loadSeconds *histogram
	entities    atomic.Uint64 // entities looked up (batch items count one each)
}

func newMetrics() *metrics {
	m := &metrics{latency: map[string]*histogram{}, responses: map[string]uint64{}, loadSeconds: newHistogram([]float64{0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60})}
	for _, r := range routes {
		m.latency[r] = newHistogram(latencyBuckets)
	}
	return m
}

func (m *metrics) record(route string, code int, seconds float64) {
	m.latency[route].observe(seconds)
	m.mu.Lock()
	m.responses[route+" "+strconv.Itoa(code)]++
	m.mu.Unlock()
}

// writeMetrics writes the Prometheus text exposition format.
func (s *Server) writeMetrics(w io.Writer) {
	m := s.metrics
	fmt.Fprintln(w, "# HELP granary_serve_request_duration_seconds Time to answer a request, by route.")
	fmt.Fprintln(w, "# TYPE granary_serve_request_duration_seconds histogram")
	for _, r := range routes {
		m.latency[r].write(w, "granary_serve_request_duration_seconds", `route="`+r+`"`)
	}
	fmt.Fprintln(w, "# HELP granary_serve_responses_total Responses by route and HTTP status code.")
	fmt.Fprintln(w, "# TYPE granary_serve_responses_total counter")
	m.mu.Lock()
	keys := make([]string, 0, len(m.responses))
	for k := range m.responses {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	for _, k := range keys {
		route, code, _ := strings.Cut(k, " ")
		fmt.Fprintf(w, "granary_serve_responses_total{route=%q,code=%q} %d\n", route, code, m.responses[k])
	}
	m.mu.Unlock()
	fmt.Fprintln(w, "# HELP granary_serve_entities_total Entities looked up (each batch item counts).")
	fmt.Fprintln(w, "# TYPE granary_serve_entities_total counter")
	fmt.Fprintf(w, "granary_serve_entities_total %d\n", m.entities.Load())
	fmt.Fprintln(w, "# HELP granary_serve_index_swaps_total Times a view alias started serving a new version.")
	fmt.Fprintln(w, "# TYPE granary_serve_index_swaps_total counter")
	fmt.Fprintf(w, "granary_serve_index_swaps_total %d\n", m.swaps.Load())
	fmt.Fprintln(w, "# HELP granary_serve_index_load_errors_total Index versions that failed to load.")
	fmt.Fprintln(w, "# TYPE granary_serve_index_load_errors_total counter")
	fmt.Fprintf(w, "granary_serve_index_load_errors_total %d\n", m.loadErrors.Load())
	fmt.Fprintln(w, "# HELP granary_serve_index_load_seconds Time to load one index version.")
	fmt.Fprintln(w, "# TYPE granary_serve_index_load_seconds histogram")
	m.loadSeconds.write(w, "granary_serve_index_load_seconds", "")

	cat := s.cat.Load()
	fmt.Fprintln(w, "# HELP granary_serve_index_loaded The version each view alias serves (value 1), with its size.")
	fmt.Fprintln(w, "# TYPE granary_serve_index_loaded gauge")
	type row struct {
		view, alias, version string
		entities             int
		bytes                int64
	}
	var rows []row
	for view, aliases := range cat.views {
		for alias, ix := range aliases {
			rows = append(rows, row{view, alias, ix.Version, ix.Rows(), ix.Bytes()})
		}
	}
	slices.SortFunc(rows, func(a, b row) int { return strings.Compare(a.view+"@"+a.alias, b.view+"@"+b.alias) })
	for _, r := range rows {
		fmt.Fprintf(w, "granary_serve_index_loaded{view=%q,alias=%q,version=%q} 1\n", r.view, r.alias, r.version)
	}
	fmt.Fprintln(w, "# HELP granary_serve_index_entities Entities in the version a view alias serves.")
	fmt.Fprintln(w, "# TYPE granary_serve_index_entities gauge")
	for _, r := range rows {
		fmt.Fprintf(w, "granary_serve_index_entities{view=%q,alias=%q} %d\n", r.view, r.alias, r.entities)
	}
	fmt.Fprintln(w, "# HELP granary_serve_index_bytes Memory held by the version a view alias serves.")
	fmt.Fprintln(w, "# TYPE granary_serve_index_bytes gauge")
	for _, r := range rows {
		fmt.Fprintf(w, "granary_serve_index_bytes{view=%q,alias=%q} %d\n", r.view, r.alias, r.bytes)
	}
	fmt.Fprintln(w, "# HELP granary_serve_catalog_age_seconds Seconds since the last successful refresh.")
	fmt.Fprintln(w, "# TYPE granary_serve_catalog_age_seconds gauge")
	if !cat.at.IsZero() {
		fmt.Fprintf(w, "granary_serve_catalog_age_seconds %g\n", s.now().Sub(cat.at).Seconds())
	}
}
