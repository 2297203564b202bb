package features

import "fmt"

// OutputType is the type of an aggregation's result over a column of type
// column: count and count_distinct give int64, sum gives int64 over int64
// and bool columns and float64 over float64, mean gives float64, and min,
// max, first and last give the column's type. It returns "" when the
// aggregation does not apply to the type (sum of strings, max of bools).
// For count without a column, pass any type.
func OutputType(agg Agg, column ColumnType) ColumnType {
	if !column.Valid() {
		if agg == Count {
			return Int64
		}
		return ""
	}
	switch agg {
	case Count, CountDistinct:
		return Int64
	case Sum:
		switch column {
		case Int64, Bool:
			return Int64
		case Float64:
			return Float64
		}
	case Mean:
		if column.numeric() || column == Bool {
			return Float64
		}
	case Min, Max:
		if column.numeric() || column == Timestamp || column == String {
			return column
		}
	case First, Last:
		return column
	}
	return ""
}

func aggTypeProblem(agg Agg, column string, t ColumnType) string {
	switch agg {
	case Sum, Mean:
		return fmt.Sprintf("%s needs a numeric or bool column; '%s' is %s", agg, column, t)
	case Min, Max:
		return fmt.Sprintf("%s needs an orderable column (int64, float64, timestamp or string); '%s' is %s", agg, column, t)
	}
	return fmt.Sprintf("%s does not apply to column '%s' of type %s", agg, column, t)
}

// Check verifies the spec against the schemas of the datasets it reads
// (dataset name -> column -> type): source timestamps exist and are
// timestamps, join keys exist in sources and spines with matching types,
// aggregated columns exist and suit their aggregation, filters are bool
// predicates over the source's columns, derived expressions type-check and
// give a number, bool or string, and split columns exist in spines.
//
// Check first validates the spec as Validate does. Datasets absent from
// schemas are not checked: the caller resolves datasets and reports missing
// ones itself, and a build need not load the schema of every dataset the
// spec mentions. On success Check records the
// type of every checked feature (see FeatureType), so it must not run
// concurrently with other uses of s. Problems are reported like Parse's,
// all at once, and also match ErrSchemaMismatch.
func (s *Spec) Check(schemas map[string]map[string]ColumnType) error {
	// A Spec from JSON or code has not been through Parse; what follows
	// relies on a valid one.
	if err := s.validate(nil).err(); err != nil {
		return err
	}
	c := &checker{s: s, schemas: schemas, types: make(map[string]map[string]ColumnType), idx: s.index()}
	for i := range s.Sources {
		c.source(i)
	}
	for i := range s.FeatureViews {
		c.view(i)
	}
	for i := range s.TrainingSets {
		c.trainingSet(i)
	}
	if err := c.errs.err(); err != nil {
		return err
	}
	s.types = c.types
	return nil
}

// FeatureType is the type of a feature as found by the last successful
// Check, or "" if it was not checked.
func (s *Spec) FeatureType(view, feature string) ColumnType {
	return s.types[view][feature]
}

type checker struct {
	s       *Spec
	idx     *specIndex
	schemas map[string]map[string]ColumnType
	types   map[string]map[string]ColumnType
	errs    Errors
}

func (c *checker) errorf(path, format string, args ...any) {
	e := c.s.newError(path, -1, fmt.Sprintf(format, args...))
	e.schema = true
	c.errs = append(c.errs, e)
}

func (c *checker) exprErr(path string, x *ExprError) {
	e := c.s.newError(path, x.Offset, x.Msg)
	e.schema = true
	c.errs = append(c.errs, e)
}

// schema returns the schema of a dataset, reporting columns of unknown
// type once.
func (c *checker) schema(dataset string) (map[string]ColumnType, bool) {
	sc, ok := c.schemas[dataset]
	return sc, ok
}

// column reports whether name is a column of the dataset, with a
// suggestion when it is not.
func (c *checker) column(path, what, name, dataset string, schema map[string]ColumnType) (ColumnType, bool) {
	t, ok := schema[name]
	if !ok {
		c.errorf(path, "%s '%s' is not a column of dataset '%s'%s", what, name, dataset, didYouMean(name, sortedKeys(schema)))
		return "", false
	}
	if !t.Valid() {
		c.errorf(path, "column '%s' of dataset '%s' has unknown type '%s'", name, dataset, t)
		return "", false
	}
	return t, true
}

func (c *checker) source(i int) {
	src := &c.s.Sources[i]
	path := indexPath("sources", i)
	schema, ok := c.schema(src.Dataset)
	if !ok {
		return
	}
	if t, ok := c.column(path+".timestamp", "timestamp column", src.Timestamp, src.Dataset, schema); ok && t != Timestamp {
		c.errorf(path+".timestamp", "timestamp column '%s' is %s; it must be a timestamp", src.Timestamp, t)
	}
	if src.Filter != "" {
		if _, err := CompileFilter(src.Filter, schema); err != nil {
			c.exprErr(path+".filter", asExprError(err))
		}
	}
}

