package tabular

import (
	"bytes"
	"context"
	"errors"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/parquet-go/parquet-go"
	"github.com/parquet-go/parquet-go/deprecated"
)

type foreignRow struct {
	I32  int32     `parquet:"i32"`
	U16  uint16    `parquet:"u16"`
	U32  uint32    `parquet:"u32"`
	F32  float32   `parquet:"f32"`
	Str  string    `parquet:"str"`
	Raw  []byte    `parquet:"raw"`
	Ms   time.Time `parquet:"ms,timestamp(millisecond)"`
	Ns   time.Time `parquet:"ns,timestamp(nanosecond)"`
	Day  int32     `parquet:"day,date"` // days; parquet-go mis-encodes time.Time dates
	Opt  *int64    `parquet:"opt,optional"`
	Flag bool      `parquet:"flag"`
	Enum string    `parquet:"enum,enum"`
	Dict string    `parquet:"dict,dict"`
}

func writeParquet[T any](t *testing.T, rows []T, opts ...parquet.WriterOption) []byte {
	t.Helper()
	var buf bytes.Buffer
	w := parquet.NewGenericWriter[T](&buf, opts...)
	if _, err := w.Write(rows); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func TestParquetInput(t *testing.T) {
	seven := int64(7)
	ts := time.Date(2024, 3, 1, 8, 0, 0, 123456789, time.UTC)
	rows := []foreignRow{
		{I32: -5, U16: 65535, U32: 4294967295, F32: 0.1, Str: "héllo", Raw: []byte("raw"), Ms: ts, Ns: ts, Day: 19783, Opt: &seven, Flag: true, Enum: "A", Dict: "d"},
		{I32: 2147483647, F32: -0.5, Str: "", Raw: nil, Ms: time.Unix(0, 0).UTC(), Ns: time.Unix(-1, 999999999).UTC(), Day: -1, Enum: "B", Dict: "d"},
	}
	pqIn := writeParquet(t, rows, parquet.MaxRowsPerRowGroup(1))
	pq, res := convertBytes(t, pqIn, ConvertOptions{File: "foreign.parquet"})
	want := []Column{
		{Name: "i32", Type: Int64}, {Name: "u16", Type: Int64}, {Name: "u32", Type: Int64}, {Name: "f32", Type: Float64},
		{Name: "str", Type: String}, {Name: "raw", Type: String}, {Name: "ms", Type: Timestamp}, {Name: "ns", Type: Timestamp},
		{Name: "day", Type: Timestamp}, {Name: "opt", Type: Int64, Nullable: true}, {Name: "flag", Type: Bool},
		{Name: "enum", Type: String}, {Name: "dict", Type: String},
	}
	if !reflect.DeepEqual(res.Schema.Columns, want) {
		t.Fatalf("schema\n got %+v\nwant %+v", res.Schema.Columns, want)
	}
	got := exportBytes(t, pq)
	wantCSV := "i32,u16,u32,f32,str,raw,ms,ns,day,opt,flag,enum,dict\n" +
		"-5,65535,4294967295,0.10000000149011612,héllo,raw,2024-03-01T08:00:00.123Z,2024-03-01T08:00:00.123456Z,2024-03-01T00:00:00Z,7,true,A,d\n" +
		"2147483647,0,0,-0.5,\"\",\"\",1970-01-01T00:00:00Z,1969-12-31T23:59:59.999999Z,1969-12-31T00:00:00Z,,false,B,d\n"
	if got != wantCSV {
		t.Errorf("export\n got %q\nwant %q", got, wantCSV)
	}
	// Projection: a schema picks and orders the columns, types must agree.
	sub := Schema{Columns: []Column{{Name: "flag", Type: Bool}, {Name: "i32", Type: Int64}}}
	_, err := Convert(context.Background(), bytes.NewReader(pqIn), &bytes.Buffer{}, ConvertOptions{File: "f.parquet", Schema: sub})
	if err == nil || !strings.Contains(err.Error(), `column "u16": not in the schema`) {
		t.Errorf("extra columns: err = %v", err)
	}
	full := Schema{Columns: append([]Column(nil), want...)}
	full.Columns[0], full.Columns[1] = full.Columns[1], full.Columns[0]
	pq2, _ := convertBytes(t, pqIn, ConvertOptions{File: "f.parquet", Schema: full})
	s2, _ := readAll(t, pq2)
	if s2.Columns[0].Name != "u16" {
		t.Errorf("projection order: %v", s2.Names())
	}
	full.Columns[0].Type = String
	_, err = Convert(context.Background(), bytes.NewReader(pqIn), &bytes.Buffer{}, ConvertOptions{File: "f.parquet", Schema: full})
	if err == nil || !errors.Is(err, ErrBadInput) || !strings.Contains(err.Error(), `column "u16": is int64 in the parquet file, but string in the schema`) {
		t.Errorf("type mismatch: err = %v", err)
	}
	// Canonical output is itself a valid input and converts to itself.
	pq3, _ := convertBytes(t, pq, ConvertOptions{Format: Parquet})
	if !bytes.Equal(pq, pq3) {
		t.Errorf("canonical parquet does not convert to itself")
	}
}

func TestParquetInputInt96(t *testing.T) {
	type legacy struct {
		T deprecated.Int96 `parquet:"t"`
	}
	// Julian day 2440589 is 1970-01-02; 1500 ns into the day.
	pq, res := convertBytes(t, writeParquet(t, []legacy{{T: deprecated.Int96{1500, 0, 2440589}}}), ConvertOptions{Format: Parquet})
	if res.Schema.Columns[0].Type != Timestamp {
		t.Fatalf("schema %+v", res.Schema)
	}
	if got := exportBytes(t, pq); got != "t\n1970-01-02T00:00:00.000001Z\n" {
		t.Errorf("got %q", got)
	}
}

func TestParquetInputUnsupported(t *testing.T) {
	type dec struct {
		D int64 `parquet:"d,decimal(2:10)"`
	}
	type inner struct{ X int64 }
	type nested struct {
		N inner `parquet:"n"`
	}
	type list struct {
		L []int64 `parquet:"l,list"`
	}
	type u64 struct {
		U uint64 `parquet:"u"`
	}
	type invalid struct {
		S []byte `parquet:"s"`
	}
	tests := []struct {
		name string
		data []byte
		want string
	}{
		{"decimal", writeParquet(t, []dec{{D: 1}}), `t.parquet: column "d": unsupported parquet type logical type DECIMAL`},
		{"nested", writeParquet(t, []nested{{}}), `t.parquet: column "n": nested group columns are not supported`},
		{"list", writeParquet(t, []list{{L: []int64{1}}}), `t.parquet: column "l": nested group columns are not supported`},
		{"uint64", writeParquet(t, []u64{{U: 1}}), `t.parquet: column "u": unsupported parquet type UINT64`},
		{"invalid utf8", writeParquet(t, []invalid{{S: []byte{0xff}}}), `t.parquet: row 1, column "s": "\xff" is not valid UTF-8`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Convert(context.Background(), bytes.NewReader(tt.data), &bytes.Buffer{}, ConvertOptions{File: "t.parquet"})
			if err == nil || !errors.Is(err, ErrBadInput) || !strings.HasPrefix(err.Error(), tt.want) {
				t.Errorf("err = %v\nwant prefix %s", err, tt.want)
			}
		})
	}
}
