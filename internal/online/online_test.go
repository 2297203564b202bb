package online

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/granaryml/granary/internal/shard"
	"github.com/granaryml/granary/internal/tabular"
)

// entity is one row of the model the tests compare the index against.
type entity struct {
	user  int64
	name  string
	count int64
	spend *float64
	last  *string
	seen  *int64
	vip   *bool
}

var testHeader = Header{
	View: "user_orders", ViewVersion: "v1", AsOf: 1_700_000_000_000_000, Shards: 1,
	Keys: []tabular.Column{{Name: "user_id", Type: tabular.Int64}, {Name: "region", Type: tabular.String}},
	Columns: []tabular.Column{
		{Name: "count", Type: tabular.Int64, Nullable: true},
		{Name: "spend", Type: tabular.Float64, Nullable: true},
		{Name: "last", Type: tabular.String, Nullable: true},
		{Name: "seen", Type: tabular.Timestamp, Nullable: true},
		{Name: "vip", Type: tabular.Bool, Nullable: true},
	},
}

func randomEntities(rng *rand.Rand, n int) []entity {
	specials := []float64{0, math.Copysign(0, -1), math.NaN(), math.Inf(1), math.Inf(-1), math.MaxFloat64, 5e-324}
	strs := []string{"", "books", "a\"b\\c", "line\nbreak\t\x01", "héllo ✓", "\u2028x", string([]byte{0xff, 'a'})}
	seen := map[[2]string]bool{}
	var out []entity
	for len(out) < n {
		e := entity{user: rng.Int64N(1000) - 500, name: fmt.Sprint("r", rng.IntN(5)), count: rng.Int64()}
		k := [2]string{fmt.Sprint(e.user), e.name}
		if seen[k] {
			continue
		}
		seen[k] = true
		if rng.IntN(4) > 0 {
			f := rng.NormFloat64() * 100
			if rng.IntN(5) == 0 {
				f = specials[rng.IntN(len(specials))]
			}
			e.spend = &f
		}
		if rng.IntN(4) > 0 {
			s := strs[rng.IntN(len(strs))]
			e.last = &s
		}
		if rng.IntN(4) > 0 {
			t := rng.Int64N(4e15) - 1e15
			e.seen = &t
		}
		if rng.IntN(3) > 0 {
			b := rng.IntN(2) == 0
			e.vip = &b
		}
		out = append(out, e)
	}
	return out
}

// input turns entities into the batch Write takes.
func input(es []entity) Input {
	b := &tabular.Batch{Len: len(es), Vectors: make([]tabular.Vector, 7)}
	types := []tabular.Type{tabular.Int64, tabular.String, tabular.Int64, tabular.Float64, tabular.String, tabular.Timestamp, tabular.Bool}
	for i, t := range types {
		b.Vectors[i].Type = t
		if i >= 3 {
			b.Vectors[i].Nulls = make([]bool, len(es))
		}
		if t == tabular.String {
			b.Vectors[i].Offsets = []uint32{0}
		}
	}
	str := func(v *tabular.Vector, s string) {
		v.Bytes = append(v.Bytes, s...)
		v.Offsets = append(v.Offsets, uint32(len(v.Bytes)))
	}
	for i, e := range es {
		v := b.Vectors
		v[0].Ints = append(v[0].Ints, e.user)
		str(&v[1], e.name)
		v[2].Ints = append(v[2].Ints, e.count)
		v[3].Floats = append(v[3].Floats, deref(e.spend, &v[3].Nulls[i]))
		str(&v[4], deref(e.last, &v[4].Nulls[i]))
		v[5].Ints = append(v[5].Ints, deref(e.seen, &v[5].Nulls[i]))
		v[6].Bools = append(v[6].Bools, deref(e.vip, &v[6].Nulls[i]))
	}
	return Input{Keys: b, KeyCols: []int{0, 1}, Features: b.Vectors[2:], Len: len(es)}
}

func deref[T any](p *T, null *bool) T {
	var zero T
	if p == nil {
		*null = true
		return zero
	}
	return *p
}

func write(t testing.TB, h Header, in Input) []byte {
	t.Helper()
	var buf bytes.Buffer
	n, err := Write(&buf, h, in)
	if err != nil {
		t.Fatal(err)
	}
	if n != int64(buf.Len()) {
		t.Fatalf("Write reported %d bytes, wrote %d", n, buf.Len())
	}
	return buf.Bytes()
}

func key(t testing.TB, ix *Index, user int64, region string) []byte {
	t.Helper()
	k, err := ix.EncodeKey(nil, []string{fmt.Sprint(user), region})
	if err != nil {
		t.Fatal(err)
	}
	return k
}

