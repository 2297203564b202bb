package tabular

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"runtime"
	"strings"
	"testing"

	"github.com/parquet-go/parquet-go/encoding/thrift"
	"github.com/parquet-go/parquet-go/format"
)

func TestFooterChecks(t *testing.T) {
	type row struct {
		X int64 `parquet:"x"`
	}
	good := footerOf(t, writeParquet(t, []row{{1}, {2}}))
	leaf := format.SchemaElement{Name: "x", Type: thrift.New(format.Int64), RepetitionType: thrift.New(format.Required)}
	tests := []struct {
		name string
		edit func(md *format.FileMetaData)
		raw  func(footer []byte) []byte
		want string
	}{
		{name: "no schema", edit: func(md *format.FileMetaData) { md.Schema = nil }, want: "footer has no schema"},
		{name: "root is a column", edit: func(md *format.FileMetaData) { md.Schema = []format.SchemaElement{leaf} }, want: "schema root is a column"},
		{name: "missing children", edit: func(md *format.FileMetaData) { md.Schema[0].NumChildren = thrift.New[int32](3) },
			want: `has 3 children, the schema 1 more elements`},
		{name: "negative children", edit: func(md *format.FileMetaData) { md.Schema[0].NumChildren = thrift.New[int32](-1) },
			want: `has -1 children`},
		{name: "elements outside the tree", edit: func(md *format.FileMetaData) { md.Schema = append(md.Schema, leaf) },
			want: "schema has 1 elements outside the root's tree"},
		{name: "typed group", edit: func(md *format.FileMetaData) { md.Schema[1].NumChildren = thrift.New[int32](1) },
			want: `schema element "x" has a type and 1 children`},
		{name: "chunks per row group", edit: func(md *format.FileMetaData) { md.RowGroups[0].Columns = nil },
			want: "row group 0 has 0 column chunks for 1 columns"},
		{name: "trailing bytes", raw: func(f []byte) []byte { return append(f, 0, 0, 0) },
			want: "footer: 3 bytes after the file metadata (signed or encrypted footers are not supported)"},
		{name: "truncated string", raw: func(f []byte) []byte { return append(f[:len(f)-1:len(f)-1], 0x18, 0x7f) },
			want: "footer: truncated"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			md := *good
			md.Schema = append([]format.SchemaElement(nil), good.Schema...)
			md.RowGroups = append([]format.RowGroup(nil), good.RowGroups...)
			footer := marshalThrift(t, &md)
			if tt.edit != nil {
				tt.edit(&md)
				footer = marshalThrift(t, &md)
			}
			if tt.raw != nil {
				footer = tt.raw(footer)
			}
			data := parquetFile(nil, footer)
			_, err := Convert(context.Background(), bytes.NewReader(data), &bytes.Buffer{}, ConvertOptions{File: "f.parquet", Format: Parquet})
			if err == nil || !errors.Is(err, ErrBadInput) || !strings.HasPrefix(err.Error(), "f.parquet: corrupt parquet file: ") || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("err = %v\nwant %q", err, tt.want)
			}
		})
	}
}

// The estimate that bounds a footer covers what decoding it and opening
// the file really allocate, on a file of many chunks (300 columns, 20 row
// groups), and stays within a small factor of it.
func TestFooterEstimateCoversDecoding(t *testing.T) {
	const cols, groups = 300, 20
	var b strings.Builder
	for c := range cols {
		if c > 0 {
			b.WriteByte(',')
		}
		fmt.Fprintf(&b, "column_%d", c)
	}
	b.WriteByte('\n')
	for r := range groups {
		for c := range cols {
			if c > 0 {
				b.WriteByte(',')
			}
			fmt.Fprintf(&b, "%d", r*c)
		}
		b.WriteByte('\n')
	}
	pq, _ := convertBytes(t, []byte(b.String()), ConvertOptions{Format: CSV, RowGroupRows: 1})
	md := footerOf(t, pq)
	if len(md.RowGroups) != groups {
		t.Fatalf("%d row groups", len(md.RowGroups))
	}
	footer := marshalThrift(t, md)
	var w compactWalker
	if _, err := w.structLen(footer, 0); err != nil {
		t.Fatal(err)
	}
	runtime.GC()
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	r, err := NewReader(bytes.NewReader(pq), int64(len(pq)))
	runtime.ReadMemStats(&after)
	if err != nil {
		t.Fatal(err)
	}
	r.Close()
	alloc := int64(after.TotalAlloc - before.TotalAlloc)
	t.Logf("footer %d bytes, estimate %d KiB, opening allocated %d KiB", len(footer), w.cost>>10, alloc>>10)
	if alloc > w.cost {
		t.Errorf("opening allocated %d bytes, more than the estimate %d", alloc, w.cost)
	}
	if w.cost > 8*alloc {
		t.Errorf("estimate %d bytes is more than 8 times what opening allocated (%d)", w.cost, alloc)
	}
}

// A page header is bounded like a footer: one that would decode into far
// more than its own size (here 20,000 empty structs in an unknown field)
// is refused before thrift decodes it.
func TestPageHeaderEstimateBounded(t *testing.T) {
	data := []byte("\x01\x00\x00\x00x")
	header := onePageHeader(t, 1, int32(len(data)), data)
	header = header[:len(header)-1]                 // drop the stop byte
	header = append(header, 0x09, 0xc6, 0x01, 0xfc) // field 99: a list of structs
	header = binary.AppendUvarint(header, 20000)
	header = append(header, make([]byte, 20000)...)
	header = append(header, 0x00)
	file := onePageFileWithHeader(t, format.Uncompressed, 1, int32(len(data)), header, data)
	_, err := Convert(context.Background(), bytes.NewReader(file), &bytes.Buffer{}, ConvertOptions{File: "h.parquet", Format: Parquet})
	if err == nil || !strings.Contains(err.Error(), "h.parquet: corrupt parquet file: column [x]: page header at offset 4: would take about 41 MiB to decode") {
		t.Fatalf("err = %v", err)
	}
	// Without the list the same file reads.
	ok := onePageFile(t, format.Uncompressed, 1, int32(len(data)), data)
	if _, err := Convert(context.Background(), bytes.NewReader(ok), &bytes.Buffer{}, ConvertOptions{File: "h.parquet", Format: Parquet}); err != nil {
		t.Fatal(err)
	}
}
