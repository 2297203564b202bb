package serving

import (
	"fmt"
	"io"
	"maps"
	"math"
	"slices"
	"sort"
	"strconv"
	"strings"
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
	routes      map[string]*routeStats // built once, read-only after
	swaps       atomic.Uint64
	loadErrors  atomic.Uint64
	loadSeconds *histogram
	entities    atomic.Uint64 // entities looked up (batch items count one each)
}

// routeStats are one route's counters, resolved when the route is
// built, so recording a request is a few atomic adds: no map lookup, no
// lock and no allocation on the hot path.
type routeStats struct {
	latency *histogram
	codes   [600]atomic.Uint64 // responses by HTTP status code
}

func newMetrics() *metrics {
	m := &metrics{routes: map[string]*routeStats{}, loadSeconds: newHistogram([]float64{0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60})}
	for _, r := range routes {
		m.routes[r] = &routeStats{latency: newHistogram(latencyBuckets)}
	}
	return m
}

func (rm *routeStats) record(code int, seconds float64) {
	rm.latency.observe(seconds)
	if code < 0 || code >= len(rm.codes) {
		code = 0
	}
	rm.codes[code].Add(1)
}

// writeMetrics writes the Prometheus text exposition format.
func (s *Server) writeMetrics(w io.Writer) {
	m := s.metrics
	fmt.Fprintln(w, "# HELP granary_serve_request_duration_seconds Time to answer a request, by route.")
	fmt.Fprintln(w, "# TYPE granary_serve_request_duration_seconds histogram")
	for _, r := range routes {
		m.routes[r].latency.write(w, "granary_serve_request_duration_seconds", `route="`+r+`"`)
	}
	fmt.Fprintln(w, "# HELP granary_serve_responses_total Responses by route and HTTP status code.")
	fmt.Fprintln(w, "# TYPE granary_serve_responses_total counter")
	for _, r := range slices.Sorted(maps.Keys(m.routes)) {
		rm := m.routes[r]
		for code := range rm.codes {
			if n := rm.codes[code].Load(); n > 0 {
				fmt.Fprintf(w, "granary_serve_responses_total{route=%q,code=\"%d\"} %d\n", r, code, n)
			}
		}
	}
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
