package tabular

import (
	"errors"
	"fmt"

	"github.com/parquet-go/parquet-go"
	"github.com/parquet-go/parquet-go/deprecated"
	"github.com/parquet-go/parquet-go/format"
)

// ParquetSchema returns the canonical parquet schema of s: columns in schema
// order (parquet.Group alone would sort them by name), OPTIONAL when
// nullable, and the physical/logical types listed in the package
// documentation.
func ParquetSchema(s Schema) *parquet.Schema {
	group := make(parquet.Group, len(s.Columns))
	for _, c := range s.Columns {
		var n parquet.Node
		switch c.Type {
		case Int64:
			n = parquet.Encoded(parquet.Leaf(parquet.Int64Type), &parquet.DeltaBinaryPacked)
		case Float64:
			n = parquet.Leaf(parquet.DoubleType)
		case Bool:
			n = parquet.Leaf(parquet.BooleanType)
		case Timestamp:
			n = parquet.Encoded(parquet.Timestamp(parquet.Microsecond), &parquet.DeltaBinaryPacked)
		default:
			n = parquet.String()
		}
		if c.Nullable {
			n = parquet.Optional(n)
		} else {
			n = parquet.Required(n)
		}
		group[c.Name] = n
	}
	byName := make(map[string]parquet.Field, len(s.Columns))
	for _, f := range group.Fields() {
		byName[f.Name()] = f
	}
	fields := make([]parquet.Field, len(s.Columns))
	for i, c := range s.Columns {
		fields[i] = byName[c.Name]
	}
	return parquet.NewSchema("granary", orderedGroup{Group: group, fields: fields})
}

// orderedGroup is a parquet group whose fields keep a given order.
type orderedGroup struct {
	parquet.Group
	fields []parquet.Field
}

func (g orderedGroup) Fields() []parquet.Field { return g.fields }

// conversion says how values of a file column become granary values.
type conversion uint8

const (
	convInt64 conversion = iota
	convInt32
	convUint32
	convFloat
	convDouble
	convBool
	convString
	convTimestampMillis
	convTimestampMicros
	convTimestampNanos
	convDate
	convInt96
)

// mapParquetColumn maps a top-level file column onto a granary type.
func mapParquetColumn(col *parquet.Column) (Type, conversion, error) {
	if !col.Leaf() {
		return "", 0, errors.New("nested group columns are not supported")
	}
	if col.Repeated() {
		return "", 0, errors.New("repeated (list) columns are not supported")
	}
	t := col.Type()
	kind := t.Kind()
	unsupported := func(what string) (Type, conversion, error) {
		return "", 0, fmt.Errorf("unsupported parquet type %s (%s)", what, kind)
	}
	if lt := t.LogicalType(); lt != nil && lt.Value != nil {
		switch v := lt.Value.(type) {
		case *format.StringType, *format.EnumType, *format.JsonType:
			if kind == parquet.ByteArray {
				return String, convString, nil
			}
		case *format.IntType:
			switch {
			case kind == parquet.Int32 && v.IsSigned:
				return Int64, convInt32, nil
			case kind == parquet.Int32:
				return Int64, convUint32, nil
			case kind == parquet.Int64 && v.IsSigned:
				return Int64, convInt64, nil
			}
			return unsupported("UINT64")
		case *format.DateType:
			if kind == parquet.Int32 {
				return Timestamp, convDate, nil
			}
		case *format.TimestampType:
			if kind == parquet.Int64 && v.Unit.Value != nil {
				switch v.Unit.Value.(type) {
				case *format.MilliSeconds:
					return Timestamp, convTimestampMillis, nil
				case *format.MicroSeconds:
					return Timestamp, convTimestampMicros, nil
				case *format.NanoSeconds:
					return Timestamp, convTimestampNanos, nil
				}
			}
		}
		return unsupported("logical type " + lt.Value.String())
	}
	if ct := t.ConvertedType(); ct != nil {
		switch *ct {
		case deprecated.UTF8, deprecated.Enum, deprecated.Json:
			if kind == parquet.ByteArray {
				return String, convString, nil
			}
		case deprecated.Int8, deprecated.Int16, deprecated.Int32:
			if kind == parquet.Int32 {
				return Int64, convInt32, nil
			}
		case deprecated.Uint8, deprecated.Uint16, deprecated.Uint32:
			if kind == parquet.Int32 {
				return Int64, convUint32, nil
			}
		case deprecated.Int64:
			if kind == parquet.Int64 {
				return Int64, convInt64, nil
			}
		case deprecated.Date:
			if kind == parquet.Int32 {
				return Timestamp, convDate, nil
			}
		case deprecated.TimestampMillis:
			if kind == parquet.Int64 {
				return Timestamp, convTimestampMillis, nil
			}
		case deprecated.TimestampMicros:
			if kind == parquet.Int64 {
				return Timestamp, convTimestampMicros, nil
			}
		}
		return unsupported(fmt.Sprintf("converted type %d", int(*ct)))
	}
	switch kind {
	case parquet.Boolean:
		return Bool, convBool, nil
	case parquet.Int32:
		return Int64, convInt32, nil
	case parquet.Int64:
		return Int64, convInt64, nil
	case parquet.Float:
		return Float64, convFloat, nil
	case parquet.Double:
		return Float64, convDouble, nil
	case parquet.ByteArray:
		return String, convString, nil
	case parquet.Int96:
		return Timestamp, convInt96, nil
	}
	return unsupported(kind.String())
}
