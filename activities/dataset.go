package activities

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"

	"github.com/granaryml/granary/internal/buildinfo"
	"github.com/granaryml/granary/internal/lake"
	"github.com/granaryml/granary/internal/objstore"
	"github.com/granaryml/granary/internal/tabular"
	"go.temporal.io/sdk/activity"
)

// InferSchema reads one raw source in full and infers its schema.
func (a *Activities) InferSchema(ctx context.Context, in InferSchemaInput) (InferSchemaResult, error) {
	ctx, stop := a.watch(ctx)
	defer stop()
	src, err := a.openSource(ctx, in.Source, in.Format)
	if err != nil {
		return InferSchemaResult{}, toTemporal(err)
	}
	defer src.close()
	inference, err := tabular.Infer(ctx, src.reader, tabular.ReadOptions{File: in.Source.Name, Format: src.format})
	if err != nil {
		return InferSchemaResult{}, toTemporal(err)
	}
	return InferSchemaResult{Format: src.format, Schema: inference.Schema(), Inference: &inference}, nil
}

// convertMemo remembers that a raw blob was converted with a given schema,
// so a retried or repeated import reuses the parquet blob instead of
// parsing the input again.
type convertMemo struct {
	File   lake.File             `json:"file"`
	Format tabular.Format        `json:"format"`
	Stats  []tabular.ColumnStats `json:"stats,omitempty"`
	Schema tabular.Schema        `json:"schema"`
}

// convertMemoPrefix is outside datasets/ and objects/: memos are a cache,
// never the only reference to anything.
const convertMemoPrefix = "_granary/convert/"

func convertMemoKey(in ConvertSourceInput) string {
	b, _ := json.Marshal(struct {
		Source lake.Digest
		Format tabular.Format
		Schema tabular.Schema
		Codec  string
	}{in.Source.Digest, in.Format, in.Schema, tabular.CanonicalVersion})
	sum := sha256.Sum256(b)
	return convertMemoPrefix + hex.EncodeToString(sum[:]) + ".json"
}

// defaultPrefixRows is how many rows a CSV's schema is first inferred
// from when the import gives none; see ConvertSource.
const defaultPrefixRows = 100_000

// ConvertSource turns one raw source into a canonical parquet blob. The
// output is written to a local temp file (its hash names the blob), then
// uploaded only if no identical blob exists. Progress heartbeats carry the
// row count so operators see how far a long conversion got.
//
// With no schema given, a CSV source is converted in one pass: the schema
// is inferred from its first PrefixRows rows and the conversion checks
// every later value against it (tabular.InferCSVPrefix says why that
// gives exactly the full inference's schema). If a later value does not
// fit, the source is read again: full inference, then conversion. Either
// way the output is the same bytes as inferring first, so version ids do
// not depend on which path ran.
func (a *Activities) ConvertSource(ctx context.Context, in ConvertSourceInput) (ConvertSourceResult, error) {
	ctx, stop := a.watch(ctx)
	defer stop()
	l := lake.New(a.Store)
	memoKey := convertMemoKey(in)
	if memo, ok := a.readConvertMemo(ctx, l, memoKey); ok {
		if len(memo.Schema.Columns) == 0 { // written before memos held it
			memo.Schema = in.Schema
		}
		if len(memo.Schema.Columns) > 0 {
			return ConvertSourceResult{File: memo.File, Format: memo.Format, Reused: true, Stats: memo.Stats, Schema: memo.Schema}, nil
		}
	}
	schema, speculation := in.Schema, ""
	var nullOnly []bool
	if len(schema.Columns) == 0 {
		var err error
		if schema, nullOnly, err = a.firstSchema(ctx, in); err != nil {
			return ConvertSourceResult{}, toTemporal(err)
		}
		speculation = "prefix"
	}
	out, err := a.convertWith(ctx, l, in, schema, nullOnly)
	if err != nil && nullOnly != nil && ctx.Err() == nil && (errors.Is(err, tabular.ErrSpeculation) || errors.Is(err, tabular.ErrBadInput)) {
		activity.GetLogger(ctx).Info("the first rows' schema does not fit the whole source; reading it again", "source", in.Source.Name, "reason", err)
		full, ierr := a.InferSchema(ctx, InferSchemaInput{Source: in.Source, Format: in.Format})
		if ierr != nil {
			return ConvertSourceResult{}, ierr
		}
		schema, speculation = full.Schema, "fallback"
		out, err = a.convertWith(ctx, l, in, schema, nil)
	}
	if err != nil {
		return ConvertSourceResult{}, toTemporal(err)
	}
	out.Speculation = speculation
	memo, _ := json.Marshal(convertMemo{File: out.File, Format: out.Format, Stats: out.Stats, Schema: out.Schema})
	if _, err := a.Store.Put(ctx, memoKey, bytes.NewReader(memo), int64(len(memo))); err != nil {
		activity.GetLogger(ctx).Warn("could not write conversion memo", "key", memoKey, "error", err)
	}
	return out, nil
}

