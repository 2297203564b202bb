package features

import (
	"errors"
	"fmt"
	"math"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/goccy/go-yaml"
	"github.com/goccy/go-yaml/ast"
	"github.com/goccy/go-yaml/lexer"
	"github.com/goccy/go-yaml/parser"
	"github.com/goccy/go-yaml/token"
)

// MaxSpecSize bounds the input Parse accepts; a feature spec is a few
// kilobytes written by hand.
const MaxSpecSize = 1 << 20

// extensionPrefix starts top-level fields that Parse ignores, as in
// docker-compose: a place to define YAML anchors shared by entries.
const extensionPrefix = "x-"

// The decoder visits each node of the file a few times, and the nodes of
// an anchor again for each alias of it. So that a small file of nested
// aliases cannot make Parse do unbounded work, the visits are bounded by
// baseNodeBudget plus nodeBudgetPerToken for each token of the file.
const (
	baseNodeBudget     = 200_000
	nodeBudgetPerToken = 4
)

// Parse reads a YAML feature spec and validates everything that can be
// checked without data. file names the input in error messages. On failure
// the error is an Errors listing every problem found, each with its
// file:line:column, and matches ErrInvalidSpec.
func Parse(file string, data []byte) (*Spec, error) {
	if file == "" {
		file = "<input>"
	}
	s := &Spec{file: file, pos: make(map[string]position)}
	if len(data) > MaxSpecSize {
		return nil, Errors{{File: file, Line: 1, Column: 1, Msg: fmt.Sprintf("spec is %d bytes, more than the %d allowed", len(data), MaxSpecSize)}}
	}
	root, tokens, err := parseYAML(file, data)
	if err != nil {
		return nil, err
	}
	d := &decoder{file: file, spec: s, anchors: make(map[string][]anchorDef), bad: make(map[string]bool),
		budget: baseNodeBudget + nodeBudgetPerToken*tokens}
	d.collectAnchors(root)
	d.decodeSpec(root)
	errs := d.errs
	errs = append(errs, s.validate(d.bad)...)
	if err := errs.err(); err != nil {
		return nil, err
	}
	return s, nil
}

// parseYAML returns the body of the only document in data and the number
// of tokens in the file.
func parseYAML(file string, data []byte) (root ast.Node, ntokens int, err error) {
	defer func() {
		// The YAML parser is third-party code fed with user input; a bug in
		// it must become an error, not take a worker down.
		if r := recover(); r != nil {
			root, err = nil, Errors{{File: file, Line: 1, Column: 1, Msg: fmt.Sprintf("malformed YAML: parser failure: %v", r)}}
		}
	}()
	tokens := lexer.Tokenize(string(data))
	ntokens = len(tokens)
	if tk, msg := tooComplex(tokens); tk != nil {
		return nil, 0, Errors{{File: file, Line: max(tk.Position.Line, 1), Column: max(tk.Position.Column, 1), Msg: "malformed YAML: " + msg}}
	}
	f, perr := parser.Parse(tokens, 0)
	if perr != nil {
		e := &Error{File: file, Line: 1, Column: 1}
		var ye yaml.Error
		if errors.As(perr, &ye) {
			// Not Error(): it prints a snippet of the source, in time
			// quadratic in the length of the line.
			e.Msg = "malformed YAML: " + ye.GetMessage()
			if tk := ye.GetToken(); tk != nil && tk.Position != nil && tk.Position.Line > 0 {
				e.Line, e.Column = tk.Position.Line, max(tk.Position.Column, 1)
			}
		} else {
			e.Msg = "malformed YAML: " + perr.Error()
		}
		return nil, 0, Errors{e}
	}
	for _, doc := range f.Docs {
		if doc == nil || doc.Body == nil {
			continue
		}
		if root != nil {
			p := nodePos(doc.Body)
			return nil, 0, Errors{{File: file, Line: max(p.line, 1), Column: max(p.col, 1), Msg: "more than one YAML document; a spec is one document"}}
		}
		root = doc.Body
	}
	if root == nil {
		return nil, 0, Errors{{File: file, Line: 1, Column: 1, Msg: "empty spec; expected a mapping with project, entities, sources, feature_views and training_sets"}}
	}
	return root, ntokens, nil
}

