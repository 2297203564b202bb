// Summarises one bench/import.sh run: reads RESULTS_DIR (the .meta files the
// script writes beside each run's output), prints a markdown report and
// writes it to RESULTS_DIR/summary.md (and the numbers to summary.json).
//
//   node report.mjs bench/out/results-10000000
//
// A run that was re-run because other processes took CPU ("foreign CPU")
// has several attempts; the fastest attempt stands for it (contamination
// only ever slows a run down) and the others are listed as discarded.
import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

const dir = process.argv[2];
const readJSON = (f) => JSON.parse(readFileSync(join(dir, f), 'utf8'));
const has = (f) => existsSync(join(dir, f));
const machine = readJSON('machine.json');
const maxForeign = machine.max_foreign_pct ?? 10;

// Every attempt of every run, grouped by run label.
const attempts = {};
for (const f of readdirSync(dir).filter((f) => f.endsWith('.meta'))) {
  const prefix = f.slice(0, -5);
  const meta = readJSON(f);
  let out = null;
  try { out = readJSON(prefix + '.json'); } catch { out = null; }
  const acts = has(prefix + '.acts') ? readJSON(prefix + '.acts') : null;
  (attempts[meta.label] ??= []).push({ ...meta, prefix, out, acts });
}
const secondsOf = (r) => (r.variant === 'product' ? r.process_wall_s : r.out?.seconds ?? Infinity);
const runs = {};
const discarded = [];
for (const [label, list] of Object.entries(attempts)) {
  list.sort((a, b) => secondsOf(a) - secondsOf(b));
  runs[label] = list[0];
  discarded.push(...list.slice(1));
}

const bestOf = (prefix) => {
  const c = Object.values(runs).filter((r) => new RegExp(`^${prefix}-\\d+$`).test(r.label));
  c.sort((a, b) => secondsOf(a) - secondsOf(b));
  return { best: c[0], all: c };
};
const g = bestOf('granary');
const d = bestOf('duckdb');
if (!g.best || !d.best) {
  console.error('report: no granary or duckdb runs in ' + dir);
  process.exit(1);
}
const rows = machine.rows;
const mb = machine.csv_bytes / 1e6;
const duckRate = rows / d.best.out.seconds;
const mib = (kib) => (kib == null ? '—' : (kib / 1024).toFixed(0));
const fmt = (x, digits = 0) => (x == null || Number.isNaN(x) ? '—' : x.toLocaleString('en-US', { maximumFractionDigits: digits, minimumFractionDigits: digits }));
const cpuOf = (r) => (r.variant === 'product' ? r.cli_user_s + r.cli_sys_s + r.worker_cpu_s + r.temporal_cpu_s : r.user_s + r.sys_s);
const load = (r) => `${r.load_before.split(' ')[0]} → ${r.load_after.split(' ')[0]}`;
const foreign = (r) => `${r.foreign_cpu_pct}` + (r.foreign_cpu_pct > maxForeign ? ' ⚠' : '');

const table = [];
const row = (name, r, secs, inputRows = rows, inputMB = mb, rss = r?.max_rss_kib) => {
  const perS = inputRows / secs;
  table.push([
    name, fmt(perS), fmt(inputMB / secs, 1), fmt(secs, 2),
    r ? fmt(r.process_wall_s, 2) : '—', r ? cpuOf(r).toFixed(1) : '—', r ? mib(rss) : '—',
    (perS / duckRate).toFixed(2), r ? load(r) : '', r ? foreign(r) : '',
  ]);
};
const phaseRows = (r, names) => {
  const what = {
    upload: 'CLI upload: PutBlobFile of the CSV',
    infer: 'schema: from the first 100k rows (one-pass), or InferSchema over the CSV (-pass two)',
    infer_full: 'InferSchema over the CSV: the first rows did not hold',
    convert_again: 'Convert again with the full schema',
    convert: 'Convert to zstd parquet + fsync',
    put_blob: 'PutBlobFile of the parquet',
    stats: 'StatsAccumulator over the parquet; a check, not counted, in one-pass mode',
  };
  for (const p of names) {
    const ph = r.out.phases[p];
    if (!ph) continue;
    const inMB = p === 'stats' || p === 'put_blob' ? r.out.parquet_bytes / 1e6 : mb;
    table.push([`  ↳ ${p} (${what[p]})`, fmt(rows / ph.seconds), fmt(inMB / ph.seconds, 1), fmt(ph.seconds, 2), '—', '—', '—', (rows / ph.seconds / duckRate).toFixed(2), '', '']);
  }
};

