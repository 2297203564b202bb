package online

import (
	"errors"
	"fmt"

	"github.com/granaryml/granary/internal/tabular"
)

// Magic starts and ends every index file.
const Magic = "GRANIDX1"

// FormatVersion is Header.Format of files this package writes (and the
// only one it reads). Format 1 stored each column in its own block;
// format 2 stores each entity's values together (one record), so a lookup
// reads one or two cache lines instead of one per column.
const FormatVersion = 2

// ErrCorrupt matches every error about a malformed index file.
var ErrCorrupt = errors.New("online index: corrupt")

// Header describes one index file. It is JSON at the file's start, so
// `head -c 4096` shows what a file is.
type Header struct {
	Format      int    `json:"format"`
	View        string `json:"view"`
	ViewVersion string `json:"view_version"`
	// AsOf is the time the values are computed at, microseconds since
	// the epoch (UTC): the newest event of the view version.
	AsOf int64 `json:"as_of"`
	// Shard and Shards place this file among the view's shards.
	Shard  int `json:"shard"`
	Shards int `json:"shards"`
	// Keys are the entity's join key columns, in order.
	Keys []tabular.Column `json:"keys"`
	// Columns are the feature columns, in order.
	Columns []tabular.Column `json:"columns"`
	Rows    int              `json:"rows"`
}

func (h *Header) validate() error {
	if h.Format != FormatVersion {
		return fmt.Errorf("%w: format %d, this build reads %d", ErrCorrupt, h.Format, FormatVersion)
	}
	if h.Shards <= 0 || h.Shard < 0 || h.Shard >= h.Shards {
		return fmt.Errorf("%w: shard %d of %d", ErrCorrupt, h.Shard, h.Shards)
	}
	if h.Rows < 0 || h.Rows >= 1<<31 {
		return fmt.Errorf("%w: %d rows", ErrCorrupt, h.Rows)
	}
	if len(h.Keys) == 0 {
		return fmt.Errorf("%w: no key columns", ErrCorrupt)
	}
	for _, c := range append(append([]tabular.Column(nil), h.Keys...), h.Columns...) {
		if !c.Type.Valid() {
			return fmt.Errorf("%w: column %q has unknown type %q", ErrCorrupt, c.Name, c.Type)
		}
	}
	return nil
}

// sectionCount is how many sections a file has: header, key offsets, key
// bytes, records, string heap.
func sectionCount([]tabular.Column) int { return 5 }

// recordLayout is where a row's values sit in its record: null bits
// first (whole 8-byte words), then one 8-byte slot per column.
func recordLayout(columns int) (nullBytes, stride int) {
	nullBytes = 8 * ((columns + 63) / 64)
	return nullBytes, nullBytes + 8*columns
}

const sectionEntryBytes = 8 + 8 + 4
