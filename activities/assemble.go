package activities

import (
	"context"
	"errors"
	"fmt"
	"io"

	"github.com/granaryml/granary/internal/lake"
	"github.com/granaryml/granary/internal/shard"
	"github.com/granaryml/granary/internal/tabular"
)

// Assemble streams the spine in its own order and, for every row, takes
// each view's joined features from a k-way merge of that view's shard
// results (each sorted by spine row id), adds the split, and writes one
// parquet file per split. Memory: one batch per open file.
func (a *Activities) Assemble(ctx context.Context, in AssembleInput) (AssembleResult, error) {
	ctx, stop := a.watch(ctx)
	defer stop()
	p := in.Plan
	l := lake.New(a.Store)
	var joined []lake.Digest
	for _, files := range in.Joined {
		joined = append(joined, lake.Digests(files)...)
	}
	if err := l.HoldBlobs(ctx, joined...); err != nil { // scratch: see SortShard
		return AssembleResult{}, toTemporal(err)
	}
	mergers := make([]*shard.RowMerger, len(p.Views))
	for vi := range p.Views {
		inputs := make([]shard.Input, 0, len(in.Joined[vi]))
		for _, f := range in.Joined[vi] {
			rr, err := l.BlobReaderAt(ctx, f.Digest)
			if err != nil {
				return AssembleResult{}, toTemporal(err)
			}
			inputs = append(inputs, shard.Input{R: rr, Size: rr.Size()})
		}
		m, err := shard.NewRowMerger(inputs)
		if err != nil {
			return AssembleResult{}, toTemporal(err)
		}
		defer m.Close()
		mergers[vi] = m
	}
	out, err := newSplitWriters(p, a.TempDir)
	if err != nil {
		return AssembleResult{}, err
	}
	defer out.abort()

	splitCol := -1
	if p.Split != nil {
		splitCol = p.SpineSchema.Index(p.Split.By)
		if splitCol < 0 {
			return AssembleResult{}, toTemporal(fmt.Errorf("%w: spine has no split column %q", tabular.ErrBadInput, p.Split.By))
		}
	}
	nSpine := len(p.SpineSchema.Columns)
	var done int64
	for fi, f := range p.SpineFiles {
		rr, err := l.BlobReaderAt(ctx, f.Digest)
		if err != nil {
			return AssembleResult{}, toTemporal(err)
		}
		r, err := tabular.NewReader(rr, rr.Size())
		if err != nil {
			return AssembleResult{}, toTemporal(err)
		}
		if err := r.Select(p.SpineSchema.Names()); err == nil {
			err = r.ReadAhead()
		}
		if err != nil {
			r.Close()
			return AssembleResult{}, toTemporal(err)
		}
		var pos int64
		for {
			b, err := r.Next()
			if errors.Is(err, io.EOF) {
				break
			}
			if err != nil {
				r.Close()
				return AssembleResult{}, toTemporal(err)
			}
			for i := 0; i < b.Len; i++ {
				id := rowIDBase(fi) + pos
				pos++
				split := "all"
				if splitCol >= 0 {
					split = shard.SplitOf(b, splitCol, i, p.Split)
				}
				dst := out.batch(split)
				for c := 0; c < nSpine; c++ {
					dst.AppendCell(c, &b.Vectors[c], i)
				}
				col := nSpine
				for vi, m := range mergers {
					jb, ji, err := m.Take(id)
					if err != nil {
						r.Close()
						return AssembleResult{}, toTemporal(fmt.Errorf("view %s: %w", p.Views[vi].View, err))
					}
					for k := range p.Views[vi].Outputs {
						dst.AppendCell(col, &jb.Vectors[k+1], ji) // column 0 is the row id
						col++
					}
				}
				if splitCol >= 0 {
					dst.AppendString(col, []byte(split))
				}
				dst.EndRow()
				if err := out.flushIfFull(split); err != nil {
					r.Close()
					return AssembleResult{}, err
				}
			}
			done += int64(b.Len)
			noteRows(ctx, done)
		}
		r.Close()
	}
	files, rows, err := out.finish(ctx, l)
	if err != nil {
		return AssembleResult{}, toTemporal(err)
	}
	return AssembleResult{Files: files, Rows: rows}, nil
}

// splitWriters keeps one parquet file (on local disk) per split.
type splitWriters struct {
	schema tabular.Schema
	w      map[string]*splitFile
	order  []string
}

type splitFile struct {
	f   *lake.Spool
	bw  *tabular.BatchWriter
	buf *tabular.Batch
}

func newSplitWriters(p BuildPlan, dir string) (*splitWriters, error) {
	s := &splitWriters{schema: p.Schema, w: map[string]*splitFile{}}
	names := []string{"all"}
	if p.Split != nil {
		names = []string{shard.SplitTrain, shard.SplitValid, shard.SplitTest}
	}
	for _, n := range names {
		f, err := lake.NewSpool(dir, "granary-"+n+"-*.parquet")
		if err != nil {
			s.abort()
			return nil, err
		}
		s.w[n] = &splitFile{f: f, bw: tabular.NewBatchWriter(f, p.Schema, tabular.WriterOptions{}), buf: tabular.NewBatch(p.Schema)}
		s.order = append(s.order, n)
	}
	return s, nil
}

func (s *splitWriters) batch(split string) *tabular.Batch { return s.w[split].buf }

func (s *splitWriters) flushIfFull(split string) error {
	w := s.w[split]
	if !w.buf.Full() {
		return nil
	}
	if err := w.bw.Write(w.buf); err != nil {
		return err
	}
	w.buf.Reset()
	return nil
}

// finish closes every split file and uploads the non-empty ones.
func (s *splitWriters) finish(ctx context.Context, l *lake.Lake) ([]lake.File, map[string]int64, error) {
	var files []lake.File
	rows := map[string]int64{}
	for _, n := range s.order {
		w := s.w[n]
		if w.buf.Len > 0 {
			if err := w.bw.Write(w.buf); err != nil {
				return nil, nil, err
			}
		}
		nrows, _, err := w.bw.Close()
		if err != nil {
			return nil, nil, err
		}
		rows[n] = nrows
		if nrows == 0 {
			continue
		}
		d, size, err := w.f.Commit(ctx, l)
		if err != nil {
			return nil, nil, err
		}
		files = append(files, lake.File{Digest: d, Rows: nrows, Bytes: size, Partition: n})
	}
	s.abort()
	return files, rows, nil
}

func (s *splitWriters) abort() {
	for _, w := range s.w {
		w.bw.Abort()
		w.f.Close()
	}
}
