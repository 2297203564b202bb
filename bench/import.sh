#!/usr/bin/env bash
# bench/import.sh: CSV import throughput and peak RSS, granary vs DuckDB.
#
# In one run, on one generated CSV (bench/gen, 8 columns):
#   1. granary's engine (bench/importbench: InferSchema, Convert to zstd
#      parquet, stats over the written parquet, as the import activities do)
#      and DuckDB (`COPY (SELECT * FROM read_csv(..)) TO .. (FORMAT parquet,
#      COMPRESSION zstd)` through @duckdb/node-api), alternating, RUNS times
#      each; the table reports each engine's best (fastest) run;
#   2. one run each single-threaded (granary GOMAXPROCS=1, DuckDB threads=1);
#   3. granary's engine once more with the product path's lake I/O around it
#      (importbench -lake: CSV upload, blob reads, parquet blob put, stats
#      through lake.BlobReaderAt; no Temporal), and on a smaller file
#      (SMALL_ROWS), to show peak RSS does not grow with the input;
#   4. a side-by-side check that both parquet files hold the same data;
#   5. the full product path once: `granary dev` on free ports, then
#      `granary dataset import NAME CSV --wait`, wall time and the worker's
#      peak RSS (VmHWM of the granary process; Temporal, its child, excluded).
#
# Every timed run records the load average before and after, and the share
# of the machine's CPU that other processes used while it ran ("foreign
# CPU"); a run with more than MAX_FOREIGN % foreign CPU is re-run (up to
# RETRIES times), the fastest attempt stands for the run, and the report
# lists every attempt (⚠ marks a run whose best attempt stayed over).
#
#   bench/import.sh                      # 10M rows (~1.1 GB CSV), 10-15 min on a quiet machine
#   ROWS=1000000 bench/import.sh         # quick mode
#
# Environment: ROWS (10000000), SMALL_ROWS (ROWS/5), RUNS (2), SEED (1),
# SINGLE (1: single-thread runs), PRODUCT (1: product path), VERIFY_ROWS (1:
# full row-by-row EXCEPT ALL check), PROFILE (0; 1: per-phase CPU profiles
# of granary's engine after the timed runs), MAX_FOREIGN (10), RETRIES (2),
# QUIET_WAIT (120: seconds to wait for a quiet machine before each run),
# GRANARY_SRC (head: build granary from the last commit; tree: as it is).
# Results: bench/out/results-ROWS/ (summary.md, summary.json, raw files).
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD

ROWS=${ROWS:-10000000}
SMALL_ROWS=${SMALL_ROWS:-$((ROWS / 5))}
RUNS=${RUNS:-2}
SEED=${SEED:-1}
SINGLE=${SINGLE:-1}
PRODUCT=${PRODUCT:-1}
VERIFY_ROWS=${VERIFY_ROWS:-1}
PROFILE=${PROFILE:-0}
MAX_FOREIGN=${MAX_FOREIGN:-10}
RETRIES=${RETRIES:-2}
QUIET_WAIT=${QUIET_WAIT:-120}

OUT=bench/out
BIN=$OUT/bin
RES=$OUT/results-$ROWS
CSV=$OUT/x-$ROWS.csv
CSV_SMALL=$OUT/x-$SMALL_ROWS.csv
GPQ=$OUT/granary-$ROWS.parquet
DPQ=$OUT/duckdb-$ROWS.parquet
HZ=$(getconf CLK_TCK)
NCPU=$(nproc)

log() { printf '\033[1m== %s\033[0m\n' "$*" >&2; }
die() { echo "bench/import.sh: $*" >&2; exit 1; }

for tool in go node npm /usr/bin/time awk; do
  command -v "$tool" >/dev/null || die "$tool is required"
done
[[ -x bin/temporal ]] || [[ $PRODUCT == 0 ]] || die "bin/temporal is missing: run 'make tools' first (or PRODUCT=0)"

