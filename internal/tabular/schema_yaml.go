package tabular

import (
	"errors"
	"fmt"
	"strings"

	"github.com/goccy/go-yaml"
	"github.com/goccy/go-yaml/ast"
	"github.com/goccy/go-yaml/lexer"
	"github.com/goccy/go-yaml/parser"
	"github.com/goccy/go-yaml/token"
)

// ParseSchemaYAML parses a schema file such as
//
//	columns:
//	  - {name: id, type: int64}
//	  - {name: note, type: string, nullable: true}
//
// Errors are *InputError values naming file:line.
func ParseSchemaYAML(file string, data []byte) (Schema, error) {
	if len(data) > maxSchemaYAMLBytes {
		return Schema{}, &InputError{File: file, Err: fmt.Errorf("schema file of %d bytes, more than the %d allowed", len(data), maxSchemaYAMLBytes)}
	}
	f, err := parseSchemaTokens(file, data)
	if err != nil {
		return Schema{}, err
	}
	var root ast.Node
	for _, doc := range f.Docs {
		if doc == nil || doc.Body == nil {
			continue
		}
		if root != nil {
			return Schema{}, &InputError{File: file, Line: nodeLine(doc.Body), Err: errors.New("more than one YAML document")}
		}
		root = doc.Body
	}
	if root == nil {
		return Schema{}, &InputError{File: file, Line: 1, Err: errors.New("empty schema file")}
	}
	top, err := mappingPairs(file, root)
	if err != nil {
		return Schema{}, err
	}
	var (
		s    Schema
		cols ast.Node
	)
	for _, kv := range top {
		key, err := scalarKey(file, kv.Key)
		if err != nil {
			return Schema{}, err
		}
		if key != "columns" {
			return Schema{}, &InputError{File: file, Line: nodeLine(kv.Key), Err: fmt.Errorf("unknown key %q (want columns)", key)}
		}
		if cols != nil {
			return Schema{}, &InputError{File: file, Line: nodeLine(kv.Key), Err: errors.New(`duplicate key "columns"`)}
		}
		cols = kv.Value
	}
	if cols == nil {
		return Schema{}, &InputError{File: file, Line: nodeLine(root), Err: errors.New(`missing key "columns"`)}
	}
	seq, ok := unwrap(cols).(*ast.SequenceNode)
	if !ok {
		return Schema{}, &InputError{File: file, Line: nodeLine(cols), Err: errors.New("columns must be a list")}
	}
	seen := make(map[string]int64)
	for i, item := range seq.Values {
		col, line, err := parseColumnNode(file, i, item)
		if err != nil {
			return Schema{}, err
		}
		if first, dup := seen[col.Name]; dup {
			return Schema{}, &InputError{File: file, Line: line, Column: col.Name, Err: fmt.Errorf("duplicate column name (first at line %d)", first)}
		}
		seen[col.Name] = line
		s.Columns = append(s.Columns, col)
	}
	if err := s.Validate(); err != nil {
		var ie *InputError
		if errors.As(err, &ie) {
			ie.File = file
			ie.Line = nodeLine(cols)
		}
		return Schema{}, err
	}
	return s, nil
}

// The YAML parser's time and memory grow with the square of some sizes:
// nesting depth, the number of keys in one mapping, anchors and tags, and
// documents (a 1 MB file of one mapping's keys takes minutes and tens of
// GB). A schema file is a list of columns of three keys each, so
// tooComplexSchema refuses anything else of size before parsing.
const (
	maxSchemaYAMLBytes  = 4 << 20 // 32,767 columns of long names
	maxSchemaYAMLDepth  = 8       // nesting of [ and {
	maxSchemaYAMLColumn = 64      // column of a block - or key, which bounds block nesting
	maxSchemaYAMLProps  = 100     // anchors and tags in the file
	maxSchemaYAMLKeys   = 16      // keys of one mapping
	maxSchemaYAMLDocs   = 2
	// maxSchemaYAMLEntries bounds list entries and flow separators: a
	// column takes at most three.
	maxSchemaYAMLEntries = 4 * maxColumns
)

