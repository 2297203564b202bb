package lake

import (
	"context"
	"errors"
	"strings"
	"time"

	"github.com/granaryml/granary/internal/objstore"
)

// GCOptions controls garbage collection.
type GCOptions struct {
	// Grace protects recent blobs: an import that has uploaded blobs but
	// not yet committed its manifest must not lose them. The CLI defaults
	// to 24h; zero collects every unreferenced blob at once.
	Grace  time.Duration
	DryRun bool
	Now    time.Time
}

// GCResult reports what GC found and did.
type GCResult struct {
	Scanned      int      `json:"scanned"`
	Referenced   int      `json:"referenced"`
	TooRecent    int      `json:"too_recent"`
	Deleted      int      `json:"deleted"`
	DeletedBytes int64    `json:"deleted_bytes"`
	Candidates   []Digest `json:"candidates,omitempty"`
	DryRun       bool     `json:"dry_run"`
}

// GC deletes blobs that no manifest references and that are older than
// the grace period. Manifests, refs, logs and provenance are never
// touched: versions are immutable and GC only removes what no version can
// reach.
func (l *Lake) GC(ctx context.Context, o GCOptions) (GCResult, error) {
	if o.Now.IsZero() {
		o.Now = time.Now()
	}
	res := GCResult{DryRun: o.DryRun}
	live, err := l.liveBlobs(ctx)
	if err != nil {
		return res, err
	}
	res.Referenced = len(live)
	for obj, err := range objstore.All(ctx, l.store, BlobsPrefix) {
		if err != nil {
			return res, err
		}
		res.Scanned++
		d, ok := DigestFromBlobKey(obj.Key)
		if !ok || live[d] {
			continue
		}
		if o.Now.Sub(obj.ModTime) < o.Grace {
			res.TooRecent++
			continue
		}
		res.Candidates = append(res.Candidates, d)
		if o.DryRun {
			continue
		}
		if err := l.store.Delete(ctx, obj.Key); err != nil {
			return res, err
		}
		res.Deleted++
		res.DeletedBytes += obj.Size
	}
	return res, nil
}

// liveBlobs collects every digest any dataset, model, spec or serving
// index manifest names.
func (l *Lake) liveBlobs(ctx context.Context) (map[Digest]bool, error) {
	live := map[Digest]bool{}
	for _, k := range []Kind{KindDataset, KindModel, KindSpec, KindIndex} {
		prefix := string(k) + "/"
		for obj, err := range objstore.All(ctx, l.store, prefix) {
			if err != nil {
				return nil, err
			}
			parts := strings.Split(strings.TrimPrefix(obj.Key, prefix), "/")
			if len(parts) != 3 || parts[1] != "versions" || !strings.HasSuffix(parts[2], ".json") {
				continue
			}
			m, err := l.GetManifest(ctx, k, parts[0], strings.TrimSuffix(parts[2], ".json"))
			if err != nil {
				if errors.Is(err, ErrCorrupt) {
					// Refuse to collect anything while a manifest is unreadable:
					// it might be the only thing referencing some blob.
					return nil, err
				}
				return nil, err
			}
			for _, f := range m.Files {
				live[f.Digest] = true
			}
			if m.Artifact != nil {
				live[m.Artifact.Digest] = true
			}
			for _, in := range m.Inputs {
				if in.Digest != "" {
					live[in.Digest] = true
				}
			}
		}
	}
	return live, nil
}
