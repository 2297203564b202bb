package online

import (
	"math"
	"strconv"
	"time"
	"unicode/utf8"

	"github.com/granaryml/granary/internal/tabular"
)

// AppendJSON appends a column's value at row as JSON: null, a number,
// true/false, or a string. Timestamps are RFC 3339 strings; NaN and the
// infinities, which JSON numbers cannot hold, are the strings "NaN",
// "Infinity" and "-Infinity" (protobuf's JSON mapping does the same).
func (s *Shard) AppendJSON(dst []byte, col, row int) []byte {
	if s.IsNull(col, row) {
		return append(dst, "null"...)
	}
	switch s.types[col] {
	case tabular.Int64:
		return strconv.AppendInt(dst, s.Int(col, row), 10)
	case tabular.Timestamp:
		dst = append(dst, '"')
		dst = timeOf(s.Int(col, row)).AppendFormat(dst, time.RFC3339Nano)
		return append(dst, '"')
	case tabular.Float64:
		return AppendJSONFloat(dst, s.Float(col, row))
	case tabular.Bool:
		return strconv.AppendBool(dst, s.Bool(col, row))
	default:
		return AppendJSONString(dst, s.String(col, row))
	}
}

// AppendJSONFloat appends f as the shortest JSON number that reads back
// as f, or as a string for NaN and the infinities.
func AppendJSONFloat(dst []byte, f float64) []byte {
	switch {
	case math.IsNaN(f):
		return append(dst, `"NaN"`...)
	case math.IsInf(f, 1):
		return append(dst, `"Infinity"`...)
	case math.IsInf(f, -1):
		return append(dst, `"-Infinity"`...)
	}
	return strconv.AppendFloat(dst, f, 'g', -1, 64)
}

const hexDigits = "0123456789abcdef"

// AppendJSONString appends s as a JSON string; invalid UTF-8 becomes
// U+FFFD, as encoding/json does.
func AppendJSONString(dst []byte, s []byte) []byte {
	dst = append(dst, '"')
	start := 0
	for i := 0; i < len(s); {
		b := s[i]
		if b < utf8.RuneSelf {
			if b >= 0x20 && b != '"' && b != '\\' {
				i++
				continue
			}
			dst = append(dst, s[start:i]...)
			switch b {
			case '"', '\\':
				dst = append(dst, '\\', b)
			case '\n':
				dst = append(dst, '\\', 'n')
			case '\r':
				dst = append(dst, '\\', 'r')
			case '\t':
				dst = append(dst, '\\', 't')
			default:
				dst = append(dst, '\\', 'u', '0', '0', hexDigits[b>>4], hexDigits[b&0xf])
			}
			i++
			start = i
			continue
		}
		r, size := utf8.DecodeRune(s[i:])
		if r == utf8.RuneError && size == 1 {
			dst = append(dst, s[start:i]...)
			dst = append(dst, `\ufffd`...)
			i++
			start = i
			continue
		}
		// U+2028 and U+2029 are valid JSON but break JavaScript string
		// literals; escape them as encoding/json does.
		if r == '\u2028' || r == '\u2029' {
			dst = append(dst, s[start:i]...)
			dst = append(dst, '\\', 'u', '2', '0', '2', hexDigits[r&0xf])
			i += size
			start = i
			continue
		}
		i += size
	}
	dst = append(dst, s[start:]...)
	return append(dst, '"')
}