// parseSchemaTokens parses data after checking its tokens; the parser is
// third-party code fed with user input, so a panic in it is an error.
func parseSchemaTokens(file string, data []byte) (f *ast.File, err error) {
	defer func() {
		if r := recover(); r != nil {
			f, err = nil, &InputError{File: file, Line: 1, Err: fmt.Errorf("invalid YAML: parser failure: %v", r)}
		}
	}()
	tokens := lexer.Tokenize(string(data))
	if tk, msg := tooComplexSchema(tokens); tk != nil {
		return nil, &InputError{File: file, Line: int64(max(tk.Position.Line, 1)), Err: errors.New(msg)}
	}
	f, err = parser.Parse(tokens, 0)
	if err != nil {
		return nil, yamlError(file, err)
	}
	return f, nil
}

func tooComplexSchema(tokens token.Tokens) (*token.Token, string) {
	const deep = "nested too deeply for a schema file (a list of columns)"
	depth, props, docs, entries := 0, 0, 0, 0
	// Open mappings, innermost last: the flow depth or block column of
	// their keys, and how many keys they have.
	type open struct{ depth, col, keys int }
	var maps []open
	closeTo := func(depth, col int) {
		for len(maps) > 0 {
			m := maps[len(maps)-1]
			if m.depth < depth || (m.depth == depth && m.col <= col) {
				return
			}
			maps = maps[:len(maps)-1]
		}
	}
	for i, tk := range tokens {
		if tk == nil || tk.Position == nil {
			continue
		}
		switch tk.Type {
		case token.AnchorType, token.TagType:
			if props++; props > maxSchemaYAMLProps {
				return tk, fmt.Sprintf("more than %d YAML anchors and tags", maxSchemaYAMLProps)
			}
		case token.SequenceStartType, token.MappingStartType:
			if depth++; depth > maxSchemaYAMLDepth {
				return tk, deep
			}
		case token.SequenceEndType, token.MappingEndType:
			closeTo(depth, -1)
			depth--
		case token.CollectEntryType:
			if entries++; entries > maxSchemaYAMLEntries {
				return tk, fmt.Sprintf("more than %d list entries and separators", maxSchemaYAMLEntries)
			}
		case token.SequenceEntryType, token.MappingKeyType:
			if entries++; entries > maxSchemaYAMLEntries {
				return tk, fmt.Sprintf("more than %d list entries and separators", maxSchemaYAMLEntries)
			}
			if tk.Position.Column > maxSchemaYAMLColumn {
				return tk, deep
			}
			if depth == 0 {
				closeTo(0, tk.Position.Column)
			}
		case token.DocumentHeaderType:
			if docs++; docs > maxSchemaYAMLDocs {
				return tk, "more than one YAML document"
			}
		case token.MappingValueType:
			if i == 0 || tokens[i-1].Position == nil {
				continue
			}
			col := 0 // a flow mapping's keys are told apart by depth
			if depth == 0 {
				col = tokens[i-1].Position.Column
				if col > maxSchemaYAMLColumn {
					return tk, deep
				}
				closeTo(0, col)
			}
			if n := len(maps); n > 0 && maps[n-1].depth == depth && maps[n-1].col == col {
				if maps[n-1].keys++; maps[n-1].keys > maxSchemaYAMLKeys {
					return tk, fmt.Sprintf("a mapping with more than %d keys", maxSchemaYAMLKeys)
				}
			} else {
				maps = append(maps, open{depth: depth, col: col, keys: 1})
			}
		}
	}
	return nil, ""
}

