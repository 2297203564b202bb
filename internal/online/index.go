package online

import (
	"errors"
	"fmt"
	"math"
	"slices"
	"strconv"
	"time"

	"github.com/granaryml/granary/internal/shard"
	"github.com/granaryml/granary/internal/tabular"
)

// Index is every shard of one materialized version: what a server holds
// for a view and swaps as a whole.
type Index struct {
	// Version is the lake version id of the materialization.
	Version string
	// Header is shard 0's header; every shard agrees on all but Shard
	// and Rows.
	Header Header
	shards []*Shard
	rows   int
	bytes  int64
	// names holds each feature column's `"name":` as JSON, rendered once.
	names [][]byte
}

// NewIndex checks that shards are exactly shards 0..n-1 of one
// materialization and puts them in order.
func NewIndex(version string, shards []*Shard) (*Index, error) {
	if len(shards) == 0 {
		return nil, fmt.Errorf("%w: version %s has no shards", ErrCorrupt, version)
	}
	h := shards[0].Header
	ix := &Index{Version: version, shards: make([]*Shard, h.Shards)}
	for _, s := range shards {
		g := s.Header
		if g.Shards != h.Shards || g.View != h.View || g.ViewVersion != h.ViewVersion || g.AsOf != h.AsOf ||
			!slices.Equal(g.Keys, h.Keys) || !slices.Equal(g.Columns, h.Columns) {
			return nil, fmt.Errorf("%w: shard %d of version %s disagrees with shard %d on view, time or columns", ErrCorrupt, g.Shard, version, h.Shard)
		}
		if ix.shards[g.Shard] != nil {
			return nil, fmt.Errorf("%w: shard %d twice in version %s", ErrCorrupt, g.Shard, version)
		}
		ix.shards[g.Shard] = s
		ix.rows += s.Len()
		ix.bytes += int64(s.Size())
	}
	for i, s := range ix.shards {
		if s == nil {
			return nil, fmt.Errorf("%w: shard %d of %d missing in version %s", ErrCorrupt, i, h.Shards, version)
		}
	}
	h.Shard, h.Rows = 0, ix.rows
	ix.Header = h
	for _, c := range h.Columns {
		ix.names = append(ix.names, append(AppendJSONString(nil, []byte(c.Name)), ':'))
	}
	return ix, nil
}

// AppendFeaturesJSON appends the entity at row of sh as a JSON object of
// every feature column, in header order.
func (ix *Index) AppendFeaturesJSON(dst []byte, sh *Shard, row int) []byte {
	dst = append(dst, '{')
	for c, name := range ix.names {
		if c > 0 {
			dst = append(dst, ',')
		}
		dst = append(dst, name...)
		dst = sh.AppendJSON(dst, c, row)
	}
	return append(dst, '}')
}

// Rows is the number of entities.
func (ix *Index) Rows() int { return ix.rows }

// Bytes is the memory the index's files take.
func (ix *Index) Bytes() int64 { return ix.bytes }

// AsOf is the time the values were computed at.
func (ix *Index) AsOf() time.Time { return timeOf(ix.Header.AsOf) }

// Lookup finds an entity by its key encoding (see EncodeKey).
func (ix *Index) Lookup(key []byte) (*Shard, int, bool) {
	s := ix.shards[shard.Of(shard.HashBytes(key), len(ix.shards))]
	row, ok := s.Find(key)
	return s, row, ok
}

// ErrBadKey matches a key value that cannot be read as its column's type,
// or a missing or unknown key column.
var ErrBadKey = errors.New("bad entity key")

// EncodeKey encodes an entity key given as text per key column (as in a
// URL query), in Header.Keys order, checking each against its type.
func (ix *Index) EncodeKey(dst []byte, values []string) ([]byte, error) {
	if len(values) != len(ix.Header.Keys) {
		return nil, fmt.Errorf("%w: %d key values for %d key columns", ErrBadKey, len(values), len(ix.Header.Keys))
	}
	for i, c := range ix.Header.Keys {
		var err error
		if dst, err = AppendKeyText(dst, c, values[i]); err != nil {
			return nil, err
		}
	}
	return dst, nil
}

// AppendKeyText appends one key value written as text: a decimal int64,
// a float, true/false, an RFC 3339 timestamp, or any string.
func AppendKeyText(dst []byte, c tabular.Column, text string) ([]byte, error) {
	switch c.Type {
	case tabular.Int64:
		x, err := strconv.ParseInt(text, 10, 64)
		if err != nil {
			return nil, fmt.Errorf("%w: %s=%q is not an int64", ErrBadKey, c.Name, text)
		}
		return shard.AppendKeyInt(dst, x), nil
	case tabular.Float64:
		x, err := strconv.ParseFloat(text, 64)
		if err != nil || math.IsNaN(x) {
			return nil, fmt.Errorf("%w: %s=%q is not a number", ErrBadKey, c.Name, text)
		}
		return shard.AppendKeyFloat(dst, x), nil
	case tabular.Bool:
		x, err := strconv.ParseBool(text)
		if err != nil {
			return nil, fmt.Errorf("%w: %s=%q is not true or false", ErrBadKey, c.Name, text)
		}
		return shard.AppendKeyBool(dst, x), nil
	case tabular.Timestamp:
		t, err := time.Parse(time.RFC3339Nano, text)
		if err != nil {
			return nil, fmt.Errorf("%w: %s=%q is not an RFC 3339 timestamp", ErrBadKey, c.Name, text)
		}
		return shard.AppendKeyInt(dst, t.UnixMicro()), nil
	default:
		return shard.AppendKeyString(dst, []byte(text)), nil
	}
}

func timeOf(us int64) time.Time { return time.UnixMicro(us).UTC() }