const gb = g.best;
const db = d.best;
const flow = gb.out.pass === 'two' ? 'infer + convert + stats' : 'schema from the first rows while converting, stats from the conversion';
row(`**granary engine** (${flow}), best of ${g.all.length}`, gb, gb.out.seconds);
phaseRows(gb, ['infer', 'infer_full', 'convert', 'convert_again', 'stats']);
row(`**DuckDB** COPY read_csv → parquet zstd, threads=${db.out.threads} (default), best of ${d.all.length}`, db, db.out.seconds);
if (runs['granary-1cpu']) row('granary engine, GOMAXPROCS=1', runs['granary-1cpu'], runs['granary-1cpu'].out.seconds);
if (runs['duckdb-1thread']) row('DuckDB, threads=1', runs['duckdb-1thread'], runs['duckdb-1thread'].out.seconds);
const gl = runs['granary-lake'];
if (gl) {
  row('granary engine + the product path\'s lake I/O (file:// lake, no Temporal)', gl, gl.out.seconds);
  phaseRows(gl, ['upload', 'infer', 'convert', 'put_blob', 'stats']);
}
const product = runs.product;
if (product) {
  row(`**granary product path**: \`granary dataset import --wait\` on \`granary dev\` (worker VmHWM; CLI ${mib(product.cli_max_rss_kib)} MiB)`, product, product.process_wall_s, rows, mb, product.worker_hwm_kib);
}
const small = runs['granary-small'];
if (small) {
  row(`granary engine at ${fmt(small.input_rows)} rows (RSS vs input size)`, small, small.out.seconds, small.input_rows, small.out.input_bytes / 1e6);
}

const head = ['engine', 'rows/s', 'MB/s', 'engine s', 'process wall s', 'CPU s', 'peak RSS MiB', 'ratio vs DuckDB', 'load 1m before → after', 'foreign CPU %'];
const md = [];
md.push(`### ${machine.date}: ${fmt(rows)} rows, ${fmt(mb, 0)} MB CSV`);
md.push('');
md.push(`Machine: ${machine.cpu}, ${machine.cores} cores, ${machine.mem_gib} GiB, Linux ${machine.kernel}; ${machine.go}, node ${machine.node}, DuckDB ${db.out.duckdb_version} (@duckdb/node-api 1.5.6-r.1, threads=${db.out.threads} and memory_limit=${db.out.memory_limit} by default); granary ${machine.granary} (GRANARY_SRC=${machine.granary_src ?? 'tree'}). Load average at start: ${machine.load_at_start}.`);
md.push('');
md.push('| ' + head.join(' | ') + ' |');
md.push('|' + head.map((_, i) => (i === 0 ? '---' : '---:')).join('|') + '|');
for (const t of table) md.push('| ' + t.join(' | ') + ' |');
md.push('');
md.push('rows/s and MB/s are over "engine s": for granary the sum of its phases (timed in-process), for DuckDB the COPY statement alone (timed in-process: no node start-up, no count check), for the product path the wall time of `granary dataset import --wait` (upload, workflow, polling). MB = 10^6 bytes of CSV (for the stats and put_blob phases: of parquet). Peak RSS is "Maximum resident set size" from /usr/bin/time -v; for the product path, the VmHWM of the `granary dev` process, which runs the worker (Temporal is its child process and is not counted). "foreign CPU %" is the share of the machine\'s CPU that other processes used during the run (/proc/stat minus the run\'s own CPU time); runs over ' + maxForeign + '% were re-run, ⚠ marks one that stayed over.');
md.push('');

const ratio = rows / gb.out.seconds / duckRate;
const granaryRSS = Object.values(runs).filter((r) => r.engine === 'granary' && r.max_rss_kib).map((r) => r.max_rss_kib);
const rssMax = Math.max(...granaryRSS, product?.worker_hwm_kib ?? 0, product?.cli_max_rss_kib ?? 0);
md.push('Targets:');
md.push(`- throughput ≥ 0.5 × DuckDB: granary engine **${ratio.toFixed(2)} ×** → ${ratio >= 0.5 ? 'PASS' : '**FAIL**'}` +
  ` (its convert phase alone ${(rows / gb.out.phases.convert.seconds / duckRate).toFixed(2)} ×` +
  (product ? `; product path ${(rows / product.process_wall_s / duckRate).toFixed(2)} ×)` : ')'));
