package features

import (
	"fmt"
	"math"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/expr-lang/expr/builtin"
)

// Names of the project, entities, sources, views, features and training
// sets become column and dataset names, so they are kept to one portable
// spelling.
var namePattern = regexp.MustCompile(`^[a-z][a-z0-9_]{0,62}$`)

// datasetPattern is the lake's rule for dataset names.
var datasetPattern = regexp.MustCompile(`^[a-z0-9][a-z0-9_.-]{0,127}$`)

// exprKeywords cannot be feature names: expressions could not refer to them.
var exprKeywords = map[string]bool{
	"and": true, "or": true, "not": true, "in": true, "matches": true, "contains": true,
	"let": true, "if": true, "else": true, "nil": true, "true": true, "false": true,
}

// maxColumnName bounds column names referenced by a spec.
const maxColumnName = 255

// Validate checks a Spec that did not come from Parse (built in code or
// decoded from JSON) the way Parse does. Errors have positions only for a
// Spec from Parse.
func (s *Spec) Validate() error {
	return s.validate(nil).err()
}

// validator collects problems; skip lists fields whose decoding already
// failed, so they are not reported twice.
type validator struct {
	s    *Spec
	skip map[string]bool
	errs Errors
}

func (s *Spec) validate(skip map[string]bool) Errors {
	v := &validator{s: s, skip: skip}
	v.project()
	entities := v.entities()
	sources := v.sources()
	views := v.views(entities, sources)
	v.trainingSets(views)
	v.models()
	return v.errs
}

func (v *validator) skipped(path string) bool {
	for p := path; ; p = parentPath(p) {
		if v.skip[p] {
			return true
		}
		if p == "" {
			return false
		}
	}
}

// maxSuggestions bounds the suggestions one validation computes: past
// that many problems, the spec needs more than typo fixes.
const maxSuggestions = 200

// dym is didYouMean until there are too many problems to be worth it.
func (v *validator) dym(name string, candidates []string) string {
	if len(v.errs) >= maxSuggestions {
		return ""
	}
	return didYouMean(name, candidates)
}

// refHint suggests the intended name for a reference that does not
// resolve, or says that there is nothing to refer to.
func (v *validator) refHint(name, kind string, names []string) string {
	if len(names) == 0 {
		return " (the spec defines no " + kind + ")"
	}
	return v.dym(name, names)
}

func (v *validator) errorf(path, format string, args ...any) {
	if v.skipped(path) {
		return
	}
	v.errs = append(v.errs, v.s.newError(path, -1, fmt.Sprintf(format, args...)))
}

// exprErrorf reports a problem at character col of the expression at path.
func (v *validator) exprErr(path string, e *ExprError) {
	if v.skipped(path) {
		return
	}
	v.errs = append(v.errs, v.s.newError(path, e.Offset, e.Msg))
}

// newError builds an Error for the field at path, positioned where it (or
// the nearest enclosing field) was written. col >= 0 is a character offset
// inside an expression field.
func (s *Spec) newError(path string, col int, msg string) *Error {
	e := &Error{File: s.file, Field: path, Msg: msg}
	if s.pos == nil {
		if col >= 0 {
			e.Msg += fmt.Sprintf(" (at character %d of the expression)", col+1)
		}
		return e
	}
	p, exact := s.lookupPos(path)
	e.Line, e.Column = p.line, p.col
	if col >= 0 {
		if exact && p.exprCol > 0 {
			e.Column = p.exprCol + col
		} else {
			e.Msg += fmt.Sprintf(" (at character %d of the expression)", col+1)
		}
	}
	if e.Line < 1 {
		e.Line, e.Column = 1, 1
	}
	return e
}

// lookupPos finds where path, or the nearest field enclosing it, was
// written; exact says whether path itself was found.
func (s *Spec) lookupPos(path string) (position, bool) {
	exact := true
	for p := path; ; p = parentPath(p) {
		if pos, ok := s.pos[p]; ok {
			return pos, exact
		}
		exact = false
		if p == "" {
			return position{line: 1, col: 1}, false
		}
	}
}

