package activities

import (
	"context"
	"errors"
	"fmt"
	"io"
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
	// A raw upload is scratch until its import commits: hold it while it
	// is read.
	if err := l.HoldBlobs(ctx, src.Digest); err != nil {
		return nil, fmt.Errorf("%s: %w", src.Name, err)
	}
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

// ErrSourceChanged: a remote source is not the object the import was
// launched for (its ETag or size differ from what the CLI resolved, and
// the workflow id derives from), so importing it would give that id
// another content. Importing again resolves the new object.
var ErrSourceChanged = errors.New("source changed since the import was started")

// StageSource copies an object named by URL (lake:KEY or
// s3://bucket/key?endpoint=…) into the lake as a content-addressed raw blob. It
// spools to a local temp file because the blob key is the content's hash,
// which is only known after reading everything. When the CLI resolved the
// object (ETag and size), only that object is accepted.
func (a *Activities) StageSource(ctx context.Context, in StageSourceInput) (StageSourceResult, error) {
	ctx, stop := a.watch(ctx)
	defer stop()
	src := in.Source
	store, key, err := a.openObjectURL(ctx, src.URL)
	if err != nil {
		return StageSourceResult{}, toTemporal(err)
	}
	rc, info, err := store.Get(ctx, key, objstore.GetOptions{})
	if err != nil {
		return StageSourceResult{}, toTemporal(fmt.Errorf("%s: %w", src.Name, err))
	}
	defer rc.Close()
	// Get's info describes the very bytes it streams, so this check has no
	// window between it and the read.
	if src.ETag != "" && (info.ETag != src.ETag || info.Size != src.Bytes) {
		return StageSourceResult{}, toTemporal(fmt.Errorf("%w: %s is now %d bytes with ETag %s, was %d bytes with ETag %s; import it again", ErrSourceChanged, src.Name, info.Size, info.ETag, src.Bytes, src.ETag))
	}
	tmp, err := lake.NewSpool(a.TempDir, "granary-stage-*")
	if err != nil {
		return StageSourceResult{}, err
	}
	defer tmp.Close()
	if _, err := io.Copy(tmp, &progressReader{ctx: ctx, r: rc}); err != nil {
		return StageSourceResult{}, fmt.Errorf("%s: %w", src.Name, err)
	}
	d, size, err := tmp.Commit(ctx, lake.New(a.Store))
	if err != nil {
		return StageSourceResult{}, toTemporal(err)
	}
	if size != info.Size {
		return StageSourceResult{}, fmt.Errorf("%s: read %d bytes of %d", src.Name, size, info.Size) // cut short: a retry reads it again
	}
	src.Digest, src.Bytes = d, size
	if src.Name == "" {
		src.Name = path.Base(key)
	}
	return StageSourceResult{Source: src}, nil
}

// openObjectURL resolves a remote source: "lake:KEY" (an object already
// in this lake, e.g. raw files another system dropped there) or
// "s3://bucket/key?endpoint=…" on an allowed endpoint. Workers never read
// their own filesystem on a request's behalf: local files are uploaded by
// the CLI, so a path like file:///etc/passwd or ../../etc cannot reach a
// worker's disk. The endpoint is checked before any request is sent.
func (a *Activities) openObjectURL(ctx context.Context, raw string) (objstore.Store, string, error) {
	if key, ok := strings.CutPrefix(raw, "lake:"); ok {
		if err := objstore.ValidateKey(key); err != nil {
			return nil, "", err
		}
		return a.Store, key, nil
	}
	if !strings.HasPrefix(raw, "s3://") {
		return nil, "", fmt.Errorf("%w: source %q: remote inputs are lake:KEY or s3://bucket/key?endpoint=host:port (local files are uploaded by the CLI)", objstore.ErrInvalidURL, raw)
	}
	obj, err := storeurl.ParseObject(raw)
	if err != nil {
		return nil, "", err
	}
	if err := a.AllowedEndpoints.Check(obj); err != nil {
		return nil, "", err
	}
	store, err := storeurl.Open(ctx, obj.Store)
	if err != nil {
		return nil, "", err
	}
	return store, obj.Key, nil
}
