package tabular

import (
	"errors"
	"fmt"
	"reflect"
	"strings"
	"testing"
	"time"
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

// Inputs whose parse time or memory grows with the square of their size
// are refused quickly, with an error naming the file and line; the
// largest legitimate schema (maxColumns columns) still parses.
func TestParseSchemaYAMLRefusesComplexInput(t *testing.T) {
	var keys, columns strings.Builder
	for i := range 30000 {
		fmt.Fprintf(&keys, "k%d: 1\n", i)
	}
	columns.WriteString("columns:\n")
	for i := range maxColumns {
		fmt.Fprintf(&columns, "  - {name: column_%d, type: float64, nullable: true}\n", i)
	}
	tests := []struct {
		name, yaml, want string
	}{
		{"keys of one mapping", keys.String(), "s.yaml:17: a mapping with more than 16 keys"},
		{"keys of a flow mapping", "columns: [{" + strings.Repeat("a: 1, ", 100000) + "}]", "s.yaml:1: a mapping with more than 16 keys"},
		{"flow nesting", strings.Repeat("[", 100000) + strings.Repeat("]", 100000), "s.yaml:1: nested too deeply"},
		{"block nesting", func() string {
			var b strings.Builder
			for i := range 2500 {
				b.WriteString(strings.Repeat(" ", i) + "a:\n")
			}
			return b.String()
		}(), "s.yaml:65: nested too deeply"},
		{"anchors", strings.Repeat("- &a x\n", 50000), "s.yaml:101: more than 100 YAML anchors and tags"},
		{"documents", strings.Repeat("---\na: 1\n", 100000), "s.yaml:5: more than one YAML document"},
		{"long list", "columns: [" + strings.Repeat("1, ", 1000000) + "]", "s.yaml:1: more than 131068 list entries"},
		{"too large", "columns: []\n" + strings.Repeat("#", maxSchemaYAMLBytes), "s.yaml: schema file of 4194316 bytes, more than the 4194304 allowed"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			start := time.Now()
			_, err := ParseSchemaYAML("s.yaml", []byte(tt.yaml))
			if d := time.Since(start); d > 5*time.Second {
				t.Errorf("took %v", d)
			}
			if err == nil || !errors.Is(err, ErrBadInput) || !strings.HasPrefix(err.Error(), tt.want) {
				t.Fatalf("err = %.200v\nwant prefix %q", err, tt.want)
			}
		})
	}
	start := time.Now()
	s, err := ParseSchemaYAML("s.yaml", []byte(columns.String()))
	if err != nil || len(s.Columns) != maxColumns {
		t.Fatalf("%d columns: %v", len(s.Columns), err)
	}
	t.Logf("%d columns (%d bytes) in %v", maxColumns, columns.Len(), time.Since(start))
}

// FuzzSchemaYAML: ParseSchemaYAML never panics, every error is an
// InputError naming the file, and what it accepts is a valid schema.
func FuzzSchemaYAML(f *testing.F) {
	for _, s := range []string{
		"columns: [{name: id, type: int64}, {name: note, type: string, nullable: true}]",
		"columns:\n  - name: id\n    type: int64\n  - {name: \"amount\", type: float64, nullable: true}\n",
		"columns:\n  - {type: int64}\n",
		"columns: &a [*a]\n",
		"columns: !!binary aGVsbG8=\n",
		"? [a]\n: b\n",
		"columns: [\n  {name: a, type: int64\n",
		"---\ncolumns: []\n---\ncolumns: []\n",
		"columns: [{" + strings.Repeat("a: 1, ", 20) + "}]",
		strings.Repeat("[", 20) + strings.Repeat("]", 20),
		strings.Repeat("- &a x\n", 110),
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		s, err := ParseSchemaYAML("fuzz.yaml", data)
		if err != nil {
			var ie *InputError
			if !errors.As(err, &ie) || !errors.Is(err, ErrBadInput) || ie.File != "fuzz.yaml" {
				t.Fatalf("error is not an InputError naming the file: %#v", err)
			}
			return
		}
		if err := s.Validate(); err != nil {
			t.Fatalf("accepted an invalid schema: %v", err)
		}
	})
}
