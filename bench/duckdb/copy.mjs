// DuckDB baseline for bench/import.sh: one COPY from CSV to zstd parquet,
// timed, then a row-count check on the output. Prints one JSON object.
//
//   node copy.mjs IN.csv OUT.parquet [--threads N]
//
// Without --threads DuckDB runs at its defaults (threads = the number of
// cores it sees, memory_limit = 80% of RAM); both are reported.
import { DuckDBInstance } from '@duckdb/node-api';
import { readFileSync, statSync } from 'node:fs';

const args = process.argv.slice(2);
let threads = null;
const pos = [];
for (let i = 0; i < args.length; i++) {
  if (args[i] === '--threads') threads = Number(args[++i]);
  else pos.push(args[i]);
}
if (pos.length !== 2) {
  console.error('usage: node copy.mjs IN.csv OUT.parquet [--threads N]');
  process.exit(2);
}
const [csv, out] = pos;
const q = (s) => "'" + s.replaceAll("'", "''") + "'";

function vmHWMMiB() {
  try {
    const m = readFileSync('/proc/self/status', 'utf8').match(/^VmHWM:\s+(\d+) kB/m);
    return m ? Number(m[1]) / 1024 : null;
  } catch {
    return null;
  }
}

const t0 = performance.now();
const instance = await DuckDBInstance.create(':memory:');
const conn = await instance.connect();
if (threads) await conn.run(`SET threads = ${threads}`);
const settings = (await conn.runAndReadAll(
  "SELECT current_setting('threads') AS threads, current_setting('memory_limit') AS memory_limit, version() AS version",
)).getRowObjects()[0];
const startupS = (performance.now() - t0) / 1000;

// The statement from the issue, verbatim apart from the paths.
const sql = `COPY (SELECT * FROM read_csv(${q(csv)})) TO ${q(out)} (FORMAT parquet, COMPRESSION zstd)`;
const t1 = performance.now();
const copied = await conn.runAndReadAll(sql);
const seconds = (performance.now() - t1) / 1000;
const rssAfterCopy = vmHWMMiB();

const t2 = performance.now();
const count = Number((await conn.runAndReadAll(`SELECT count(*) AS n FROM read_parquet(${q(out)})`)).getRows()[0][0]);
const countS = (performance.now() - t2) / 1000;
const types = (await conn.runAndReadAll(`SELECT column_name, column_type FROM (DESCRIBE SELECT * FROM read_parquet(${q(out)}))`))
  .getRows().map(([n, t]) => ({ name: n, type: t }));

const copiedRows = Number(copied.getRows()[0]?.[0] ?? NaN);
const inputBytes = statSync(csv).size;
const result = {
  engine: 'duckdb',
  duckdb_version: settings.version,
  threads: Number(settings.threads),
  memory_limit: settings.memory_limit,
  file: csv,
  rows: count,
  copy_reported_rows: copiedRows,
  count_check: copiedRows === count ? 'ok' : `mismatch: COPY said ${copiedRows}, parquet has ${count}`,
  input_bytes: inputBytes,
  parquet_bytes: statSync(out).size,
  seconds,
  rows_per_s: count / seconds,
  mb_per_s: inputBytes / 1e6 / seconds,
  startup_seconds: startupS,
  count_seconds: countS,
  peak_rss_mib_after_copy: rssAfterCopy,
  peak_rss_mib: vmHWMMiB(),
  columns: types,
};
conn.closeSync?.();
console.log(JSON.stringify(result, null, 2));