// The YAML parser's time and memory grow with the square of some sizes:
// nesting depth, chains of anchors and tags, the number of keys in one block
// mapping and the number of documents. tooComplex refuses such input
// before parsing. A spec nests about six levels and its mappings have a
// handful of keys, so the bounds are far from what a spec needs.
const (
	maxFlowDepth   = 32   // nesting of [ and {
	maxBlockColumn = 200  // column of a - or ?, which bounds block nesting
	maxAnchorsTags = 1000 // in the whole file
	maxBlockKeys   = 1000 // in one block mapping
)

func tooComplex(tokens token.Tokens) (*token.Token, string) {
	const deep = "nested too deeply; a spec is a few levels deep"
	depth, props, docs := 0, 0, 0
	// Open block mappings, innermost last: the column of their keys and
	// how many there are.
	type open struct{ col, keys int }
	var blocks []open
	dedent := func(col int) {
		for len(blocks) > 0 && blocks[len(blocks)-1].col > col {
			blocks = blocks[:len(blocks)-1]
		}
	}
	for i, tk := range tokens {
		if tk == nil || tk.Position == nil {
			continue
		}
		switch tk.Type {
		case token.AnchorType, token.TagType:
			if props++; props > maxAnchorsTags {
				return tk, fmt.Sprintf("more than %d anchors and tags", maxAnchorsTags)
			}
		case token.SequenceStartType, token.MappingStartType:
			if depth++; depth > maxFlowDepth {
				return tk, deep
			}
		case token.SequenceEndType, token.MappingEndType:
			depth--
		case token.SequenceEntryType, token.MappingKeyType:
			if tk.Position.Column > maxBlockColumn {
				return tk, deep
			}
			dedent(tk.Position.Column)
		case token.DocumentHeaderType:
			if docs++; docs > 2 {
				return tk, "more than one YAML document; a spec is one document"
			}
		case token.MappingValueType:
			if depth > 0 || i == 0 || tokens[i-1].Position == nil {
				continue
			}
			col := tokens[i-1].Position.Column
			dedent(col)
			if n := len(blocks); n > 0 && blocks[n-1].col == col {
				if blocks[n-1].keys++; blocks[n-1].keys > maxBlockKeys {
					return tk, fmt.Sprintf("a mapping with more than %d keys", maxBlockKeys)
				}
			} else {
				blocks = append(blocks, open{col: col, keys: 1})
			}
		}
	}
	return nil, ""
}

type anchorDef struct {
	line, col int
	node      ast.Node
}

// decoder turns the YAML tree into a Spec, reporting type mistakes and
// unknown fields with their positions and carrying on past them.
type decoder struct {
	file    string
	spec    *Spec
	errs    Errors
	anchors map[string][]anchorDef
	// bad marks fields that failed to decode so validation does not report
	// them again as missing.
	bad      map[string]bool
	nodes    int // visited, against budget
	budget   int
	overflow bool
}

func (d *decoder) errorf(p position, field, format string, args ...any) {
	if p.line < 1 {
		p = position{line: 1, col: 1}
	}
	d.errs = append(d.errs, &Error{File: d.file, Line: p.line, Column: max(p.col, 1), Field: field, Msg: fmt.Sprintf(format, args...)})
}

func (d *decoder) fail(n ast.Node, field, format string, args ...any) {
	d.bad[field] = true
	d.errorf(nodePos(n), field, format, args...)
}

func (d *decoder) collectAnchors(root ast.Node) {
	ast.Walk(anchorVisitor{d}, root)
	for _, defs := range d.anchors {
		sort.SliceStable(defs, func(i, j int) bool {
			return defs[i].line < defs[j].line || (defs[i].line == defs[j].line && defs[i].col < defs[j].col)
		})
	}
}

