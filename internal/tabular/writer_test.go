package tabular

import (
	"bytes"
	"errors"
	"fmt"
	"math/rand/v2"
	"reflect"
	"runtime"
	"testing"
	"time"

	"github.com/parquet-go/parquet-go"
)

var writerTestSchema = Schema{Columns: []Column{
	{Name: "id", Type: Int64},
	{Name: "ts", Type: Timestamp, Nullable: true},
	{Name: "x", Type: Float64, Nullable: true},
	{Name: "ok", Type: Bool, Nullable: true},
	{Name: "s", Type: String, Nullable: true},
}}

// nonNullable is s with every column not nullable.
func nonNullable(s Schema) Schema {
	out := Schema{Columns: append([]Column(nil), s.Columns...)}
	for i := range out.Columns {
		out.Columns[i].Nullable = false
	}
	return out
}

// writeBatches writes batches (writerTestSchema) with options o.
func writeBatches(t testing.TB, batches []*Batch, o WriterOptions) []byte {
	t.Helper()
	var buf bytes.Buffer
	w := NewBatchWriter(&buf, writerTestSchema, o)
	for _, b := range batches {
		if err := w.Write(b); err != nil {
			t.Fatal(err)
		}
	}
	if _, _, err := w.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// randomBatches makes n batches of random rows (nulls, empty and long
// strings) for writerTestSchema.
func randomBatches(rng *rand.Rand, n int) []*Batch {
	var out []*Batch
	id := int64(0)
	for range n {
		b := newBatch(writerTestSchema)
		rows := 1 + rng.IntN(batchRows)
		for range rows {
			b.Vectors[0].appendInt(b, id)
			id++
			if rng.IntN(10) == 0 {
				b.Vectors[1].appendNull(b)
			} else {
				b.Vectors[1].appendInt(b, rng.Int64N(1<<50))
			}
			if rng.IntN(10) == 0 {
				b.Vectors[2].appendNull(b)
			} else {
				b.Vectors[2].appendFloat(b, rng.NormFloat64())
			}
			if rng.IntN(10) == 0 {
				b.Vectors[3].appendNull(b)
			} else {
				b.Vectors[3].appendBool(b, rng.IntN(2) == 0)
			}
			switch rng.IntN(10) {
			case 0:
				b.Vectors[4].appendNull(b)
			default:
				b.Vectors[4].appendString(b, []byte(fmt.Sprintf("v%d%s", rng.IntN(1000), bytes.Repeat([]byte("x"), rng.IntN(40)))))
			}
			b.Len++
		}
		out = append(out, b)
	}
	return out
}

// sequentialParquet writes batches the way BatchWriter did before it
// had a second stage and encoded columns in parallel: one column after
// the other, on the caller's goroutine. It is the reference for byte
// identity: version ids are digests of these bytes.
func sequentialParquet(t *testing.T, batches []*Batch, groupRows int) []byte {
	t.Helper()
	var buf bytes.Buffer
	pw := newParquetWriter(&buf, writerTestSchema)
	var vals []parquet.Value
	inGroup := 0
	for _, b := range batches {
		for ci := range b.Vectors {
			if err := encodeColumn(pw.ColumnWriters()[ci], b, ci, &vals); err != nil {
				t.Fatal(err)
			}
		}
		inGroup += b.Len
		if inGroup >= groupRows {
			if err := pw.Flush(); err != nil {
				t.Fatal(err)
			}
			inGroup = 0
		}
	}
	if inGroup > 0 {
		if err := pw.Flush(); err != nil {
			t.Fatal(err)
		}
	}
	if err := pw.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func TestBatchWriterBytesMatchSequentialWriter(t *testing.T) {
	rng := rand.New(rand.NewPCG(7, 11))
	for trial := range 5 {
		batches := randomBatches(rng, 1+rng.IntN(12))
		groupRows := 1000 + rng.IntN(20000)
		want := sequentialParquet(t, batches, groupRows)
		var got bytes.Buffer
		w := NewBatchWriter(&got, writerTestSchema, WriterOptions{RowGroupRows: groupRows})
		var rows int64
		for _, b := range batches {
			if err := w.Write(b); err != nil {
				t.Fatal(err)
			}
			b.Vectors[0].Ints[0] = -1 // the writer copied the batch: changing it now must not matter
			rows += int64(b.Len)
		}
		n, size, err := w.Close()
		if err != nil {
			t.Fatal(err)
		}
		if n != rows || size != int64(got.Len()) {
			t.Fatalf("trial %d: Close = (%d rows, %d bytes), wrote %d rows, %d bytes", trial, n, size, rows, got.Len())
		}
		if !bytes.Equal(got.Bytes(), want) {
			t.Fatalf("trial %d: %d bytes differ from the sequential writer's %d", trial, got.Len(), len(want))
		}
	}
}

func TestBatchWriterScratchFilesRoundTrip(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 5))
	batches := randomBatches(rng, 4)
	var zst, raw bytes.Buffer
	for _, c := range []struct {
		buf     *bytes.Buffer
		scratch bool
	}{{&zst, false}, {&raw, true}} {
		w := NewBatchWriter(c.buf, writerTestSchema, WriterOptions{RowGroupRows: 3000, Scratch: c.scratch})
		for _, b := range batches {
			if err := w.Write(b); err != nil {
				t.Fatal(err)
			}
		}
		if _, _, err := w.Close(); err != nil {
			t.Fatal(err)
		}
	}
	if raw.Len() <= zst.Len() {
		t.Fatalf("uncompressed file (%d bytes) not larger than zstd (%d)", raw.Len(), zst.Len())
	}
	_, want := readAll(t, zst.Bytes())
	_, got := readAll(t, raw.Bytes())
	if !reflect.DeepEqual(got, want) {
		t.Fatal("uncompressed file reads back different rows than the zstd one")
	}
}