# ---------------------------------------------------------------- build
# GRANARY_SRC=head (default) builds granary from a snapshot of the last
# commit (git archive HEAD into bench/out/src-REV), so that the figures name
# a commit and uncommitted work in the tree (other people's included) cannot
# change or break them; GRANARY_SRC=tree builds the working tree as it is,
# e.g. to measure a change before committing it. The bench/ programs always
# come from the working tree.
GRANARY_SRC=${GRANARY_SRC:-head}
mkdir -p "$BIN" "$RES"
case $GRANARY_SRC in
head)
  REV=$(git rev-parse --short=12 HEAD)
  SRC=$OUT/src-$REV
  if [[ ! -f $SRC/go.mod ]]; then
    # Other bench scripts share these snapshots: unpack beside, then rename.
    rm -rf "$SRC.tmp.$$"; mkdir -p "$SRC.tmp.$$"
    git archive --format=tar HEAD | tar -x -C "$SRC.tmp.$$"
    mv "$SRC.tmp.$$" "$SRC" 2>/dev/null || rm -rf "$SRC.tmp.$$"
  fi
  rm -rf "$SRC/bench/gen" "$SRC/bench/importbench"; mkdir -p "$SRC/bench"
  cp -r bench/gen bench/importbench "$SRC/bench/"
  VERSION=$REV
  ;;
tree)
  SRC=.
  VERSION=$(git describe --always --dirty 2>/dev/null || echo dev)
  ;;
*) die "GRANARY_SRC must be head or tree" ;;
esac
log "build granary $VERSION (GRANARY_SRC=$GRANARY_SRC) into bench/out/bin; bin/granary is left alone"
(cd "$SRC" && go build -trimpath -ldflags "-X github.com/granaryml/granary/internal/buildinfo.Version=$VERSION" -o "$ROOT/$BIN/granary" ./cmd/granary)
(cd "$SRC" && go build -o "$ROOT/$BIN/importbench" ./bench/importbench)
(cd "$SRC" && go build -o "$ROOT/$BIN/gen" ./bench/gen)
if [[ ! -d bench/duckdb/node_modules/@duckdb/node-api ]]; then
  log "npm ci (bench/duckdb: @duckdb/node-api, pinned in package-lock.json)"
  npm ci --prefix bench/duckdb --no-audit --no-fund >&2
fi

# ---------------------------------------------------------------- data
gen() { # rows file
  if [[ -f $2 ]]; then
    log "using existing $2"
  else
    log "generating $2 ($1 rows, seed $SEED)"
    "$BIN/gen" -rows "$1" -seed "$SEED" -out "$2"
  fi
}
gen "$ROWS" "$CSV"
[[ $SMALL_ROWS == "$ROWS" ]] || gen "$SMALL_ROWS" "$CSV_SMALL"

# ---------------------------------------------------------------- measuring
# CPU jiffies the whole machine spent busy (user nice system irq softirq steal).
busy_jiffies() { awk '/^cpu /{print $2+$3+$4+$7+$8+$9; exit}' /proc/stat; }
now() { date +%s.%N; }
loadavg() { cut -d' ' -f1-3 /proc/loadavg; }

# Busy share of the machine (%) over a 2-second sample.
busy_pct() {
  local b0 b1 t0 t1
  t0=$(now); b0=$(busy_jiffies); sleep 2; b1=$(busy_jiffies); t1=$(now)
  awk -v d=$((b1 - b0)) -v hz="$HZ" -v n="$NCPU" -v a="$t0" -v b="$t1" 'BEGIN{printf "%.1f", d/hz/((b-a)*n)*100}'
}

# Waits (up to QUIET_WAIT s) until other processes use under MAX_FOREIGN %
# of the machine, so that runs start on a quiet machine when there is one.
BUSY_BEFORE=0
wait_quiet() {
  local waited=0
  while :; do
    BUSY_BEFORE=$(busy_pct)
    awk -v b="$BUSY_BEFORE" -v m="$MAX_FOREIGN" 'BEGIN{exit !(b < m)}' && return
    ((waited >= QUIET_WAIT)) && { log "machine still busy (${BUSY_BEFORE}% CPU), running anyway"; return; }
    log "machine busy (${BUSY_BEFORE}% CPU by others, load $(loadavg)), waiting..."
    sleep 8; waited=$((waited + 10))
  done
}

# time_field FILE "Label": a value from /usr/bin/time -v output.
time_field() { awk -F': ' -v k="$2" '$1 ~ "^[ \t]*"k"$" {print $2; exit}' "$1"; }