// parentPath strips the last .field or [index] from path.
func parentPath(path string) string {
	i := strings.LastIndexAny(path, ".[")
	if i < 0 {
		return ""
	}
	return path[:i]
}

func (v *validator) name(path, what, name string) bool {
	switch {
	case name == "":
		v.errorf(path, "is required: every %s needs a name", what)
	case !namePattern.MatchString(name):
		v.errorf(path, "invalid %s name '%s': use 1-63 characters of a-z, 0-9 and '_', starting with a letter%s", what, name, nameHint(name))
	default:
		return true
	}
	return false
}

func nameHint(name string) string {
	fixed := strings.Map(func(r rune) rune {
		switch {
		case 'a' <= r && r <= 'z', '0' <= r && r <= '9', r == '_':
			return r
		case 'A' <= r && r <= 'Z':
			return unicode.ToLower(r)
		case r == '-' || r == ' ' || r == '.':
			return '_'
		}
		return -1
	}, name)
	if fixed != "" && fixed != name && namePattern.MatchString(fixed) {
		return " (e.g. '" + fixed + "')"
	}
	return ""
}

// unique reports a repeated name; first maps names to the path of their
// first use.
func (v *validator) unique(first map[string]string, path, what, name string) {
	if name == "" {
		return
	}
	if prev, dup := first[name]; dup {
		where := prev
		if p, ok := v.s.pos[prev]; ok && v.s.pos != nil {
			where = "line " + strconv.Itoa(p.line)
		}
		v.errorf(path, "duplicate %s name '%s' (first at %s)", what, name, where)
		return
	}
	first[name] = path
}

func (v *validator) column(path, what, name string) {
	switch {
	case name == "":
		v.errorf(path, "is required: name the %s", what)
	case !utf8.ValidString(name):
		v.errorf(path, "%s is not valid UTF-8", what)
	case len(name) > maxColumnName:
		v.errorf(path, "%s is longer than %d bytes", what, maxColumnName)
	case strings.IndexFunc(name, unicode.IsControl) >= 0:
		v.errorf(path, "%s %s contains a control character", what, strconv.Quote(name))
	}
}

func (v *validator) dataset(path, name string) {
	switch {
	case name == "":
		v.errorf(path, "is required: name the lake dataset")
	case !datasetPattern.MatchString(name) || strings.Contains(name, ".."):
		v.errorf(path, "dataset name '%s' must be 1-128 characters of a-z, 0-9, '_', '.', '-', starting with a letter or digit", name)
	}
}

func (v *validator) project() {
	if v.s.Project == "" {
		v.errorf("project", "is required: name the project, e.g. project: shop")
		return
	}
	v.name("project", "project", v.s.Project)
}

func (v *validator) entities() map[string]*Entity {
	byName := make(map[string]*Entity)
	first := make(map[string]string)
	for i := range v.s.Entities {
		e := &v.s.Entities[i]
		path := indexPath("entities", i)
		if v.name(path+".name", "entity", e.Name) {
			v.unique(first, path+".name", "entity", e.Name)
		}
		if _, dup := byName[e.Name]; !dup && e.Name != "" {
			byName[e.Name] = e
		}
		if len(e.JoinKeys) == 0 {
			v.errorf(path+".join_keys", "is required: list the columns that identify %s, e.g. join_keys: [%s_id]", cmpOr(e.Name, "the entity"), cmpOr(e.Name, "user"))
		}
		seen := make(map[string]bool)
		for j, k := range e.JoinKeys {
			kp := indexPath(path+".join_keys", j)
			v.column(kp, "join key", k)
			if seen[k] && k != "" {
				v.errorf(kp, "join key '%s' listed twice", k)
			}
			seen[k] = true
		}
	}
	return byName
}

func (v *validator) sources() map[string]*Source {
	byName := make(map[string]*Source)
	first := make(map[string]string)
	for i := range v.s.Sources {
		s := &v.s.Sources[i]
		path := indexPath("sources", i)
		if v.name(path+".name", "source", s.Name) {
			v.unique(first, path+".name", "source", s.Name)
		}
		if _, dup := byName[s.Name]; !dup && s.Name != "" {
			byName[s.Name] = s
		}
		v.dataset(path+".dataset", s.Dataset)
		v.column(path+".timestamp", "timestamp column", s.Timestamp)
		if s.Filter != "" {
			// Types need the schema: Check compiles the filter.
			if _, err := analyze(s.Filter); err != nil {
				v.exprErr(path+".filter", err)
			}
		}
	}
	return byName
}

