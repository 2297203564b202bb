package pitjoin

import (
	"math"
	"math/big"
	"math/rand/v2"
	"testing"

	"github.com/granaryml/granary/internal/tabular"
)

// The accumulator against math/big over random add/remove sequences,
// including subnormals, huge values, cancellation and specials.
func TestExactSumMatchesBig(t *testing.T) {
	rng := rand.New(rand.NewPCG(7, 7))
	g := &gen{rng: rng}
	for round := range 3000 {
		var s exactSum
		s.reset()
		var window []float64
		steps := 1 + rng.IntN(60)
		for range steps {
			if len(window) > 0 && rng.IntN(3) == 0 {
				s.remove(window[0])
				window = window[1:]
			} else {
				x := g.float()
				if round%3 == 0 { // one binade: long carries, exact cancellations
					x = math.Ldexp(float64(rng.Int64N(1<<53)-1<<52), rng.IntN(8)-30)
				}
				s.add(x)
				window = append(window, x)
			}
			if len(window) == 0 {
				continue
			}
			got, want := s.value(), refFloatSum(window)
			if math.Float64bits(got) != math.Float64bits(want) && !(math.IsNaN(got) && math.IsNaN(want)) {
				t.Fatalf("round %d: sum of %v = %v (%#x), want %v (%#x)", round, window, got, math.Float64bits(got), want, math.Float64bits(want))
			}
		}
	}
}

func TestExactSumEdges(t *testing.T) {
	negZero := math.Copysign(0, -1)
	maxSub := math.Float64frombits(1<<52 - 1)
	ulpMax := math.Ldexp(1, 971) // ulp of MaxFloat64
	tests := []struct {
		name string
		in   []float64
		want float64
	}{
		{"exact, not naive", []float64{0.1, 0.2, 0.3}, 0.6}, // (0.1+0.2)+0.3 is 0.6000000000000001
		{"cancellation", []float64{1e308, 1, -1e308}, 1},
		{"tiny survives", []float64{1, 1e-300, -1}, 1e-300},
		{"overflow to inf", []float64{math.MaxFloat64, math.MaxFloat64}, math.Inf(1)},
		{"just below overflow", []float64{math.MaxFloat64, ulpMax / 2 * 0.999}, math.MaxFloat64},
		{"tie at overflow rounds up", []float64{math.MaxFloat64, ulpMax / 2}, math.Inf(1)},
		{"overflow and back", []float64{math.MaxFloat64, math.MaxFloat64, -math.MaxFloat64}, math.MaxFloat64},
		{"subnormals add exactly", []float64{maxSub, math.SmallestNonzeroFloat64}, math.Ldexp(1, -1022)},
		{"all negative zero", []float64{negZero, negZero}, negZero},
		{"mixed zeros", []float64{negZero, 0}, 0},
		{"cancel to positive zero", []float64{-1, 1}, 0},
		{"negative", []float64{-1.5, -2.25}, -3.75},
		{"tie to even", []float64{1, math.Ldexp(1, -53)}, 1},
		{"tie to even up", []float64{1 + math.Ldexp(1, -52), math.Ldexp(1, -53)}, 1 + math.Ldexp(1, -51)},
		{"sticky breaks tie", []float64{1, math.Ldexp(1, -53), math.Ldexp(1, -1000)}, 1 + math.Ldexp(1, -52)},
		{"inf wins", []float64{1, math.Inf(-1)}, math.Inf(-1)},
	}
	for _, tc := range tests {
		var s exactSum
		s.reset()
		for _, x := range tc.in {
			s.add(x)
		}
		if got := s.value(); math.Float64bits(got) != math.Float64bits(tc.want) {
			t.Errorf("%s: got %v (%#x), want %v (%#x)", tc.name, got, math.Float64bits(got), tc.want, math.Float64bits(tc.want))
		}
		if ref := refFloatSum(tc.in); math.Float64bits(ref) != math.Float64bits(tc.want) {
			t.Errorf("%s: reference gives %v, want %v", tc.name, ref, tc.want)
		}
	}
	var s exactSum
	s.reset()
	s.add(math.Inf(1))
	s.add(math.Inf(-1))
	if !math.IsNaN(s.value()) {
		t.Errorf("inf - inf = %v", s.value())
	}
	s.remove(math.Inf(-1))
	if s.value() != math.Inf(1) {
		t.Errorf("after removing -inf: %v", s.value())
	}
}

