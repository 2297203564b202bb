// Package tabular converts user files (CSV, JSONL, parquet) into granary's
// canonical parquet, streaming, with per-column statistics, and reads that
// parquet back (typed batches, CSV export).
//
// Output is deterministic: the same input bytes and options give
// byte-identical parquet and identical [ColumnStats], because the dataset
// manifest that records them is content-addressed. Nothing here depends on
// map iteration order, the wall clock, goroutine scheduling or per-process
// hash seeds.
//
// # Types
//
// Five column types: int64, float64, string (valid UTF-8), bool and
// timestamp (microseconds since the Unix epoch, always UTC). Canonical parquet
// stores them as INT64, DOUBLE, BYTE_ARRAY(STRING), BOOLEAN and
// INT64(TIMESTAMP(MICROS, isAdjustedToUTC=true)); nullable columns are
// OPTIONAL, the others REQUIRED; column order is the schema's; INT64 and
// timestamp columns are DELTA_BINARY_PACKED, the others PLAIN; pages are
// zstd-compressed (fastest level) and row groups bounded by rows and by
// bytes. The encoding and level were chosen by measurement (bench/build.sh,
// as-of join output): delta + fastest wrote 57 MB where plain + zstd level
// 3 wrote 67 MB, in less than half the CPU, because zstd spends most of its
// time failing to compress random-looking 8-byte values that delta
// encoding shrinks first.
//
// # Text forms (CSV fields, JSON strings, stats, export)
//
//   - int64: optional sign and decimal digits ("+7", "-0042"); exported as
//     strconv.FormatInt.
//   - float64: decimal syntax [+-]digits[.digits][e[+-]digits] (".5" and "5."
//     too) or, case-insensitively, nan/inf/infinity with an optional sign.
//     Hex floats, underscores and values that overflow float64 ("1e400") are
//     rejected. Exported with strconv 'g' -1, which parses back to the same
//     float64 bits ("-0", "NaN", "+Inf", "-Inf" included).
//   - bool: "true" / "false", case-insensitive; exported lower-case. 0/1 and
//     yes/no are not booleans (they would turn 0/1 label columns into bools).
//   - timestamp: YYYY-MM-DD, optionally followed by 'T', 't' or ' ' and
//     hh:mm:ss[.fraction of 1-9 digits], optionally followed by 'Z', 'z' or
//     ±hh:mm. Without a zone the value is taken as UTC. That covers RFC 3339,
//     RFC 3339 with nanoseconds, "2006-01-02 15:04:05" and "2006-01-02". Digits
//     below the microsecond are truncated (floor). Years 0000-9999 only.
//     Exported as RFC 3339 with nanoseconds in UTC, so
//     2024-03-01T10:00:00+02:00 comes back as 2024-03-01T08:00:00Z.
//   - string: the bytes as given; invalid UTF-8 is an error.
//
// # Null and the empty string in CSV
//
// An unquoted empty field is null; a quoted empty field ("") is the empty
// string. [ExportCSV] writes them that way, and the CSV reader honours it,
// so both survive a round trip. Any field may be quoted; quoting never
// changes the type of a non-empty field ("42" is an int). Bytes inside quotes
// are kept exactly (a CRLF inside a quoted field stays CRLF); a record ends
// at LF or CRLF. A UTF-8 byte order mark at the start of the file is
// skipped. A blank line is skipped when the file has more than one column
// and is a null value in a single-column file (the only way to write that
// null). A header row is required. A file of zero bytes is an error ("empty
// file"); a header with no rows is a valid file of zero rows.
//
// # JSONL
//
// One JSON object per line; blank lines are skipped. Values must be
// scalars: a nested object or array is an error (granary columns are flat;
// flatten upstream or encode the value as a JSON string). A missing key and
// null are both null. Duplicate keys in an object are an error. int64
// columns take integral JSON numbers, float64 columns any number, bool
// columns true/false, timestamp columns strings in the timestamp syntax, and
// string columns take any scalar: strings as themselves, numbers and
// booleans as their JSON text ("1.50", "true").
//
// # Inference
//
// [InferSchema] reads the whole input once. A column's type is the first of
// bool, int64, float64, timestamp that every non-null value parses as, else
// string; a column with no non-null value is string. A column is nullable
// when any value is null (or, in JSONL, any row lacks the key). CSV columns
// keep header order; JSONL columns are the union of keys in first-seen
// order. Integers beyond int64 infer as float64.
//
// # Parquet input
//
// Top-level flat columns map as follows: BOOLEAN to bool; INT32 and INT64
// (signed, or unsigned up to 32 bits) to int64; FLOAT and DOUBLE to float64;
// BYTE_ARRAY (plain, STRING, ENUM or JSON) to string, which must be valid
// UTF-8; TIMESTAMP in milli-, micro- or nanoseconds, DATE and legacy INT96 to
// timestamp (nanoseconds truncated toward the past; timestamps that are not
// adjusted to UTC are taken as UTC). DECIMAL, UINT64, TIME, FLOAT16, UUID,
// fixed-length byte arrays, nested groups, lists and maps are rejected with
// an error naming the column.
//
// parquet-go believes what a file says: a footer's list lengths, a page's
// compressed content size. Running out of memory is a fatal error that no
// recover() catches, so reading bounds every allocation by the bytes the
// file holds (or by a fixed per-page limit) before parquet-go sees them:
// the footer's thrift bytes are walked first and what decoding them costs
// is estimated and bounded, the schema's shape is checked (checkFooter);
// every page header of the file is checked against its column chunk
// (sizes, level lengths, value counts, a zstd frame's declared content
// size; see validatePages); and pages are decompressed by granary's codecs
// (zstd, snappy, gzip, brotli, LZ4_RAW), which write into the buffer sized
// from the page header and refuse a page that decodes to more (pqcodec.go).
// CSV records and JSONL objects stop at the column limit, schema YAML is
// size- and shape-bounded before parsing. TestHostileFilesUnderMemoryLimit
// runs hostile files in a child process under ulimit -v.
//
// # Memory and speed
//
// Convert holds at most four batches (4096 rows or 16 MiB each), the
// compressed pages of one row group (RowGroupRows, RowGroupBytes) and
// bounded per-column state (statistics sketches and samples, one page buffer
// in parquet-go), never the whole input: converting 10M rows of an 8-column
// CSV peaks at about 50 MB RSS. Reading and parsing (with statistics) run on
// the calling goroutine, into the batches of a BatchWriter, which encodes
// and compresses the columns on goroutines of its own; every column sees
// its values in the same calls whatever the scheduling, so the output does
// not depend on it.
//
// # Errors
//
// Every problem with the data is an [*InputError] that matches
// [ErrBadInput] with errors.Is, and reads like
//
//	orders.csv:12: row 11, column "amount": "abc" is not a float64
//
// Errors from the io.Writer or the context are returned as they are.
package tabular