func asExprError(err error) *ExprError {
	if e, ok := err.(*ExprError); ok {
		return e
	}
	return &ExprError{Offset: -1, Msg: err.Error()}
}

type resolvedView struct {
	view     *FeatureView
	path     string
	source   *Source
	entity   *Entity
	names    []string        // feature names in order
	features map[string]bool // the same, to look up
}

func (v *validator) views(entities map[string]*Entity, sources map[string]*Source) map[string]*resolvedView {
	byName := make(map[string]*resolvedView)
	first := make(map[string]string)
	entityNames := make([]string, 0, len(v.s.Entities))
	for _, e := range v.s.Entities {
		entityNames = append(entityNames, e.Name)
	}
	sourceNames := make([]string, 0, len(v.s.Sources))
	for _, s := range v.s.Sources {
		sourceNames = append(sourceNames, s.Name)
	}
	for i := range v.s.FeatureViews {
		fv := &v.s.FeatureViews[i]
		path := indexPath("feature_views", i)
		if v.name(path+".name", "feature view", fv.Name) {
			v.unique(first, path+".name", "feature view", fv.Name)
		}
		rv := &resolvedView{view: fv, path: path}
		if _, dup := byName[fv.Name]; !dup && fv.Name != "" {
			byName[fv.Name] = rv
		}
		switch e, ok := entities[fv.Entity]; {
		case fv.Entity == "":
			v.errorf(path+".entity", "is required: name the entity the features describe%s", oneOf(entityNames))
		case !ok:
			v.errorf(path+".entity", "unknown entity '%s'%s", fv.Entity, v.refHint(fv.Entity, "entities", entityNames))
		default:
			rv.entity = e
		}
		switch s, ok := sources[fv.Source]; {
		case fv.Source == "":
			v.errorf(path+".source", "is required: name the source the features aggregate%s", oneOf(sourceNames))
		case !ok:
			v.errorf(path+".source", "unknown source '%s'%s", fv.Source, v.refHint(fv.Source, "sources", sourceNames))
		default:
			rv.source = s
		}
		if err := checkWindow(fv.TTL); err != nil {
			v.errorf(path+".ttl", "%v", err)
		}
		v.features(rv)
	}
	return byName
}

func oneOf(names []string) string {
	if len(names) == 0 || len(names) > 8 {
		return ""
	}
	return " (one of: " + strings.Join(names, ", ") + ")"
}

