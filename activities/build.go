package activities

import (
	"context"
	"fmt"
	"os"
	"slices"
	"strconv"
	"strings"

	"github.com/granaryml/granary/features"
	"github.com/granaryml/granary/internal/lake"
	"github.com/granaryml/granary/internal/shard"
	"github.com/granaryml/granary/internal/tabular"
)

// TrainingDataset is the lake dataset holding a training set's versions.
func TrainingDataset(set string) string { return "training." + set }

// RowIDColumn carries a spine row's identity through partition and join,
// so joined features can be put back in spine order.
const RowIDColumn = "__granary_row"

// SplitColumn is added to training sets that define a split.
const SplitColumn = "split"

// rowIDBase gives each spine file its own range of row ids.
func rowIDBase(file int) int64 { return int64(file) << 40 }

// PlanBuild resolves a training set against pinned spine and view
// versions and derives the output schema. Everything later is mechanical.
func (a *Activities) PlanBuild(ctx context.Context, in PlanBuildInput) (BuildPlan, error) {
	l := lake.New(a.Store)
	spec, err := LoadSpec(ctx, l, in.Project, in.SpecVersion)
	if err != nil {
		return BuildPlan{}, toTemporal(err)
	}
	ts, err := spec.TrainingSet(in.Set)
	if err != nil {
		return BuildPlan{}, toTemporal(err)
	}
	refs, err := spec.Selected(ts)
	if err != nil {
		return BuildPlan{}, toTemporal(err)
	}
	spine, err := l.GetManifest(ctx, lake.KindDataset, ts.Spine.Dataset, in.SpineVersion)
	if err != nil {
		return BuildPlan{}, toTemporal(err)
	}
	p := BuildPlan{
		Set: ts.Name, Dataset: TrainingDataset(ts.Name),
		SpineDataset: ts.Spine.Dataset, SpineVersion: in.SpineVersion, SpineFiles: spine.Files,
		SpineSchema: spine.Schema, SpineTime: ts.Spine.Timestamp, SpineRows: spine.Rows, Split: ts.Split,
		Params: map[string]string{"set": ts.Name, "spine_timestamp": ts.Spine.Timestamp},
	}
	p.Inputs = append(p.Inputs, lake.Input{Role: "spine", Kind: lake.KindDataset, Name: ts.Spine.Dataset, Version: in.SpineVersion})
	schemas := map[string]map[string]features.ColumnType{ts.Spine.Dataset: shard.ColumnTypes(spine.Schema)}

	var order []string
	selected := map[string][]string{}
	for _, r := range refs {
		if _, ok := selected[r.View]; !ok {
			order = append(order, r.View)
		}
		selected[r.View] = append(selected[r.View], r.Feature)
	}
	var featureList []string
	for _, name := range order {
		view, src, ent, err := spec.View(name)
		if err != nil {
			return BuildPlan{}, toTemporal(err)
		}
		version := in.ViewVersions[name]
		if version == "" {
			return BuildPlan{}, toTemporal(fmt.Errorf("%w: no version of view %s pinned; extract it first (granary extract %s)", lake.ErrNotFound, name, name))
		}
		vm, err := l.GetManifest(ctx, lake.KindDataset, ViewDataset(name), version)
		if err != nil {
			return BuildPlan{}, toTemporal(err)
		}
		shards, err := strconv.Atoi(vm.Params["shards"])
		if err != nil || shards <= 0 {
			return BuildPlan{}, toTemporal(fmt.Errorf("%w: view %s@%s has no shard count", lake.ErrCorrupt, name, lake.ShortID(version)))
		}
		types := shard.ColumnTypes(vm.Schema)
		for c, t := range schemas[src.Dataset] {
			types[c] = t
		}
		schemas[src.Dataset] = types
		ftypes, err := view.FeatureTypes(shard.ColumnTypes(vm.Schema))
		if err != nil {
			return BuildPlan{}, toTemporal(err)
		}
		bv := BuildView{
			View: name, Dataset: ViewDataset(name), Version: version, Shards: shards, Files: vm.Files, Schema: vm.Schema,
			TimeCol: vm.Schema.Index(src.Timestamp), SpineKeys: ent.JoinKeys, Features: view.Features, TTL: view.TTL, Selected: selected[name],
		}
		for _, k := range ent.JoinKeys {
			bv.KeyCols = append(bv.KeyCols, vm.Schema.Index(k))
			if spine.Schema.Index(k) < 0 {
				return BuildPlan{}, toTemporal(fmt.Errorf("%w: spine %s has no column %q (join key of entity %s, needed by view %s)", features.ErrSchemaMismatch, ts.Spine.Dataset, k, ent.Name, name))
			}
		}
		for _, f := range bv.Selected {
			col := tabular.Column{Name: name + "__" + f, Type: tabular.Type(ftypes[f]), Nullable: true}
			bv.Outputs = append(bv.Outputs, col)
			featureList = append(featureList, name+":"+f)
		}
		p.Views = append(p.Views, bv)
		p.Inputs = append(p.Inputs, lake.Input{Role: "view", Kind: lake.KindDataset, Name: ViewDataset(name), Version: version})
	}
	if err := spec.Check(schemas); err != nil {
		return BuildPlan{}, toTemporal(err)
	}
	if ti := spine.Schema.Index(ts.Spine.Timestamp); ti < 0 || spine.Schema.Columns[ti].Type != tabular.Timestamp {
		return BuildPlan{}, toTemporal(fmt.Errorf("%w: spine %s needs a timestamp column %q", features.ErrSchemaMismatch, ts.Spine.Dataset, ts.Spine.Timestamp))
	}
	p.Schema.Columns = append(p.Schema.Columns, spine.Schema.Columns...)
	for _, v := range p.Views {
		p.Schema.Columns = append(p.Schema.Columns, v.Outputs...)
	}
	if ts.Split != nil {
		p.Schema.Columns = append(p.Schema.Columns, tabular.Column{Name: SplitColumn, Type: tabular.String})
		p.Params["split"] = fmt.Sprintf("by=%s train=%g valid=%g test=%g seed=%d", ts.Split.By, ts.Split.Train, ts.Split.Valid, ts.Split.Test, ts.Split.Seed)
	}
	if err := p.Schema.Validate(); err != nil {
		return BuildPlan{}, toTemporal(fmt.Errorf("training set %s: output columns: %w (rename the spine column)", ts.Name, err))
	}
	p.Params["features"] = strings.Join(featureList, ",")
	p.Inputs = append(p.Inputs, lake.Input{Role: "spec", Name: in.Project, Digest: lake.Digest(spec.Digest())})
	return p, nil
}

