package tabular

import (
	"errors"
	"fmt"
	"io"

	"github.com/parquet-go/parquet-go/encoding/thrift"
	"github.com/parquet-go/parquet-go/format"
)

// parquet-go decodes a footer by believing it: a list length is allocated
// before its first element is read (21 bytes can ask for 200 GB), and the
// column tree it builds next reserves memory by the square of the schema
// depth and by columns times row groups. Out of memory is a fatal error
// that no recover() catches, so checkFooter walks the footer's bytes
// first, estimates what decoding them will allocate, decodes them itself
// and checks the shape of the schema, and only then lets parquet-go open
// the file (which decodes the same bytes again).

// Footer limits. A footer is a few KiB to a few MiB in practice: its size
// grows with columns times row groups.
const (
	maxFooterBytes = 64 << 20
	// maxFooterMemory bounds compactWalker's estimate of what opening a
	// file allocates for its footer (about 5 KiB per column chunk; see
	// the weights in pqvalidate.go): 100,000 chunks, e.g. 1,000 columns
	// in 100 row groups.
	maxFooterMemory = 512 << 20
	// maxSchemaDepth bounds the nesting of a schema. granary reads flat
	// columns; a few levels are accepted so that a nested column gets an
	// error naming it.
	maxSchemaDepth = 16
)

// checkFooter reads the footer of a parquet file of size bytes whose
// footer is footerLen bytes long (both checked by the caller against the
// file), and returns an error unless parquet-go can decode it and build
// its column tree within bounded memory.
func checkFooter(r io.ReaderAt, size, footerLen int64) error {
	if footerLen > maxFooterBytes {
		return fmt.Errorf("footer of %d bytes, more than the %d supported", footerLen, maxFooterBytes)
	}
	footer := make([]byte, footerLen)
	if _, err := r.ReadAt(footer, size-8-footerLen); err != nil {
		return err
	}
	var w compactWalker
	n, err := w.structLen(footer, 0)
	if err != nil {
		return fmt.Errorf("footer: %w", err)
	}
	if n != len(footer) {
		return fmt.Errorf("footer: %d bytes after the file metadata (signed or encrypted footers are not supported)", len(footer)-n)
	}
	if w.cost > maxFooterMemory {
		return fmt.Errorf("footer would take about %d MiB to open, more than the %d MiB allowed", w.cost>>20, maxFooterMemory>>20)
	}
	var md format.FileMetaData
	if err := thrift.Unmarshal(new(thrift.CompactProtocol), footer, &md); err != nil {
		return fmt.Errorf("footer: %w", err)
	}
	return checkSchemaShape(&md)
}

// checkSchemaShape checks what parquet-go sizes its column tree by: the
// schema is one tree whose groups have all their children, no deeper than
// maxSchemaDepth, and every row group has one chunk per leaf column.
func checkSchemaShape(md *format.FileMetaData) error {
	if len(md.Schema) == 0 {
		return errors.New("footer has no schema")
	}
	if md.Schema[0].Type.Valid {
		return errors.New("schema root is a column, not a group")
	}
	leaves := 0
	next := 0
	var walk func(depth int) error
	walk = func(depth int) error {
		e := &md.Schema[next]
		next++
		if e.Type.Valid {
			if e.NumChildren.Valid && e.NumChildren.V != 0 {
				return fmt.Errorf("schema element %q has a type and %d children", e.Name, e.NumChildren.V)
			}
			leaves++
			return nil
		}
		if depth > maxSchemaDepth {
			return fmt.Errorf("schema nested more than %d levels deep", maxSchemaDepth)
		}
		children := 0
		if e.NumChildren.Valid {
			children = int(e.NumChildren.V)
		}
		if children < 0 || children > len(md.Schema)-next {
			return fmt.Errorf("schema group %q has %d children, the schema %d more elements", e.Name, children, len(md.Schema)-next)
		}
		for range children {
			if err := walk(depth + 1); err != nil {
				return err
			}
		}
		return nil
	}
	if err := walk(0); err != nil {
		return err
	}
	if next != len(md.Schema) {
		return fmt.Errorf("schema has %d elements outside the root's tree", len(md.Schema)-next)
	}
	for i := range md.RowGroups {
		if n := len(md.RowGroups[i].Columns); n != leaves {
			return fmt.Errorf("row group %d has %d column chunks for %d columns", i, n, leaves)
		}
	}
	return nil
}