func (v *validator) features(rv *resolvedView) {
	fv, path := rv.view, rv.path
	if len(fv.Features) == 0 {
		v.errorf(path+".features", "feature view '%s' has no features", fv.Name)
		return
	}
	names := make([]string, len(fv.Features))
	rv.features = make(map[string]bool, len(fv.Features))
	for i, f := range fv.Features {
		names[i] = f.Name
		rv.features[f.Name] = true
	}
	rv.names = names
	reservedCols := make(map[string]string)
	if rv.entity != nil {
		for _, k := range rv.entity.JoinKeys {
			reservedCols[k] = "a join key of entity '" + rv.entity.Name + "'"
		}
	}
	if rv.source != nil && rv.source.Timestamp != "" {
		reservedCols[rv.source.Timestamp] = "the timestamp column of source '" + rv.source.Name + "'"
	}
	first := make(map[string]string)
	derived := make(map[string]*exprInfo)
	for i := range fv.Features {
		f := &fv.Features[i]
		fp := indexPath(path+".features", i)
		if v.name(fp+".name", "feature", f.Name) {
			v.unique(first, fp+".name", "feature", f.Name)
			if exprKeywords[f.Name] {
				v.errorf(fp+".name", "feature name '%s' is an expression keyword; pick another name", f.Name)
			} else if _, isFunc := builtin.Index[f.Name]; isFunc || f.Name == "now" {
				// A variable of that name would hide the function from
				// every expression in the view.
				v.errorf(fp+".name", "feature name '%s' is the name of an expression function; pick another name", f.Name)
			}
			if what, clash := reservedCols[f.Name]; clash {
				v.errorf(fp+".name", "feature name '%s' is %s; the view's output would have two columns of that name", f.Name, what)
			}
		}
		switch {
		case f.Agg == "" && f.Expr == "":
			v.errorf(fp, "feature '%s' needs either agg (an aggregation of a source column) or expr (computed from other features)", f.Name)
		case f.Agg != "" && f.Expr != "":
			v.errorf(fp+".expr", "feature '%s' has both agg and expr; a feature is either aggregated or derived", f.Name)
		case f.Agg != "":
			v.aggFeature(fp, f)
		default:
			if f.Column != "" {
				v.errorf(fp+".column", "a derived feature (expr) takes no column; name the features it uses in the expression")
			}
			if f.Window != 0 {
				v.errorf(fp+".window", "a derived feature (expr) takes no window; its inputs have theirs")
			}
			info, err := analyze(f.Expr)
			if err != nil {
				v.exprErr(fp+".expr", err)
				continue
			}
			ok := true
			for _, id := range info.idents {
				if id == f.Name {
					continue // self-reference: reported as a cycle below
				}
				if !rv.features[id] {
					ok = false
					hint := ""
					if len(v.errs) < maxSuggestions {
						hint = didYouMean(id, slices.DeleteFunc(slices.Clone(names), func(n string) bool { return n == f.Name }))
					}
					v.exprErr(fp+".expr", &ExprError{Offset: info.identCol[id], Msg: fmt.Sprintf("unknown feature '%s' in view '%s'%s", id, fv.Name, hint)})
				}
			}
			if ok {
				// Types need the schema: Check compiles the expression.
				derived[f.Name] = info
			}
		}
	}
	v.cycles(rv, derived)
}

func (v *validator) aggFeature(fp string, f *Feature) {
	if !f.Agg.Valid() {
		v.errorf(fp+".agg", "unknown aggregation '%s'%s", f.Agg, suggestAgg(string(f.Agg)))
	} else if f.Agg != Count && f.Column == "" {
		v.errorf(fp+".column", "aggregation '%s' needs a column", f.Agg)
	}
	if f.Column != "" {
		v.column(fp+".column", "column", f.Column)
	}
	if err := checkWindow(f.Window); err != nil {
		v.errorf(fp+".window", "%v", err)
	}
}

// maxCycleReports bounds the cycles reported per view.
const maxCycleReports = 10

// cycles reports each cycle among derived features once, as a path.
func (v *validator) cycles(rv *resolvedView, derived map[string]*exprInfo) {
	fv := rv.view
	index := make(map[string]int)
	for i, f := range fv.Features {
		if _, dup := index[f.Name]; !dup {
			index[f.Name] = i
		}
	}
	const (
		white = iota
		grey
		black
	)
	color := make(map[string]int)
	reported := 0
	var stack []string
	var visit func(name string)
	visit = func(name string) {
		color[name] = grey
		stack = append(stack, name)
		for _, dep := range derived[name].idents {
			if _, isDerived := derived[dep]; !isDerived {
				continue
			}
			switch color[dep] {
			case white:
				visit(dep)
			case grey:
				if reported++; reported > maxCycleReports {
					continue
				}
				start := len(stack) - 1
				for stack[start] != dep {
					start--
				}
				cycle := append(append([]string{}, stack[start:]...), dep)
				fp := indexPath(rv.path+".features", index[dep])
				if len(cycle) == 2 {
					v.errorf(fp+".expr", "feature '%s' refers to itself", dep)
				} else {
					v.errorf(fp+".expr", "derived features form a cycle: %s", cyclePath(cycle))
				}
			}
		}
		stack = stack[:len(stack)-1]
		color[name] = black
	}
	for _, f := range fv.Features {
		if _, ok := derived[f.Name]; ok && color[f.Name] == white {
			visit(f.Name)
		}
	}
}