type anchorVisitor struct{ d *decoder }

func (v anchorVisitor) Visit(n ast.Node) ast.Visitor {
	if a, ok := n.(*ast.AnchorNode); ok && a.Name != nil {
		p := nodePos(a)
		name := a.Name.GetToken().Value
		v.d.anchors[name] = append(v.d.anchors[name], anchorDef{line: p.line, col: p.col, node: a.Value})
	}
	return v
}

// resolve looks through tags, anchors and aliases to the node holding the
// value; nil means null or nothing.
func (d *decoder) resolve(n ast.Node) ast.Node {
	for range 64 {
		if n == nil {
			return nil
		}
		d.nodes++
		if d.nodes > d.budget {
			if !d.overflow {
				d.overflow = true
				d.errorf(nodePos(n), "", "spec too large after expanding YAML aliases")
			}
			return nil
		}
		switch v := n.(type) {
		case *ast.TagNode:
			n = v.Value
		case *ast.AnchorNode:
			n = v.Value
		case *ast.AliasNode:
			n = d.lookupAlias(v)
		case *ast.NullNode:
			return nil
		default:
			return n
		}
	}
	return nil // an alias chain this long is a loop
}

// lookupAlias finds the anchor an alias refers to: the last one of that name
// defined before it.
func (d *decoder) lookupAlias(a *ast.AliasNode) ast.Node {
	if a.Value == nil {
		return nil
	}
	name := a.Value.GetToken().Value
	p := nodePos(a)
	// Definitions are in document order: find the last one before p.
	defs := d.anchors[name]
	i := sort.Search(len(defs), func(i int) bool {
		return defs[i].line > p.line || (defs[i].line == p.line && defs[i].col >= p.col)
	})
	var found ast.Node
	if i > 0 {
		found = defs[i-1].node
	}
	if found == nil {
		d.errorf(p, "", "unknown YAML alias '*%s'", name)
	}
	return found
}

// field is one key: value of a mapping.
type field struct {
	key   string
	keyAt position
	value ast.Node
}

// mapping returns the fields of n in order, reporting a value that is not a
// mapping and unknown keys (with the nearest known one). Merge keys (<<) are
// expanded; explicitly written keys win over merged ones.
func (d *decoder) mapping(path string, n ast.Node, known ...string) ([]field, bool) {
	p := nodePos(n)
	r := d.resolve(n)
	if r == nil {
		return nil, false
	}
	if _, ok := r.(ast.MapNode); !ok {
		d.fail(n, path, "must be a mapping of %s, got %s", strings.Join(known, ", "), kindOf(r))
		return nil, false
	}
	d.setPos(path, p)
	var out []field
	seen := make(map[string]bool)
	var merged []field
	d.collectPairs(path, r, &out, &merged, seen, 0)
	for _, f := range merged {
		if !seen[f.key] {
			seen[f.key] = true
			out = append(out, f)
		}
	}
	kept := out[:0]
	for _, f := range out {
		if path == "" && strings.HasPrefix(f.key, extensionPrefix) {
			continue // a place for YAML anchors, ignored
		}
		if !contains(known, f.key) {
			d.bad[joinPath(path, f.key)] = true
			d.errorf(f.keyAt, path, "unknown field '%s'%s", f.key, didYouMean(f.key, known))
			continue
		}
		kept = append(kept, f)
	}
	return kept, true
}

