// Package online is the serving index: the latest feature values of every
// entity of one feature view, as of one time, in a file that a server can
// use as it is loaded, with no parse beyond checking it.
//
// # File layout (format 1)
//
// One file per shard of the view (entities are routed to shards by
// shard.HashBytes of their key encoding, the same hash extraction uses):
//
//	"GRANIDX1"                       magic
//	header length (uint32) + header JSON (Header), section 0
//	sections 1.., each starting 8-byte aligned:
//	  key offsets    (rows+1) x uint32, into key bytes
//	  key bytes      shard.AppendKey encodings, sorted bytewise, unique
//	  records        rows x stride bytes, one record per entity in key
//	                 order: null bits (bit c set when column c is null;
//	                 whole 8-byte words), then one 8-byte slot per column
//	                 in Header.Columns order: int64/timestamp/float64 as
//	                 is, bool as 0 or 1, string as uint32 offset + uint32
//	                 length into the string heap
//	  string heap    the string values' bytes
//	section table    per section: offset uint64, length uint64, crc32c uint32
//	table offset (uint64), section count (uint32)
//	"GRANIDX1"                       magic
//
// All integers are little-endian. A lookup is a binary search over the
// key offsets and reads of one record (one or two cache lines for a few
// dozen features); nothing is decoded up front. Open checks the magic,
// the header, every section's bounds and CRC-32C (the header's too), the
// key offsets' monotonicity and every string's bounds, so a corrupt or
// truncated file is an error, never a panic or a wrong answer.
package online