// cyclePath writes a cycle as a -> b -> a, eliding the middle of a long one.
func cyclePath(cycle []string) string {
	const keep = 8
	if len(cycle) <= 2*keep {
		return strings.Join(cycle, " -> ")
	}
	return fmt.Sprintf("%s -> ... (%d more) -> %s", strings.Join(cycle[:keep], " -> "), len(cycle)-2*keep, strings.Join(cycle[len(cycle)-keep:], " -> "))
}

func (v *validator) trainingSets(views map[string]*resolvedView) {
	first := make(map[string]string)
	viewNames := make([]string, 0, len(v.s.FeatureViews))
	for _, fv := range v.s.FeatureViews {
		viewNames = append(viewNames, fv.Name)
	}
	for i := range v.s.TrainingSets {
		t := &v.s.TrainingSets[i]
		path := indexPath("training_sets", i)
		if v.name(path+".name", "training set", t.Name) {
			v.unique(first, path+".name", "training set", t.Name)
		}
		v.dataset(path+".spine.dataset", t.Spine.Dataset)
		v.column(path+".spine.timestamp", "spine timestamp column", t.Spine.Timestamp)
		if len(t.Features) == 0 {
			v.errorf(path+".features", "training set '%s' selects no features; list views (user_orders) or features (user_orders:spend_30d)", t.Name)
		}
		// Output columns are named by feature, so two selected features
		// of one name would collide.
		chosen := make(map[string]string) // feature name -> ref that chose it
		refs := make(map[string]bool)
		for j, ref := range t.Features {
			rp := indexPath(path+".features", j)
			if ref.View == "" {
				v.errorf(rp, "feature reference '%s' has no view; write view or view:feature", ref)
				continue
			}
			rv, ok := views[ref.View]
			if !ok {
				v.errorf(rp, "unknown feature view '%s'%s", ref.View, v.refHint(ref.View, "feature views", viewNames))
				continue
			}
			if refs[ref.String()] {
				v.errorf(rp, "'%s' is selected twice", ref)
				continue
			}
			refs[ref.String()] = true
			var picked []string
			if ref.Feature == "" {
				inView := make(map[string]bool, len(rv.names))
				for _, name := range rv.names {
					if !inView[name] { // a duplicate is reported with the view
						inView[name] = true
						picked = append(picked, name)
					}
				}
			} else {
				if !rv.features[ref.Feature] {
					v.errorf(rp, "unknown feature '%s' in view '%s'%s", ref.Feature, ref.View, v.dym(ref.Feature, rv.names))
					continue
				}
				picked = []string{ref.Feature}
			}
			for _, name := range picked {
				if prev, dup := chosen[name]; dup {
					if prev == ref.View || strings.HasPrefix(prev, ref.View+":") {
						v.errorf(rp, "feature '%s' of view '%s' is already selected by '%s'", name, ref.View, prev)
					} else {
						v.errorf(rp, "feature '%s' is selected from both '%s' and '%s'; training set columns are named by feature, so select only one", name, prev, ref)
					}
					break
				}
				chosen[name] = ref.String()
			}
		}
		if t.Split != nil {
			v.split(path+".split", t.Split)
		}
	}
}

func (v *validator) split(path string, sp *Split) {
	if sp.By == "" {
		v.errorf(path+".by", "split needs by: the spine column whose hash assigns rows to splits (e.g. the entity's join key)")
	} else {
		v.column(path+".by", "split column", sp.By)
	}
	ok := !v.skipped(path+".train") && !v.skipped(path+".valid") && !v.skipped(path+".test")
	for _, f := range []struct {
		name string
		x    float64
	}{{"train", sp.Train}, {"valid", sp.Valid}, {"test", sp.Test}} {
		if math.IsNaN(f.x) || f.x < 0 || f.x > 1 {
			v.errorf(path+"."+f.name, "%s fraction %v must be between 0 and 1", f.name, f.x)
			ok = false
		}
	}
	if sum := sp.Train + sp.Valid + sp.Test; ok && math.Abs(sum-1) > 1e-9 {
		v.errorf(path, "split fractions must add up to 1: train %v + valid %v + test %v = %v", sp.Train, sp.Valid, sp.Test, strconv.FormatFloat(sum, 'g', 12, 64))
	}
}

func cmpOr(s, def string) string {
	if s == "" {
		return def
	}
	return s
}
