package tabular

import (
	"bufio"
	"context"
	"io"
)

// ExportCSV writes a parquet file as CSV: a header, then one line per row,
// LF line endings. Nulls are empty unquoted fields and empty strings are "",
// so the two stay apart (see the package documentation); floats use the
// shortest form that parses back to the same float64, timestamps RFC 3339
// with nanoseconds in UTC. Fields are quoted only when needed.
func ExportCSV(ctx context.Context, r io.ReaderAt, size int64, w io.Writer) error {
	pr, err := NewReader(r, size)
	if err != nil {
		return err
	}
	defer pr.Close()
	return exportCSV(ctx, pr, w)
}

func exportCSV(ctx context.Context, pr *Reader, w io.Writer) error {
	bw := bufio.NewWriterSize(w, 256<<10)
	var line []byte
	for i, c := range pr.Schema().Columns {
		if i > 0 {
			line = append(line, ',')
		}
		line = appendCSVString(line, []byte(c.Name))
	}
	line = append(line, '\n')
	if _, err := bw.Write(line); err != nil {
		return err
	}
	for {
		if err := ctx.Err(); err != nil {
			return err
		}
		b, err := pr.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			return err
		}
		for row := range b.Len {
			line = line[:0]
			for ci := range b.Vectors {
				if ci > 0 {
					line = append(line, ',')
				}
				v := &b.Vectors[ci]
				if v.IsNull(row) {
					continue
				}
				switch v.Type {
				case Int64:
					line = appendInt64(line, v.Ints[row])
				case Timestamp:
					line = appendTimestamp(line, v.Ints[row])
				case Float64:
					line = appendFloat64(line, v.Floats[row])
				case Bool:
					line = appendBool(line, v.Bools[row])
				case String:
					line = appendCSVString(line, v.StringBytes(row))
				}
			}
			line = append(line, '\n')
			if _, err := bw.Write(line); err != nil {
				return err
			}
		}
	}
	return bw.Flush()
}

// appendCSVString quotes s when it is empty (to tell it from null), when it
// holds a delimiter, quote, CR or LF, or when it starts with a byte order
// mark (which a reader would strip at the start of a file).
func appendCSVString(dst, s []byte) []byte {
	quote := len(s) == 0 || (len(s) >= 3 && s[0] == 0xEF && s[1] == 0xBB && s[2] == 0xBF)
	if !quote {
		for _, c := range s {
			if c == ',' || c == '"' || c == '\n' || c == '\r' {
				quote = true
				break
			}
		}
	}
	if !quote {
		return append(dst, s...)
	}
	dst = append(dst, '"')
	for _, c := range s {
		if c == '"' {
			dst = append(dst, '"')
		}
		dst = append(dst, c)
	}
	return append(dst, '"')
}
