package activities

import (
	"context"
	"fmt"

	"github.com/granaryml/granary/internal/lake"
	"github.com/granaryml/granary/internal/pitjoin"
	"github.com/granaryml/granary/internal/tabular"
)

// JoinShard computes one view's features for the spine rows of one
// shard: both sides are loaded (memory bounded by the shard), joined with
// the exact point-in-time sort-merge, and written as (row id, features)
// in spine row id order.
func (a *Activities) JoinShard(ctx context.Context, in JoinShardInput) (JoinShardResult, error) {
	ctx, stop := a.watch(ctx)
	defer stop()
	p, v := in.Plan, in.Plan.Views[in.View]
	l := lake.New(a.Store)
	if err := l.HoldBlobs(ctx, lake.Digests(in.SpineParts)...); err != nil { // scratch: see SortShard
		return JoinShardResult{}, toTemporal(err)
	}
	spine := tabular.NewTable(spinePartSchema(p, v))
	for _, part := range in.SpineParts {
		rr, err := l.BlobReaderAt(ctx, part.Digest)
		if err != nil {
			return JoinShardResult{}, toTemporal(err)
		}
		if err := spine.AppendParquet(ctx, rr, rr.Size()); err != nil {
			return JoinShardResult{}, toTemporal(err)
		}
	}
	eventSchema, keyCols, timeCol := pitjoin.NeededColumns(v.Schema, v.KeyCols, v.TimeCol, v.Features)
	events := tabular.NewTable(eventSchema)
	shardName := ShardName(in.Shard)
	for _, f := range in.ViewFiles {
		rr, err := l.BlobReaderAt(ctx, f.Digest)
		if err != nil {
			return JoinShardResult{}, toTemporal(err)
		}
		if err := events.AppendParquet(ctx, rr, rr.Size()); err != nil {
			return JoinShardResult{}, toTemporal(err)
		}
	}
	keys := len(v.SpineKeys)
	spineKeyCols := make([]int, keys)
	for i := range spineKeyCols {
		spineKeyCols[i] = i
	}
	res, err := pitjoin.Join(ctx, pitjoin.Options{
		Spine: spine, SpineTimeCol: keys,
		Views: []pitjoin.ViewInput{{
			Name: v.View, Features: v.Features, TTL: v.TTL, Events: events,
			KeyCols: keyCols, TimeCol: timeCol, SpineKeyCols: spineKeyCols, Selected: v.Selected,
		}},
	})
	if err != nil {
		return JoinShardResult{}, toTemporal(fmt.Errorf("join %s shard %d: %w", v.View, in.Shard, err))
	}
	if len(res.Schema.Columns) != len(v.Outputs) {
		return JoinShardResult{}, fmt.Errorf("join %s: %d feature columns, plan has %d", v.View, len(res.Schema.Columns), len(v.Outputs))
	}
	for i, c := range res.Schema.Columns {
		if c.Name != v.Outputs[i].Name || c.Type != v.Outputs[i].Type {
			return JoinShardResult{}, fmt.Errorf("join %s: column %d is %s %s, plan says %s %s", v.View, i, c.Name, c.Type, v.Outputs[i].Name, v.Outputs[i].Type)
		}
	}

	outSchema := tabular.Schema{Columns: append([]tabular.Column{{Name: RowIDColumn, Type: tabular.Int64}}, v.Outputs...)}
	tmp, err := lake.NewSpool(a.TempDir, "granary-join-*.parquet")
	if err != nil {
		return JoinShardResult{}, err
	}
	defer tmp.Close()
	// Parts arrive in spine file order and keep each file's row order, so
	// row ids only grow; the assembly's merge relies on it.
	rows, err := res.WriteWithRowIDs(&progressWriter{ctx: ctx, w: tmp}, outSchema, spine.Column(keys+1))
	if err != nil {
		return JoinShardResult{}, fmt.Errorf("join %s shard %d: %w", v.View, in.Shard, err)
	}
	d, size, err := tmp.Commit(ctx, l)
	if err != nil {
		return JoinShardResult{}, toTemporal(err)
	}
	return JoinShardResult{File: lake.File{Digest: d, Rows: rows, Bytes: size, Partition: fmt.Sprintf("%s-%s", v.View, shardName)}}, nil
}
