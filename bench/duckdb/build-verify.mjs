// Side-by-side check for bench/build.sh: granary's training set and
// DuckDB's must be the same table. Joins the two files on row_id and, per
// column, counts the rows whose values differ (floats: relative difference
// over 1e-9, reported with the largest difference; everything else exact,
// NULL only equal to NULL); also per-column checksums of each file (sum,
// nulls, an order-independent sum of hash(row_id, value)), and that each
// file is in row_id order.
//
//   node build-verify.mjs GRANARY.parquet DUCKDB.parquet
//
// Prints match/mismatch lines, then one JSON line; exits 1 on a mismatch.
import { DuckDBInstance } from '@duckdb/node-api';

const [g, d] = process.argv.slice(2);
if (!g || !d) {
  console.error('usage: node build-verify.mjs GRANARY.parquet DUCKDB.parquet');
  process.exit(2);
}
const REL = 1e-9;
const q = (s) => "'" + s.replaceAll("'", "''") + "'";
const id = (s) => '"' + s.replaceAll('"', '""') + '"';
const instance = await DuckDBInstance.create(':memory:');
const conn = await instance.connect();
const rows = async (sql) => (await conn.runAndReadAll(sql)).getRowObjectsJson();
const describe = async (f) => rows(`SELECT column_name AS name, column_type AS type FROM (DESCRIBE SELECT * FROM read_parquet(${q(f)}))`);

const cg = await describe(g);
const cd = await describe(d);
const diffs = [];
const lines = [];
const sameCols = cg.map((c) => c.name).join(',') === cd.map((c) => c.name).join(',');
if (!sameCols) diffs.push(`columns differ: granary ${cg.map((c) => c.name + ' ' + c.type).join(', ')}; duckdb ${cd.map((c) => c.name + ' ' + c.type).join(', ')}`);
const isFloat = (t) => t === 'DOUBLE' || t === 'FLOAT';

// Row alignment and order.
const [order] = await rows(`SELECT
  (SELECT count(*) FROM read_parquet(${q(g)})) AS granary_rows,
  (SELECT count(*) FROM read_parquet(${q(d)})) AS duckdb_rows,
  (SELECT count(*) FROM read_parquet(${q(g)}) g FULL JOIN read_parquet(${q(d)}) d ON g.row_id = d.row_id WHERE g.row_id IS NULL OR d.row_id IS NULL) AS unmatched,
  (SELECT count(*) FROM (SELECT row_id, lag(row_id) OVER (ORDER BY file_row_number) AS p FROM read_parquet(${q(g)}, file_row_number = true)) WHERE p >= row_id) AS granary_out_of_order,
  (SELECT count(*) FROM (SELECT row_id, lag(row_id) OVER (ORDER BY file_row_number) AS p FROM read_parquet(${q(d)}, file_row_number = true)) WHERE p >= row_id) AS duckdb_out_of_order`);
for (const [k, v] of Object.entries(order)) {
  if (k.endsWith('_rows')) continue;
  if (Number(v) !== 0) diffs.push(`${k}: ${v}`);
}
if (order.granary_rows !== order.duckdb_rows) diffs.push(`rows: granary ${order.granary_rows}, duckdb ${order.duckdb_rows}`);
lines.push(`${order.granary_rows === order.duckdb_rows && Number(order.unmatched) === 0 ? 'match   ' : 'MISMATCH'} rows: granary ${order.granary_rows}, duckdb ${order.duckdb_rows}, row_ids in one file only: ${order.unmatched}; out of row_id order: granary ${order.granary_out_of_order}, duckdb ${order.duckdb_out_of_order}`);

const perColumn = {};
for (const c of cg) {
  if (!cd.find((x) => x.name === c.name)) continue;
  const n = id(c.name);
  const fl = isFloat(c.type);
  const cmp = fl
    ? `count(*) FILTER (WHERE (g.${n} IS NULL) <> (d.${n} IS NULL) OR abs(g.${n} - d.${n}) > ${REL} * greatest(1e-300, abs(d.${n}))) AS differing,
       max(abs(g.${n} - d.${n})) AS max_abs_diff,
       max(abs(g.${n} - d.${n}) / nullif(abs(d.${n}), 0)) AS max_rel_diff,
       count(*) FILTER (WHERE g.${n} <> d.${n}) AS not_bit_identical`
    : `count(*) FILTER (WHERE g.${n} IS DISTINCT FROM d.${n}) AS differing`;
  const [r] = await rows(`SELECT ${cmp} FROM read_parquet(${q(g)}) g JOIN read_parquet(${q(d)}) d ON g.row_id = d.row_id`);
  const sumExpr = fl ? `sum(${n})` : c.type === 'VARCHAR' ? `sum(length(${n}))` : c.type.startsWith('TIMESTAMP') ? `sum(epoch_us(${n})::HUGEINT)` : `sum(${n}::HUGEINT)`;
  const ck = async (f) => (await rows(`SELECT ${sumExpr} AS sum, count(*) - count(${n}) AS nulls, sum(hash(row_id, ${fl ? `round(${n}, 6)` : n})::HUGEINT) AS hash_sum FROM read_parquet(${q(f)})`))[0];
  const a = await ck(g);
  const b = await ck(d);
  const sumsMatch = fl ? Math.abs(Number(a.sum) - Number(b.sum)) <= REL * Math.max(1, Math.abs(Number(b.sum))) : String(a.sum) === String(b.sum);
  const ckMatch = sumsMatch && String(a.nulls) === String(b.nulls) && (fl || String(a.hash_sum) === String(b.hash_sum));
  const ok = Number(r.differing) === 0 && ckMatch;
  if (!ok) diffs.push(`${c.name}: ${r.differing} rows differ${ckMatch ? '' : ', checksums differ'}`);
  perColumn[c.name] = { type: c.type, ...r, granary: a, duckdb: b };
  lines.push(`${ok ? 'match   ' : 'MISMATCH'} ${c.name} (${c.type}): ${r.differing} differing rows` +
    (fl ? ` (|Δ| ≤ ${REL} relative; max |Δ| ${r.max_abs_diff ?? 0}, max relative ${r.max_rel_diff ?? 0}; ${r.not_bit_identical} not bit-identical)` : '') +
    `; sum ${a.sum} vs ${b.sum}, nulls ${a.nulls} vs ${b.nulls}` + (fl ? '' : `, hash sum ${a.hash_sum === b.hash_sum ? 'equal' : 'DIFFERENT'}`));
}
for (const l of lines) console.log(l);
console.log(diffs.length === 0
  ? `match: ${order.granary_rows} rows, every column identical row by row (floats within ${REL} relative), both in row_id order`
  : `MISMATCH: ${diffs.join('; ')}`);
console.log(JSON.stringify({ match: diffs.length === 0, rows: order, columns: perColumn, differences: diffs }));
process.exit(diffs.length === 0 ? 0 : 1);