func parseColumnNode(file string, index int, item ast.Node) (Column, int64, error) {
	line := nodeLine(item)
	pairs, err := mappingPairs(file, item)
	if err != nil {
		return Column{}, line, err
	}
	var (
		col              Column
		hasName, hasType bool
		typeLine         int64
	)
	for _, kv := range pairs {
		key, err := scalarKey(file, kv.Key)
		if err != nil {
			return Column{}, line, err
		}
		kline := nodeLine(kv.Key)
		switch key {
		case "name":
			v, ok := scalarString(kv.Value)
			if !ok {
				return Column{}, line, &InputError{File: file, Line: kline, Err: fmt.Errorf("column %d: name must be a string", index+1)}
			}
			col.Name, hasName = v, true
		case "type":
			v, ok := scalarString(kv.Value)
			if !ok {
				return Column{}, line, &InputError{File: file, Line: kline, Err: fmt.Errorf("column %d: type must be a string", index+1)}
			}
			col.Type, hasType, typeLine = Type(v), true, kline
		case "nullable":
			b, ok := unwrap(kv.Value).(*ast.BoolNode)
			if !ok {
				return Column{}, line, &InputError{File: file, Line: kline, Err: fmt.Errorf("column %d: nullable must be true or false", index+1)}
			}
			col.Nullable = b.Value
		default:
			return Column{}, line, &InputError{File: file, Line: kline, Err: fmt.Errorf("column %d: unknown key %q (want name, type, nullable)", index+1, key)}
		}
	}
	if !hasName || col.Name == "" {
		return Column{}, line, &InputError{File: file, Line: line, Err: fmt.Errorf("column %d has no name", index+1)}
	}
	if !hasType {
		return Column{}, line, &InputError{File: file, Line: line, Column: col.Name, Err: errors.New("missing type")}
	}
	if !col.Type.Valid() {
		return Column{}, line, &InputError{File: file, Line: typeLine, Column: col.Name, Err: errUnknownType(col.Type)}
	}
	if err := checkColumnName(col.Name, index); err != nil {
		return Column{}, line, withLine(err, file, line)
	}
	return col, line, nil
}

func withLine(err error, file string, line int64) error {
	var ie *InputError
	if errors.As(err, &ie) {
		ie.File, ie.Line = file, line
	}
	return err
}

// unwrap looks through tags and anchors to the node that holds the value.
func unwrap(n ast.Node) ast.Node {
	for {
		switch v := n.(type) {
		case *ast.TagNode:
			n = v.Value
		case *ast.AnchorNode:
			n = v.Value
		default:
			return n
		}
	}
}

func mappingPairs(file string, n ast.Node) ([]*ast.MappingValueNode, error) {
	switch v := unwrap(n).(type) {
	case *ast.MappingNode:
		return v.Values, nil
	case *ast.MappingValueNode:
		return []*ast.MappingValueNode{v}, nil
	}
	return nil, &InputError{File: file, Line: nodeLine(n), Err: errors.New("expected a mapping")}
}

func scalarKey(file string, k ast.MapKeyNode) (string, error) {
	if s, ok := scalarString(k); ok {
		return s, nil
	}
	return "", &InputError{File: file, Line: nodeLine(k), Err: errors.New("mapping key must be a string")}
}

func scalarString(n ast.Node) (string, bool) {
	switch v := unwrap(n).(type) {
	case *ast.StringNode:
		return v.Value, true
	case *ast.LiteralNode:
		if v.Value != nil {
			return strings.TrimSuffix(v.Value.Value, "\n"), true
		}
	}
	return "", false
}

func nodeLine(n ast.Node) int64 {
	if n == nil {
		return 0
	}
	if tk := n.GetToken(); tk != nil && tk.Position != nil {
		return int64(tk.Position.Line)
	}
	return 0
}

func yamlError(file string, err error) error {
	var line int64
	msg := err.Error()
	var ye yaml.Error
	if errors.As(err, &ye) {
		msg = ye.GetMessage()
		if tk := ye.GetToken(); tk != nil && tk.Position != nil {
			line = int64(tk.Position.Line)
		}
	}
	return &InputError{File: file, Line: line, Err: fmt.Errorf("invalid YAML: %s", msg)}
}
