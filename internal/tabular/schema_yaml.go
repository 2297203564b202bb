package tabular

import (
	"errors"
	"fmt"
	"strings"

	"github.com/goccy/go-yaml"
	"github.com/goccy/go-yaml/ast"
	"github.com/goccy/go-yaml/parser"
)

// ParseSchemaYAML parses a schema file such as
//
//	columns:
//	  - {name: id, type: int64}
//	  - {name: note, type: string, nullable: true}
//
// Errors are *InputError values naming file:line.
func ParseSchemaYAML(file string, data []byte) (Schema, error) {
	f, err := parser.ParseBytes(data, 0)
	if err != nil {
		return Schema{}, yamlError(file, err)
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
