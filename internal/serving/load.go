package serving

import (
	"context"
	"fmt"
	"io"
	"runtime"
	"sync"

	"github.com/granaryml/granary/internal/lake"
	"github.com/granaryml/granary/internal/online"
)

// LoadIndex reads every shard file of a materialized version into memory
// and opens it. Shards load in parallel; the files are checked (section
// CRCs, key order) but not parsed: the index serves from their bytes.
func LoadIndex(ctx context.Context, l *lake.Lake, view, version string) (*online.Index, error) {
	m, err := l.GetManifest(ctx, lake.KindIndex, view, version)
	if err != nil {
		return nil, err
	}
	shards := make([]*online.Shard, len(m.Files))
	errs := make([]error, len(m.Files))
	sem := make(chan struct{}, runtime.GOMAXPROCS(0))
	var wg sync.WaitGroup
	for i, f := range m.Files {
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer func() { <-sem; wg.Done() }()
			shards[i], errs[i] = loadShard(ctx, l, f)
		}()
	}
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			return nil, fmt.Errorf("serving index %s@%s file %d: %w", view, lake.ShortID(version), i, err)
		}
	}
	ix, err := online.NewIndex(version, shards)
	if err != nil {
		return nil, fmt.Errorf("serving index %s@%s: %w", view, lake.ShortID(version), err)
	}
	if ix.Header.View != view {
		return nil, fmt.Errorf("%w: serving index %s@%s holds view %q", online.ErrCorrupt, view, lake.ShortID(version), ix.Header.View)
	}
	return ix, nil
}

func loadShard(ctx context.Context, l *lake.Lake, f lake.File) (*online.Shard, error) {
	rc, info, err := l.OpenBlob(ctx, f.Digest)
	if err != nil {
		return nil, err
	}
	defer rc.Close()
	if info.Size != f.Bytes {
		return nil, fmt.Errorf("%w: blob %s has %d bytes, manifest says %d", lake.ErrCorrupt, f.Digest, info.Size, f.Bytes)
	}
	data := make([]byte, f.Bytes)
	if _, err := io.ReadFull(rc, data); err != nil {
		return nil, fmt.Errorf("read blob %s: %w", f.Digest, err)
	}
	return online.Open(data)
}