// Every entity written is found with exactly its values, in every type,
// null included, and keys that were not written are not found.
func TestWriteThenLookupEveryEntity(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	es := randomEntities(rng, 2000)
	ix := openIndex(t, "ver1", es, 1)
	if ix.Rows() != len(es) || ix.Version != "ver1" || !ix.AsOf().Equal(time.UnixMicro(testHeader.AsOf)) {
		t.Fatalf("index has %d rows, version %s, as of %v", ix.Rows(), ix.Version, ix.AsOf())
	}
	for _, e := range es {
		s, row, ok := ix.Lookup(key(t, ix, e.user, e.name))
		if !ok {
			t.Fatalf("entity (%d, %s) not found", e.user, e.name)
		}
		checkEntity(t, s, row, e)
	}
	for _, miss := range [][2]string{{"100000", "r1"}, {"1", "nowhere"}, {"-501", "r0"}} {
		k, err := ix.EncodeKey(nil, miss[:])
		if err != nil {
			t.Fatal(err)
		}
		if _, _, ok := ix.Lookup(k); ok {
			t.Errorf("entity %v found, it was never written", miss)
		}
	}
}

func checkEntity(t *testing.T, s *Shard, row int, e entity) {
	t.Helper()
	if got := s.Value(0, row); got != e.count {
		t.Errorf("(%d,%s) count = %v, want %d", e.user, e.name, got, e.count)
	}
	checkOpt(t, "spend", s.Value(1, row), e.spend, func(a, b float64) bool {
		return math.Float64bits(a) == math.Float64bits(b)
	})
	checkOpt(t, "last", s.Value(2, row), e.last, func(a, b string) bool { return a == b })
	var seen *time.Time
	if e.seen != nil {
		tt := time.UnixMicro(*e.seen).UTC()
		seen = &tt
	}
	checkOpt(t, "seen", s.Value(3, row), seen, time.Time.Equal)
	checkOpt(t, "vip", s.Value(4, row), e.vip, func(a, b bool) bool { return a == b })

	// The JSON form reads back as the same values.
	for c := range testHeader.Columns {
		js := s.AppendJSON(nil, c, row)
		var v any
		if err := json.Unmarshal(js, &v); err != nil {
			t.Fatalf("column %d: %s is not JSON: %v", c, js, err)
		}
		switch want := s.Value(c, row).(type) {
		case nil:
			if v != nil {
				t.Errorf("column %d: JSON %s for null", c, js)
			}
		case string:
			if v != want && !(v == "\ufffd"+want[1:]) {
				t.Errorf("column %d: JSON %s reads as %q, want %q", c, js, v, want)
			}
		case float64:
			if f, ok := v.(float64); ok && f != want || !ok && !math.IsNaN(want) && !math.IsInf(want, 0) {
				t.Errorf("column %d: JSON %s for %v", c, js, want)
			}
		case time.Time:
			if got, err := time.Parse(time.RFC3339Nano, v.(string)); err != nil || !got.Equal(want) {
				t.Errorf("column %d: JSON %s for %v", c, js, want)
			}
		}
	}
}

func checkOpt[T any](t *testing.T, name string, got any, want *T, eq func(a, b T) bool) {
	t.Helper()
	if want == nil {
		if got != nil {
			t.Errorf("%s = %v, want null", name, got)
		}
		return
	}
	g, ok := got.(T)
	if !ok || !eq(g, *want) {
		t.Errorf("%s = %v, want %v", name, got, *want)
	}
}

// openIndex writes es split over n shards by the serving hash, as
// materialization does, and opens them as one index.
func openIndex(t testing.TB, version string, es []entity, n int) *Index {
	t.Helper()
	parts := make([][]entity, n)
	for _, e := range es {
		in := input([]entity{e})
		s := shard.Of(shard.HashBytes(shard.AppendKey(nil, in.Keys, in.KeyCols, 0)), n)
		parts[s] = append(parts[s], e)
	}
	var shards []*Shard
	for i, p := range parts {
		h := testHeader
		h.Shard, h.Shards = i, n
		s, err := Open(write(t, h, input(p)))
		if err != nil {
			t.Fatal(err)
		}
		shards = append(shards, s)
	}
	ix, err := NewIndex(version, shards)
	if err != nil {
		t.Fatal(err)
	}
	return ix
}

