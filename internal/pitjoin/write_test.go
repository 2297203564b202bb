package pitjoin

import (
	"bytes"
	"errors"
	"fmt"
	"testing"

	"github.com/granaryml/granary/internal/tabular"
)

func TestWriteWithRowIDs(t *testing.T) {
	res := &Result{
		Schema:  tabular.Schema{Columns: []tabular.Column{{Name: "v__n", Type: tabular.Int64}}},
		Vectors: []tabular.Vector{{Type: tabular.Int64, Ints: []int64{3, 0, 5}}},
		Len:     3,
	}
	schema := tabular.Schema{Columns: []tabular.Column{{Name: "row", Type: tabular.Int64}, {Name: "v__n", Type: tabular.Int64, Nullable: true}}}
	var buf bytes.Buffer
	rows, err := res.WriteWithRowIDs(&buf, schema, &tabular.Vector{Type: tabular.Int64, Ints: []int64{2, 7, 9}})
	if err != nil || rows != 3 {
		t.Fatalf("rows %d, err %v", rows, err)
	}
	r, err := tabular.NewReader(bytes.NewReader(buf.Bytes()), int64(buf.Len()))
	if err != nil {
		t.Fatal(err)
	}
	b, err := r.Next()
	if err != nil {
		t.Fatal(err)
	}
	if ids, vals := fmt.Sprint(b.Vectors[0].Ints[:b.Len]), fmt.Sprint(b.Vectors[1].Ints[:b.Len]); ids != "[2 7 9]" || vals != "[3 0 5]" {
		t.Fatalf("wrote ids %s, values %s", ids, vals)
	}
	_, err = res.WriteWithRowIDs(&bytes.Buffer{}, schema, &tabular.Vector{Type: tabular.Int64, Ints: []int64{2, 2, 9}})
	if !errors.Is(err, ErrInvalid) {
		t.Fatalf("repeated row id must be refused, got %v", err)
	}
}
