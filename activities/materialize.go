package activities

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/granaryml/granary/features"
	"github.com/granaryml/granary/internal/lake"
	"github.com/granaryml/granary/internal/online"
	"github.com/granaryml/granary/internal/pitjoin"
	"github.com/granaryml/granary/internal/shard"
	"github.com/granaryml/granary/internal/tabular"
)

// PlanMaterialize resolves a view version against the spec's definition
// of the view and fixes the time every value is computed at: the
// version's newest event, read from its manifest's column statistics.
func (a *Activities) PlanMaterialize(ctx context.Context, in PlanMaterializeInput) (MaterializePlan, error) {
	l := lake.New(a.Store)
	spec, err := LoadSpec(ctx, l, in.Project, in.SpecVersion)
	if err != nil {
		return MaterializePlan{}, toTemporal(err)
	}
	view, src, ent, err := spec.View(in.View)
	if err != nil {
		return MaterializePlan{}, toTemporal(err)
	}
	vm, err := l.GetManifest(ctx, lake.KindDataset, ViewDataset(in.View), in.ViewVersion)
	if err != nil {
		return MaterializePlan{}, toTemporal(err)
	}
	shards, err := strconv.Atoi(vm.Params["shards"])
	if err != nil || shards <= 0 {
		return MaterializePlan{}, toTemporal(fmt.Errorf("%w: view %s@%s has no shard count", lake.ErrCorrupt, in.View, lake.ShortID(in.ViewVersion)))
	}
	ftypes, err := view.FeatureTypes(shard.ColumnTypes(vm.Schema))
	if err != nil {
		return MaterializePlan{}, toTemporal(err)
	}
	p := MaterializePlan{
		View: in.View, ViewVersion: in.ViewVersion, Files: vm.Files, Schema: vm.Schema,
		TimeCol: vm.Schema.Index(src.Timestamp), Features: view.Features, TTL: view.TTL, Shards: shards,
	}
	if p.TimeCol < 0 {
		return MaterializePlan{}, toTemporal(fmt.Errorf("%w: view %s@%s has no timestamp column %q", features.ErrSchemaMismatch, in.View, lake.ShortID(in.ViewVersion), src.Timestamp))
	}
	for _, k := range ent.JoinKeys {
		i := vm.Schema.Index(k)
		if i < 0 {
			return MaterializePlan{}, toTemporal(fmt.Errorf("%w: view %s@%s has no join key column %q", features.ErrSchemaMismatch, in.View, lake.ShortID(in.ViewVersion), k))
		}
		p.KeyCols = append(p.KeyCols, i)
		c := vm.Schema.Columns[i]
		c.Nullable = false
		p.Keys = append(p.Keys, c)
	}
	var names []string
	for _, f := range view.Features {
		p.Outputs = append(p.Outputs, tabular.Column{Name: f.Name, Type: tabular.Type(ftypes[f.Name]), Nullable: true})
		names = append(names, f.Name)
	}
	if p.AsOf, err = newestEvent(vm, src.Timestamp); err != nil {
		return MaterializePlan{}, toTemporal(err)
	}
	p.Inputs = []lake.Input{
		{Role: "view", Kind: lake.KindDataset, Name: ViewDataset(in.View), Version: in.ViewVersion},
		{Role: "spec", Name: in.Project, Digest: lake.Digest(spec.Digest())},
	}
	p.Params = map[string]string{
		"view":     in.View,
		"as_of":    time.UnixMicro(p.AsOf).UTC().Format(time.RFC3339Nano),
		"features": strings.Join(names, ","),
		"ttl":      view.TTL.String(),
		"shards":   strconv.Itoa(shards),
		"format":   strconv.Itoa(online.FormatVersion),
	}
	return p, nil
}

