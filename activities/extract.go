package activities

import (
	"context"
	"fmt"
	"io"
	"os"
	"slices"
	"strconv"
	"strings"

	"github.com/granaryml/granary/features"
	"github.com/granaryml/granary/internal/lake"
	"github.com/granaryml/granary/internal/shard"
	"github.com/granaryml/granary/internal/tabular"
)

// ViewDataset is the lake dataset that holds a feature view's extracted
// rows. The prefix keeps views from colliding with source datasets.
func ViewDataset(view string) string { return "view." + view }

// ShardName labels a shard's file in a manifest.
func ShardName(i int) string { return fmt.Sprintf("shard-%05d", i) }

// ShardIndex parses ShardName.
func ShardIndex(partition string) (int, bool) {
	n, err := strconv.Atoi(strings.TrimPrefix(partition, "shard-"))
	return n, err == nil && strings.HasPrefix(partition, "shard-")
}

// LoadSpec reads an applied spec version from the lake and parses it.
func LoadSpec(ctx context.Context, l *lake.Lake, project, version string) (*features.Spec, error) {
	m, err := l.GetManifest(ctx, lake.KindSpec, project, version)
	if err != nil {
		return nil, err
	}
	if m.Artifact == nil {
		return nil, fmt.Errorf("%w: spec %s@%s has no artifact", lake.ErrCorrupt, project, lake.ShortID(version))
	}
	rc, _, err := l.OpenBlob(ctx, m.Artifact.Digest)
	if err != nil {
		return nil, err
	}
	defer rc.Close()
	data, err := io.ReadAll(io.LimitReader(rc, 16<<20))
	if err != nil {
		return nil, err
	}
	file := m.Params["file"]
	if file == "" {
		file = project + ".yaml"
	}
	return features.Parse(file, data)
}

// PlanExtract resolves a view against its pinned source version and checks
// the spec against the source's real schema, before any data moves.
func (a *Activities) PlanExtract(ctx context.Context, in PlanExtractInput) (ExtractPlan, error) {
	l := lake.New(a.Store)
	spec, err := LoadSpec(ctx, l, in.Project, in.SpecVersion)
	if err != nil {
		return ExtractPlan{}, toTemporal(err)
	}
	view, src, ent, err := spec.View(in.View)
	if err != nil {
		return ExtractPlan{}, toTemporal(err)
	}
	m, err := l.GetManifest(ctx, lake.KindDataset, src.Dataset, in.SourceVersion)
	if err != nil {
		return ExtractPlan{}, toTemporal(err)
	}
	if err := spec.Check(map[string]map[string]features.ColumnType{src.Dataset: shard.ColumnTypes(m.Schema)}); err != nil {
		return ExtractPlan{}, toTemporal(err)
	}
	if in.Shards <= 0 || in.Shards > MaxShards {
		return ExtractPlan{}, toTemporal(fmt.Errorf("%w: %d shards; use 1 to %d", tabular.ErrBadInput, in.Shards, MaxShards))
	}
	cols, err := spec.ViewColumns(view.Name)
	if err != nil {
		return ExtractPlan{}, toTemporal(err)
	}
	p := ExtractPlan{
		View: view.Name, Dataset: ViewDataset(view.Name),
		SourceDataset: src.Dataset, SourceVersion: in.SourceVersion, SourceFiles: m.Files, SourceRows: m.Rows,
		Columns: cols, Filter: src.Filter, Shards: in.Shards,
	}
	for _, k := range ent.JoinKeys {
		p.KeyCols = append(p.KeyCols, slices.Index(cols, k))
	}
	p.TimeCol = slices.Index(cols, src.Timestamp)
	for _, name := range cols {
		c := m.Schema.Columns[m.Schema.Index(name)]
		if slices.Contains(ent.JoinKeys, name) || name == src.Timestamp {
			c.Nullable = false
		}
		p.Schema.Columns = append(p.Schema.Columns, c)
	}
	p.Params = ExtractParams(view, src, ent, cols, in.Shards)
	return p, nil
}

