package lake

import (
	"fmt"
	"strconv"

	"github.com/granaryml/granary/internal/tabular"
)

// Diff is what changed between two versions.
type Diff struct {
	From, To       string           `json:"-"`
	ColumnsAdded   []tabular.Column `json:"columns_added,omitempty"`
	ColumnsRemoved []tabular.Column `json:"columns_removed,omitempty"`
	TypeChanges    []TypeChange     `json:"type_changes,omitempty"`
	RowsFrom       int64            `json:"rows_from"`
	RowsTo         int64            `json:"rows_to"`
	FilesAdded     []File           `json:"files_added,omitempty"`
	FilesRemoved   []File           `json:"files_removed,omitempty"`
	StatChanges    []StatChange     `json:"stat_changes,omitempty"`
}

// TypeChange is a column whose type or nullability changed.
type TypeChange struct {
	Column string         `json:"column"`
	From   tabular.Column `json:"from"`
	To     tabular.Column `json:"to"`
}

// StatChange is one statistic of one column that differs.
type StatChange struct {
	Column string `json:"column"`
	Stat   string `json:"stat"`
	From   string `json:"from"`
	To     string `json:"to"`
}

// DiffManifests compares two manifests column by column and file by file.
func DiffManifests(a, b *Manifest) Diff {
	d := Diff{RowsFrom: a.Rows, RowsTo: b.Rows}
	colsA := map[string]tabular.Column{}
	for _, c := range a.Schema.Columns {
		colsA[c.Name] = c
	}
	colsB := map[string]tabular.Column{}
	for _, c := range b.Schema.Columns {
		colsB[c.Name] = c
		old, ok := colsA[c.Name]
		switch {
		case !ok:
			d.ColumnsAdded = append(d.ColumnsAdded, c)
		case old != c:
			d.TypeChanges = append(d.TypeChanges, TypeChange{Column: c.Name, From: old, To: c})
		}
	}
	for _, c := range a.Schema.Columns {
		if _, ok := colsB[c.Name]; !ok {
			d.ColumnsRemoved = append(d.ColumnsRemoved, c)
		}
	}
	filesA := map[Digest]bool{}
	for _, f := range a.Files {
		filesA[f.Digest] = true
	}
	filesB := map[Digest]bool{}
	for _, f := range b.Files {
		filesB[f.Digest] = true
		if !filesA[f.Digest] {
			d.FilesAdded = append(d.FilesAdded, f)
		}
	}
	for _, f := range a.Files {
		if !filesB[f.Digest] {
			d.FilesRemoved = append(d.FilesRemoved, f)
		}
	}
	statsA := map[string]tabular.ColumnStats{}
	for _, s := range a.Stats {
		statsA[s.Name] = s
	}
	for _, sb := range b.Stats {
		sa, ok := statsA[sb.Name]
		if !ok {
			continue
		}
		for _, f := range statFields(sa, sb) {
			if f.From != f.To {
				d.StatChanges = append(d.StatChanges, StatChange{Column: sb.Name, Stat: f.Stat, From: f.From, To: f.To})
			}
		}
	}
	return d
}

type statField struct{ Stat, From, To string }

func statFields(a, b tabular.ColumnStats) []statField {
	return []statField{
		{"nulls", fmt.Sprint(a.Nulls), fmt.Sprint(b.Nulls)},
		{"min", deref(a.Min), deref(b.Min)},
		{"max", deref(a.Max), deref(b.Max)},
		{"mean", derefFloat(a.Mean), derefFloat(b.Mean)},
		{"distinct", fmt.Sprint(a.Distinct), fmt.Sprint(b.Distinct)},
	}
}

func deref(s *string) string {
	if s == nil {
		return "null"
	}
	return *s
}

func derefFloat(f *float64) string {
	if f == nil {
		return "null"
	}
	return strconv.FormatFloat(*f, 'g', 10, 64)
}