// Normalization keeps the value across many operations (it runs every
// renormEvery operations; force it often here).
func TestExactSumNormalizeKeepsValue(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	var s exactSum
	s.reset()
	var window []float64
	for i := range 20000 {
		x := math.Ldexp(rng.Float64()-0.5, rng.IntN(200)-100)
		s.add(x)
		window = append(window, x)
		if len(window) > 50 {
			s.remove(window[0])
			window = window[1:]
		}
		if i%7 == 0 {
			s.normalize()
		}
		if i%501 == 0 {
			if got, want := s.value(), refFloatSum(window); got != want {
				t.Fatalf("step %d: %v, want %v", i, got, want)
			}
		}
	}
}

func TestInt128(t *testing.T) {
	rng := rand.New(rand.NewPCG(5, 6))
	extremes := []int64{math.MaxInt64, math.MinInt64, math.MaxInt64 - 1, 1 << 62, -(1 << 62), 1<<53 + 1}
	for range 2000 {
		var a int128
		b := new(big.Int)
		var window []int64
		for range rng.IntN(40) {
			if len(window) > 0 && rng.IntN(3) == 0 {
				a.sub(window[0])
				b.Sub(b, big.NewInt(window[0]))
				window = window[1:]
				continue
			}
			x := extremes[rng.IntN(len(extremes))]
			if rng.IntN(2) == 0 {
				x = rng.Int64() >> rng.IntN(64)
			}
			a.add(x)
			b.Add(b, big.NewInt(x))
			window = append(window, x)
		}
		v, ok := a.int64()
		if ok != b.IsInt64() || ok && v != b.Int64() {
			t.Fatalf("%v: int64() = %d, %v; want %v", window, v, ok, b)
		}
		want, _ := new(big.Float).SetInt(b).Float64()
		if got := a.float64(); got != want {
			t.Fatalf("%v: float64() = %v, want %v", window, got, want)
		}
	}
}

// fixedSum and the prefix-sum arithmetic against math/big, on columns of
// up to fixedSpan binades (and one more, which must fall back).
func TestFixedSumMatchesBig(t *testing.T) {
	rng := rand.New(rand.NewPCG(11, 12))
	for round := range 2000 {
		span := rng.IntN(fixedSpan + 2)
		lowExp := rng.IntN(1900) - 960
		col := make([]float64, 1+rng.IntN(50))
		for i := range col {
			e := lowExp + rng.IntN(span+1)
			if i == 0 {
				e = lowExp
			}
			col[i] = math.Ldexp(1+rng.Float64(), e)
			if i == 1 {
				col[i] = math.Ldexp(1.5, lowExp+span)
			}
			if rng.IntN(2) == 0 {
				col[i] = -col[i]
			}
			if rng.IntN(20) == 0 {
				col[i] = []float64{0, math.Copysign(0, -1), math.NaN(), math.Inf(1)}[rng.IntN(4)]
			}
		}
		v := &tabular.Vector{Type: tabular.Float64, Floats: col}
		base, _ := fixedBase(v, len(col))
		if base < 0 {
			continue
		}
		var s fixedSum
		s.base = base
		s.reset()
		lo := 0
		for i, x := range col {
			s.add(x)
			if rng.IntN(3) == 0 {
				s.remove(col[lo])
				lo++
			}
			if lo > i {
				continue
			}
			got, want := s.value(), refFloatSum(col[lo:i+1])
			if math.Float64bits(got) != math.Float64bits(want) && !(math.IsNaN(got) && math.IsNaN(want)) {
				t.Fatalf("round %d (span %d, base %d): sum of %v = %v, want %v", round, span, base, col[lo:i+1], got, want)
			}
		}
	}
}
