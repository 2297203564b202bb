package harness

import (
	"bufio"
	"context"
	"os"

	"github.com/granaryml/granary/internal/shard"
	"github.com/granaryml/granary/internal/tabular"
)

// SortShardFile is activity SortShard on local files: open the parts,
// shard.SortShard them into a new file at out, close it. It returns the
// rows and bytes written.
func SortShardFile(ctx context.Context, s tabular.Schema, parts []shard.Part, keyCols []int, timeCol int, out string) (rows, bytes int64, err error) {
	var inputs []shard.Input
	for _, p := range parts {
		f, err := os.Open(p.Path)
		if err != nil {
			return 0, 0, err
		}
		defer f.Close()
		inputs = append(inputs, shard.Input{R: f, Size: p.Bytes})
	}
	f, err := os.Create(out)
	if err != nil {
		return 0, 0, err
	}
	bw := bufio.NewWriterSize(f, 1<<20)
	rows, bytes, err = shard.SortShard(ctx, s, inputs, keyCols, timeCol, bw)
	if err == nil {
		err = bw.Flush()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	return rows, bytes, err
}
