package tabular

import (
	"errors"
	"reflect"
	"strings"
	"testing"
)

func TestParseSchemaYAML(t *testing.T) {
	got, err := ParseSchemaYAML("s.yaml", []byte(`columns: [{name: id, type: int64}, {name: note, type: string, nullable: true}]`))
	if err != nil {
		t.Fatal(err)
	}
	want := Schema{Columns: []Column{{Name: "id", Type: Int64}, {Name: "note", Type: String, Nullable: true}}}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("got %+v, want %+v", got, want)
	}
	block := `# orders
columns:
  - name: id
    type: int64
  - {name: "amount", type: float64, nullable: true}
  - name: at
    type: timestamp
    nullable: false
  - name: ok
    type: bool
`
	got, err = ParseSchemaYAML("s.yaml", []byte(block))
	if err != nil {
		t.Fatal(err)
	}
	want = Schema{Columns: []Column{{Name: "id", Type: Int64}, {Name: "amount", Type: Float64, Nullable: true},
		{Name: "at", Type: Timestamp}, {Name: "ok", Type: Bool}}}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("got %+v, want %+v", got, want)
	}
}

func TestParseSchemaYAMLErrors(t *testing.T) {
	tests := []struct {
		name, yaml, want string
	}{
		{"unknown type", "columns:\n  - name: id\n    type: int64\n  - name: note\n    type: text\n",
			`s.yaml:5: column "note": unknown type "text"`},
		{"duplicate", "columns:\n  - {name: id, type: int64}\n  - {name: id, type: string}\n",
			`s.yaml:3: column "id": duplicate column name (first at line 2)`},
		{"missing name", "columns:\n  - {type: int64}\n", `s.yaml:2: column 1 has no name`},
		{"empty name", "columns:\n  - {name: \"\", type: int64}\n", `s.yaml:2: column 1 has no name`},
		{"missing type", "columns:\n  - {name: a}\n", `s.yaml:2: column "a": missing type`},
		{"unknown key", "columns:\n  - {name: a, type: int64, size: 3}\n", `s.yaml:2: column 1: unknown key "size"`},
		{"nullable not bool", "columns:\n  - {name: a, type: int64, nullable: maybe}\n", `s.yaml:2: column 1: nullable must be true or false`},
		{"no columns key", "cols: []\n", `s.yaml:1: unknown key "cols"`},
		{"columns not list", "columns: 3\n", `s.yaml:1: columns must be a list`},
		{"empty list", "columns: []\n", `s.yaml:1: schema has no columns`},
		{"empty file", "", `s.yaml:1: empty schema file`},
		{"syntax", "columns: [\n  {name: a, type: int64\n", `s.yaml:`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := ParseSchemaYAML("s.yaml", []byte(tt.yaml))
			if err == nil {
				t.Fatal("no error")
			}
			if !errors.Is(err, ErrBadInput) {
				t.Errorf("error %v does not match ErrBadInput", err)
			}
			if !strings.HasPrefix(err.Error(), tt.want) {
				t.Errorf("error %q, want prefix %q", err, tt.want)
			}
		})
	}
}