func TestShardedIndexRoutesEveryEntity(t *testing.T) {
	es := randomEntities(rand.New(rand.NewPCG(5, 6)), 3000)
	ix := openIndex(t, "v", es, 7)
	for _, e := range es {
		s, row, ok := ix.Lookup(key(t, ix, e.user, e.name))
		if !ok {
			t.Fatalf("entity (%d, %s) not found in its shard", e.user, e.name)
		}
		checkEntity(t, s, row, e)
	}
	if ix.Rows() != len(es) {
		t.Fatalf("%d rows, want %d", ix.Rows(), len(es))
	}
}

func TestEmptyShardWritesAndFindsNothing(t *testing.T) {
	s, err := Open(write(t, testHeader, input(nil)))
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := s.Find([]byte{1, 2, 3}); ok || s.Len() != 0 {
		t.Fatalf("empty shard: found a key, or Len %d", s.Len())
	}
}

func TestWriteRejectsDuplicateEntities(t *testing.T) {
	es := randomEntities(rand.New(rand.NewPCG(1, 1)), 10)
	es = append(es, es[3])
	var buf bytes.Buffer
	if _, err := Write(&buf, testHeader, input(es)); err == nil {
		t.Fatal("two rows for one entity were written")
	}
}

func TestNewIndexRejectsMissingOrMismatchedShards(t *testing.T) {
	es := randomEntities(rand.New(rand.NewPCG(9, 9)), 50)
	h0, h1 := testHeader, testHeader
	h0.Shards, h1.Shards, h1.Shard = 2, 2, 1
	s0, _ := Open(write(t, h0, input(es[:10])))
	if _, err := NewIndex("v", []*Shard{s0}); !errors.Is(err, ErrCorrupt) {
		t.Errorf("one of two shards: %v", err)
	}
	h1.AsOf++
	s1, _ := Open(write(t, h1, input(es[10:20])))
	if _, err := NewIndex("v", []*Shard{s0, s1}); !errors.Is(err, ErrCorrupt) {
		t.Errorf("shards of two times: %v", err)
	}
}

// Any single flipped byte and any truncation is caught by Open.
func TestOpenRejectsEveryFlippedByteAndTruncation(t *testing.T) {
	data := write(t, testHeader, input(randomEntities(rand.New(rand.NewPCG(7, 8)), 40)))
	for i := range data {
		bad := bytes.Clone(data)
		bad[i] ^= 0x5a
		if _, err := Open(bad); err == nil {
			t.Fatalf("byte %d of %d flipped: Open succeeded", i, len(data))
		}
	}
	for n := 0; n < len(data); n += 7 {
		if _, err := Open(data[:n]); !errors.Is(err, ErrCorrupt) {
			t.Fatalf("truncated to %d bytes: %v", n, err)
		}
	}
}

func TestEncodeKeyRejectsBadText(t *testing.T) {
	ix := openIndex(t, "v", randomEntities(rand.New(rand.NewPCG(2, 2)), 5), 1)
	for _, vals := range [][]string{{"abc", "r1"}, {"1"}, {"1", "r1", "x"}, {"1.5", "r1"}, {"99999999999999999999", "r1"}} {
		if _, err := ix.EncodeKey(nil, vals); !errors.Is(err, ErrBadKey) {
			t.Errorf("EncodeKey(%q) = %v, want ErrBadKey", vals, err)
		}
	}
	c := tabular.Column{Name: "t", Type: tabular.Timestamp}
	a, err1 := AppendKeyText(nil, c, "2026-01-02T03:04:05Z")
	b, err2 := AppendKeyText(nil, c, "2026-01-02T04:04:05+01:00")
	if err1 != nil || err2 != nil || !bytes.Equal(a, b) {
		t.Errorf("one instant in two zones encodes differently: %v %v", err1, err2)
	}
}

// FuzzOpen: no input makes Open panic, and whatever it accepts can be
// read at every row without a panic.
func FuzzOpen(f *testing.F) {
	f.Add(write(f, testHeader, input(randomEntities(rand.New(rand.NewPCG(1, 2)), 6))))
	f.Add(write(f, testHeader, input(nil)))
	f.Add([]byte(Magic + "\x02\x00\x00\x00{}" + Magic))
	f.Fuzz(func(t *testing.T, data []byte) {
		s, err := Open(data)
		if err != nil {
			if !errors.Is(err, ErrCorrupt) {
				t.Fatalf("error not matching ErrCorrupt: %v", err)
			}
			return
		}
		for row := 0; row < s.Len(); row++ {
			s.Find(s.key(row))
			for c := range s.Header.Columns {
				s.AppendJSON(nil, c, row)
				s.Value(c, row)
			}
		}
	})
}
