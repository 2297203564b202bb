// Summarises one bench/import.sh run: reads RESULTS_DIR (the .meta files the
// script writes beside each engine's JSON), prints a markdown report and
// writes it to RESULTS_DIR/summary.md (and the numbers to summary.json).
//
//   node report.mjs bench/out/results-10000000
import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

const dir = process.argv[2];
const read = (f) => JSON.parse(readFileSync(join(dir, f), 'utf8'));
const has = (f) => existsSync(join(dir, f));
const machine = read('machine.json');

const runs = {};
for (const f of readdirSync(dir).filter((f) => f.endsWith('.meta') && !f.includes('contaminated'))) {
  const label = f.slice(0, -5);
  const meta = read(f);
  let out = null;
  if (has(label + '.json')) {
    try { out = read(label + '.json'); } catch { out = null; }
  }
  runs[label] = { ...meta, out };
}
const contaminated = readdirSync(dir).filter((f) => f.endsWith('.meta') && f.includes('contaminated')).map((f) => read(f));

const engineSeconds = (r) => (r.engine === 'duckdb' ? r.out.seconds : r.out.seconds);
const best = (prefix) => {
  const c = Object.values(runs).filter((r) => new RegExp(`^${prefix}-\\d+$`).test(r.label));
  c.sort((a, b) => engineSeconds(a) - engineSeconds(b));
  return { best: c[0], all: c };
};
const g = best('granary');
const d = best('duckdb');
if (!g.best || !d.best) {
  console.error('report: no granary or duckdb runs in ' + dir);
  process.exit(1);
}
const rows = machine.rows;
const mb = machine.csv_bytes / 1e6;
const duckRate = rows / d.best.out.seconds;
const mib = (kib) => (kib == null ? '—' : (kib / 1024).toFixed(0));
const fmt = (x, digits = 0) => (x == null || Number.isNaN(x) ? '—' : x.toLocaleString('en-US', { maximumFractionDigits: digits, minimumFractionDigits: digits }));
const cpu = (r) => (r.user_s != null ? (r.user_s + r.sys_s).toFixed(1) : '—');
const load = (r) => `${r.load_before.split(' ')[0]} → ${r.load_after.split(' ')[0]}`;

const table = [];
const row = (name, rate, secs, procWall, cpuS, rss, r, inputRows = rows) => {
  const perS = inputRows / secs;
  table.push([
    name,
    fmt(perS),
    fmt((rate ?? mb) / secs, 1),
    fmt(secs, 2),
    procWall == null ? '—' : fmt(procWall, 2),
    cpuS,
    rss,
    rate === null ? '—' : (perS / duckRate).toFixed(2),
    r ? load(r) : '—',
    r ? `${r.foreign_cpu_pct}` + (r.foreign_cpu_pct > 10 ? ' ⚠' : '') : '—',
  ]);
};

