package activities

import (
	"context"
	"fmt"
	"io"
	"net/url"
	"path"
	"strings"

	"github.com/granaryml/granary/internal/lake"
	"github.com/granaryml/granary/internal/objstore"
	"github.com/granaryml/granary/internal/objstore/storeurl"
	"github.com/granaryml/granary/internal/tabular"
)

// openedSource is a raw source ready for a tabular reader: a stream for
// CSV/JSONL, random access for parquet (whose footer is at the end).
type openedSource struct {
	format tabular.Format
	reader io.Reader
	close  func() error
}

// sniffBytes is enough for DetectFormat to see parquet's magic and a CSV
// header or a JSON object start.
const sniffBytes = 4096

func (a *Activities) openSource(ctx context.Context, src Source, format tabular.Format) (*openedSource, error) {
	if src.Digest == "" {
		return nil, fmt.Errorf("%w: source %s was not staged", objstore.ErrNotFound, src.Name)
	}
	l := lake.New(a.Store)
	if format == "" || format == "auto" {
		rc, _, err := a.Store.Get(ctx, lake.BlobKey(src.Digest), objstore.GetOptions{Length: sniffBytes})
		if err != nil {
			return nil, fmt.Errorf("%s: %w", src.Name, err)
		}
		head, err := io.ReadAll(rc)
		rc.Close()
		if err != nil {
			return nil, err
		}
		if format, err = tabular.DetectFormat(src.Name, head); err != nil {
			return nil, err
		}
	}
	if format == tabular.Parquet {
		rr, err := l.BlobReaderAt(ctx, src.Digest)
		if err != nil {
			return nil, err
		}
		return &openedSource{format: format, reader: io.NewSectionReader(rr, 0, rr.Size()), close: func() error { return nil }}, nil
	}
	rc, _, err := l.OpenBlob(ctx, src.Digest)
	if err != nil {
		return nil, err
	}
	return &openedSource{format: format, reader: rc, close: rc.Close}, nil
}

// StageSource copies an object named by URL (lake:KEY or
// s3://bucket/key?endpoint=…) into the lake as a content-addressed raw blob. It
// spools to a local temp file because the blob key is the content's hash,
// which is only known after reading everything.
func (a *Activities) StageSource(ctx context.Context, in StageSourceInput) (StageSourceResult, error) {
	ctx, stop := a.watch(ctx)
	defer stop()
	src := in.Source
	store, key, err := a.openObjectURL(ctx, src.URL)
	if err != nil {
		return StageSourceResult{}, toTemporal(err)
	}
	rc, _, err := store.Get(ctx, key, objstore.GetOptions{})
	if err != nil {
		return StageSourceResult{}, toTemporal(fmt.Errorf("%s: %w", src.URL, err))
	}
	defer rc.Close()
	tmp, err := lake.NewSpool(a.TempDir, "granary-stage-*")
	if err != nil {
		return StageSourceResult{}, err
	}
	defer tmp.Close()
	if _, err := io.Copy(tmp, &progressReader{ctx: ctx, r: rc}); err != nil {
		return StageSourceResult{}, fmt.Errorf("%s: %w", src.URL, err)
	}
	d, size, err := tmp.Commit(ctx, lake.New(a.Store))
	if err != nil {
		return StageSourceResult{}, toTemporal(err)
	}
	src.Digest, src.Bytes = d, size
	if src.Name == "" {
		src.Name = path.Base(key)
	}
	return StageSourceResult{Source: src}, nil
}

// openObjectURL resolves a remote source: "lake:KEY" (an object already
// in this lake, e.g. raw files another system dropped there) or
// "s3://bucket/key?endpoint=…". Workers never read their own filesystem
// on a request's behalf: local files are uploaded by the CLI, so a path
// like file:///etc/passwd or ../../etc cannot reach a worker's disk.
func (a *Activities) openObjectURL(ctx context.Context, raw string) (objstore.Store, string, error) {
	if key, ok := strings.CutPrefix(raw, "lake:"); ok {
		if err := objstore.ValidateKey(key); err != nil {
			return nil, "", err
		}
		return a.Store, key, nil
	}
	u, err := url.Parse(raw)
	if err != nil || u.Scheme != "s3" {
		return nil, "", fmt.Errorf("%w: source %q: remote inputs are lake:KEY or s3://bucket/key?endpoint=host:port (local files are uploaded by the CLI)", objstore.ErrInvalidURL, raw)
	}
	p := strings.TrimPrefix(u.Path, "/")
	i := strings.LastIndex(p, "/")
	dir, key := *u, p
	dir.Path = ""
	if i >= 0 {
		dir.Path, key = "/"+p[:i], p[i+1:]
	}
	if err := objstore.ValidateKey(key); err != nil {
		return nil, "", err
	}
	store, err := storeurl.Open(ctx, dir.String())
	if err != nil {
		return nil, "", err
	}
	return store, key, nil
}
