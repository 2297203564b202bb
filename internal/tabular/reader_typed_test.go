package tabular

import (
	"bytes"
	"context"
	"errors"
	"math/rand/v2"
	"reflect"
	"strings"
	"testing"
	"unicode/utf8"
)

// TestReaderRoundTripsWrittenBatches reads files written by BatchWriter
// (plain pages, several per column and row group, nulls in every column)
// through Next and through Table.AppendParquet, and compares every value
// with what was written.
func TestReaderRoundTripsWrittenBatches(t *testing.T) {
	rng := rand.New(rand.NewPCG(21, 4))
	for _, scratch := range []bool{false, true} {
		batches := randomBatches(rng, 10)
		var buf bytes.Buffer
		// Row groups over parallelReadRows make AppendParquet decode the
		// columns in parallel; smaller ones one after the other.
		groupRows := 7000
		if !scratch {
			groupRows = parallelReadRows + 1000
		}
		w := NewBatchWriter(&buf, writerTestSchema, WriterOptions{RowGroupRows: groupRows, Scratch: scratch})
		want := NewTable(writerTestSchema)
		all := []int{0, 1, 2, 3, 4}
		for _, b := range batches {
			if err := w.Write(b); err != nil {
				t.Fatal(err)
			}
			for i := range b.Len {
				want.AppendRow(b, i, all)
			}
		}
		if _, _, err := w.Close(); err != nil {
			t.Fatal(err)
		}
		pq := buf.Bytes()

		got := NewTable(writerTestSchema)
		if err := got.AppendParquet(context.Background(), bytes.NewReader(pq), int64(len(pq))); err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(got.Batch().Vectors, want.Batch().Vectors) || got.Len() != want.Len() {
			t.Fatalf("scratch %v: AppendParquet read back different values (%d rows, wrote %d)", scratch, got.Len(), want.Len())
		}

		r, err := NewReader(bytes.NewReader(pq), int64(len(pq)))
		if err != nil {
			t.Fatal(err)
		}
		next := NewTable(writerTestSchema)
		for {
			b, err := r.Next()
			if err != nil {
				break
			}
			for i := range b.Len {
				next.AppendRow(b, i, all)
			}
		}
		r.Close()
		if !reflect.DeepEqual(next.Batch().Vectors, want.Batch().Vectors) {
			t.Fatalf("scratch %v: Next read back different values", scratch)
		}
	}
}

func TestValidUTF8Pieces(t *testing.T) {
	euro := "€" // three bytes
	cases := []struct {
		pieces []string
	}{
		{[]string{"a", "", "héllo", euro}},
		{[]string{euro[:1], euro[1:]}}, // a rune split across two values: valid together, invalid apart
		{[]string{"ok", "\xff"}},
		{[]string{"", ""}},
		{[]string{euro[:2], euro[2:] + "x"}},
	}
	for _, c := range cases {
		var bs []byte
		offs := []uint32{0}
		want := true
		for _, p := range c.pieces {
			bs = append(bs, p...)
			offs = append(offs, uint32(len(bs)))
			want = want && utf8.ValidString(p)
		}
		if got := validUTF8Pieces(bs, offs); got != want {
			t.Errorf("%q: validUTF8Pieces = %v, want %v", c.pieces, got, want)
		}
	}
}

// TestReaderTypedPathErrors: a rune split across two values of a plain
// page is still reported, at the right row; a null in a column read as
// not nullable is an input error.
func TestReaderTypedPathErrors(t *testing.T) {
	type row struct {
		S []byte `parquet:"s"`
	}
	euro := []byte("€")
	pq := writeParquet(t, []row{{S: []byte("fine")}, {S: euro[:1]}, {S: euro[1:]}})
	_, err := Convert(context.Background(), bytes.NewReader(pq), &bytes.Buffer{}, ConvertOptions{File: "t.parquet"})
	if err == nil || !errors.Is(err, ErrBadInput) || !strings.HasPrefix(err.Error(), `t.parquet: row 2, column "s": "\xe2" is not valid UTF-8`) {
		t.Fatalf("err = %v", err)
	}

	type opt struct {
		X *int64 `parquet:"x,optional"`
	}
	one := int64(1)
	pq = writeParquet(t, []opt{{X: &one}, {X: nil}})
	strict := NewTable(Schema{Columns: []Column{{Name: "x", Type: Int64}}})
	err = strict.AppendParquet(context.Background(), bytes.NewReader(pq), int64(len(pq)))
	if err == nil || !errors.Is(err, ErrBadInput) || !strings.Contains(err.Error(), `row 2, column "x": null in a column that is not nullable`) {
		t.Fatalf("err = %v", err)
	}
}