const gb = g.best;
row(`granary engine (infer + convert + stats), best of ${g.all.length}`, mb, gb.out.seconds, gb.process_wall_s, cpu(gb), mib(gb.max_rss_kib), gb);
for (const p of ['infer', 'convert', 'stats']) {
  const ph = gb.out.phases[p];
  const what = { infer: 'InferSchema, 1 CSV pass', convert: 'Convert to zstd parquet + fsync', stats: 'StatsAccumulator over the parquet' }[p];
  table.push([`  ↳ ${p} (${what})`, fmt(ph.rows_per_s), fmt(p === 'stats' ? null : ph.mb_per_s, 1), fmt(ph.seconds, 2), '—', '—', '—', (ph.rows_per_s / duckRate).toFixed(2), '', '']);
}
const db = d.best;
row(`DuckDB COPY read_csv → parquet zstd, threads=${db.out.threads} (default), best of ${d.all.length}`, mb, db.out.seconds, db.process_wall_s, cpu(db), mib(db.max_rss_kib), db);
if (runs['granary-1cpu']) {
  const r = runs['granary-1cpu'];
  row('granary engine, GOMAXPROCS=1', mb, r.out.seconds, r.process_wall_s, cpu(r), mib(r.max_rss_kib), r);
}
if (runs['duckdb-1thread']) {
  const r = runs['duckdb-1thread'];
  row('DuckDB, threads=1', mb, r.out.seconds, r.process_wall_s, cpu(r), mib(r.max_rss_kib), r);
}
let product = null;
if (runs.product) {
  const r = runs.product;
  const acts = has('product-activities.json') ? read('product-activities.json') : null;
  product = { ...r, activities: acts, result: r.out };
  const cpuS = (r.cli_user_s + r.cli_sys_s + r.worker_cpu_s + r.temporal_cpu_s).toFixed(1);
  row(`granary product path: CLI upload + CommitDataset workflow (worker VmHWM; CLI ${mib(r.cli_max_rss_kib)} MiB)`, mb, r.process_wall_s, r.process_wall_s, cpuS, mib(r.worker_hwm_kib), r);
}
if (runs['granary-small']) {
  const r = runs['granary-small'];
  const smallMB = r.out.input_bytes / 1e6;
  row(`granary engine at ${fmt(r.input_rows)} rows (RSS vs input size)`, smallMB, r.out.seconds, r.process_wall_s, cpu(r), mib(r.max_rss_kib), r, r.input_rows);
}

const head = ['engine', 'rows/s', 'MB/s', 'engine s', 'process wall s', 'CPU s', 'peak RSS MiB', 'ratio vs DuckDB', 'load 1m before → after', 'foreign CPU %'];
const md = [];
md.push(`## ${machine.date}: ${fmt(rows)} rows, ${fmt(mb, 0)} MB CSV`);
md.push('');
md.push(`Machine: ${machine.cpu}, ${machine.cores} cores, ${machine.mem_gib} GiB, Linux ${machine.kernel}; ${machine.go}, node ${machine.node}, DuckDB ${db.out.duckdb_version} (@duckdb/node-api 1.5.6-r.1); granary ${machine.granary}. Load average at start: ${machine.load_at_start}.`);
md.push('');
md.push('| ' + head.join(' | ') + ' |');
md.push('|' + head.map((_, i) => (i === 0 ? '---' : '---:')).join('|') + '|');
for (const t of table) md.push('| ' + t.join(' | ') + ' |');
md.push('');
md.push('rows/s and MB/s are over "engine s": for granary the sum of its three phases (timed in-process), for DuckDB the COPY statement alone (timed in-process, without the node start-up and the count check), for the product path the wall time of `granary dataset import --wait` (upload, workflow, polling). MB = 10^6 bytes of CSV input (stats: of parquet). Peak RSS is "Maximum resident set size" from /usr/bin/time -v (the product path: VmHWM of the `granary dev` process, which runs the worker; Temporal is a separate child process and not counted). "foreign CPU %" is the share of the machine\'s CPU that other processes used during the run (measured from /proc/stat minus the run\'s own CPU time); runs over 10% are re-run.');
md.push('');

// targets
const ratio = rows / gb.out.seconds / duckRate;
const rssMax = Math.max(...Object.values(runs).filter((r) => r.engine === 'granary' && r.max_rss_kib).map((r) => r.max_rss_kib));
md.push('Targets:');
md.push(`- throughput ≥ 0.5 × DuckDB: granary engine ${ratio.toFixed(2)} × → ${ratio >= 0.5 ? 'PASS' : 'FAIL'}` +
  ` (convert phase alone ${(gb.out.phases.convert.rows_per_s / duckRate).toFixed(2)} ×` +
  (product ? `; product path ${(rows / product.process_wall_s / duckRate).toFixed(2)} ×)` : ')'));