// newestEvent reads the timestamp column's maximum from the manifest's
// statistics; a view with no events is materialized as of time 0 (and
// has no entities).
func newestEvent(m *lake.Manifest, col string) (int64, error) {
	if m.Rows == 0 {
		return 0, nil
	}
	for _, s := range m.Stats {
		if s.Name == col && s.Max != nil {
			t, err := time.Parse(time.RFC3339Nano, *s.Max)
			if err != nil {
				return 0, fmt.Errorf("%w: view statistics: max of %s is %q: %v", lake.ErrCorrupt, col, *s.Max, err)
			}
			return t.UnixMicro(), nil
		}
	}
	return 0, fmt.Errorf("%w: view %s@%s has no statistics for %s", lake.ErrCorrupt, m.Name, m.Kind, col)
}

// MaterializeShard computes every entity's features in one shard at the
// plan's time and writes the shard's index file. It runs the training
// build's join (pitjoin) on a spine of one row per entity at AsOf, so a
// served value is exactly what a training row at that time gets.
func (a *Activities) MaterializeShard(ctx context.Context, in MaterializeShardInput) (MaterializeShardResult, error) {
	ctx, stop := a.watch(ctx)
	defer stop()
	p := in.Plan
	l := lake.New(a.Store)
	events := tabular.NewTable(p.Schema)
	for _, f := range in.Files {
		rr, err := l.BlobReaderAt(ctx, f.Digest)
		if err != nil {
			return MaterializeShardResult{}, toTemporal(err)
		}
		if err := events.AppendParquet(ctx, rr, rr.Size()); err != nil {
			return MaterializeShardResult{}, toTemporal(fmt.Errorf("view %s shard %d: %w", p.View, in.Shard, err))
		}
	}
	// Events are sorted by (keys, time): each entity starts where its key
	// differs from the previous row's.
	spineSchema := tabular.Schema{Columns: append(append([]tabular.Column(nil), p.Keys...), tabular.Column{Name: "__as_of", Type: tabular.Timestamp})}
	spine := tabular.NewTable(spineSchema)
	eb := events.Batch()
	var prev, cur []byte
	for i := 0; i < eb.Len; i++ {
		cur = shard.AppendKey(cur[:0], eb, p.KeyCols, i)
		if i == 0 || string(cur) != string(prev) {
			spine.AppendRowWithInt(eb, i, p.KeyCols, p.AsOf)
			prev, cur = cur, prev
		}
	}
	keyCols := make([]int, len(p.Keys))
	for i := range keyCols {
		keyCols[i] = i
	}
	res, err := pitjoin.Join(ctx, pitjoin.Options{
		Spine: spine, SpineTimeCol: len(p.Keys),
		Views: []pitjoin.ViewInput{{
			Name: p.View, Features: p.Features, TTL: p.TTL, Events: events,
			KeyCols: p.KeyCols, TimeCol: p.TimeCol, SpineKeyCols: keyCols,
		}},
	})
	if err != nil {
		return MaterializeShardResult{}, toTemporal(fmt.Errorf("materialize %s shard %d: %w", p.View, in.Shard, err))
	}
	if len(res.Vectors) != len(p.Outputs) {
		return MaterializeShardResult{}, fmt.Errorf("materialize %s: %d feature columns, plan has %d", p.View, len(res.Vectors), len(p.Outputs))
	}
	tmp, err := lake.NewSpool(a.TempDir, "granary-index-*.idx")
	if err != nil {
		return MaterializeShardResult{}, err
	}
	defer tmp.Close()
	h := online.Header{View: p.View, ViewVersion: p.ViewVersion, AsOf: p.AsOf, Shard: in.Shard, Shards: p.Shards, Keys: p.Keys, Columns: p.Outputs}
	if _, err := online.Write(&progressWriter{ctx: ctx, w: tmp}, h, online.Input{Keys: spine.Batch(), KeyCols: keyCols, Features: res.Vectors, Len: spine.Len()}); err != nil {
		return MaterializeShardResult{}, toTemporal(fmt.Errorf("materialize %s shard %d: %w", p.View, in.Shard, err))
	}
	d, size, err := tmp.Commit(ctx, l)
	if err != nil {
		return MaterializeShardResult{}, toTemporal(err)
	}
	return MaterializeShardResult{File: lake.File{Digest: d, Rows: int64(spine.Len()), Bytes: size, Partition: ShardName(in.Shard)}, Entities: int64(spine.Len())}, nil
}
