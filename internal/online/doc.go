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
//	  per feature column, in Header.Columns order:
//	    nulls        ceil(rows/8) bytes, bit i set when row i is null
//	    values       int64/timestamp/float64: rows x 8 bytes;
//	                 bool: rows x 1 byte;
//	                 string: (rows+1) x uint32 offsets, then the bytes
//	section table    per section: offset uint64, length uint64, crc32c uint32
//	table offset (uint64), section count (uint32)
//	"GRANIDX1"                       magic
//
// All integers are little-endian. A lookup is a binary search over the
// key offsets and one read per column at the found row; nothing is
// decoded up front. Open checks the magic, the header, every section's
// bounds and CRC-32C (the header's too), and the offset arrays' monotonicity, so a corrupt
// or truncated file is an error, never a panic or a wrong answer.
package online
