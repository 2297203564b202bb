// Package servingtest commits serving index versions straight into a lake,
// for tests and benchmarks of the serving API that need indexes of a
// chosen shape without running the Materialize workflow.
package servingtest

import (
	"bytes"
	"context"
	"fmt"

	"github.com/granaryml/granary/internal/lake"
	"github.com/granaryml/granary/internal/online"
	"github.com/granaryml/granary/internal/shard"
	"github.com/granaryml/granary/internal/tabular"
)

// Index describes one version to commit: n entities with their keys and
// features, row-aligned, split over Shards shards by the serving hash.
type Index struct {
	View        string
	ViewVersion string // free text; defaults to "test"
	AsOf        int64
	Shards      int // 0 means 1
	Keys        []tabular.Column
	Columns     []tabular.Column
	// Batch holds the key columns first, then the feature columns.
	Batch *tabular.Batch
}

// Commit writes the index files, commits the manifest and moves each
// alias to it (without expecting a previous value). It returns the
// version id.
func Commit(ctx context.Context, l *lake.Lake, ix Index, aliases ...string) (string, error) {
	shards := max(ix.Shards, 1)
	keyCols := make([]int, len(ix.Keys))
	for i := range keyCols {
		keyCols[i] = i
	}
	b := ix.Batch
	rows := make([][]int, shards)
	var key []byte
	for i := 0; i < b.Len; i++ {
		key = shard.AppendKey(key[:0], b, keyCols, i)
		s := shard.Of(shard.HashBytes(key), shards)
		rows[s] = append(rows[s], i)
	}
	vv := ix.ViewVersion
	if vv == "" {
		vv = "test"
	}
	var files []lake.File
	var total int64
	for s := range shards {
		part := subset(b, rows[s])
		var buf bytes.Buffer
		h := online.Header{View: ix.View, ViewVersion: vv, AsOf: ix.AsOf, Shard: s, Shards: shards, Keys: ix.Keys, Columns: ix.Columns}
		if _, err := online.Write(&buf, h, online.Input{Keys: part, KeyCols: keyCols, Features: part.Vectors[len(ix.Keys):], Len: part.Len}); err != nil {
			return "", err
		}
		d, n, err := lake.HashReader(bytes.NewReader(buf.Bytes()))
		if err != nil {
			return "", err
		}
		if _, err := l.PutBlob(ctx, d, bytes.NewReader(buf.Bytes()), n); err != nil {
			return "", err
		}
		files = append(files, lake.File{Digest: d, Rows: int64(part.Len), Bytes: n, Partition: fmt.Sprintf("shard-%05d", s)})
		total += int64(part.Len)
	}
	schema := tabular.Schema{Columns: append(append([]tabular.Column(nil), ix.Keys...), ix.Columns...)}
	id, _, err := l.CommitManifest(ctx, &lake.Manifest{Kind: lake.KindIndex, Name: ix.View, Schema: schema, Files: files, Params: map[string]string{"view_version": vv, "as_of": fmt.Sprint(ix.AsOf)}})
	if err != nil {
		return "", err
	}
	for _, a := range aliases {
		if _, err := l.MoveRef(ctx, lake.MoveOptions{Kind: lake.KindIndex, Name: ix.View, Ref: a, To: id, By: "servingtest"}); err != nil {
			return "", err
		}
	}
	return id, nil
}

// subset copies rows of b into a new batch.
func subset(b *tabular.Batch, rows []int) *tabular.Batch {
	schema := tabular.Schema{}
	for i, v := range b.Vectors {
		schema.Columns = append(schema.Columns, tabular.Column{Name: fmt.Sprint("c", i), Type: v.Type, Nullable: v.Nulls != nil})
	}
	t := tabular.NewTable(schema)
	all := make([]int, len(b.Vectors))
	for i := range all {
		all[i] = i
	}
	for _, r := range rows {
		t.AppendRow(b, r, all)
	}
	return t.Batch()
}