// PartitionSpine splits one spine file by one view's join keys into that
// view's shard count, tagging every row with its spine row id.
func (a *Activities) PartitionSpine(ctx context.Context, in PartitionSpineInput) (PartitionResult, error) {
	ctx, stop := a.watch(ctx)
	defer stop()
	p, v := in.Plan, in.Plan.Views[in.View]
	l := lake.New(a.Store)
	f := in.File
	rr, err := l.BlobReaderAt(ctx, f.Digest)
	if err != nil {
		return PartitionResult{}, toTemporal(err)
	}
	dir, err := os.MkdirTemp(a.TempDir, "granary-spine-*")
	if err != nil {
		return PartitionResult{}, err
	}
	defer os.RemoveAll(dir)
	cols := append(slices.Clone(v.SpineKeys), p.SpineTime)
	keyCols := make([]int, len(v.SpineKeys))
	for i := range keyCols {
		keyCols[i] = i
	}
	parts, st, err := shard.Partition(ctx, rr, rr.Size(), shard.PartitionOptions{
		Columns: cols, KeyCols: keyCols, TimeCol: len(keyCols), Shards: v.Shards, Dir: dir,
		RowID: RowIDColumn, RowIDBase: rowIDBase(in.FileIndex), KeepNulls: true,
	}, func(rows int64) { noteRows(ctx, rows) })
	if err != nil {
		return PartitionResult{}, toTemporal(fmt.Errorf("spine %s file %d: %w", p.SpineDataset, in.FileIndex, err))
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

// spinePartSchema is the schema PartitionSpine writes for a view.
func spinePartSchema(p BuildPlan, v BuildView) tabular.Schema {
	var s tabular.Schema
	for _, k := range v.SpineKeys {
		s.Columns = append(s.Columns, p.SpineSchema.Columns[p.SpineSchema.Index(k)])
	}
	ts := p.SpineSchema.Columns[p.SpineSchema.Index(p.SpineTime)]
	s.Columns = append(s.Columns, ts, tabular.Column{Name: RowIDColumn, Type: tabular.Int64})
	return s
}
