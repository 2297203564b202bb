package tabular

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"strings"
	"testing"
)

// speculate runs the one-pass path: schema from the first rows, then a
// conversion that must reject what does not fit it.
func speculate(t testing.TB, data []byte, rows int64) (Result, []byte, error) {
	t.Helper()
	p, err := InferCSVPrefix(context.Background(), bytes.NewReader(data), "x.csv", rows)
	if err != nil {
		return Result{}, nil, err
	}
	opts := ConvertOptions{File: "x.csv", Format: CSV, Schema: p.Schema}
	if !p.Complete {
		opts.NullOnly = p.NullOnly
	}
	var out bytes.Buffer
	res, err := Convert(context.Background(), bytes.NewReader(data), &out, opts)
	return res, out.Bytes(), err
}

// twoPass is the reference: full inference, then conversion.
func twoPass(t testing.TB, data []byte) (Result, []byte, error) {
	t.Helper()
	s, err := InferSchema(context.Background(), bytes.NewReader(data), ReadOptions{File: "x.csv", Format: CSV})
	if err != nil {
		return Result{}, nil, err
	}
	var out bytes.Buffer
	res, err := Convert(context.Background(), bytes.NewReader(data), &out, ConvertOptions{File: "x.csv", Format: CSV, Schema: s})
	return res, out.Bytes(), err
}

// checkSpeculation: a speculative conversion that succeeds is the
// two-pass result byte for byte; one that fails does so with
// ErrSpeculation or a bad-input error, never anything else.
func checkSpeculation(t testing.TB, data []byte, rows int64) (speculated bool) {
	t.Helper()
	sres, sbytes, serr := speculate(t, data, rows)
	fres, fbytes, ferr := twoPass(t, data)
	if serr != nil {
		if !errors.Is(serr, ErrSpeculation) && !errors.Is(serr, ErrBadInput) {
			t.Fatalf("speculation failed with %v, not ErrSpeculation or bad input", serr)
		}
		return false
	}
	if ferr != nil {
		t.Fatalf("the prefix schema converted the input, but the two-pass path fails: %v\n%s", ferr, data)
	}
	if fmt.Sprint(sres.Schema) != fmt.Sprint(fres.Schema) || !bytes.Equal(sbytes, fbytes) {
		t.Fatalf("speculation gave schema %v, two passes %v (bytes equal: %v)\n%s", sres.Schema, fres.Schema, bytes.Equal(sbytes, fbytes), data)
	}
	return true
}

func TestPrefixInferenceEitherMatchesOrFails(t *testing.T) {
	cases := []struct {
		name, csv  string
		speculates bool
	}{
		{"uniform", "a,b,c\n1,x,true\n2,y,false\n3,z,true\n4,w,false\n", true},
		{"int then float", "a\n1\n2\n3\n4.5\n", false},
		{"int then text", "a\n1\n2\n3\nfour\n", false},
		{"bool then int", "a\ntrue\nfalse\ntrue\n1\n", false},
		{"late null in a non-null column", "a,b\n1,x\n2,y\n3,z\n,w\n", false},
		{"late null in a nullable column", "a,b\n1,x\n,y\n3,z\n,w\n", true},
		{"values after an all-null prefix", "a,b\n,x\n,y\n,z\n7,w\n", false},
		{"all null throughout", "a,b\n,x\n,y\n,z\n,w\n", true},
		{"timestamp then date-only", "a\n2024-01-01T00:00:00Z\n2024-01-02T00:00:00Z\n2024-01-03T00:00:00Z\n2024-01-04\n", true},
		{"timestamp then not a date", "a\n2024-01-01T00:00:00Z\n2024-01-02T00:00:00Z\n2024-01-03T00:00:00Z\n2024-13-45\n", false},
		{"float prefix, int later", "a\n1.5\n2.5\n3.5\n4\n", true},
		{"string prefix, anything later", "a\nx\ny\nz\n4\n", true},
		{"prefix is the whole file", "a\n1\n2\n", true},
		{"malformed later row", "a,b\n1,2\n3,4\n5,6\n7\n", false},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if got := checkSpeculation(t, []byte(c.csv), 3); got != c.speculates {
				t.Fatalf("speculated %v, want %v", got, c.speculates)
			}
		})
	}
}

// Random CSVs whose columns change kind somewhere: whatever the prefix
// length, speculation is the two-pass result or an error.
func TestPrefixInferenceRandomized(t *testing.T) {
	rng := rand.New(rand.NewPCG(42, 7))
	kinds := []func(*rand.Rand) string{
		func(r *rand.Rand) string { return fmt.Sprint(r.IntN(1000) - 500) },
		func(r *rand.Rand) string { return fmt.Sprintf("%.3f", r.Float64()*100) },
		func(r *rand.Rand) string { return []string{"true", "false", "TRUE", "f"}[r.IntN(4)] },
		func(r *rand.Rand) string {
			return fmt.Sprintf("2024-%02d-%02dT10:00:00Z", 1+r.IntN(12), 1+r.IntN(28))
		},
		func(r *rand.Rand) string { return []string{"x", "hello world", `"a,b"`, "1e3"}[r.IntN(4)] },
		func(*rand.Rand) string { return "" },
	}
	speculated := 0
	for n := 0; n < 300; n++ {
		cols := 1 + rng.IntN(4)
		var b strings.Builder
		for c := 0; c < cols; c++ {
			if c > 0 {
				b.WriteByte(',')
			}
			fmt.Fprintf(&b, "c%d", c)
		}
		b.WriteByte('\n')
		first := make([]int, cols)
		later := make([]int, cols)
		switchAt := make([]int, cols)
		for c := range first {
			first[c], later[c], switchAt[c] = rng.IntN(len(kinds)), rng.IntN(len(kinds)), rng.IntN(40)
			if rng.IntN(2) == 0 {
				later[c] = first[c]
			}
		}
		rows := 1 + rng.IntN(40)
		for r := 0; r < rows; r++ {
			for c := 0; c < cols; c++ {
				if c > 0 {
					b.WriteByte(',')
				}
				k := first[c]
				if r >= switchAt[c] {
					k = later[c]
				}
				if rng.IntN(15) == 0 {
					k = len(kinds) - 1 // a stray null
				}
				b.WriteString(kinds[k](rng))
			}
			b.WriteByte('\n')
		}
		if checkSpeculation(t, []byte(b.String()), int64(1+rng.IntN(20))) {
			speculated++
		}
	}
	if speculated == 0 || speculated == 300 {
		t.Fatalf("%d of 300 inputs speculated; the generator should give both outcomes", speculated)
	}
}

// FuzzPrefixInference: for any input and prefix length, a speculative
// conversion that succeeds equals the two-pass one byte for byte.
func FuzzPrefixInference(f *testing.F) {
	f.Add([]byte("a,b\n1,x\n2,y\n3.5,z\n"), uint8(2))
	f.Add([]byte("a\n,\n1\n"), uint8(1))
	f.Add([]byte("t\n2024-01-01T00:00:00Z\n2024-01-01\n"), uint8(1))
	f.Fuzz(func(t *testing.T, data []byte, rows uint8) {
		if len(data) > 4096 {
			return
		}
		checkSpeculation(t, data, int64(rows%50))
	})
}
