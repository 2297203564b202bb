package main

import (
	"encoding/json"
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strconv"

	"github.com/granaryml/granary/internal/tabular"
)

const (
	viewName = "bench_view"
	keyName  = "user_id"
	// asOfMicros is the index's as_of: 2026-01-01T00:00:00Z. A whole
	// second, so Redis's _ts field (seconds, as Feast stores a Timestamp)
	// holds it exactly.
	asOfMicros = 1_767_225_600_000_000
	// redisTS is the field Feast's Redis store keeps the event time in.
	redisTS = "_ts:" + viewName
)

// params fix the data: the same params give the same values.
type params struct {
	Entities int    `json:"entities"`
	Features int    `json:"features"`
	Seed     uint64 `json:"seed"`
	Shards   int    `json:"shards"`
}

// meta is D/bench.json, written by gen once the lake holds the index.
type meta struct {
	params
	View       string           `json:"view"`
	Version    string           `json:"version"`
	AsOf       int64            `json:"as_of"`
	Columns    []tabular.Column `json:"columns"`
	IndexBytes int64            `json:"index_bytes"`
	GenSeconds float64          `json:"gen_seconds"`
	// Format is the index file format the data was written in.
	Format int `json:"format"`
}

// lakeDir is absolute: filestore wants an absolute root.
func lakeDir(dir string) string {
	if abs, err := filepath.Abs(dir); err == nil {
		dir = abs
	}
	return filepath.Join(dir, "lake")
}

func metaPath(dir string) string { return filepath.Join(dir, "bench.json") }

func readMeta(dir string) (*meta, error) {
	b, err := os.ReadFile(metaPath(dir))
	if err != nil {
		return nil, fmt.Errorf("%w (run: serve gen -dir %s)", err, dir)
	}
	var m meta
	if err := json.Unmarshal(b, &m); err != nil {
		return nil, fmt.Errorf("%s: %w", metaPath(dir), err)
	}
	return &m, nil
}

// featureColumns are n feature columns named f00, f01, ...: short names,
// as Feast's Redis store uses 4-byte hashes of "view:feature" as hash
// fields. Types: every 10th column from the 5th is an int64 (counts),
// every 10th from the 10th a string (labels), the rest float64; every
// third column is nullable (5% nulls).
func featureColumns(n int) []tabular.Column {
	cols := make([]tabular.Column, n)
	for j := range cols {
		t := tabular.Float64
		switch j % 10 {
		case 4:
			t = tabular.Int64
		case 9:
			t = tabular.String
		}
		cols[j] = tabular.Column{Name: fmt.Sprintf("f%02d", j), Type: t, Nullable: j%3 == 2}
	}
	return cols
}

var labelWords = []string{"books", "electronics", "garden", "toys", "grocery", "fashion", "sports", "beauty", "auto", "music", "travel", "home"}

// generate builds the batch: user_id 1..Entities, then the features,
// column by column, each from its own seeded generator (so a column's
// values do not depend on the others).
func generate(p params) (*tabular.Batch, []tabular.Column) {
	n := p.Entities
	cols := featureColumns(p.Features)
	b := &tabular.Batch{Len: n, Vectors: make([]tabular.Vector, 1+len(cols))}
	ids := make([]int64, n)
	for i := range ids {
		ids[i] = int64(i + 1)
	}
	b.Vectors[0] = tabular.Vector{Type: tabular.Int64, Ints: ids}
	for j, c := range cols {
		b.Vectors[1+j] = genColumn(p, j, c)
	}
	return b, cols
}

func genColumn(p params, j int, c tabular.Column) tabular.Vector {
	n := p.Entities
	rng := rand.New(rand.NewPCG(p.Seed, uint64(j)+1))
	v := tabular.Vector{Type: c.Type}
	if c.Nullable {
		v.Nulls = make([]bool, n)
	}
	null := func(i int) bool {
		if v.Nulls != nil && rng.IntN(20) == 0 {
			v.Nulls[i] = true
			return true
		}
		return false
	}
	switch c.Type {
	case tabular.Float64:
		v.Floats = make([]float64, n)
		scale := [...]float64{1, 100, 1e4, 0.01}[j%4]
		for i := range n {
			if null(i) {
				continue
			}
			x := rng.NormFloat64() * scale
			if j%2 == 1 { // amounts with 2 decimals; the others full precision
				x = math.Round(x*100) / 100
			}
			v.Floats[i] = x
		}
	case tabular.Int64:
		v.Ints = make([]int64, n)
		for i := range n {
			if null(i) {
				continue
			}
			x := rng.Int64N(1000)
			if rng.IntN(1000) == 0 {
				x = rng.Int64N(1 << 40)
			}
			v.Ints[i] = x
		}
	case tabular.String:
		v.Offsets = make([]uint32, 1, n+1)
		v.Bytes = make([]byte, 0, 10*n)
		for i := range n {
			if !null(i) {
				v.Bytes = append(v.Bytes, labelWords[rng.IntN(len(labelWords))]...)
				v.Bytes = append(v.Bytes, '_')
				v.Bytes = strconv.AppendInt(v.Bytes, int64(rng.IntN(100)), 10)
			}
			v.Offsets = append(v.Offsets, uint32(len(v.Bytes)))
		}
	default:
		panic("unexpected type " + c.Type)
	}
	return v
}

// value is one feature value as a client ends up with it, whichever
// store it came from.
type value struct {
	kind byte // 0 null, 'i' int64, 'f' float64, 's' string
	i    int64
	f    float64
	s    string
}

func (v value) equal(w value) bool {
	switch {
	case v.kind != w.kind:
		return false
	case v.kind == 'f':
		return math.Float64bits(v.f) == math.Float64bits(w.f)
	}
	return v.i == w.i && v.s == w.s
}

func (v value) String() string {
	switch v.kind {
	case 'i':
		return strconv.FormatInt(v.i, 10)
	case 'f':
		return strconv.FormatFloat(v.f, 'g', -1, 64)
	case 's':
		return strconv.Quote(v.s)
	}
	return "null"
}

// entity is one looked-up entity: found, the time its values are as of
// (unix seconds) and one value per feature column.
type entity struct {
	found bool
	asOf  int64
	vals  []value
}

func (e *entity) reset(cols int) {
	e.found, e.asOf = false, 0
	if cap(e.vals) < cols {
		e.vals = make([]value, cols)
	}
	e.vals = e.vals[:cols]
	clear(e.vals)
}

// parseText reads a value in its text form (Redis field, JSON number)
// as column type t.
func parseText(t tabular.Type, s string) (value, error) {
	switch t {
	case tabular.Float64:
		f, err := strconv.ParseFloat(s, 64)
		return value{kind: 'f', f: f}, err
	case tabular.Int64:
		i, err := strconv.ParseInt(s, 10, 64)
		return value{kind: 'i', i: i}, err
	case tabular.String:
		return value{kind: 's', s: s}, nil
	}
	return value{}, fmt.Errorf("unexpected column type %s", t)
}