// firstSchema finds the schema of a source the import gave none for:
// parquet's own, a CSV's first rows' (with the columns that must stay
// empty; nil when those rows were the whole file), or for JSONL a full
// inference pass.
func (a *Activities) firstSchema(ctx context.Context, in ConvertSourceInput) (tabular.Schema, []bool, error) {
	src, err := a.openSource(ctx, in.Source, in.Format)
	if err != nil {
		return tabular.Schema{}, nil, err
	}
	defer src.close()
	if src.format != tabular.CSV {
		s, err := tabular.InferSchema(ctx, src.reader, tabular.ReadOptions{File: in.Source.Name, Format: src.format})
		return s, nil, err
	}
	rows := a.PrefixRows
	if rows <= 0 {
		rows = defaultPrefixRows
	}
	p, err := tabular.InferCSVPrefix(ctx, src.reader, in.Source.Name, rows)
	if err != nil {
		return tabular.Schema{}, nil, err
	}
	if p.Complete {
		return p.Schema, nil, nil
	}
	return p.Schema, p.NullOnly, nil
}

// convertWith converts the source with schema into a blob in the lake.
func (a *Activities) convertWith(ctx context.Context, l *lake.Lake, in ConvertSourceInput, schema tabular.Schema, nullOnly []bool) (ConvertSourceResult, error) {
	src, err := a.openSource(ctx, in.Source, in.Format)
	if err != nil {
		return ConvertSourceResult{}, err
	}
	defer src.close()
	tmp, err := lake.NewSpool(a.TempDir, "granary-convert-*.parquet")
	if err != nil {
		return ConvertSourceResult{}, err
	}
	defer tmp.Close()
	res, err := tabular.Convert(ctx, src.reader, tmp, tabular.ConvertOptions{
		File:     in.Source.Name,
		Format:   src.format,
		Schema:   schema,
		NullOnly: nullOnly,
		Progress: func(rows int64) { noteRows(ctx, rows) },
	})
	if err != nil {
		return ConvertSourceResult{}, err
	}
	d, size, err := tmp.Commit(ctx, l)
	if err != nil {
		return ConvertSourceResult{}, err
	}
	return ConvertSourceResult{File: lake.File{Digest: d, Rows: res.Rows, Bytes: size}, Format: src.format, Stats: res.Stats, Schema: res.Schema}, nil
}

func (a *Activities) readConvertMemo(ctx context.Context, l *lake.Lake, key string) (convertMemo, bool) {
	rc, _, err := a.Store.Get(ctx, key, objstore.GetOptions{})
	if err != nil {
		return convertMemo{}, false
	}
	defer rc.Close()
	var m convertMemo
	if err := json.NewDecoder(io.LimitReader(rc, 1<<20)).Decode(&m); err != nil {
		return convertMemo{}, false
	}
	// GC may have removed the blob of a conversion that never got
	// committed, and a stored blob may have rotted: only trust a memo
	// whose blob is there and intact, and hold it for the commit. A
	// damaged one is repaired by converting again (the upload replaces it).
	if err := l.HoldIntactBlob(ctx, m.File.Digest, m.File.Bytes); err != nil {
		activity.GetLogger(ctx).Info("not reusing the conversion memo", "key", key, "reason", err)
		return convertMemo{}, false
	}
	return m, true
}

