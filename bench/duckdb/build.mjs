// DuckDB baseline for bench/build.sh: the training set granary's build
// computes, in SQL, from the same raw spine and events parquet files,
// written as zstd parquet ordered by row_id. Prints one JSON object.
//
//   node build.mjs DIR OUT.parquet --case full|asof [--threads N]
//
// DIR holds spine.parquet (row_id, user_id, ts) and events.parquet
// (user_id, ts, amount, category), from `bench/build gen`.
//
// Semantics (granary's, README "Feature specs"): a window feature at spine
// time t aggregates the entity's events with t - w < ts <= t; `last` takes
// the newest event with ts <= t, equal timestamps resolved by source order
// (the later row wins); an empty window gives 0 for count and NULL
// otherwise; no ttl.
//
//   - windows: the spine rows and events of an entity in one stream
//     (UNION ALL), window functions with RANGE frames
//     `INTERVAL w - 1 microsecond PRECEDING AND CURRENT ROW` (timestamps
//     are whole microseconds, so ts >= t - w + 1us is ts > t - w; CURRENT
//     ROW takes the peers, i.e. events at exactly t); spine rows carry
//     NULLs, which count/sum/max skip;
//   - last: ASOF LEFT JOIN on (user_id, ts), the inequality on
//     ts * 2^32 + source row number so that ties go to the later event.
import { DuckDBInstance } from '@duckdb/node-api';
import { readFileSync, rmSync, statSync } from 'node:fs';
import { join } from 'node:path';

const args = process.argv.slice(2);
let threads = null;
let kase = 'full';
const pos = [];
for (let i = 0; i < args.length; i++) {
  if (args[i] === '--threads') threads = Number(args[++i]);
  else if (args[i] === '--case') kase = args[++i];
  else pos.push(args[i]);
}
if (pos.length !== 2 || !['full', 'asof'].includes(kase)) {
  console.error('usage: node build.mjs DIR OUT.parquet --case full|asof [--threads N]');
  process.exit(2);
}
const [dir, out] = pos;
const q = (s) => "'" + s.replaceAll("'", "''") + "'";
const vmHWMMiB = () => Number(readFileSync('/proc/self/status', 'utf8').match(/^VmHWM:\s+(\d+) kB/m)[1]) / 1024;

const spine = `read_parquet(${q(join(dir, 'spine.parquet'))})`;
const events = `read_parquet(${q(join(dir, 'events.parquet'))}, file_row_number = true)`;
// ts * 2^32 + seq: one ordered key; a spine row's key sits after every
// event at its own timestamp.
const evKey = `(epoch_us(e.ts)::HUGEINT * 4294967296 + e.file_row_number)`;
const spKey = `(epoch_us(s.ts)::HUGEINT * 4294967296 + 4294967295)`;

const cte = {
  full: `
WITH s AS (SELECT row_id, user_id, ts FROM ${spine}),
e AS (SELECT user_id, ts, amount, category, file_row_number FROM ${events}),
u AS (
  SELECT user_id, ts, row_id, NULL::DOUBLE AS amount, NULL::INTEGER AS ev FROM s
  UNION ALL
  SELECT user_id, ts, NULL, amount, 1 FROM e
),
w AS (
  SELECT row_id,
    count(ev) OVER w7 AS count_7d,
    sum(amount) OVER w30 AS sum_30d,
    max(amount) OVER w30 AS max_30d
  FROM u
  WINDOW
    w7 AS (PARTITION BY user_id ORDER BY ts RANGE BETWEEN INTERVAL 7 DAYS - INTERVAL 1 MICROSECOND PRECEDING AND CURRENT ROW),
    w30 AS (PARTITION BY user_id ORDER BY ts RANGE BETWEEN INTERVAL 30 DAYS - INTERVAL 1 MICROSECOND PRECEDING AND CURRENT ROW)
  QUALIFY row_id IS NOT NULL
),
l AS (
  SELECT s.row_id, e.category AS last_cat
  FROM s ASOF LEFT JOIN e ON s.user_id = e.user_id AND ${spKey} >= ${evKey}
)
SELECT s.row_id, s.user_id, s.ts,
  w.count_7d AS f__count_7d, w.sum_30d AS f__sum_30d, w.max_30d AS f__max_30d, l.last_cat AS f__last_cat
FROM s JOIN w USING (row_id) JOIN l USING (row_id)
ORDER BY s.row_id`,
  asof: `
WITH s AS (SELECT row_id, user_id, ts FROM ${spine}),
e AS (SELECT user_id, ts, amount, file_row_number FROM ${events})
SELECT s.row_id, s.user_id, s.ts, e.amount AS f__last_amount
FROM s ASOF LEFT JOIN e ON s.user_id = e.user_id AND ${spKey} >= ${evKey}
ORDER BY s.row_id`,
}[kase];

rmSync(out, { force: true });
const instance = await DuckDBInstance.create(':memory:');
const conn = await instance.connect();
if (threads) await conn.run(`SET threads = ${threads}`);
const settings = (await conn.runAndReadAll(
  "SELECT current_setting('threads') AS threads, current_setting('memory_limit') AS memory_limit, version() AS version",
)).getRowObjects()[0];
const counts = (await conn.runAndReadAll(`SELECT (SELECT count(*) FROM ${spine}), (SELECT count(*) FROM ${events})`)).getRows()[0].map(Number);
const rssBefore = vmHWMMiB();

const sql = `COPY (${cte}\n) TO ${q(out)} (FORMAT parquet, COMPRESSION zstd)`;
const t0 = performance.now();
const copied = await conn.runAndReadAll(sql);
const seconds = (performance.now() - t0) / 1000;
const outputRows = Number(copied.getRows()[0]?.[0] ?? NaN);

console.log(JSON.stringify({
  engine: 'duckdb',
  case: kase,
  duckdb_version: settings.version,
  threads: Number(settings.threads),
  memory_limit: settings.memory_limit,
  spine_rows: counts[0],
  event_rows: counts[1],
  rows_basis: counts[0],
  output_rows: outputRows,
  output_bytes: statSync(out).size,
  sql,
  seconds,
  rows_per_s: counts[0] / seconds,
  peak_rss_mib_before: rssBefore,
  peak_rss_mib: vmHWMMiB(),
}, null, 2));
if (outputRows !== counts[0]) {
  console.error(`build.mjs: ${outputRows} output rows for ${counts[0]} spine rows`);
  process.exit(1);
}
