package tabular

import (
	"bytes"
	"errors"
	"io"
	"math/rand/v2"
	"reflect"
	"runtime"
	"testing"
)

func writeTestFile(t *testing.T, batches []*Batch) []byte {
	return writeBatches(t, batches, WriterOptions{RowGroupRows: 5000})
}

func readTable(t *testing.T, pq []byte, ahead bool) (*Table, error) {
	t.Helper()
	r, err := NewReader(bytes.NewReader(pq), int64(len(pq)))
	if err != nil {
		return nil, err
	}
	defer r.Close()
	if ahead {
		if err := r.ReadAhead(); err != nil {
			t.Fatal(err)
		}
	}
	out := NewTable(r.Schema())
	all := []int{0, 1, 2, 3, 4}
	for {
		b, err := r.Next()
		if errors.Is(err, io.EOF) {
			return out, nil
		}
		if err != nil {
			return out, err
		}
		for i := range b.Len {
			out.AppendRow(b, i, all)
		}
	}
}

func TestReadAheadGivesTheSameRowsAndStops(t *testing.T) {
	before := runtime.NumGoroutine()
	pq := writeTestFile(t, randomBatches(rand.New(rand.NewPCG(4, 4)), 9))
	want, err := readTable(t, pq, false)
	if err != nil {
		t.Fatal(err)
	}
	got, err := readTable(t, pq, true)
	if err != nil {
		t.Fatal(err)
	}
	if got.Len() != want.Len() || !reflect.DeepEqual(got.Batch().Vectors, want.Batch().Vectors) {
		t.Fatalf("read ahead: %d rows, differing from the %d read directly", got.Len(), want.Len())
	}

	// Closed after one batch: the decoding goroutine stops.
	r, err := NewReader(bytes.NewReader(pq), int64(len(pq)))
	if err != nil {
		t.Fatal(err)
	}
	if err := r.ReadAhead(); err != nil {
		t.Fatal(err)
	}
	if err := r.Select([]string{"id"}); err == nil {
		t.Fatal("Select after ReadAhead succeeded")
	}
	if _, err := r.Next(); err != nil {
		t.Fatal(err)
	}
	r.Close()
	waitGoroutines(t, before)
}

// A decoding error surfaces from Next, and again on later calls.
func TestReadAheadReportsErrors(t *testing.T) {
	pq := writeTestFile(t, randomBatches(rand.New(rand.NewPCG(6, 6)), 6))
	bad := bytes.Clone(pq)
	// Corrupt the middle of the file (page data), not the footer.
	for i := len(bad) / 3; i < len(bad)/3+2000; i++ {
		bad[i] ^= 0x5a
	}
	_, direct := readTable(t, bad, false)
	_, ahead := readTable(t, bad, true)
	if direct == nil || ahead == nil || direct.Error() != ahead.Error() {
		t.Fatalf("errors differ: direct %v, read ahead %v", direct, ahead)
	}
	r, err := NewReader(bytes.NewReader(bad), int64(len(bad)))
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	if err := r.ReadAhead(); err != nil {
		t.Fatal(err)
	}
	var first error
	for first == nil {
		_, first = r.Next()
	}
	if _, again := r.Next(); again == nil || again.Error() != first.Error() {
		t.Fatalf("after %v, Next returned %v", first, again)
	}
}