// ExtractParams are the settings that determine a view's extracted rows.
// The CLI derives the workflow id from them and PlanExtract records them
// in the manifest, so both always agree.
func ExtractParams(view *features.FeatureView, src *features.Source, ent *features.Entity, columns []string, shards int) map[string]string {
	return map[string]string{
		"view":      view.Name,
		"keys":      strings.Join(ent.JoinKeys, ","),
		"timestamp": src.Timestamp,
		"filter":    src.Filter,
		"columns":   strings.Join(columns, ","),
		"shards":    strconv.Itoa(shards),
	}
}

// MaxShards bounds one extraction's fan-out so its workflow history stays
// far below Temporal's limits (about a dozen events per shard).
const MaxShards = 1024

// PartitionSourceFile splits one source file into shard parts: filter,
// project, hash the join keys. Parts are uploaded content-addressed, so a
// retry after a crash re-uploads nothing it already stored.
func (a *Activities) PartitionSourceFile(ctx context.Context, in PartitionInput) (PartitionResult, error) {
	ctx, stop := a.watch(ctx)
	defer stop()
	p := in.Plan
	l := lake.New(a.Store)
	f := in.File
	rr, err := l.BlobReaderAt(ctx, f.Digest)
	if err != nil {
		return PartitionResult{}, toTemporal(err)
	}
	var filter shard.FilterMaker
	if p.Filter != "" {
		if filter, err = shard.CompileFilter(p.Filter, p.Schema); err != nil {
			return PartitionResult{}, toTemporal(err)
		}
	}
	dir, err := os.MkdirTemp(a.TempDir, "granary-partition-*")
	if err != nil {
		return PartitionResult{}, err
	}
	defer os.RemoveAll(dir)
	parts, st, err := shard.Partition(ctx, rr, rr.Size(), shard.PartitionOptions{
		Columns: p.Columns, KeyCols: p.KeyCols, TimeCol: p.TimeCol, Filter: filter, Shards: p.Shards, Dir: dir,
	}, func(rows int64) { noteRows(ctx, rows) })
	if err != nil {
		return PartitionResult{}, toTemporal(fmt.Errorf("%s@%s file %d: %w", p.SourceDataset, lake.ShortID(p.SourceVersion), in.FileIndex, err))
	}
	res := PartitionResult{Stats: st}
	for _, part := range parts {
		d, size, _, err := l.PutBlobFile(ctx, part.Path)
		if err != nil {
			return PartitionResult{}, toTemporal(err)
		}
		res.Parts = append(res.Parts, lake.File{Digest: d, Rows: part.Rows, Bytes: size, Partition: ShardName(part.Shard)})
	}
	return res, nil
}

// SortShard merges a shard's parts and sorts them by (keys, time); the
// result is one of the feature view version's files.
func (a *Activities) SortShard(ctx context.Context, in SortShardInput) (SortShardResult, error) {
	ctx, stop := a.watch(ctx)
	defer stop()
	p := in.Plan
	l := lake.New(a.Store)
	// The parts are scratch of this workflow: hold them so gc cannot
	// take them while this activity reads them.
	if err := l.HoldBlobs(ctx, lake.Digests(in.Parts)...); err != nil {
		return SortShardResult{}, toTemporal(err)
	}
	inputs := make([]shard.Input, 0, len(in.Parts))
	for _, part := range in.Parts {
		rr, err := l.BlobReaderAt(ctx, part.Digest)
		if err != nil {
			return SortShardResult{}, toTemporal(err)
		}
		inputs = append(inputs, shard.Input{R: rr, Size: rr.Size()})
	}
	tmp, err := lake.NewSpool(a.TempDir, "granary-shard-*.parquet")
	if err != nil {
		return SortShardResult{}, err
	}
	defer tmp.Close()
	rows, _, err := shard.SortShard(ctx, p.Schema, inputs, p.KeyCols, p.TimeCol, &progressWriter{ctx: ctx, w: tmp})
	if err != nil {
		return SortShardResult{}, toTemporal(err)
	}
	d, size, err := tmp.Commit(ctx, l)
	if err != nil {
		return SortShardResult{}, toTemporal(err)
	}
	return SortShardResult{File: lake.File{Digest: d, Rows: rows, Bytes: size, Partition: ShardName(in.Shard)}}, nil
}
