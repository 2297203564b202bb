package shard

import (
	"container/heap"
	"errors"
	"fmt"
	"io"

	"github.com/granaryml/granary/internal/tabular"
)

// RowMerger yields rows in the order of their first column (an int64 row
// id) from several parquet files each sorted by it: a k-way merge that
// holds one batch per file. Training builds use it to put each view's
// per-shard join results back in spine order.
type RowMerger struct {
	cursors cursorHeap
	all     []*cursor
}

type cursor struct {
	r   *tabular.Reader
	b   *tabular.Batch
	i   int
	eof bool
}

func (c *cursor) id() int64 { return c.b.Vectors[0].Ints[c.i] }

func (c *cursor) advance() error {
	c.i++
	for c.b == nil || c.i >= c.b.Len {
		b, err := c.r.Next()
		if errors.Is(err, io.EOF) {
			c.eof = true
			return nil
		}
		if err != nil {
			return err
		}
		c.b, c.i = b, 0
	}
	return nil
}

type cursorHeap []*cursor

func (h cursorHeap) Len() int           { return len(h) }
func (h cursorHeap) Less(i, j int) bool { return h[i].id() < h[j].id() }
func (h cursorHeap) Swap(i, j int)      { h[i], h[j] = h[j], h[i] }
func (h *cursorHeap) Push(x any)        { *h = append(*h, x.(*cursor)) }
func (h *cursorHeap) Pop() any {
	old := *h
	c := old[len(old)-1]
	*h = old[:len(old)-1]
	return c
}

// NewRowMerger opens every input.
func NewRowMerger(inputs []Input) (*RowMerger, error) {
	m := &RowMerger{}
	for _, in := range inputs {
		r, err := tabular.NewReader(in.R, in.Size)
		if err == nil {
			if err = r.ReadAhead(); err != nil {
				r.Close()
			}
		}
		if err != nil {
			m.Close()
			return nil, err
		}
		c := &cursor{r: r, i: -1}
		m.all = append(m.all, c)
		if err := c.advance(); err != nil {
			m.Close()
			return nil, err
		}
		if !c.eof {
			m.cursors = append(m.cursors, c)
		}
	}
	heap.Init(&m.cursors)
	return m, nil
}

// Take returns the joined row for spine row id. Every spine row was
// joined exactly once per view, so the smallest id must be the one asked
// for; anything else means a lost or duplicated row, which is a bug, not
// bad input.
func (m *RowMerger) Take(id int64) (*tabular.Batch, int, error) {
	if len(m.cursors) == 0 || m.cursors[0].id() != id {
		got := "none"
		if len(m.cursors) > 0 {
			got = fmt.Sprint(m.cursors[0].id())
		}
		return nil, 0, fmt.Errorf("joined rows out of step: want spine row %d, have %s", id, got)
	}
	c := m.cursors[0]
	b, i := c.b, c.i
	// The batch stays valid until this cursor reads its next batch, so
	// copy out before advancing past the batch end.
	snapshot := b
	if c.i+1 >= c.b.Len {
		snapshot = cloneRow(b, i)
		i = 0
	}
	if err := c.advance(); err != nil {
		return nil, 0, err
	}
	if c.eof {
		heap.Pop(&m.cursors)
	} else {
		heap.Fix(&m.cursors, 0)
	}
	return snapshot, i, nil
}

// cloneRow copies one row into a fresh single-row batch.
func cloneRow(b *tabular.Batch, i int) *tabular.Batch {
	s := tabular.Schema{}
	for _, v := range b.Vectors {
		s.Columns = append(s.Columns, tabular.Column{Type: v.Type, Nullable: v.Nulls != nil})
	}
	out := tabular.NewBatch(s)
	all := make([]int, len(b.Vectors))
	for k := range all {
		all[k] = k
	}
	out.AppendRow(b, i, all)
	return out
}

func (m *RowMerger) Close() {
	for _, c := range m.all {
		c.r.Close()
	}
}