# run LABEL ENGINE VARIANT INPUT_ROWS CMD...: one timed run under
# /usr/bin/time -v, re-run while other processes used more than MAX_FOREIGN %
# of the machine. Writes RES/LABEL.{json,err,time,meta}.
run() {
  local label=$1 engine=$2 variant=$3 rows=$4; shift 4
  local attempt=1
  while :; do
    wait_quiet
    local lb la b0 b1 t0 t1 wall user sys own foreign rss
    lb=$(loadavg); b0=$(busy_jiffies); t0=$(now)
    if ! /usr/bin/time -v -o "$RES/$label.time" "$@" >"$RES/$label.json" 2>"$RES/$label.err"; then
      cat "$RES/$label.err" >&2; die "$label failed"
    fi
    t1=$(now); b1=$(busy_jiffies); la=$(loadavg)
    user=$(time_field "$RES/$label.time" "User time \\(seconds\\)")
    sys=$(time_field "$RES/$label.time" "System time \\(seconds\\)")
    rss=$(time_field "$RES/$label.time" "Maximum resident set size \\(kbytes\\)")
    wall=$(awk -v a="$t0" -v b="$t1" 'BEGIN{printf "%.3f", b-a}')
    foreign=$(awk -v d=$((b1 - b0)) -v hz="$HZ" -v u="$user" -v s="$sys" -v w="$wall" -v n="$NCPU" \
      'BEGIN{f=(d/hz-u-s)/(w*n)*100; if(f<0)f=0; printf "%.1f", f}')
    cat >"$RES/$label.meta" <<EOF
{"label":"$label","engine":"$engine","variant":"$variant","input_rows":$rows,"attempt":$attempt,
 "load_before":"$lb","load_after":"$la","busy_before_pct":$BUSY_BEFORE,"foreign_cpu_pct":$foreign,
 "process_wall_s":$wall,"user_s":$user,"sys_s":$sys,"max_rss_kib":$rss}
EOF
    log "$label: ${wall}s wall, $(awk -v k="$rss" 'BEGIN{printf "%.0f", k/1024}') MiB peak RSS, load $lb -> $la, foreign CPU ${foreign}%"
    if awk -v f="$foreign" -v m="$MAX_FOREIGN" 'BEGIN{exit !(f > m)}' && ((attempt <= RETRIES)); then
      log "$label looks contaminated (${foreign}% of the CPU went to other processes): re-running"
      for ext in json err time meta; do mv "$RES/$label.$ext" "$RES/$label.contaminated-$attempt.$ext"; done
      attempt=$((attempt + 1))
      continue
    fi
    return
  done
}