type diskFullWriter struct{ after int }

func (f *diskFullWriter) Write(p []byte) (int, error) {
	if f.after -= len(p); f.after < 0 {
		return 0, errors.New("disk full")
	}
	return len(p), nil
}

func TestBatchWriterReportsWriteErrorsAndStops(t *testing.T) {
	before := runtime.NumGoroutine()
	rng := rand.New(rand.NewPCG(1, 2))
	batches := randomBatches(rng, 8)
	w := NewBatchWriter(&diskFullWriter{after: 1000}, writerTestSchema, WriterOptions{RowGroupRows: 2000})
	var err error
	for _, b := range batches {
		if err = w.Write(b); err != nil {
			break
		}
	}
	if err == nil {
		_, _, err = w.Close()
	}
	if err == nil || !bytes.Contains([]byte(err.Error()), []byte("disk full")) {
		t.Fatalf("err = %v, want the write error", err)
	}
	w.Abort() // after a failure, Abort is still safe

	// Abort mid-file stops the second stage without finishing the file.
	a := NewBatchWriter(&bytes.Buffer{}, writerTestSchema, WriterOptions{})
	if err := a.Write(batches[0]); err != nil {
		t.Fatal(err)
	}
	a.Abort()
	if _, _, err := a.Close(); err == nil {
		t.Fatal("Close after Abort succeeded")
	}
	if err := a.Write(batches[0]); err == nil {
		t.Fatal("Write after Abort succeeded")
	}
	waitGoroutines(t, before)
}

// waitGoroutines fails t unless the goroutine count falls back to before
// within a few seconds (stopped goroutines take a moment to exit).
func waitGoroutines(t *testing.T, before int) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for runtime.NumGoroutine() > before && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	if n := runtime.NumGoroutine(); n > before {
		t.Fatalf("%d goroutines after the work ended, %d before", n, before)
	}
}

func TestAppendSelectedEqualsAppendRow(t *testing.T) {
	rng := rand.New(rand.NewPCG(12, 1))
	src := randomBatches(rng, 1)[0]
	strict := nonNullable(writerTestSchema)
	all := []int{0, 1, 2, 3, 4}
	for _, s := range []Schema{writerTestSchema, strict} {
		for range 30 {
			sel := make([]int, rng.IntN(300))
			for i := range sel {
				sel[i] = rng.IntN(src.Len) // any order, repeats allowed
			}
			want, got := newBatch(s), newBatch(s)
			for _, i := range sel {
				want.AppendRow(src, i, all)
			}
			got.AppendSelected(src, sel, all)
			if !reflect.DeepEqual(got, want) {
				t.Fatalf("nullable=%v: AppendSelected differs from AppendRow", s.Columns[1].Nullable)
			}
		}
	}
}

// TestWriteParquetCutsBatchesLikeAppendRow: WriteParquet gathers rows a
// column at a time; its file must be the one that appending row by row
// and writing each full batch gives, including when large strings end
// batches on the byte bound before batchRows rows.
func TestWriteParquetCutsBatchesLikeAppendRow(t *testing.T) {
	rng := rand.New(rand.NewPCG(2, 12))
	table := NewTable(writerTestSchema)
	big := bytes.Repeat([]byte("y"), 20000)
	for _, b := range randomBatches(rng, 3) {
		for i := range b.Len {
			table.AppendRow(b, i, []int{0, 1, 2, 3, 4})
			if rng.IntN(2) == 0 { // a large string every other row or so
				table.batch.Vectors[4].Bytes = append(table.batch.Vectors[4].Bytes, big...)
				table.batch.Vectors[4].Offsets[table.Len()] = uint32(len(table.batch.Vectors[4].Bytes))
				table.batch.Vectors[4].Nulls[table.Len()-1] = false
			}
		}
	}
	order := rng.Perm(table.Len())
	for _, ord := range [][]int{order, nil} {
		var got bytes.Buffer
		if _, _, err := table.WriteParquet(&got, ord, WriterOptions{}); err != nil {
			t.Fatal(err)
		}
		var want bytes.Buffer
		w := NewBatchWriter(&want, writerTestSchema, WriterOptions{})
		out := newBatch(writerTestSchema)
		batches := 0
		for k := range table.Len() {
			i := k
			if ord != nil {
				i = ord[k]
			}
			out.AppendRow(table.batch, i, []int{0, 1, 2, 3, 4})
			if out.full(batchRows) {
				if err := w.Write(out); err != nil {
					t.Fatal(err)
				}
				out.reset()
				batches++
			}
		}
		if err := w.Write(out); err != nil {
			t.Fatal(err)
		}
		if _, _, err := w.Close(); err != nil {
			t.Fatal(err)
		}
		if batches <= table.Len()/batchRows {
			t.Fatalf("the byte bound never cut a batch (%d batches for %d rows): the test does not test it", batches, table.Len())
		}
		if !bytes.Equal(got.Bytes(), want.Bytes()) {
			t.Fatalf("order=%v: WriteParquet wrote %d bytes, row by row gives %d", ord != nil, got.Len(), want.Len())
		}
	}
}
