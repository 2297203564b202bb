package tabular

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"io"
	"strings"
	"testing"
)

func TestBadInput(t *testing.T) {
	orders := Schema{Columns: []Column{{Name: "id", Type: Int64}, {Name: "amount", Type: Float64}}}
	var ordersCSV strings.Builder
	ordersCSV.WriteString("id,amount\n")
	for i := range 10 {
		ordersCSV.WriteString(string(rune('0'+i)) + ",1.5\n")
	}
	ordersCSV.WriteString("11,abc\n")
	ab := Schema{Columns: []Column{{Name: "a", Type: String}, {Name: "b", Type: Int64}}}
	abNullable := Schema{Columns: []Column{{Name: "a", Type: String, Nullable: true}, {Name: "b", Type: Int64, Nullable: true}}}
	tests := []struct {
		name   string
		file   string
		input  string
		schema Schema // empty: inferred
		want   string
	}{
		{"type mismatch", "orders.csv", ordersCSV.String(), orders, `orders.csv:12: row 11, column "amount": "abc" is not a float64`},
		{"type mismatch inferred", "orders.csv", "id,n\n1,2\n", Schema{Columns: []Column{{Name: "id", Type: Int64}, {Name: "n", Type: Bool}}},
			`orders.csv:2: row 1, column "n": "2" is not a bool`},
		{"int overflow", "t.csv", "a,b\nx,9223372036854775808\n", ab, `t.csv:2: row 1, column "b": "9223372036854775808" is not an int64`},
		{"bad timestamp", "t.csv", "t\n2024-02-30\n", Schema{Columns: []Column{{Name: "t", Type: Timestamp}}}, `t.csv:2: row 1, column "t": "2024-02-30" is not a timestamp`},
		{"too few fields", "t.csv", "a,b\nx,1\ny\n", ab, `t.csv:3: row 2: expected 2 fields, found 1`},
		{"too many fields", "t.csv", "a,b\nx,1,2\n", ab, `t.csv:2: row 1: expected 2 fields, found 3`},
		{"ragged inferred", "t.csv", "a,b\nx,1\n\ny,2,3\n", Schema{}, `t.csv:4: row 2: expected 2 fields, found 3`},
		{"bare quote", "t.csv", "a,b\nx\"y,1\n", ab, `t.csv:2: bare " in non-quoted field`},
		{"extraneous quote", "t.csv", "a,b\n\"x\"y,1\n", ab, `t.csv:2: extraneous or missing " in quoted field`},
		{"unclosed quote", "t.csv", "a,b\nx,1\n\"y,2\nz,3\n", ab, `t.csv:3: quoted field is never closed`},
		{"line after multi-line field", "t.csv", "a,b\n\"x\ny\",1\nz,q\n", ab, `t.csv:4: row 2, column "b": "q" is not an int64`},
		{"invalid utf-8", "t.csv", "a,b\nx\xff,1\n", ab, `t.csv:2: row 1, column "a": "x\xff" is not valid UTF-8`},
		{"invalid utf-8 inferred", "t.csv", "a,b\nx\xff,1\n", Schema{}, `t.csv:2: row 1, column "a": "x\xff" is not valid UTF-8`},
		{"invalid utf-8 header", "t.csv", "a\xff,b\n", Schema{}, `t.csv:1: column 1 name "a\xff" is not valid UTF-8`},
		{"null not allowed", "t.csv", "a,b\nx,\n", ab, `t.csv:2: row 1, column "b": missing value in a column that is not nullable`},
		{"empty file", "t.csv", "", Schema{}, `t.csv: empty file`},
		{"empty file with schema", "t.csv", "", ab, `t.csv: empty file`},
		{"duplicate column", "t.csv", "a,b,a\n1,2,3\n", Schema{}, `t.csv:1: column "a": duplicate column name (fields 1 and 3)`},
		{"empty column name", "t.csv", "a,,b\n", Schema{}, `t.csv:1: column 2 has an empty name`},
		{"column not in schema", "t.csv", "a,b,c\n", ab, `t.csv:1: column "c": not in the schema`},
		{"schema column missing", "t.csv", "a\n", ab, `t.csv:1: column "b": schema column missing from the input`},
		{"bad schema", "t.csv", "a\n", Schema{Columns: []Column{{Name: "a", Type: "text"}}}, `t.csv: column "a": unknown type "text" (want int64, float64, string, bool or timestamp)`},
		{"duplicate schema column", "t.csv", "a\n", Schema{Columns: []Column{{Name: "a", Type: Int64}, {Name: "a", Type: Int64}}}, `t.csv: column "a": duplicate column name`},

		{"jsonl not object", "t.jsonl", "{\"a\":1}\n[1,2]\n", Schema{}, `t.jsonl:2: row 2: line is not a JSON object`},
		{"jsonl scalar line", "t.jsonl", "{\"a\":1}\n\n42\n", abNullable, `t.jsonl:3: row 2: line is not a JSON object`},
		{"jsonl nested", "t.jsonl", `{"a":{"b":1}}`, Schema{}, `t.jsonl:1: row 1, column "a": nested objects and arrays are not supported (columns are flat)`},
		{"jsonl array value", "t.jsonl", `{"a":"x","b":[1]}`, abNullable, `t.jsonl:1: row 1, column "b": nested objects and arrays are not supported (columns are flat)`},
		{"jsonl trailing comma", "t.jsonl", `{"a":1,}`, Schema{}, `t.jsonl:1: row 1: invalid JSON: expected a string key at byte 8`},
		{"jsonl trailing data", "t.jsonl", `{"a":1} x`, Schema{}, `t.jsonl:1: row 1: invalid JSON: unexpected data after the object at byte 8`},
		{"jsonl bad number", "t.jsonl", `{"a":01}`, Schema{}, `t.jsonl:1: row 1: invalid JSON: expected ',' or '}' at byte 7`},
		{"jsonl unterminated", "t.jsonl", `{"a":"x}`, Schema{}, `t.jsonl:1: row 1: invalid JSON: unterminated string at byte 6`},
		{"jsonl lone surrogate", "t.jsonl", `{"a":"\ud800x"}`, Schema{}, `t.jsonl:1: row 1: invalid JSON: unpaired surrogate \u escape at byte 7`},
		{"jsonl control char", "t.jsonl", "{\"a\":\"x\ty\"}", Schema{}, `t.jsonl:1: row 1: invalid JSON: control character in string at byte 8`},
		{"jsonl invalid utf-8", "t.jsonl", "{\"a\":\"\xff\"}", Schema{}, `t.jsonl:1: row 1: line is not valid UTF-8`},
		{"jsonl type mismatch", "t.jsonl", "{\"a\":\"x\",\"b\":1}\n{\"a\":\"y\",\"b\":1.5}\n", ab, `t.jsonl:2: row 2, column "b": "1.5" is not an int64`},
		{"jsonl bool for int", "t.jsonl", `{"a":"x","b":true}`, ab, `t.jsonl:1: row 1, column "b": "true" is not an int64`},
		{"jsonl unknown key", "t.jsonl", `{"a":"x","b":1,"c":2}`, ab, `t.jsonl:1: row 1, column "c": key is not in the schema`},
		{"jsonl duplicate key", "t.jsonl", `{"a":"x","b":1,"a":"y"}`, ab, `t.jsonl:1: row 1, column "a": duplicate key in object`},
		{"jsonl duplicate key inferred", "t.jsonl", `{"a":1,"a":2}`, Schema{}, `t.jsonl:1: row 1, column "a": duplicate key in object`},
		{"jsonl missing key", "t.jsonl", `{"a":"x"}`, ab, `t.jsonl:1: row 1, column "b": missing key for a column that is not nullable`},
		{"jsonl null", "t.jsonl", `{"a":"x","b":null}`, ab, `t.jsonl:1: row 1, column "b": null in a column that is not nullable`},
		{"jsonl empty file", "t.jsonl", "", Schema{}, `t.jsonl: empty file`},
		{"jsonl empty file with schema", "t.jsonl", "", ab, `t.jsonl: empty file`},
		{"jsonl blank only", "t.jsonl", "\n\n", Schema{}, `t.jsonl: no JSON objects`},
		{"jsonl empty objects", "t.jsonl", "{}\n{}\n", Schema{}, `t.jsonl: no columns: every object is empty`},
		{"jsonl empty key", "t.jsonl", `{"":1}`, Schema{}, `t.jsonl:1: row 1: column 1 has an empty name`},

		{"parquet empty", "t.parquet", "", Schema{}, `t.parquet: empty file`},
		{"parquet too small", "t.parquet", "PAR1PAR1", Schema{}, `t.parquet: not a parquet file: 8 bytes is too small`},
		{"parquet no magic", "t.parquet", "hello, this is not parquet", Schema{}, `t.parquet: not a parquet file: missing PAR1 magic`},
		{"parquet footer length", "t.parquet", "PAR1xxxxxxxx\xff\xff\x00\x00PAR1", Schema{}, `t.parquet: corrupt parquet footer: length 65535 exceeds the file`},
		{"parquet footer garbage", "t.parquet", "PAR1xxxxxxxxxxxx\x08\x00\x00\x00PAR1", Schema{}, `t.parquet: corrupt parquet file: `},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Convert(context.Background(), strings.NewReader(tt.input), &bytes.Buffer{},
				ConvertOptions{File: tt.file, Schema: tt.schema})
			if err == nil {
				t.Fatal("no error")
			}
			if !errors.Is(err, ErrBadInput) {
				t.Errorf("%v: does not match ErrBadInput", err)
			}
			var ie *InputError
			if !errors.As(err, &ie) {
				t.Errorf("%v: not an *InputError", err)
			}
			if got := err.Error(); got != tt.want && !(strings.HasSuffix(tt.want, ": ") && strings.HasPrefix(got, tt.want)) {
				t.Errorf("error\n got %s\nwant %s", got, tt.want)
			}
		})
	}
}

