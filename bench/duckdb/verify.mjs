// Side-by-side correctness check for bench/import.sh: DuckDB reads both
// parquet files (granary's and its own) and compares, per column, the row
// count, null count and content aggregates:
//
//   int / double   count, sum (exact HUGEINT for ints, fsum for doubles), min, max
//   timestamp      count, min, max and exact sum of epoch microseconds
//   bool           count, count of true
//   string         count, total length, sum of hash(value), min, max
//
// Prints "match" or one line per difference, and a JSON summary on the last
// line. Exit code 0 on match, 1 otherwise.
//
//   node verify.mjs GRANARY.parquet DUCKDB.parquet [--rows]
//
// --rows also runs a full row-by-row EXCEPT ALL both ways (exact, but needs
// a few GiB of memory at 10M rows).
import { DuckDBInstance } from '@duckdb/node-api';

const args = process.argv.slice(2);
const fullRows = args.includes('--rows');
const [a, b] = args.filter((x) => !x.startsWith('--'));
if (!a || !b) {
  console.error('usage: node verify.mjs GRANARY.parquet DUCKDB.parquet [--rows]');
  process.exit(2);
}
const q = (s) => "'" + s.replaceAll("'", "''") + "'";
const id = (s) => '"' + s.replaceAll('"', '""') + '"';

const instance = await DuckDBInstance.create(':memory:');
const conn = await instance.connect();

async function describe(file) {
  const r = await conn.runAndReadAll(`SELECT column_name, column_type FROM (DESCRIBE SELECT * FROM read_parquet(${q(file)}))`);
  return r.getRows().map(([name, type]) => ({ name, type }));
}

function aggregates(col, type) {
  const c = id(col);
  const t = type.toUpperCase();
  if (/^(BIGINT|INTEGER|SMALLINT|TINYINT|UBIGINT|UINTEGER|HUGEINT)$/.test(t)) {
    return { count: `count(${c})`, sum: `sum(${c}::HUGEINT)`, min: `min(${c})`, max: `max(${c})` };
  }
  if (/^(DOUBLE|FLOAT|REAL)$/.test(t) || t.startsWith('DECIMAL')) {
    return { count: `count(${c})`, fsum: `fsum(${c}::DOUBLE)`, min: `min(${c}::DOUBLE)`, max: `max(${c}::DOUBLE)` };
  }
  if (t.startsWith('TIMESTAMP') || t === 'DATE') {
    return {
      count: `count(${c})`,
      min_us: `min(epoch_us(${c}))`,
      max_us: `max(epoch_us(${c}))`,
      sum_us: `sum(epoch_us(${c})::HUGEINT)`,
    };
  }
  if (t === 'BOOLEAN') {
    return { count: `count(${c})`, trues: `count_if(${c})` };
  }
  return {
    count: `count(${c})`,
    total_len: `sum(length(${c}::VARCHAR))`,
    hash_sum: `sum(hash(${c}::VARCHAR)::HUGEINT)`,
    min: `min(${c}::VARCHAR)`,
    max: `max(${c}::VARCHAR)`,
  };
}

async function profile(file, cols) {
  const exprs = ['count(*)'];
  const keys = ['rows'];
  for (const { name, type } of cols) {
    for (const [k, e] of Object.entries(aggregates(name, type))) {
      exprs.push(e);
      keys.push(`${name}.${k}`);
    }
  }
  const r = await conn.runAndReadAll(`SELECT ${exprs.join(', ')} FROM read_parquet(${q(file)})`);
  const row = r.getRows()[0];
  const out = {};
  keys.forEach((k, i) => (out[k] = row[i]));
  return out;
}

const colsA = await describe(a);
const colsB = await describe(b);
const diffs = [];
const typeNotes = [];
if (colsA.map((c) => c.name).join(',') !== colsB.map((c) => c.name).join(',')) {
  diffs.push(`column names differ: ${colsA.map((c) => c.name)} vs ${colsB.map((c) => c.name)}`);
}
for (let i = 0; i < Math.min(colsA.length, colsB.length); i++) {
  if (colsA[i].type !== colsB[i].type) typeNotes.push(`${colsA[i].name}: ${colsA[i].type} vs ${colsB[i].type}`);
}

// Aggregate both files with the same expressions (from granary's types),
// so that a column typed differently is still compared by value.
const pa = await profile(a, colsA);
const pb = await profile(b, colsA.map((c) => ({ name: c.name, type: c.type })));

const norm = (v) => (typeof v === 'bigint' ? v.toString() : v === null || v === undefined ? null : typeof v === 'object' ? v.toString() : v);
let compared = 0;
for (const k of Object.keys(pa)) {
  compared++;
  const x = norm(pa[k]);
  const y = norm(pb[k]);
  if (typeof x === 'number' && typeof y === 'number') {
    const tol = 1e-12 * Math.max(1, Math.abs(x), Math.abs(y));
    if (Math.abs(x - y) > tol && !(Number.isNaN(x) && Number.isNaN(y))) diffs.push(`${k}: ${x} vs ${y}`);
  } else if (x !== y) {
    diffs.push(`${k}: ${x} vs ${y}`);
  }
}

let rowDiff = null;
if (fullRows && diffs.length === 0) {
  const sel = (f) => `SELECT ${colsA.map((c) => `${id(c.name)}::${c.type} AS ${id(c.name)}`).join(', ')} FROM read_parquet(${q(f)})`;
  const n1 = Number((await conn.runAndReadAll(`SELECT count(*) FROM (${sel(a)} EXCEPT ALL ${sel(b)})`)).getRows()[0][0]);
  const n2 = Number((await conn.runAndReadAll(`SELECT count(*) FROM (${sel(b)} EXCEPT ALL ${sel(a)})`)).getRows()[0][0]);
  rowDiff = { only_in_granary: n1, only_in_duckdb: n2 };
  if (n1 || n2) diffs.push(`rows differ: ${n1} only in ${a}, ${n2} only in ${b}`);
}

const nulls = {};
for (const c of colsA) {
  nulls[c.name] = Number(pa.rows) - Number(pa[`${c.name}.count`]);
}
if (diffs.length === 0) {
  console.log(`match: ${pa.rows} rows, ${compared} aggregates over ${colsA.length} columns${rowDiff ? ', and every row (EXCEPT ALL both ways)' : ''}`);
} else {
  console.log('DIFFERENCES:');
  for (const d of diffs) console.log('  ' + d);
}
for (const t of typeNotes) console.log(`  type (granary vs duckdb, compared by value): ${t}`);
console.log(JSON.stringify({
  match: diffs.length === 0,
  rows: Number(pa.rows),
  aggregates_compared: compared,
  full_row_check: rowDiff,
  nulls_per_column: nulls,
  type_differences: typeNotes,
  differences: diffs,
  granary: Object.fromEntries(Object.entries(pa).map(([k, v]) => [k, norm(v)])),
  duckdb: Object.fromEntries(Object.entries(pb).map(([k, v]) => [k, norm(v)])),
}));
process.exit(diffs.length === 0 ? 0 : 1);