// ComputeStats reads a version's parquet files back and computes column
// statistics over all of them (one pass, column chunks only), so stats
// describe the whole version however many files it has.
func (a *Activities) ComputeStats(ctx context.Context, in ComputeStatsInput) (ComputeStatsResult, error) {
	ctx, stop := a.watch(ctx)
	defer stop()
	l := lake.New(a.Store)
	if err := l.HoldBlobs(ctx, lake.Digests(in.Files)...); err != nil { // not committed yet
		return ComputeStatsResult{}, toTemporal(err)
	}
	acc := tabular.NewStatsAccumulator(in.Schema)
	for _, f := range in.Files {
		rr, err := l.BlobReaderAt(ctx, f.Digest)
		if err != nil {
			return ComputeStatsResult{}, toTemporal(err)
		}
		if err := acc.AddParquet(ctx, rr, rr.Size()); err != nil {
			return ComputeStatsResult{}, toTemporal(fmt.Errorf("stats of %s: %w", f.Digest, err))
		}
	}
	return ComputeStatsResult{Stats: acc.Stats()}, nil
}

// CommitVersion writes the manifest (PutIfAbsent: committing identical
// content twice is a no-op) and this run's provenance beside it.
func (a *Activities) CommitVersion(ctx context.Context, in CommitVersionInput) (CommitVersionResult, error) {
	l := lake.New(a.Store)
	m := &lake.Manifest{Kind: in.Kind, Name: in.Name, Schema: in.Schema, Files: in.Files, Stats: in.Stats, Inputs: in.Inputs, Params: in.Params}
	for _, f := range in.Files {
		m.Rows += f.Rows
		m.Bytes += f.Bytes
		// Never commit a manifest naming a blob that is not there: readers
		// trust manifests completely.
		if info, err := a.Store.Stat(ctx, lake.BlobKey(f.Digest)); err != nil {
			return CommitVersionResult{}, toTemporal(fmt.Errorf("commit %s: file %s: %w", in.Name, f.Digest, err))
		} else if info.Size != f.Bytes {
			return CommitVersionResult{}, fmt.Errorf("commit %s: blob %s has %d bytes, manifest says %d", in.Name, f.Digest, info.Size, f.Bytes)
		}
	}
	id, created, err := l.CommitManifest(ctx, m)
	if err != nil {
		return CommitVersionResult{}, toTemporal(err)
	}
	if !created && activity.IsActivity(ctx) && activity.GetInfo(ctx).Attempt > 1 {
		// An earlier attempt of this same run may have written the
		// manifest before its worker died: then this run still created
		// the version, unless another run has a record of it.
		if created, err = createdByRun(ctx, l, in, id); err != nil {
			return CommitVersionResult{}, toTemporal(err)
		}
	}
	err = l.RecordProvenance(ctx, in.Kind, in.Name, lake.Provenance{
		Version: id, WorkflowID: in.Workflow, RunID: in.RunID, User: in.User, Host: in.Host,
		CodeVersion: buildinfo.String(), At: a.now(), Sources: in.Sources,
	})
	if err != nil {
		return CommitVersionResult{}, toTemporal(err)
	}
	return CommitVersionResult{Version: id, Created: created, Rows: m.Rows, Bytes: m.Bytes}, nil
}

// createdByRun reports whether every provenance record of version id (if
// any) belongs to in's run.
func createdByRun(ctx context.Context, l *lake.Lake, in CommitVersionInput, id string) (bool, error) {
	if in.RunID == "" {
		return false, nil
	}
	provs, err := l.Provenances(ctx, in.Kind, in.Name, id)
	if err != nil {
		return false, err
	}
	for _, p := range provs {
		if p.RunID != in.RunID {
			return false, nil
		}
	}
	return true, nil
}

// MoveRefs moves each ref to the version by compare-and-swap. Retrying is
// safe: a ref already at the version only gets its log entry ensured.
func (a *Activities) MoveRefs(ctx context.Context, in MoveRefsInput) (MoveRefsResult, error) {
	l := lake.New(a.Store)
	var out MoveRefsResult
	for _, ref := range in.Refs {
		mv, err := l.MoveRef(ctx, lake.MoveOptions{
			Kind: in.Kind, Name: in.Name, Ref: ref, To: in.Version,
			Expect: in.Expect, ExpectAbsent: in.ExpectAbsent, By: in.By, Reason: in.Reason, Workflow: in.Workflow, At: a.now(),
		})
		if err != nil {
			return out, toTemporal(err)
		}
		out.Moves = append(out.Moves, mv)
	}
	return out, nil
}