// A parquet file whose footer bytes are damaged fails cleanly.
func TestCorruptParquetFooter(t *testing.T) {
	var in bytes.Buffer
	genCSV(&in, 1000)
	pq, _ := convertBytes(t, in.Bytes(), ConvertOptions{Format: CSV, Schema: benchSchema})
	footerLen := int(binary.LittleEndian.Uint32(pq[len(pq)-8:]))
	footerStart := len(pq) - 8 - footerLen
	for _, pos := range []int{0, 1, footerLen / 3, footerLen / 2, footerLen - 1} {
		bad := bytes.Clone(pq)
		bad[footerStart+pos] ^= 0xff
		_, err := Convert(context.Background(), bytes.NewReader(bad), &bytes.Buffer{}, ConvertOptions{File: "bad.parquet"})
		if err != nil && !errors.Is(err, ErrBadInput) {
			t.Errorf("flip at footer byte %d: %v does not match ErrBadInput", pos, err)
		}
	}
	truncated := append(bytes.Clone(pq[:len(pq)/2]), pq[len(pq)-8:]...)
	_, err := Convert(context.Background(), bytes.NewReader(truncated), &bytes.Buffer{}, ConvertOptions{File: "cut.parquet"})
	if err == nil || !errors.Is(err, ErrBadInput) {
		t.Errorf("truncated file: %v", err)
	}
}

func TestNotSeekableWithoutSchema(t *testing.T) {
	_, err := Convert(context.Background(), io.LimitReader(strings.NewReader("a\n1\n"), 100), &bytes.Buffer{}, ConvertOptions{File: "x.csv"})
	if err == nil || errors.Is(err, ErrBadInput) {
		t.Errorf("err = %v; want a usage error", err)
	}
}