rm -f "$RES"/*.json "$RES"/*.err "$RES"/*.time "$RES"/*.meta "$RES"/*.txt "$RES"/*.prof "$RES"/*.hist "$RES"/*.acts "$RES"/*.md
cat >"$RES/machine.json" <<EOF
{"date":"$(date -u +%Y-%m-%dT%H:%M:%SZ)","cpu":"$(awk -F': ' '/model name/{print $2; exit}' /proc/cpuinfo)","cores":$NCPU,
 "mem_gib":$(awk '/MemTotal/{printf "%.1f", $2/1048576}' /proc/meminfo),"kernel":"$(uname -r)","go":"$(go env GOVERSION)",
 "node":"$(node --version)","granary":"$VERSION","granary_src":"$GRANARY_SRC","rows":$ROWS,"small_rows":$SMALL_ROWS,"runs":$RUNS,
 "csv_bytes":$(stat -c %s "$CSV"),"load_at_start":"$(loadavg)","max_foreign_pct":$MAX_FOREIGN}
EOF

# ---------------------------------------------------------------- engines
for i in $(seq 1 "$RUNS"); do
  log "run $i/$RUNS: granary engine"
  run "granary-$i" granary default "$ROWS" "$BIN/importbench" -in "$CSV" -out "$GPQ"
  log "run $i/$RUNS: DuckDB"
  run "duckdb-$i" duckdb default "$ROWS" node bench/duckdb/copy.mjs "$CSV" "$DPQ"
done
if [[ $SINGLE == 1 ]]; then
  log "single-threaded: granary GOMAXPROCS=1"
  run granary-1cpu granary "GOMAXPROCS=1" "$ROWS" env GOMAXPROCS=1 "$BIN/importbench" -in "$CSV"
  log "single-threaded: DuckDB threads=1"
  run duckdb-1thread duckdb "threads=1" "$ROWS" node bench/duckdb/copy.mjs "$CSV" "$OUT/duckdb-1thread.parquet" --threads 1
  rm -f "$OUT/duckdb-1thread.parquet"
fi
log "granary engine with the product path's lake I/O (upload, blob reads, blob put; no Temporal)"
run granary-lake granary lake "$ROWS" "$BIN/importbench" -in "$CSV" -lake "$OUT/lakes"
if [[ $SMALL_ROWS != "$ROWS" ]]; then
  log "granary engine at $SMALL_ROWS rows (peak RSS against input size)"
  run granary-small granary default "$SMALL_ROWS" "$BIN/importbench" -in "$CSV_SMALL"
fi

# ---------------------------------------------------------------- verify
log "side-by-side check: $GPQ vs $DPQ"
vflag=()
[[ $VERIFY_ROWS == 1 ]] && vflag=(--rows)
node bench/duckdb/verify.mjs "$GPQ" "$DPQ" "${vflag[@]}" >"$RES/verify.txt" || true
sed '$d' "$RES/verify.txt" >&2

# ---------------------------------------------------------------- product
free_port() { node -e "const s=require('net').createServer().listen(0,'127.0.0.1',()=>{console.log(s.address().port);s.close()})"; }
proc_cpu_s() { # utime+stime of one process, seconds (0 if gone)
  awk -v hz="$HZ" '{sub(/.*\) /,""); printf "%.2f", ($12+$13)/hz}' "/proc/$1/stat" 2>/dev/null || echo 0
}
status_kib() { awk -v k="$2:" '$1==k{print $2}' "/proc/$1/status"; }

DEV_PID=
stop_dev() {
  if [[ -n $DEV_PID ]] && kill -0 "$DEV_PID" 2>/dev/null; then
    kill -TERM "$DEV_PID" 2>/dev/null || true
    wait "$DEV_PID" 2>/dev/null || true
  fi
  DEV_PID=
}
trap stop_dev EXIT

# product_once ATTEMPT: a fresh `granary dev` (new state, so no blob or
# conversion memo is reused), one timed import, the worker's VmHWM, stop.
# Sets FOREIGN to the share of CPU used by processes other than the CLI, the
# worker and Temporal.
FOREIGN=0
product_once() {
  local attempt=$1
  log "product path (attempt $attempt): granary dev (fresh state in $STATE), then granary dataset import $NAME"
  rm -rf "$STATE"; mkdir -p "$STATE"
  local P U ADDR UI TPID idle_rss idle_hwm lb la b0 b1 w0 w1 tc0 tc1 t0 t1 hwm rss_end cli_user cli_sys cli_rss wall WFID VER blob mine
  P=$(free_port); U=$(free_port)
  GRANARY_BIN_DIR=$ROOT/bin "$BIN/granary" dev --state-dir "$STATE" --port "$P" --ui-port "$U" >"$RES/dev.out" 2>&1 &
  DEV_PID=$!
  for _ in $(seq 1 240); do
    [[ -f $STATE/dev.json ]] && break
    kill -0 "$DEV_PID" 2>/dev/null || { cat "$RES/dev.out" >&2; die "granary dev exited early"; }
    sleep 0.5
  done
  [[ -f $STATE/dev.json ]] || { cat "$RES/dev.out" >&2; die "granary dev not ready in 120s"; }
  ADDR=$(node -p "require('$ROOT/$STATE/dev.json').temporal_address")
  UI=$(node -p "require('$ROOT/$STATE/dev.json').ui_url")
  TPID=$(ps -o pid= --ppid "$DEV_PID" | head -1 | tr -d ' ')
  idle_rss=$(status_kib "$DEV_PID" VmRSS); idle_hwm=$(status_kib "$DEV_PID" VmHWM)
  wait_quiet
  lb=$(loadavg); b0=$(busy_jiffies); w0=$(proc_cpu_s "$DEV_PID"); tc0=$(proc_cpu_s "$TPID"); t0=$(now)
  # --output is a global flag: it goes before the command (see bench/README.md).
  if ! GRANARY_TEMPORAL_ADDRESS=$ADDR GRANARY_LAKE="file://$ROOT/$STATE/lake" GRANARY_UI_URL=$UI \
    /usr/bin/time -v -o "$RES/product.time" "$BIN/granary" --output json dataset import "$NAME" "$CSV" --wait \
    >"$RES/product.json" 2>"$RES/product.err"; then
    cat "$RES/product.err" >&2; die "product import failed"
  fi
  t1=$(now); b1=$(busy_jiffies); w1=$(proc_cpu_s "$DEV_PID"); tc1=$(proc_cpu_s "$TPID"); la=$(loadavg)
  hwm=$(status_kib "$DEV_PID" VmHWM); rss_end=$(status_kib "$DEV_PID" VmRSS)
  cli_user=$(time_field "$RES/product.time" "User time \\(seconds\\)")
  cli_sys=$(time_field "$RES/product.time" "System time \\(seconds\\)")
  cli_rss=$(time_field "$RES/product.time" "Maximum resident set size \\(kbytes\\)")
  wall=$(awk -v a="$t0" -v b="$t1" 'BEGIN{printf "%.3f", b-a}')
  FOREIGN=$(awk -v d=$((b1 - b0)) -v hz="$HZ" -v c="$cli_user" -v s="$cli_sys" -v w0="$w0" -v w1="$w1" -v t0="$tc0" -v t1="$tc1" -v w="$wall" -v n="$NCPU" \
    'BEGIN{f=(d/hz-c-s-(w1-w0)-(t1-t0))/(w*n)*100; if(f<0)f=0; printf "%.1f", f}')
  WFID=$(node -p "require('$ROOT/$RES/product.json').workflow_id")
  VER=$(node -p "require('$ROOT/$RES/product.json').version")
  bin/temporal workflow show -w "$WFID" --address "$ADDR" -o json >"$RES/product.hist"
  node bench/lib/history.mjs "$RES/product.hist" >"$RES/product.acts"
  # The lake blob should be byte for byte the parquet importbench wrote.
  blob=$(node -p "require('$ROOT/$STATE/lake/datasets/$NAME/versions/$VER.json').files.map(f=>f.digest).join(' ')" 2>/dev/null || echo "?")
  mine=$(sha256sum "$GPQ" | cut -d' ' -f1)
  cat >"$RES/product.meta" <<EOF
{"label":"product","engine":"granary","variant":"product","input_rows":$ROWS,"attempt":$attempt,
 "load_before":"$lb","load_after":"$la","busy_before_pct":$BUSY_BEFORE,"foreign_cpu_pct":$FOREIGN,
 "process_wall_s":$wall,"cli_user_s":$cli_user,"cli_sys_s":$cli_sys,"cli_max_rss_kib":$cli_rss,
 "worker_pid":$DEV_PID,"worker_idle_rss_kib":$idle_rss,"worker_idle_hwm_kib":$idle_hwm,"worker_hwm_kib":$hwm,"worker_rss_end_kib":$rss_end,
 "worker_cpu_s":$(awk -v a="$w0" -v b="$w1" 'BEGIN{printf "%.2f", b-a}'),"temporal_cpu_s":$(awk -v a="$tc0" -v b="$tc1" 'BEGIN{printf "%.2f", b-a}'),
 "blob_digests":"$blob","importbench_parquet_sha256":"sha256:$mine"}
EOF
  log "product: ${wall}s wall, worker VmHWM $((hwm / 1024)) MiB (idle $((idle_hwm / 1024)) MiB), CLI $((cli_rss / 1024)) MiB, load $lb -> $la, foreign CPU ${FOREIGN}%"
  stop_dev
}

if [[ $PRODUCT == 1 ]]; then
  STATE=$OUT/state
  NAME=bench$ROWS
  ((ROWS % 1000000 == 0)) && NAME=bench$((ROWS / 1000000))m
  for attempt in $(seq 1 $((RETRIES + 1))); do
    product_once "$attempt"
    awk -v f="$FOREIGN" -v m="$MAX_FOREIGN" 'BEGIN{exit !(f > m)}' || break
    ((attempt <= RETRIES)) || break
    log "product path looks contaminated (${FOREIGN}% of the CPU went to other processes): re-running"
    for ext in json err time meta hist acts; do mv "$RES/product.$ext" "$RES/product.contaminated-$attempt.$ext"; done
  done
fi

# ---------------------------------------------------------------- profile
if [[ $PROFILE == 1 ]]; then
  log "CPU profiles of granary's engine, one per phase (untimed run)"
  "$BIN/importbench" -in "$CSV" -phaseprofiles "$RES" >"$RES/profile-run.json"
  for p in infer convert stats; do
    go tool pprof -top -nodecount=25 "$BIN/importbench" "$RES/$p.prof" >"$RES/pprof-$p-flat.txt" 2>/dev/null
    go tool pprof -top -cum -nodecount=40 "$BIN/importbench" "$RES/$p.prof" >"$RES/pprof-$p-cum.txt" 2>/dev/null
  done
  log "profiles: $RES/{infer,convert,stats}.prof, top lists in $RES/pprof-*.txt"
fi

# ---------------------------------------------------------------- report
node bench/lib/report.mjs "$RES"
