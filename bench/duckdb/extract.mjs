// DuckDB baseline for bench/extract.sh: the extraction granary's
// ExtractFeatures does (filter, hash-partition by the join key, sort each
// shard by (key, time), zstd parquet), as one COPY. Prints one JSON object.
//
//   node extract.mjs SRC.parquet OUTDIR SHARDS [--threads N] [--filter SQL] [--partition-by]
//
// Default: the filtered rows, tagged with hash(user_id) % SHARDS, go into
// a temporary table; then one COPY per shard writes it ordered by
// (user_id, ts) to OUTDIR/shard-N.parquet. --partition-by instead runs the
// single statement `COPY (... ORDER BY shard, user_id, ts) TO OUTDIR
// (PARTITION_BY (shard))`, which is faster but does not keep the ORDER BY
// inside the files where threads hand over (extract-verify.mjs finds
// unsorted rows), so it is not the same result.
//
// Rows with a null key or timestamp are dropped, as granary drops them;
// the filter defaults to the benchmark spec's `amount > 0` (a null amount
// fails it in both engines). DuckDB's hash() is not granary's FNV-1a, so
// the shards hold different entities; bench/duckdb/extract-verify.mjs
// compares the outputs with shard-independent checksums.
import { DuckDBInstance } from '@duckdb/node-api';
import { mkdirSync, readFileSync, readdirSync, rmSync, statSync } from 'node:fs';
import { join } from 'node:path';

const args = process.argv.slice(2);
let threads = null;
let filter = 'amount > 0';
let partitionBy = false;
const pos = [];
for (let i = 0; i < args.length; i++) {
  if (args[i] === '--threads') threads = Number(args[++i]);
  else if (args[i] === '--filter') filter = args[++i];
  else if (args[i] === '--partition-by') partitionBy = true;
  else pos.push(args[i]);
}
if (pos.length !== 3) {
  console.error('usage: node extract.mjs SRC.parquet OUTDIR SHARDS [--threads N] [--filter SQL]');
  process.exit(2);
}
const [src, out, shardsArg] = pos;
const shards = Number(shardsArg);
const q = (s) => "'" + s.replaceAll("'", "''") + "'";

function vmHWMMiB() {
  const m = readFileSync('/proc/self/status', 'utf8').match(/^VmHWM:\s+(\d+) kB/m);
  return m ? Number(m[1]) / 1024 : null;
}

function dirBytes(d) {
  let n = 0;
  for (const e of readdirSync(d, { withFileTypes: true })) {
    n += e.isDirectory() ? dirBytes(join(d, e.name)) : statSync(join(d, e.name)).size;
  }
  return n;
}

rmSync(out, { recursive: true, force: true });
const instance = await DuckDBInstance.create(':memory:');
const conn = await instance.connect();
if (threads) await conn.run(`SET threads = ${threads}`);
const settings = (await conn.runAndReadAll(
  "SELECT current_setting('threads') AS threads, current_setting('memory_limit') AS memory_limit, version() AS version",
)).getRowObjects()[0];
const rssBefore = vmHWMMiB();

const select = `SELECT user_id, ts, amount, category, hash(user_id) % ${shards} AS shard
  FROM read_parquet(${q(src)})
  WHERE user_id IS NOT NULL AND ts IS NOT NULL AND (${filter})`;
const statements = [];
const t0 = performance.now();
let rowsOut = 0;
if (partitionBy) {
  statements.push(`COPY (${select} ORDER BY shard, user_id, ts) TO ${q(out)} (FORMAT parquet, PARTITION_BY (shard), COMPRESSION zstd)`);
  rowsOut = Number((await conn.runAndReadAll(statements[0])).getRows()[0]?.[0] ?? NaN);
} else {
  mkdirSync(out, { recursive: true });
  statements.push(`CREATE TEMP TABLE parts AS ${select}`);
  await conn.run(statements[0]);
  for (let s = 0; s < shards; s++) {
    const st = `COPY (SELECT user_id, ts, amount, category FROM parts WHERE shard = ${s} ORDER BY user_id, ts) TO ${q(join(out, `shard-${String(s).padStart(5, '0')}.parquet`))} (FORMAT parquet, COMPRESSION zstd)`;
    if (s === 0) statements.push(st.replace('shard = 0', 'shard = N').replace('shard-00000', 'shard-N'));
    rowsOut += Number((await conn.runAndReadAll(st)).getRows()[0]?.[0] ?? NaN);
  }
}
const seconds = (performance.now() - t0) / 1000;
const rowsIn = Number((await conn.runAndReadAll(`SELECT count(*) FROM read_parquet(${q(src)})`)).getRows()[0][0]);

console.log(JSON.stringify({
  engine: 'duckdb',
  duckdb_version: settings.version,
  threads: Number(settings.threads),
  memory_limit: settings.memory_limit,
  file: src,
  shards,
  filter,
  mode: partitionBy ? 'partition_by' : 'table + COPY per shard',
  statements,
  rows_in: rowsIn,
  rows_out: rowsOut,
  output_bytes: dirBytes(out),
  seconds,
  rows_per_s: rowsIn / seconds,
  peak_rss_mib_before: rssBefore,
  peak_rss_mib: vmHWMMiB(),
}, null, 2));