md.push(`- peak RSS < 512 MiB: granary engine ${mib(Math.min(...granaryRSS))}–${mib(Math.max(...granaryRSS))} MiB over all runs` +
  (small ? ` (${mib(small.max_rss_kib)} MiB at ${fmt(small.input_rows)} rows, ${mib(gb.max_rss_kib)} MiB at ${fmt(rows)})` : '') +
  (product ? `; worker ${mib(product.worker_hwm_kib)} MiB, CLI ${mib(product.cli_max_rss_kib)} MiB` : '') +
  ` → ${rssMax < 512 * 1024 ? '**PASS**' : '**FAIL**'}. DuckDB: ${mib(Math.min(...Object.values(runs).filter((r) => r.engine === 'duckdb').map((r) => r.max_rss_kib)))}–${mib(Math.max(...[...Object.values(runs), ...discarded].filter((r) => r.engine === 'duckdb').map((r) => r.max_rss_kib)))} MiB.`);
if (runs['granary-1cpu'] && runs['duckdb-1thread']) {
  md.push(`- single-threaded (granary GOMAXPROCS=1 vs DuckDB threads=1): ${(runs['duckdb-1thread'].out.seconds / runs['granary-1cpu'].out.seconds).toFixed(2)} ×`);
}
md.push('');
md.push(`Parquet: granary ${fmt(gb.out.parquet_bytes / 1e6, 1)} MB in ${gb.out.row_groups} row groups, DuckDB ${fmt(db.out.parquet_bytes / 1e6, 1)} MB. ` +
  `ComputeStats over the parquet ${gb.out.stats_match ? 'gave exactly' : 'did NOT give'} the stats Convert had already computed. ` +
  (gb.out.stats_readat ? `Stats read the parquet in ${fmt(gb.out.stats_readat.calls)} ReadAt calls (${fmt(gb.out.stats_readat.bytes / gb.out.stats_readat.calls / 1024, 0)} KiB each on average); through lake.RangeReader each is one ranged Get.` : ''));
if (has('verify.txt')) {
  const v = readFileSync(join(dir, 'verify.txt'), 'utf8').trim().split('\n');
  md.push('');
  md.push('Side-by-side check (DuckDB reads both parquet files): ' + v.slice(0, -1).join('\n  '));
}
if (product) {
  md.push('');
  const acts = product.acts;
  const parts = acts ? acts.activities.map((a) => `${a.name} ${a.seconds.toFixed(2)} s`).join(', ') : '';
  const rest = acts ? product.process_wall_s - acts.workflow_seconds : null;
  md.push(`Product path: ${acts ? `${parts}; workflow ${acts.workflow_seconds.toFixed(2)} s; before and after it (CLI upload of the CSV into the lake, start, result polling) ${rest.toFixed(2)} s` : 'no workflow history'}. Worker RSS idle ${mib(product.worker_idle_rss_kib)} MiB, peak ${mib(product.worker_hwm_kib)} MiB, after ${mib(product.worker_rss_end_kib)} MiB; CPU: worker ${product.worker_cpu_s} s, Temporal ${product.temporal_cpu_s} s, CLI ${(product.cli_user_s + product.cli_sys_s).toFixed(1)} s.`);
  const same = product.blob_digests.split(' ').includes(product.importbench_parquet_sha256);
  md.push(`The version's parquet blob ${same ? 'is byte for byte' : 'is NOT'} the file bench/importbench wrote (${product.importbench_parquet_sha256.slice(0, 19)}…).`);
}
md.push('');
md.push('Every attempt (the table uses the fastest attempt of each run and the fastest of the alternating runs):');
md.push('');
md.push('| run | engine s | process wall s | CPU s | peak RSS MiB | load 1m before → after | foreign CPU % | attempt |');
md.push('|---|---:|---:|---:|---:|---|---:|---:|');
const allRows = [...Object.values(runs).map((r) => ({ ...r, note: '' })), ...discarded.map((r) => ({ ...r, note: ' (discarded)' }))];
allRows.sort((a, b) => (a.label + a.attempt).localeCompare(b.label + b.attempt));
for (const r of allRows) {
  const rss = r.variant === 'product' ? r.worker_hwm_kib : r.max_rss_kib;
  md.push(`| ${r.label}${r.note} | ${secondsOf(r).toFixed(2)} | ${r.process_wall_s.toFixed(2)} | ${cpuOf(r).toFixed(1)} | ${mib(rss)} | ${load(r)} | ${r.foreign_cpu_pct} | ${r.attempt} |`);
}
const text = md.join('\n') + '\n';
writeFileSync(join(dir, 'summary.md'), text);
writeFileSync(join(dir, 'summary.json'), JSON.stringify({ machine, ratio, runs, discarded }, null, 2));
process.stdout.write(text);
