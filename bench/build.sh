#!/usr/bin/env bash
# bench/build.sh: training-set build (exact point-in-time join) wall time,
# rows/s and peak RSS, granary vs DuckDB, on generated data (bench/build
# gen), checking that both give the same training set.
#
# Two cases, each in one run of this script:
#   full: spine SPINE rows over ENTITIES entities, EVENTS events; feature
#         view f: count_7d (count, 7d), sum_30d (sum amount, 30d),
#         max_30d (max amount, 30d), last_cat (last category);
#   asof: an as-of join alone: ASOF_SPINE probe rows against ENTITIES
#         entities x ASOF_PER_ENTITY events; feature last_amount.
# For each: granary's engine in process (bench/build run: extraction of the
# events, PartitionSpine, JoinShard per shard with pitjoin.Join, Assemble;
# JOBS activities at a time) and DuckDB (bench/duckdb/build.mjs: window
# functions with RANGE frames for the windows, ASOF JOIN for last),
# alternating, RUNS times each, best (fastest) reported; then
# bench/duckdb/build-verify.mjs compares the two outputs row by row.
#
#   bench/build.sh                      # 5M spine / 20M events, and 5M x (100k x 50)
#   SIZE=small bench/build.sh           # 500k / 2M and 500k x (10k x 50), ~1 minute
#
# Environment: SIZE (full|small), SPINE, EVENTS, ENTITIES, ASOF_SPINE,
# ASOF_PER_ENTITY, CASES ("full asof"), JOBS (2), RUNS (2), SEED (1),
# PROFILE (0; 1: per-phase CPU profiles of granary's engine after the
# timed runs), GRANARY_SRC (head|tree), MAX_FOREIGN (10), RETRIES (1),
# QUIET_WAIT (120), TIMEOUT (900 s per run: a run over it is killed and
# reported as such).
# Results: bench/out/build-SIZE/ (summary.md, summary.json, raw files).
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
TIMEOUT=${TIMEOUT:-900}
source bench/pipeline-common.sh

SIZE=${SIZE:-full}
case $SIZE in
full) d_spine=5000000 d_events=20000000 d_entities=100000 d_asof=5000000 ;;
small) d_spine=500000 d_events=2000000 d_entities=10000 d_asof=500000 ;;
*) die "SIZE must be full or small (or set SPINE, EVENTS, ENTITIES, ASOF_SPINE)" ;;
esac
SPINE=${SPINE:-$d_spine}
EVENTS=${EVENTS:-$d_events}
ENTITIES=${ENTITIES:-$d_entities}
ASOF_SPINE=${ASOF_SPINE:-$d_asof}
ASOF_PER_ENTITY=${ASOF_PER_ENTITY:-50}
ASOF_EVENTS=$((ENTITIES * ASOF_PER_ENTITY))
CASES=${CASES:-full asof}
JOBS=${JOBS:-2}
RUNS=${RUNS:-2}
SEED=${SEED:-1}
PROFILE=${PROFILE:-0}
RES=$OUT/build-$SIZE
DATA=$OUT/build
mkdir -p "$RES" "$DATA"
rm -f "$RES"/*.json "$RES"/*.err "$RES"/*.time "$RES"/*.meta "$RES"/*.txt "$RES"/*.md "$RES"/*.prof

build_progs build

dir_of() { # case
  if [[ $1 == full ]]; then echo "$DATA/data-$SPINE-$EVENTS-$ENTITIES-s$SEED"; else echo "$DATA/data-$ASOF_SPINE-$ASOF_EVENTS-$ENTITIES-s$SEED"; fi
}
gen() { # case
  local d s e
  d=$(dir_of "$1")
  if [[ $1 == full ]]; then s=$SPINE e=$EVENTS; else s=$ASOF_SPINE e=$ASOF_EVENTS; fi
  if [[ -f $d/spine.parquet && -f $d/events.parquet ]]; then
    log "using existing $d"
  else
    log "generating $d ($s spine rows, $e events over $ENTITIES entities, seed $SEED)"
    "$BIN/build" gen -spine "$s" -events "$e" -entities "$ENTITIES" -seed "$SEED" -dir "$d"
  fi
}

machine_json ",\"size\":\"$SIZE\",\"jobs\":$JOBS,\"case_order\":[\"full\",\"asof\"],
 \"rows_note\":\"spine (= output) rows per engine second; granary's engine s include extracting the raw events into sorted view shards, which DuckDB's SQL does implicitly (the ↳ build only row leaves it out)\",
 \"cases\":{\"full\":\"(1) spine $SPINE rows over $ENTITIES entities, $EVENTS events; count 7d, sum 30d, max 30d, last\",\"asof\":\"(2) as-of join alone: $ASOF_SPINE probe rows against $ENTITIES entities x $ASOF_PER_ENTITY events; last\"}" >"$RES/machine.json"

for c in $CASES; do
  gen "$c"
  d=$(dir_of "$c")
  # No stale output may reach the check, and a killed run leaves its work dir.
  rm -rf "$d/granary-$c.parquet" "$d/duckdb-$c.parquet" "$d"/granary-build-work-*
  for i in $(seq 1 "$RUNS"); do
    log "case $c run $i/$RUNS: granary"
    run "granary-$c-$i" granary "jobs=$JOBS" "$BIN/build" run -case "$c" -dir "$d" -out "$d/granary-$c.parquet" -jobs "$JOBS"
    log "case $c run $i/$RUNS: DuckDB"
    run "duckdb-$c-$i" duckdb default node bench/duckdb/build.mjs "$d" "$d/duckdb-$c.parquet" --case "$c"
  done
  if [[ -f $d/granary-$c.parquet && -f $d/duckdb-$c.parquet ]]; then
    log "side-by-side check ($c)"
    node bench/duckdb/build-verify.mjs "$d/granary-$c.parquet" "$d/duckdb-$c.parquet" >"$RES/verify-$c.txt" || true
    grep -v '^{' "$RES/verify-$c.txt" >&2
  else
    echo "no side-by-side check: an engine produced no output" >"$RES/verify-$c.txt"
  fi
  if [[ $PROFILE == 1 ]]; then
    log "CPU profiles of granary's engine ($c): $RES/granary-$c-PHASE.prof"
    "$BIN/build" run -case "$c" -dir "$d" -out "$d/granary-$c.parquet" -jobs "$JOBS" -cpuprofile "$RES/granary-$c" >/dev/null
    for p in "$RES"/granary-"$c"-*.prof; do
      go tool pprof -top -nodecount=30 "$BIN/build" "$p" >"${p%.prof}.txt" 2>/dev/null || true
    done
  fi
done

node bench/duckdb/pipeline-report.mjs "$RES" "Training-set build (bench/build.sh, SIZE=$SIZE)"