func (d *decoder) collectPairs(path string, r ast.Node, out, merged *[]field, seen map[string]bool, depth int) {
	m, ok := r.(ast.MapNode)
	if !ok || depth > 8 {
		return
	}
	it := m.MapRange()
	for it.Next() {
		kv := it.KeyValue()
		key := kv.Key
		if mk, ok := key.(*ast.MappingKeyNode); ok {
			// "? key" explicit keys
			if mk.Value == nil {
				d.errorf(nodePos(kv), path, "mapping key must be a field name")
				continue
			}
			if k, ok := mk.Value.(ast.MapKeyNode); ok {
				key = k
			}
		}
		if _, ok := key.(*ast.MergeKeyNode); ok {
			d.merge(path, kv.Value, merged, seen, depth)
			continue
		}
		name, ok := keyString(key)
		if !ok {
			d.errorf(nodePos(key), path, "mapping key must be a field name, got %s", kindOf(key))
			continue
		}
		if seen[name] {
			// The parser rejects duplicates; this only happens with
			// quoting variants of one key.
			d.errorf(nodePos(key), path, "field '%s' given twice", name)
			continue
		}
		seen[name] = true
		*out = append(*out, field{key: name, keyAt: nodePos(key), value: kv.Value})
	}
}

func (d *decoder) merge(path string, v ast.Node, merged *[]field, seen map[string]bool, depth int) {
	r := d.resolve(v)
	switch m := r.(type) {
	case ast.MapNode:
		var sub []field
		subSeen := make(map[string]bool)
		d.collectPairs(path, r, &sub, merged, subSeen, depth+1)
		*merged = append(*merged, sub...)
	case *ast.SequenceNode:
		for _, item := range m.Values {
			d.merge(path, item, merged, seen, depth+1)
		}
	default:
		if _, alias := v.(*ast.AliasNode); alias && r == nil {
			return // an unknown alias, reported by resolve
		}
		d.errorf(nodePos(v), path, "merge key '<<' needs a mapping or a list of mappings, got %s", kindOf(r))
	}
}

func keyString(k ast.Node) (string, bool) {
	switch v := k.(type) {
	case *ast.StringNode:
		return v.Value, true
	case *ast.TagNode:
		return keyString(v.Value)
	case *ast.IntegerNode, *ast.FloatNode, *ast.BoolNode:
		return v.GetToken().Value, true
	}
	return "", false
}

func (d *decoder) setPos(path string, p position) {
	if _, ok := d.spec.pos[path]; !ok {
		d.spec.pos[path] = p
	}
}

// str decodes a string scalar. Null means absent (""); numbers and
// booleans are rejected rather than converted, since a name like 2024
// needs quotes to stay a string in every YAML reader.
func (d *decoder) str(path string, f field) string {
	d.setPos(path, f.keyAt)
	r := d.resolve(f.value)
	if r == nil {
		return ""
	}
	d.spec.pos[path] = scalarPos(f.value, r)
	switch v := r.(type) {
	case *ast.StringNode:
		return v.Value
	case *ast.LiteralNode:
		if v.Value != nil {
			return strings.TrimRight(v.Value.Value, "\n")
		}
		return ""
	case *ast.IntegerNode, *ast.FloatNode, *ast.BoolNode, *ast.InfinityNode, *ast.NanNode:
		d.fail(f.value, path, "must be a string, got %s (quote it: \"%s\")", kindOf(r), v.GetToken().Value)
		return ""
	}
	d.fail(f.value, path, "must be a string, got %s", kindOf(r))
	return ""
}

// strList decodes a list of strings; a lone string is the common mistake.
func (d *decoder) strList(path string, f field) []string {
	d.setPos(path, f.keyAt)
	r := d.resolve(f.value)
	if r == nil {
		return nil
	}
	d.spec.pos[path] = nodePos(f.value)
	seq, ok := r.(*ast.SequenceNode)
	if !ok {
		if s, isStr := r.(*ast.StringNode); isStr {
			d.fail(f.value, path, "must be a list, got a string; write [%s]", s.Value)
		} else {
			d.fail(f.value, path, "must be a list of strings, got %s", kindOf(r))
		}
		return nil
	}
	out := make([]string, 0, len(seq.Values))
	for i, item := range seq.Values {
		p := indexPath(path, i)
		out = append(out, d.str(p, field{keyAt: nodePos(item), value: item}))
	}
	return out
}

