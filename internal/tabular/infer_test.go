package tabular

import (
	"context"
	"reflect"
	"strings"
	"testing"
)

func TestInferCSV(t *testing.T) {
	tests := []struct {
		name string
		csv  string
		want []Column
	}{
		{"ints", "a\n1\n-2\n+3\n", []Column{{Name: "a", Type: Int64}}},
		{"int max", "a\n9223372036854775807\n-9223372036854775808\n", []Column{{Name: "a", Type: Int64}}},
		{"int overflow is float", "a\n1\n9223372036854775808\n", []Column{{Name: "a", Type: Float64}}},
		{"ints and floats", "a\n1\n1.5\n", []Column{{Name: "a", Type: Float64}}},
		{"floats with specials", "a\n1e300\nNaN\n-Inf\n", []Column{{Name: "a", Type: Float64}}},
		{"bools", "a\ntrue\nFALSE\n", []Column{{Name: "a", Type: Bool}}},
		{"0/1 are ints not bools", "a\n0\n1\n", []Column{{Name: "a", Type: Int64}}},
		{"bool and int is string", "a\ntrue\n1\n", []Column{{Name: "a", Type: String}}},
		{"timestamps", "a\n2024-03-01T10:00:00+02:00\n2024-03-01 10:00:00\n2024-03-02\n", []Column{{Name: "a", Type: Timestamp}}},
		{"int and date is string", "a\n2024-01-01\n5\n", []Column{{Name: "a", Type: String}}},
		{"strings", "a\nx\n1\n", []Column{{Name: "a", Type: String}}},
		{"nullable int", "a,b\n1,x\n,y\n", []Column{{Name: "a", Type: Int64, Nullable: true}, {Name: "b", Type: String}}},
		{"quoted empty is a string", "a\n1\n\"\"\n", []Column{{Name: "a", Type: String}}},
		{"quoted number is a number", "a\n\"1\"\n2\n", []Column{{Name: "a", Type: Int64}}},
		{"all null", "a,b\n,1\n,2\n", []Column{{Name: "a", Type: String, Nullable: true}, {Name: "b", Type: Int64}}},
		{"header only", "a,b\n", []Column{{Name: "a", Type: String, Nullable: true}, {Name: "b", Type: String, Nullable: true}}},
		{"type decided by the last row", "a\n" + strings.Repeat("1\n", 10000) + "x\n", []Column{{Name: "a", Type: String}}},
		{"blank lines skipped", "a,b\n1,2\n\n3,4\n\n", []Column{{Name: "a", Type: Int64}, {Name: "b", Type: Int64}}},
		{"single column blank line is null", "a\n1\n\n", []Column{{Name: "a", Type: Int64, Nullable: true}}},
		{"crlf and bom", "\xEF\xBB\xBFa,b\r\n1,2.5\r\n", []Column{{Name: "a", Type: Int64}, {Name: "b", Type: Float64}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := InferSchema(context.Background(), strings.NewReader(tt.csv), ReadOptions{File: "t.csv"})
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(got.Columns, tt.want) {
				t.Errorf("got %+v\nwant %+v", got.Columns, tt.want)
			}
		})
	}
}

func TestInferJSONL(t *testing.T) {
	tests := []struct {
		name  string
		jsonl string
		want  []Column
	}{
		{"types", `{"i":1,"f":1.5,"b":true,"s":"x","t":"2024-01-01T00:00:00Z"}`,
			[]Column{{Name: "i", Type: Int64}, {Name: "f", Type: Float64}, {Name: "b", Type: Bool}, {Name: "s", Type: String}, {Name: "t", Type: Timestamp}}},
		{"union of keys in first-seen order", "{\"b\":1}\n{\"a\":2,\"b\":3}\n",
			[]Column{{Name: "b", Type: Int64}, {Name: "a", Type: Int64, Nullable: true}}},
		{"null makes nullable", "{\"a\":1}\n{\"a\":null}\n", []Column{{Name: "a", Type: Int64, Nullable: true}}},
		{"int then float", "{\"a\":1}\n{\"a\":2.0}\n", []Column{{Name: "a", Type: Float64}}},
		{"exponent is float", `{"a":1e3}`, []Column{{Name: "a", Type: Float64}}},
		{"number strings stay strings", `{"a":"1"}`, []Column{{Name: "a", Type: String}}},
		{"mixed scalars are strings", "{\"a\":1}\n{\"a\":\"x\"}\n", []Column{{Name: "a", Type: String}}},
		{"bool strings are strings", `{"a":"true"}`, []Column{{Name: "a", Type: String}}},
		{"blank lines", "\n{\"a\":true}\n  \n", []Column{{Name: "a", Type: Bool}}},
		{"only nulls", "{\"a\":null}\n", []Column{{Name: "a", Type: String, Nullable: true}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := InferSchema(context.Background(), strings.NewReader(tt.jsonl), ReadOptions{File: "t.jsonl"})
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(got.Columns, tt.want) {
				t.Errorf("got %+v\nwant %+v", got.Columns, tt.want)
			}
		})
	}
}