md.push(`- peak RSS < 512 MiB: granary engine max ${mib(rssMax)} MiB` +
  (runs['granary-small'] ? ` (${mib(runs['granary-small'].max_rss_kib)} MiB at ${fmt(runs['granary-small'].input_rows)} rows, ${mib(gb.max_rss_kib)} MiB at ${fmt(rows)})` : '') +
  (product ? `; worker ${mib(product.worker_hwm_kib)} MiB, CLI ${mib(product.cli_max_rss_kib)} MiB` : '') +
  ` → ${Math.max(rssMax, product?.worker_hwm_kib ?? 0, product?.cli_max_rss_kib ?? 0) < 512 * 1024 ? 'PASS' : 'FAIL'}`);
if (runs['granary-1cpu'] && runs['duckdb-1thread']) {
  const r1 = runs['granary-1cpu'].out.seconds;
  const d1 = runs['duckdb-1thread'].out.seconds;
  md.push(`- single-threaded, granary GOMAXPROCS=1 vs DuckDB threads=1: ${(d1 / r1).toFixed(2)} ×`);
}
md.push('');

md.push('Parquet sizes: granary ' + fmt(gb.out.parquet_bytes / 1e6, 1) + ' MB (' + gb.out.row_groups + ' row groups), DuckDB ' + fmt(db.out.parquet_bytes / 1e6, 1) + ' MB.');
if (has('verify.txt')) {
  const v = readFileSync(join(dir, 'verify.txt'), 'utf8').trim().split('\n');
  md.push('');
  md.push('Side-by-side check (DuckDB reads both parquet files): ' + v.slice(0, -1).join('\n  '));
}
if (product) {
  md.push('');
  const acts = product.activities;
  const parts = acts ? acts.activities.map((a) => `${a.name} ${a.seconds.toFixed(2)} s`).join(', ') : '';
  const rest = acts ? product.process_wall_s - acts.workflow_seconds : null;
  md.push(`Product path breakdown: ${parts}; workflow ${acts?.workflow_seconds.toFixed(2)} s; CLI upload of the CSV into the lake + start + result polling ${rest?.toFixed(2)} s. Worker RSS idle ${mib(product.worker_idle_rss_kib)} MiB, peak ${mib(product.worker_hwm_kib)} MiB, at the end ${mib(product.worker_rss_end_kib)} MiB; worker CPU ${product.worker_cpu_s} s, Temporal CPU ${product.temporal_cpu_s} s, CLI CPU ${(product.cli_user_s + product.cli_sys_s).toFixed(1)} s.`);
  const same = product.blob_digests.split(' ').includes(product.importbench_parquet_sha256);
  md.push(`The version's parquet blob ${same ? 'is byte for byte' : 'is NOT'} the file bench/importbench wrote (${product.importbench_parquet_sha256.slice(0, 19)}…).`);
}
md.push('');
md.push('All timed runs (the table takes the fastest of the alternating runs):');
md.push('');
md.push('| run | engine s | process wall s | CPU s | peak RSS MiB | load 1m before → after | foreign CPU % | attempt |');
md.push('|---|---:|---:|---:|---:|---|---:|---:|');
for (const r of [...Object.values(runs), ...contaminated.map((c) => ({ ...c, label: c.label + ' (contaminated, discarded)' }))]) {
  const secs = r.variant === 'product' ? r.process_wall_s : r.out?.seconds;
  const rss = r.variant === 'product' ? r.worker_hwm_kib : r.max_rss_kib;
  const c = r.variant === 'product' ? (r.cli_user_s + r.cli_sys_s + r.worker_cpu_s + r.temporal_cpu_s).toFixed(1) : cpu(r);
  md.push(`| ${r.label} | ${secs == null ? '—' : secs.toFixed(2)} | ${r.process_wall_s.toFixed(2)} | ${c} | ${mib(rss)} | ${load(r)} | ${r.foreign_cpu_pct} | ${r.attempt} |`);
}
const text = md.join('\n') + '\n';
writeFileSync(join(dir, 'summary.md'), text);
writeFileSync(join(dir, 'summary.json'), JSON.stringify({ machine, runs, contaminated, ratio }, null, 2));
process.stdout.write(text);
