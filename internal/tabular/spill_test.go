package tabular

import (
	"bytes"
	"context"
	"errors"
	"io"
	"math/rand/v2"
	"reflect"
	"strings"
	"testing"
)

func writeSpill(t testing.TB, batches []*Batch) []byte {
	return writeBatches(t, batches, WriterOptions{Scratch: true})
}

// TestSpillRoundTripsAndProjects: a scratch file reads back exactly what
// was written, whole, through Next with read-ahead, and as a subset of
// columns in another order.
func TestSpillRoundTripsAndProjects(t *testing.T) {
	rng := rand.New(rand.NewPCG(31, 7))
	batches := randomBatches(rng, 5)
	data := writeSpill(t, batches)
	if !isSpill(data[:8]) {
		t.Fatal("scratch file does not start with the spill magic")
	}
	want := NewTable(writerTestSchema)
	for _, b := range batches {
		for i := range b.Len {
			want.AppendRow(b, i, []int{0, 1, 2, 3, 4})
		}
	}
	got := NewTable(writerTestSchema)
	if err := got.AppendParquet(context.Background(), bytes.NewReader(data), int64(len(data))); err != nil {
		t.Fatal(err)
	}
	if got.Len() != want.Len() || !reflect.DeepEqual(got.Batch().Vectors, want.Batch().Vectors) {
		t.Fatalf("read back %d rows, different from the %d written", got.Len(), want.Len())
	}
	viaNext, err := readTable(t, data, true)
	if err != nil || !reflect.DeepEqual(viaNext.Batch().Vectors, want.Batch().Vectors) {
		t.Fatalf("Next with read-ahead: %v", err)
	}
	r, err := NewReader(bytes.NewReader(data), int64(len(data)))
	if err != nil {
		t.Fatal(err)
	}
	if r.NumRows() != int64(want.Len()) {
		t.Fatalf("NumRows %d, wrote %d", r.NumRows(), want.Len())
	}
	r.Close()

	sub := Schema{Columns: []Column{writerTestSchema.Columns[4], writerTestSchema.Columns[0]}}
	part := NewTable(sub)
	if err := part.AppendParquet(context.Background(), bytes.NewReader(data), int64(len(data))); err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(part.Column(0), want.Column(4)) || !reflect.DeepEqual(part.Column(1), want.Column(0)) {
		t.Fatal("projected columns differ")
	}

	// A column with nulls cannot be read as not nullable.
	strict := Schema{Columns: []Column{{Name: "x", Type: Float64}}}
	err = NewTable(strict).AppendParquet(context.Background(), bytes.NewReader(data), int64(len(data)))
	if err == nil || !errors.Is(err, ErrBadInput) || !strings.Contains(err.Error(), "null in a column that is not nullable") {
		t.Fatalf("strict read: %v", err)
	}

	// No rows: a valid, empty file.
	empty := writeSpill(t, nil)
	r, err = NewReader(bytes.NewReader(empty), int64(len(empty)))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := r.Next(); err != io.EOF || r.NumRows() != 0 {
		t.Fatalf("empty spill file: %v, %d rows", err, r.NumRows())
	}
}

// TestSpillDamageIsAnError: truncation and flipped bytes anywhere give an
// input error naming the problem, never a panic or wrong rows.
func TestSpillDamageIsAnError(t *testing.T) {
	rng := rand.New(rand.NewPCG(8, 31))
	data := writeSpill(t, randomBatches(rng, 3))
	read := func(b []byte) error {
		r, err := NewReader(bytes.NewReader(b), int64(len(b)))
		if err != nil {
			return err
		}
		defer r.Close()
		for {
			if _, err := r.Next(); err != nil {
				if err == io.EOF {
					return nil
				}
				return err
			}
		}
	}
	for _, cut := range []int{len(data) - 1, len(data) - 21, len(data) / 2, 40} {
		if err := read(data[:cut]); err == nil || !errors.Is(err, ErrBadInput) {
			t.Errorf("truncated to %d bytes: %v", cut, err)
		}
	}
	for range 200 {
		bad := bytes.Clone(data)
		bad[len(spillMagic)+rng.IntN(len(bad)-len(spillMagic))] ^= byte(1 + rng.IntN(255))
		if err := read(bad); err == nil {
			t.Fatal("a flipped byte went unnoticed")
		}
	}
}

// FuzzSpillReader: any bytes after the spill magic are read without a
// panic; what reads back without error has consistent vectors.
func FuzzSpillReader(f *testing.F) {
	// Small seeds: the fuzzer mutates whole inputs, and a few rows reach
	// every branch of the format.
	rng := rand.New(rand.NewPCG(1, 1))
	for _, rows := range []int{1, 7} {
		b := randomBatches(rng, 1)[0]
		small := newBatch(writerTestSchema)
		for i := range rows {
			small.AppendRow(b, i, []int{0, 1, 2, 3, 4})
		}
		f.Add(writeSpill(f, []*Batch{small, small}))
	}
	f.Add(writeSpill(f, nil))
	f.Add([]byte(spillMagic + "\\x02\\x00\\x00\\x00{}"))
	f.Fuzz(func(t *testing.T, data []byte) {
		if len(data) < len(spillMagic) || !isSpill(data[:len(spillMagic)]) {
			data = append([]byte(spillMagic), data...)
		}
		r, err := NewReader(bytes.NewReader(data), int64(len(data)))
		if err != nil {
			return
		}
		defer r.Close()
		for {
			b, err := r.Next()
			if err != nil {
				return
			}
			for i := range b.Vectors {
				v := &b.Vectors[i]
				if v.Nulls != nil && len(v.Nulls) != b.Len {
					t.Fatalf("column %d: %d null flags for %d rows", i, len(v.Nulls), b.Len)
				}
				if v.Type == String && int(v.Offsets[len(v.Offsets)-1]) != len(v.Bytes) {
					t.Fatalf("column %d: offsets end at %d, %d bytes", i, v.Offsets[len(v.Offsets)-1], len(v.Bytes))
				}
			}
		}
	})
}
