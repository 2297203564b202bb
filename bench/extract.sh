#!/usr/bin/env bash
# bench/extract.sh: feature extraction throughput and peak RSS, granary vs
# DuckDB, on one generated source (bench/extract gen: user_id, ts, amount,
# category; ROWS rows over ROWS/10 entities).
#
# In one run:
#   1. granary's extraction engine in process (bench/extract run:
#      shard.Partition with the filter `amount > 0` compiled as the
#      activities compile it, then shard.SortShard per shard, JOBS at a
#      time) and DuckDB (bench/duckdb/extract.mjs: the same filter,
#      hash(user_id) % SHARDS, each shard written ordered by (user_id, ts)
#      as zstd parquet), alternating, RUNS times each; best (fastest) run
#      reported;
#   2. the same at SMALL_ROWS (same rows per shard, fewer shards), to show
#      that granary's peak RSS follows the shard size, not the data size;
#   3. a side-by-side check (bench/duckdb/extract-verify.mjs) that both
#      outputs hold the same rows, every entity in one shard, every shard
#      sorted by (user_id, ts).
#
#   bench/extract.sh                # 10M and 4M rows, ~5 minutes
#   SIZE=small bench/extract.sh     # 1M and 400k rows (200k per shard), ~1 minute
#
# Environment: SIZE (full|small: the defaults below, or 1M/400k/200k),
# ROWS (10000000), SMALL_ROWS (4000000; 0 skips), SHARD_ROWS
# (2000000 source rows per shard, granary extract's default), JOBS (2
# sort activities at once), RUNS (2), SEED (1), PROFILE (0; 1: CPU profile
# of granary's engine after the timed runs), GRANARY_SRC (head|tree),
# MAX_FOREIGN (10), RETRIES (1), QUIET_WAIT (120), TIMEOUT (1800 s per run).
# Results: bench/out/extract-ROWS/ (summary.md, summary.json, raw files).
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
source bench/pipeline-common.sh

SIZE=${SIZE:-full}
case $SIZE in
full) d_rows=10000000 d_small=4000000 d_shard=2000000 ;;
small) d_rows=1000000 d_small=400000 d_shard=200000 ;;
*) die "SIZE must be full or small (or set ROWS, SMALL_ROWS, SHARD_ROWS)" ;;
esac
ROWS=${ROWS:-$d_rows}
SMALL_ROWS=${SMALL_ROWS:-$d_small}
SHARD_ROWS=${SHARD_ROWS:-$d_shard}
JOBS=${JOBS:-2}
RUNS=${RUNS:-2}
SEED=${SEED:-1}
PROFILE=${PROFILE:-0}
RES=$OUT/extract-$ROWS
DATA=$OUT/extract
mkdir -p "$RES" "$DATA"
rm -f "$RES"/*.json "$RES"/*.err "$RES"/*.time "$RES"/*.meta "$RES"/*.txt "$RES"/*.md "$RES"/*.prof

build_progs extract

src_of() { echo "$DATA/src-$1-s$SEED.parquet"; }
gen() { # rows
  local f
  f=$(src_of "$1")
  if [[ -f $f ]]; then
    log "using existing $f"
  else
    log "generating $f ($1 rows over $(($1 / 10)) entities, seed $SEED)"
    "$BIN/extract" gen -rows "$1" -entities $(($1 / 10)) -seed "$SEED" -out "$f"
  fi
}
shards_of() { echo $(((($1 + SHARD_ROWS - 1) / SHARD_ROWS))); }

gen "$ROWS"
CASES=(full)
if [[ $SMALL_ROWS != 0 && $SMALL_ROWS != "$ROWS" ]]; then
  gen "$SMALL_ROWS"
  CASES+=(small)
fi
rows_of() { if [[ $1 == full ]]; then echo "$ROWS"; else echo "$SMALL_ROWS"; fi; }

machine_json ",\"rows\":$ROWS,\"small_rows\":$SMALL_ROWS,\"shard_rows\":$SHARD_ROWS,\"jobs\":$JOBS,\"case_order\":[\"full\",\"small\"],
 \"rows_note\":\"source rows (before the filter) per engine second\",
 \"cases\":{\"full\":\"$ROWS source rows over $((ROWS / 10)) entities, $(shards_of "$ROWS") shards\",\"small\":\"$SMALL_ROWS source rows over $((SMALL_ROWS / 10)) entities, $(shards_of "$SMALL_ROWS") shards (same rows per shard)\"}" >"$RES/machine.json"

for c in "${CASES[@]}"; do
  rows=$(rows_of "$c"); shards=$(shards_of "$rows"); src=$(src_of "$rows")
  # No stale output may reach the check, and a killed run leaves its parts.
  rm -rf "$DATA/granary-$rows" "$DATA/duckdb-$rows" "$DATA"/granary-extract-parts-*
  for i in $(seq 1 "$RUNS"); do
    log "$c ($rows rows, $shards shards) run $i/$RUNS: granary"
    run "granary-$c-$i" granary "jobs=$JOBS" "$BIN/extract" run -in "$src" -out "$DATA/granary-$rows" -shards "$shards" -jobs "$JOBS"
    log "$c ($rows rows, $shards shards) run $i/$RUNS: DuckDB"
    run "duckdb-$c-$i" duckdb default node bench/duckdb/extract.mjs "$src" "$DATA/duckdb-$rows" "$shards"
  done
  log "side-by-side check ($c)"
  if [[ -d $DATA/granary-$rows && -d $DATA/duckdb-$rows ]]; then
    node bench/duckdb/extract-verify.mjs "$DATA/granary-$rows" "$DATA/duckdb-$rows" >"$RES/verify-$c.txt" || true
    grep -v '^{' "$RES/verify-$c.txt" >&2
  else
    echo "no side-by-side check: an engine produced no output" >"$RES/verify-$c.txt"
  fi
done

if [[ $PROFILE == 1 ]]; then
  log "CPU profile of granary's engine ($ROWS rows): $RES/granary.prof"
  "$BIN/extract" run -in "$(src_of "$ROWS")" -out "$DATA/granary-$ROWS" -shards "$(shards_of "$ROWS")" -jobs "$JOBS" -cpuprofile "$RES/granary.prof" >/dev/null
  go tool pprof -top -nodecount=25 "$BIN/extract" "$RES/granary.prof" >"$RES/granary-prof.txt" 2>/dev/null || true
fi

node bench/duckdb/pipeline-report.mjs "$RES" "Extraction (bench/extract.sh)"
