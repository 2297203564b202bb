package tabular

import "slices"

// Batch is a set of rows stored column by column, in schema order. Batches
// handed out by a Reader are reused: they are valid until the next call.
type Batch struct {
	Len     int      // number of rows
	Vectors []Vector // one per schema column

	bytes int64 // approximate uncompressed size, for row-group and batch bounds
}

// Vector holds the values of one column of a Batch. Exactly one of the value
// slices is used, chosen by Type; it has Len entries (Offsets has Len+1).
// Null slots hold the zero value.
type Vector struct {
	Type Type
	// Nulls marks null rows. It is nil when the column is not nullable.
	Nulls []bool
	// Ints holds int64 values, and timestamps as microseconds since the
	// Unix epoch, UTC.
	Ints   []int64
	Floats []float64
	Bools  []bool
	// Strings: value i is Bytes[Offsets[i]:Offsets[i+1]].
	Bytes   []byte
	Offsets []uint32
}

// IsNull reports whether row i is null.
func (v *Vector) IsNull(i int) bool { return v.Nulls != nil && v.Nulls[i] }

// StringBytes returns string value i; the bytes alias the batch.
func (v *Vector) StringBytes(i int) []byte { return v.Bytes[v.Offsets[i]:v.Offsets[i+1]] }

// Batches never grow past these bounds, so that memory stays bounded however
// long a row is, and string offsets fit in uint32.
const (
	batchRows     = 4096
	batchMaxBytes = 16 << 20
)

func newBatch(s Schema) *Batch {
	b := &Batch{Vectors: make([]Vector, len(s.Columns))}
	// Wide tables reach batchMaxBytes before batchRows; do not reserve more.
	rows := min(batchRows, max(64, batchMaxBytes/(8*len(s.Columns))))
	for i, c := range s.Columns {
		v := &b.Vectors[i]
		v.Type = c.Type
		if c.Nullable {
			v.Nulls = make([]bool, 0, rows)
		}
		switch c.Type {
		case Int64, Timestamp:
			v.Ints = make([]int64, 0, rows)
		case Float64:
			v.Floats = make([]float64, 0, rows)
		case Bool:
			v.Bools = make([]bool, 0, rows)
		case String:
			v.Offsets = make([]uint32, 1, rows+1)
		}
	}
	return b
}

func (b *Batch) reset() {
	b.Len = 0
	b.bytes = 0
	for i := range b.Vectors {
		v := &b.Vectors[i]
		if v.Nulls != nil {
			v.Nulls = v.Nulls[:0]
		}
		v.Ints = v.Ints[:0]
		v.Floats = v.Floats[:0]
		v.Bools = v.Bools[:0]
		v.Bytes = v.Bytes[:0]
		if v.Offsets != nil {
			v.Offsets = v.Offsets[:1]
		}
	}
}

// full reports whether the batch reached a bound; sources stop filling then.
func (b *Batch) full(maxRows int) bool {
	return b.Len >= maxRows || b.bytes >= batchMaxBytes
}

// The append helpers keep Nulls in step for nullable vectors.

func (v *Vector) appendNull(b *Batch) {
	v.Nulls = append(v.Nulls, true)
	switch v.Type {
	case Int64, Timestamp:
		v.Ints = append(v.Ints, 0)
	case Float64:
		v.Floats = append(v.Floats, 0)
	case Bool:
		v.Bools = append(v.Bools, false)
	case String:
		v.Offsets = append(v.Offsets, uint32(len(v.Bytes)))
	}
	b.bytes++
}

func (v *Vector) appendInt(b *Batch, x int64) {
	if v.Nulls != nil {
		v.Nulls = append(v.Nulls, false)
	}
	v.Ints = append(v.Ints, x)
	b.bytes += 8
}

func (v *Vector) appendFloat(b *Batch, x float64) {
	if v.Nulls != nil {
		v.Nulls = append(v.Nulls, false)
	}
	v.Floats = append(v.Floats, x)
	b.bytes += 8
}

func (v *Vector) appendBool(b *Batch, x bool) {
	if v.Nulls != nil {
		v.Nulls = append(v.Nulls, false)
	}
	v.Bools = append(v.Bools, x)
	b.bytes++
}

func (v *Vector) appendString(b *Batch, s []byte) {
	if v.Nulls != nil {
		v.Nulls = append(v.Nulls, false)
	}
	v.Bytes = append(v.Bytes, s...)
	v.Offsets = append(v.Offsets, uint32(len(v.Bytes)))
	b.bytes += int64(len(s)) + 4
}

// reserve grows b's vectors so that n more rows fit without copying
// (string bytes excepted: their size is not known ahead).
func (b *Batch) reserve(n int) {
	for i := range b.Vectors {
		v := &b.Vectors[i]
		if v.Nulls != nil {
			v.Nulls = slices.Grow(v.Nulls, n)
		}
		switch v.Type {
		case Int64, Timestamp:
			v.Ints = slices.Grow(v.Ints, n)
		case Float64:
			v.Floats = slices.Grow(v.Floats, n)
		case Bool:
			v.Bools = slices.Grow(v.Bools, n)
		case String:
			v.Offsets = slices.Grow(v.Offsets, n)
		}
	}
}

// appendSelected appends values sel of src to v, as AppendRow would for
// each of those rows, one typed loop per column.
func (v *Vector) appendSelected(b *Batch, src *Vector, sel []int) {
	n := len(sel)
	nulls := 0
	switch {
	case v.Nulls != nil && src.Nulls != nil:
		for _, i := range sel {
			null := src.Nulls[i]
			v.Nulls = append(v.Nulls, null)
			if null {
				nulls++
			}
		}
	case v.Nulls != nil:
		v.Nulls = append(v.Nulls, make([]bool, n)...)
	}
	switch v.Type {
	case Int64, Timestamp:
		for _, i := range sel {
			v.Ints = append(v.Ints, src.Ints[i])
		}
		b.bytes += int64(8*(n-nulls) + nulls)
	case Float64:
		for _, i := range sel {
			v.Floats = append(v.Floats, src.Floats[i])
		}
		b.bytes += int64(8*(n-nulls) + nulls)
	case Bool:
		for _, i := range sel {
			v.Bools = append(v.Bools, src.Bools[i])
		}
		b.bytes += int64(n)
	case String:
		before := len(v.Bytes)
		for _, i := range sel {
			v.Bytes = append(v.Bytes, src.Bytes[src.Offsets[i]:src.Offsets[i+1]]...)
			v.Offsets = append(v.Offsets, uint32(len(v.Bytes)))
		}
		b.bytes += int64(len(v.Bytes)-before) + int64(4*(n-nulls)+nulls)
	}
}

// AppendSelected appends rows sel of src to b, column j of b taking
// column cols[j] of src: the same as AppendRow for each row of sel in
// turn, a column at a time.
func (b *Batch) AppendSelected(src *Batch, sel []int, cols []int) {
	for j, c := range cols {
		b.Vectors[j].appendSelected(b, &src.Vectors[c], sel)
	}
	b.Len += len(sel)
}

// AppendInts appends xs to column col (int64 or timestamp), for rows
// being built column by column: the caller counts them in Len.
func (b *Batch) AppendInts(col int, xs []int64) {
	v := &b.Vectors[col]
	if v.Nulls != nil {
		v.Nulls = append(v.Nulls, make([]bool, len(xs))...)
	}
	v.Ints = append(v.Ints, xs...)
	b.bytes += int64(8 * len(xs))
}