// seq decodes a list of mappings, returning the items.
func (d *decoder) seq(path string, f field) []ast.Node {
	d.setPos(path, f.keyAt)
	r := d.resolve(f.value)
	if r == nil {
		return nil
	}
	d.spec.pos[path] = nodePos(f.value)
	seq, ok := r.(*ast.SequenceNode)
	if !ok {
		d.fail(f.value, path, "must be a list, got %s", kindOf(r))
		return nil
	}
	return seq.Values
}

func (d *decoder) duration(path string, f field) time.Duration {
	d.setPos(path, f.keyAt)
	r := d.resolve(f.value)
	if r == nil {
		return 0
	}
	d.spec.pos[path] = nodePos(f.value)
	var text string
	switch v := r.(type) {
	case *ast.StringNode:
		text = v.Value
	case *ast.IntegerNode, *ast.FloatNode:
		text = v.GetToken().Value
		if text == "0" {
			break
		}
		d.fail(f.value, path, "a duration needs a unit: %sh, %sd, ...", text, text)
		return 0
	default:
		d.fail(f.value, path, "must be a duration like 7d or 168h, got %s", kindOf(r))
		return 0
	}
	dur, err := ParseWindow(text)
	if err != nil {
		d.fail(f.value, path, "%v", err)
		return 0
	}
	return dur
}

func (d *decoder) number(path string, f field) float64 {
	d.setPos(path, f.keyAt)
	r := d.resolve(f.value)
	if r == nil {
		return 0
	}
	d.spec.pos[path] = nodePos(f.value)
	switch v := r.(type) {
	case *ast.FloatNode:
		return v.Value
	case *ast.IntegerNode:
		switch x := v.Value.(type) {
		case int64:
			return float64(x)
		case uint64:
			return float64(x)
		}
	}
	d.fail(f.value, path, "must be a number, got %s", kindOf(r))
	return 0
}

func (d *decoder) uint64(path string, f field) uint64 {
	d.setPos(path, f.keyAt)
	r := d.resolve(f.value)
	if r == nil {
		return 0
	}
	d.spec.pos[path] = nodePos(f.value)
	if v, ok := r.(*ast.IntegerNode); ok {
		switch x := v.Value.(type) {
		case int64:
			if x >= 0 {
				return uint64(x)
			}
		case uint64:
			return x
		}
	}
	if s, ok := r.(*ast.StringNode); ok {
		if x, err := strconv.ParseUint(s.Value, 10, 64); err == nil {
			d.fail(f.value, path, "must be a number, got a string (write %d without quotes)", x)
			return 0
		}
	}
	d.fail(f.value, path, "must be a whole number from 0 to %d, got %s", uint64(math.MaxUint64), kindOf(r))
	return 0
}

func (d *decoder) decodeSpec(root ast.Node) {
	s := d.spec
	fields, ok := d.mapping("", root, "project", "entities", "sources", "feature_views", "training_sets", "models", extensionPrefix+"*")
	if !ok {
		return
	}
	for _, f := range fields {
		switch f.key {
		case "project":
			s.Project = d.str("project", f)
		case "entities":
			for i, item := range d.seq("entities", f) {
				s.Entities = append(s.Entities, d.decodeEntity(indexPath("entities", i), item))
			}
		case "sources":
			for i, item := range d.seq("sources", f) {
				s.Sources = append(s.Sources, d.decodeSource(indexPath("sources", i), item))
			}
		case "feature_views":
			for i, item := range d.seq("feature_views", f) {
				s.FeatureViews = append(s.FeatureViews, d.decodeView(indexPath("feature_views", i), item))
			}
		case "training_sets":
			for i, item := range d.seq("training_sets", f) {
				s.TrainingSets = append(s.TrainingSets, d.decodeTrainingSet(indexPath("training_sets", i), item))
			}
		case "models":
			for i, item := range d.seq("models", f) {
				s.Models = append(s.Models, d.decodeModel(indexPath("models", i), item))
			}
		}
	}
}

