// Side-by-side check for bench/extract.sh: granary's shard files and
// DuckDB's partitioned output must hold the same rows. The shard
// assignments differ (FNV-1a vs DuckDB's hash), so the checks are
// shard-independent: row count, sums of every column (amount in exact
// cents), an order-independent sum of row hashes; plus, per output, that
// no entity is in two files and that every file is sorted by (user_id, ts).
//
//   node extract-verify.mjs GRANARY_DIR DUCKDB_DIR
//
// Prints match/mismatch lines, then one JSON line; exits 1 on a mismatch.
import { DuckDBInstance } from '@duckdb/node-api';

const [g, d] = process.argv.slice(2);
if (!g || !d) {
  console.error('usage: node extract-verify.mjs GRANARY_DIR DUCKDB_DIR');
  process.exit(2);
}
const q = (s) => "'" + s.replaceAll("'", "''") + "'";
const instance = await DuckDBInstance.create(':memory:');
const conn = await instance.connect();
const one = async (sql) => (await conn.runAndReadAll(sql)).getRowObjectsJson()[0];
const src = (dir) => `read_parquet(${q(dir + '/**/*.parquet')}, filename = true, file_row_number = true, hive_partitioning = false)`;

const checks = async (dir) => ({
  ...(await one(`SELECT
      count(*) AS rows,
      sum(user_id::HUGEINT) AS sum_user_id,
      count(DISTINCT user_id) AS entities,
      sum(epoch_us(ts)::HUGEINT) AS sum_ts_us,
      count(amount) AS amount_non_null,
      sum(round(amount * 100)::HUGEINT) AS sum_amount_cents,
      sum(hash(category)::HUGEINT) AS sum_hash_category,
      sum(hash(user_id, ts, amount, category)::HUGEINT) AS sum_hash_rows,
      count(DISTINCT filename) AS files
    FROM ${src(dir)}`)),
  ...(await one(`SELECT count(*) AS entities_in_two_files FROM (
      SELECT user_id FROM ${src(dir)} GROUP BY user_id HAVING count(DISTINCT filename) > 1)`)),
  ...(await one(`SELECT count(*) FILTER (WHERE pu > user_id OR (pu = user_id AND pt > ts)) AS unsorted_rows FROM (
      SELECT user_id, ts, lag(user_id) OVER w AS pu, lag(ts) OVER w AS pt
      FROM ${src(dir)} WINDOW w AS (PARTITION BY filename ORDER BY file_row_number))`)),
});

const a = await checks(g);
const b = await checks(d);
const diffs = [];
for (const k of Object.keys(a)) {
  if (k === 'files') continue;
  const same = String(a[k]) === String(b[k]);
  console.log(`${same ? 'match   ' : 'MISMATCH'} ${k}: granary ${a[k]}, duckdb ${b[k]}`);
  if (!same) diffs.push(k);
}
for (const [name, c] of [['granary', a], ['duckdb', b]]) {
  if (Number(c.entities_in_two_files) !== 0) diffs.push(`${name}: entities in two files`);
  if (Number(c.unsorted_rows) !== 0) diffs.push(`${name}: unsorted rows`);
}
console.log(diffs.length === 0
  ? `match: ${a.rows} rows, same checksums; every entity in one file and every file sorted by (user_id, ts) in both (granary ${a.files} files, duckdb ${b.files})`
  : `MISMATCH: ${diffs.join(', ')}`);
console.log(JSON.stringify({ match: diffs.length === 0, granary: a, duckdb: b, differences: diffs }));
process.exit(diffs.length === 0 ? 0 : 1);