func (c *checker) view(i int) {
	fv := &c.s.FeatureViews[i]
	path := indexPath("feature_views", i)
	src := c.idx.sources[fv.Source]
	ent := c.idx.entities[fv.Entity]
	if src == nil || ent == nil {
		return // Parse reported it
	}
	schema, ok := c.schema(src.Dataset)
	if !ok {
		return
	}
	before := len(c.errs)
	for _, k := range ent.JoinKeys {
		t, ok := schema[k]
		switch {
		case !ok:
			c.errorf(path+".entity", "join key '%s' of entity '%s' is not a column of dataset '%s' (source '%s')%s", k, ent.Name, src.Dataset, src.Name, didYouMean(k, sortedKeys(schema)))
		case t == Float64:
			c.errorf(path+".entity", "join key '%s' of entity '%s' is float64 in dataset '%s'; keys must compare exactly (int64, string, bool or timestamp)", k, ent.Name, src.Dataset)
		}
	}
	types := make(map[string]ColumnType)
	for j, f := range fv.Features {
		fp := indexPath(path+".features", j)
		if f.Derived() || !f.Agg.Valid() {
			continue
		}
		if f.Agg == Count && f.Column == "" {
			types[f.Name] = Int64
			continue
		}
		t, ok := c.column(fp+".column", "column", f.Column, src.Dataset, schema)
		if !ok {
			continue
		}
		out := OutputType(f.Agg, t)
		if out == "" {
			c.errorf(fp+".column", "%s", aggTypeProblem(f.Agg, f.Column, t))
			continue
		}
		types[f.Name] = out
	}
	if len(c.errs) > before {
		return // derived types would be guesses
	}
	first := make(map[string]int, len(fv.Features))
	for j := len(fv.Features) - 1; j >= 0; j-- {
		first[fv.Features[j].Name] = j
	}
	for _, name := range fv.DerivedOrder() {
		j := first[name]
		d, err := CompileDerived(fv.Features[j].Expr, types)
		if err != nil {
			c.exprErr(indexPath(path+".features", j)+".expr", asExprError(err))
			return
		}
		types[name] = d.Type()
	}
	c.types[fv.Name] = types
}

func (c *checker) trainingSet(i int) {
	t := &c.s.TrainingSets[i]
	path := indexPath("training_sets", i)
	schema, ok := c.schema(t.Spine.Dataset)
	if !ok {
		return
	}
	if ty, ok := c.column(path+".spine.timestamp", "spine timestamp column", t.Spine.Timestamp, t.Spine.Dataset, schema); ok && ty != Timestamp {
		c.errorf(path+".spine.timestamp", "spine timestamp column '%s' is %s; it must be a timestamp", t.Spine.Timestamp, ty)
	}
	checkedKeys := make(map[string]bool)
	for j, ref := range t.Features {
		rp := indexPath(path+".features", j)
		fv := c.idx.views[ref.View]
		if fv == nil {
			continue // Parse reported it
		}
		src, ent := c.idx.sources[fv.Source], c.idx.entities[fv.Entity]
		if src == nil || ent == nil {
			continue
		}
		for _, k := range ent.JoinKeys {
			if checkedKeys[k] {
				continue
			}
			checkedKeys[k] = true
			kt, ok := schema[k]
			if !ok {
				c.errorf(rp, "join key '%s' of entity '%s' (view '%s') is not a column of spine dataset '%s'%s", k, ent.Name, fv.Name, t.Spine.Dataset, didYouMean(k, sortedKeys(schema)))
				continue
			}
			if srcSchema, ok := c.schema(src.Dataset); ok {
				if st, ok := srcSchema[k]; ok && st != kt {
					c.errorf(rp, "join key '%s' is %s in spine dataset '%s' but %s in dataset '%s' (source '%s'); no rows would match", k, kt, t.Spine.Dataset, st, src.Dataset, src.Name)
				}
			}
		}
		for _, f := range fv.Features {
			if ref.Feature != "" && f.Name != ref.Feature {
				continue
			}
			if _, clash := schema[f.Name]; clash {
				c.errorf(rp, "feature '%s' of view '%s' has the name of a column of spine dataset '%s'; rename one of them", f.Name, fv.Name, t.Spine.Dataset)
			}
		}
	}
	if t.Split != nil && t.Split.By != "" {
		c.column(path+".split.by", "split column", t.Split.By, t.Spine.Dataset, schema)
	}
}

// specIndex finds entries by name; the first of a duplicated name wins, as
// everywhere (Parse rejects duplicates).
type specIndex struct {
	entities map[string]*Entity
	sources  map[string]*Source
	views    map[string]*FeatureView
}

func (s *Spec) index() *specIndex {
	x := &specIndex{
		entities: make(map[string]*Entity, len(s.Entities)),
		sources:  make(map[string]*Source, len(s.Sources)),
		views:    make(map[string]*FeatureView, len(s.FeatureViews)),
	}
	for i := len(s.Entities) - 1; i >= 0; i-- {
		x.entities[s.Entities[i].Name] = &s.Entities[i]
	}
	for i := len(s.Sources) - 1; i >= 0; i-- {
		x.sources[s.Sources[i].Name] = &s.Sources[i]
	}
	for i := len(s.FeatureViews) - 1; i >= 0; i-- {
		x.views[s.FeatureViews[i].Name] = &s.FeatureViews[i]
	}
	return x
}

func (s *Spec) source(name string) *Source {
	for i := range s.Sources {
		if s.Sources[i].Name == name {
			return &s.Sources[i]
		}
	}
	return nil
}

func (s *Spec) entity(name string) *Entity {
	for i := range s.Entities {
		if s.Entities[i].Name == name {
			return &s.Entities[i]
		}
	}
	return nil
}

func (v *FeatureView) index(name string) int {
	for i := range v.Features {
		if v.Features[i].Name == name {
			return i
		}
	}
	return -1
}