func (d *decoder) decodeEntity(path string, n ast.Node) Entity {
	var e Entity
	fields, _ := d.mapping(path, n, "name", "join_keys")
	for _, f := range fields {
		p := joinPath(path, f.key)
		switch f.key {
		case "name":
			e.Name = d.str(p, f)
		case "join_keys":
			e.JoinKeys = d.strList(p, f)
		}
	}
	d.setPos(path, nodePos(n))
	return e
}

func (d *decoder) decodeSource(path string, n ast.Node) Source {
	var s Source
	fields, _ := d.mapping(path, n, "name", "dataset", "timestamp", "filter")
	for _, f := range fields {
		p := joinPath(path, f.key)
		switch f.key {
		case "name":
			s.Name = d.str(p, f)
		case "dataset":
			s.Dataset = d.str(p, f)
		case "timestamp":
			s.Timestamp = d.str(p, f)
		case "filter":
			s.Filter = d.str(p, f)
		}
	}
	d.setPos(path, nodePos(n))
	return s
}

func (d *decoder) decodeView(path string, n ast.Node) FeatureView {
	var v FeatureView
	fields, _ := d.mapping(path, n, "name", "entity", "source", "ttl", "features")
	for _, f := range fields {
		p := joinPath(path, f.key)
		switch f.key {
		case "name":
			v.Name = d.str(p, f)
		case "entity":
			v.Entity = d.str(p, f)
		case "source":
			v.Source = d.str(p, f)
		case "ttl":
			v.TTL = d.duration(p, f)
		case "features":
			for i, item := range d.seq(p, f) {
				v.Features = append(v.Features, d.decodeFeature(indexPath(p, i), item))
			}
		}
	}
	d.setPos(path, nodePos(n))
	return v
}

func (d *decoder) decodeFeature(path string, n ast.Node) Feature {
	var ft Feature
	fields, _ := d.mapping(path, n, "name", "agg", "column", "window", "expr")
	for _, f := range fields {
		p := joinPath(path, f.key)
		switch f.key {
		case "name":
			ft.Name = d.str(p, f)
		case "agg":
			ft.Agg = Agg(d.str(p, f))
		case "column":
			ft.Column = d.str(p, f)
		case "window":
			ft.Window = d.duration(p, f)
		case "expr":
			ft.Expr = d.str(p, f)
		}
	}
	d.setPos(path, nodePos(n))
	return ft
}

func (d *decoder) decodeTrainingSet(path string, n ast.Node) TrainingSet {
	var t TrainingSet
	fields, _ := d.mapping(path, n, "name", "spine", "features", "split")
	for _, f := range fields {
		p := joinPath(path, f.key)
		switch f.key {
		case "name":
			t.Name = d.str(p, f)
		case "spine":
			sf, _ := d.mapping(p, f.value, "dataset", "timestamp")
			d.setPos(p, f.keyAt)
			for _, g := range sf {
				switch g.key {
				case "dataset":
					t.Spine.Dataset = d.str(joinPath(p, g.key), g)
				case "timestamp":
					t.Spine.Timestamp = d.str(joinPath(p, g.key), g)
				}
			}
		case "features":
			t.Features = d.featureRefs(p, f)
		case "split":
			sf, ok := d.mapping(p, f.value, "by", "train", "valid", "test", "seed")
			d.setPos(p, f.keyAt)
			if !ok {
				if d.resolve(f.value) == nil {
					d.fail(f.value, p, "is empty; give by, train, valid and test, or leave split out")
				}
				continue
			}
			sp := &Split{}
			for _, g := range sf {
				gp := joinPath(p, g.key)
				switch g.key {
				case "by":
					sp.By = d.str(gp, g)
				case "train":
					sp.Train = d.number(gp, g)
				case "valid":
					sp.Valid = d.number(gp, g)
				case "test":
					sp.Test = d.number(gp, g)
				case "seed":
					sp.Seed = d.uint64(gp, g)
				}
			}
			t.Split = sp
		}
	}
	d.setPos(path, nodePos(n))
	return t
}

