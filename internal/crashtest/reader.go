package crashtest

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/granaryml/granary/internal/lake"
)

// Reader polls a dataset's ref the way any consumer would (resolve the
// alias, read the manifest, open its files) and records every way the
// lake could show a partial version: a ref naming a missing or corrupt
// manifest, a manifest naming a missing or short blob, a row count other
// than the complete one, a ref that disappears or moves once seen.
type Reader struct {
	Lake     *lake.Lake
	Kind     lake.Kind // default lake.KindDataset
	Name     string
	Ref      string // default "latest"
	WantRows int64
	Interval time.Duration // default 50ms
}

// ReaderReport is what a Reader saw.
type ReaderReport struct {
	Before     int // observations while the ref did not exist yet
	After      int // observations of a complete version
	Violations []string
	Versions   []string // distinct versions the ref named, in order
	FirstSeen  time.Time
	Verified   int // blobs re-hashed in full (once per version seen)
}

// maxViolations keeps a broken run's report readable.
const maxViolations = 20

// Run polls until ctx ends and returns what it saw.
func (r *Reader) Run(ctx context.Context) ReaderReport {
	ref := r.Ref
	if ref == "" {
		ref = "latest"
	}
	interval := r.Interval
	if interval <= 0 {
		interval = 50 * time.Millisecond
	}
	var rep ReaderReport
	verified := map[string]bool{}
	violate := func(format string, args ...any) {
		if len(rep.Violations) < maxViolations {
			rep.Violations = append(rep.Violations, fmt.Sprintf(time.Now().Format("15:04:05.000 ")+format, args...))
		}
	}
	tick := time.NewTicker(interval)
	defer tick.Stop()
	for {
		r.observe(ctx, ref, &rep, verified, violate)
		select {
		case <-ctx.Done():
			return rep
		case <-tick.C:
		}
	}
}

func (r *Reader) observe(ctx context.Context, ref string, rep *ReaderReport, verified map[string]bool, violate func(string, ...any)) {
	kind := r.Kind
	if kind == "" {
		kind = lake.KindDataset
	}
	id, err := r.Lake.Resolve(ctx, kind, r.Name, ref)
	if ctx.Err() != nil {
		return // the run ended mid-observation; nothing was seen
	}
	if errors.Is(err, lake.ErrNotFound) {
		if rep.After > 0 {
			violate("%s@%s disappeared after pointing at %s", r.Name, ref, lake.ShortID(rep.Versions[len(rep.Versions)-1]))
		}
		rep.Before++
		return
	}
	if err != nil {
		violate("resolve %s@%s: %v", r.Name, ref, err)
		return
	}
	if len(rep.Versions) == 0 || rep.Versions[len(rep.Versions)-1] != id {
		if len(rep.Versions) > 0 {
			violate("%s@%s moved from %s to %s during one run", r.Name, ref, lake.ShortID(rep.Versions[len(rep.Versions)-1]), lake.ShortID(id))
		}
		rep.Versions = append(rep.Versions, id)
	}
	m, err := r.Lake.GetManifest(ctx, kind, r.Name, id)
	if err != nil {
		if ctx.Err() == nil {
			violate("%s@%s -> %s: manifest: %v", r.Name, ref, lake.ShortID(id), err)
		}
		return
	}
	ok := true
	var rows, bytes int64
	for _, f := range m.Files {
		rows += f.Rows
		bytes += f.Bytes
		info, err := r.Lake.Store().Stat(ctx, lake.BlobKey(f.Digest))
		switch {
		case ctx.Err() != nil:
			return
		case err != nil:
			violate("%s: file %s: %v", lake.ShortID(id), f.Digest, err)
			ok = false
		case info.Size != f.Bytes:
			violate("%s: file %s has %d bytes, manifest says %d", lake.ShortID(id), f.Digest, info.Size, f.Bytes)
			ok = false
		}
	}
	if m.Rows != r.WantRows || rows != m.Rows || bytes != m.Bytes || len(m.Files) == 0 {
		violate("%s: %d rows (files sum to %d rows, %d bytes; manifest says %d bytes), want %d rows", lake.ShortID(id), m.Rows, rows, bytes, m.Bytes, r.WantRows)
		ok = false
	}
	if ok && !verified[id] {
		// Once per version, re-hash every blob: the bytes are the ones the
		// manifest names, not just an object of the right size.
		for _, f := range m.Files {
			if err := r.Lake.VerifyBlob(ctx, f.Digest); err != nil {
				if ctx.Err() != nil {
					return
				}
				violate("%s: file %s: %v", lake.ShortID(id), f.Digest, err)
				ok = false
			}
			rep.Verified++
		}
		verified[id] = true
	}
	if ok {
		if rep.After == 0 {
			rep.FirstSeen = time.Now()
		}
		rep.After++
	}
}

// Background runs r until stop is called, which returns the report.
func (r *Reader) Background(ctx context.Context) (stop func() ReaderReport) {
	ctx, cancel := context.WithCancel(ctx)
	var (
		once sync.Once
		rep  ReaderReport
		done = make(chan struct{})
	)
	go func() {
		defer close(done)
		rep = r.Run(ctx)
	}()
	return func() ReaderReport {
		once.Do(func() {
			cancel()
			<-done
		})
		return rep
	}
}
