package tabular

import (
	"context"
	"fmt"
	"io"
)

// Inference is what schema inference learned about each column of one
// input: the types that every value seen parses as, whether any value was
// seen at all, and whether a null was. It is kept, rather than only the
// schema it implies, so that the inferences of several files of one import
// merge exactly as if the files had been one: a column that is empty in
// one file and integer in another is int64, as it would be in one file,
// where merging final types would have had to guess (a column without
// values infers as string).
type Inference struct {
	Columns []ColumnInference `json:"columns"`
}

// ColumnInference is one column's inference state.
type ColumnInference struct {
	Name string `json:"name"`
	// Types are the candidate types every non-null value parsed as, in
	// order of preference; none left means only string fits.
	Types []Type `json:"types,omitempty"`
	// Valued reports that at least one non-null value was seen; without
	// one, Types carry no evidence.
	Valued   bool `json:"valued"`
	Nullable bool `json:"nullable"`
}

// candidateTypes lists the candidate bits in inference's order of
// preference (see inferredColumn.column).
var candidateTypes = [...]struct {
	bit uint8
	typ Type
}{{candBool, Bool}, {candInt, Int64}, {candFloat, Float64}, {candTimestamp, Timestamp}}

func typesOf(mask uint8) []Type {
	var ts []Type
	for _, c := range candidateTypes {
		if mask&c.bit != 0 {
			ts = append(ts, c.typ)
		}
	}
	return ts
}

func maskOf(ts []Type) uint8 {
	var m uint8
	for _, t := range ts {
		for _, c := range candidateTypes {
			if c.typ == t {
				m |= c.bit
			}
		}
	}
	return m
}

func inferenceOfColumns(cols []inferredColumn) Inference {
	in := Inference{Columns: make([]ColumnInference, len(cols))}
	for i, c := range cols {
		in.Columns[i] = ColumnInference{Name: c.name, Types: typesOf(c.mask), Valued: c.nonNull, Nullable: c.nullable}
	}
	return in
}

// InferenceOf is the inference state of an input whose columns are typed
// already (parquet): each column is certain of its type, as if every value
// had been seen. An int64 column also admits float64, as integer text does,
// so it widens with a float column to float64 as text would.
func InferenceOf(s Schema) Inference {
	in := Inference{Columns: make([]ColumnInference, len(s.Columns))}
	for i, c := range s.Columns {
		var mask uint8
		switch c.Type {
		case Bool:
			mask = candBool
		case Int64:
			mask = candInt | candFloat
		case Float64:
			mask = candFloat
		case Timestamp:
			mask = candTimestamp
		}
		in.Columns[i] = ColumnInference{Name: c.Name, Types: typesOf(mask), Valued: true, Nullable: c.Nullable}
	}
	return in
}

// Schema is the schema the inference state implies: the most preferred
// candidate type of each column with values, string otherwise.
func (in Inference) Schema() Schema {
	s := Schema{Columns: make([]Column, len(in.Columns))}
	for i, c := range in.Columns {
		ic := inferredColumn{name: c.Name, mask: maskOf(c.Types), nonNull: c.Valued, nullable: c.Nullable}
		s.Columns[i] = ic.column()
	}
	return s
}

// MergeInference combines the inferences of two inputs with the same
// columns in the same order, as one inference over both inputs' rows
// would have ended.
func MergeInference(a, b Inference) (Inference, error) {
	if len(a.Columns) != len(b.Columns) {
		return Inference{}, fmt.Errorf("tabular: merging inferences of %d and %d columns", len(a.Columns), len(b.Columns))
	}
	out := Inference{Columns: make([]ColumnInference, len(a.Columns))}
	for i := range a.Columns {
		x, y := a.Columns[i], b.Columns[i]
		if x.Name != y.Name {
			return Inference{}, fmt.Errorf("tabular: merging inferences: column %d is %q in one and %q in the other", i+1, x.Name, y.Name)
		}
		c := ColumnInference{Name: x.Name, Valued: x.Valued || y.Valued, Nullable: x.Nullable || y.Nullable}
		switch {
		case x.Valued && y.Valued:
			c.Types = typesOf(maskOf(x.Types) & maskOf(y.Types))
		case x.Valued:
			c.Types = x.Types
		case y.Valued:
			c.Types = y.Types
		default:
			c.Types = typesOf(candAll)
		}
		out.Columns[i] = c
	}
	return out, nil
}

// Infer reads the whole input once and returns its inference state; its
// Schema is what InferSchema returns.
func Infer(ctx context.Context, r io.Reader, opts ReadOptions) (Inference, error) {
	format, r, err := resolveFormat(r, opts.File, opts.Format)
	if err != nil {
		return Inference{}, err
	}
	switch format {
	case CSV:
		cols, _, err := inferCSVRows(ctx, r, opts.File, -1)
		if err != nil {
			return Inference{}, err
		}
		return inferenceOfColumns(cols), nil
	case JSONL:
		cols, err := inferJSONLColumns(ctx, r, opts.File)
		if err != nil {
			return Inference{}, err
		}
		return inferenceOfColumns(cols), nil
	default:
		ra, size, err := readerAtSize(r)
		if err != nil {
			return Inference{}, err
		}
		pr, err := openParquet(ra, size, opts.File)
		if err != nil {
			return Inference{}, err
		}
		return InferenceOf(pr.Schema()), nil
	}
}