// featureRefs decodes a training set's list of "view" and "view:feature".
func (d *decoder) featureRefs(path string, f field) []FeatureRef {
	d.setPos(path, f.keyAt)
	r := d.resolve(f.value)
	if r == nil {
		return nil
	}
	d.spec.pos[path] = nodePos(f.value)
	seq, ok := r.(*ast.SequenceNode)
	if !ok {
		if s, isStr := r.(*ast.StringNode); isStr {
			d.fail(f.value, path, "must be a list, got a string; write [%s]", s.Value)
		} else {
			d.fail(f.value, path, "must be a list of view or view:feature names, got %s", kindOf(r))
		}
		return nil
	}
	// A bad item stays as an empty placeholder, so indexes keep matching
	// the YAML for validation's messages (which skip it).
	refs := make([]FeatureRef, len(seq.Values))
	for i, item := range seq.Values {
		p := indexPath(path, i)
		if m, isMap := d.resolve(item).(*ast.MappingNode); isMap && len(m.Values) == 1 {
			// "view: feature" with a space is a YAML mapping.
			k, _ := keyString(m.Values[0].Key)
			d.fail(item, p, "must be a string; write '%s:...' without a space after the colon", k)
			continue
		}
		text := d.str(p, field{keyAt: nodePos(item), value: item})
		if d.bad[p] {
			continue
		}
		view, feature, hasColon := strings.Cut(text, ":")
		if strings.Contains(feature, ":") || (hasColon && (view == "" || feature == "")) {
			d.bad[p] = true
			d.errorf(d.spec.pos[p], p, "'%s' is not a feature reference; write view or view:feature", text)
			continue
		}
		refs[i] = FeatureRef{View: view, Feature: feature}
	}
	return refs
}

// nodePos is where a node starts. A block mapping's own token is the first
// colon, so its first key stands for it.
func nodePos(n ast.Node) position {
	if n == nil {
		return position{}
	}
	switch v := n.(type) {
	case *ast.MappingNode:
		if !v.IsFlowStyle && len(v.Values) > 0 {
			return nodePos(v.Values[0])
		}
	case *ast.MappingValueNode:
		if v.Key != nil {
			return nodePos(v.Key)
		}
	case *ast.MappingKeyNode:
		// "? key": the question mark is where the key starts
	}
	tk := n.GetToken()
	if tk == nil || tk.Position == nil {
		return position{}
	}
	return position{line: tk.Position.Line, col: tk.Position.Column}
}

// scalarPos is nodePos plus, for a one-line scalar written exactly as its
// value, the column of the value's first character, so errors inside an
// expression can point at the character.
func scalarPos(written, r ast.Node) position {
	p := nodePos(written)
	if written != r {
		return p // through a tag, anchor or alias: point at what was written
	}
	tk := r.GetToken()
	if tk == nil || tk.Position == nil {
		return p
	}
	origin := strings.TrimSpace(tk.Origin)
	switch tk.Type {
	case token.StringType:
		if origin == tk.Value && !strings.Contains(origin, "\n") {
			p.exprCol = p.col
		}
	case token.SingleQuoteType, token.DoubleQuoteType:
		if len(origin) >= 2 && origin[1:len(origin)-1] == tk.Value && !strings.Contains(origin, "\n") {
			p.exprCol = p.col + 1
		}
	}
	return p
}

func kindOf(n ast.Node) string {
	switch n.(type) {
	case nil, *ast.NullNode:
		return "nothing (null)"
	case *ast.StringNode, *ast.LiteralNode:
		return "a string"
	case *ast.IntegerNode, *ast.FloatNode, *ast.InfinityNode, *ast.NanNode:
		return "a number"
	case *ast.BoolNode:
		return "a boolean"
	case *ast.SequenceNode:
		return "a list"
	case ast.MapNode:
		return "a mapping"
	}
	return "a " + strings.ToLower(n.Type().String())
}

func joinPath(path, key string) string {
	if path == "" {
		return key
	}
	return path + "." + key
}

func indexPath(path string, i int) string {
	return path + "[" + strconv.Itoa(i) + "]"
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}
