#!/usr/bin/env bash
# bench/serve.sh: online serving latency and throughput, granary vs Redis
# (as Feast's Redis online store serves features), on one generated view:
# ENTITIES entities x FEATURES features.
#
# In one run:
#   1. bench/serve gen: a file lake under bench/out/serve/ with one serving
#      index version (servingtest.Commit, SHARDS shards, alias latest);
#      skipped when it already exists with the same parameters;
#   2. granary's API (bench/serve server: serving.New + the first Refresh,
#      timed, + http.Server as `granary serve` sets it up) and a
#      redis-server (--save '' --appendonly no) on free loopback ports,
#      each its own process; bench/serve redis-load writes the same values
#      into Redis as one hash per entity;
#   3. a cross-check (bench/serve check): CHECK_N ids, present and absent,
#      looked up in both, one at a time and in batches; every value must be
#      identical (floats bit for bit), else the run stops;
#   4. the matrix {single, batch100} x {1, 16, 64} concurrent clients x
#      {granary, Redis}, each cell a closed loop in a third process
#      (bench/serve load) of at most SINGLE_REQUESTS / BATCH_REQUESTS
#      requests and MAX_SECONDS, after a short warm-up; a cell during which
#      other processes took more than MAX_FOREIGN % of the machine's CPU is
#      re-run (up to RETRIES times);
#   5. the report: a markdown table of req/s and p50/p99/p99.9 latency per
#      cell, memory per entity, index load time, PASS/FAIL for the targets.
#
#   bench/serve.sh                  # 1M entities x 20 features, 3-5 minutes (gen: ~3 s the first time)
#   SMOKE=1 bench/serve.sh          # 20k entities, small cells, ~10 s
#   PROFILE=1 bench/serve.sh        # + 10 s CPU profiles of the granary server at concurrency 16
#
# Environment: SMOKE (0), ENTITIES (1000000), FEATURES (20), SHARDS (8),
# SEED (1), SINGLE_REQUESTS (20000), BATCH_REQUESTS (3000), MAX_SECONDS
# (20 per cell), WARMUP_SINGLE (2000), WARMUP_BATCH (200), CONCS ("1 16
# 64"), MODES ("single batch100"), MISS (0.01 of ids absent), REDIS_CMD
# (hmget, Feast's command; or hgetall), DECODE (1; 0: the load generator
# reads answers without parsing them into typed values), RATES (none;
# e.g. "2000 5000 10000": also single lookups in an open loop at those
# requests/s, 16 workers, MAX_SECONDS/2 each), CHECK_N (1000), MAX_FOREIGN (10),
# RETRIES (1), QUIET_WAIT (60 s), PROFILE (0), PIN (0; 1: server on CPU 0,
# load generator on CPU 1, results in serve-ENTITIES-pinned/), GRANARY_SRC
# (head|tree).
# Results: bench/out/serve-ENTITIES/ (or serve-smoke/): summary.md,
# summary.json and the raw JSON of every process.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD

log() { printf '\033[1m== %s\033[0m\n' "$*" >&2; }
die() { echo "$(basename "$0"): $*" >&2; exit 1; }

SMOKE=${SMOKE:-0}
if [[ $SMOKE == 1 ]]; then
  d_entities=20000 d_single=2000 d_batch=200 d_secs=5 d_wsingle=200 d_wbatch=20 d_check=200 d_quiet=0
else
  d_entities=1000000 d_single=20000 d_batch=3000 d_secs=20 d_wsingle=2000 d_wbatch=200 d_check=1000 d_quiet=60
fi
ENTITIES=${ENTITIES:-$d_entities}
FEATURES=${FEATURES:-20}
SHARDS=${SHARDS:-8}
SEED=${SEED:-1}
SINGLE_REQUESTS=${SINGLE_REQUESTS:-$d_single}
BATCH_REQUESTS=${BATCH_REQUESTS:-$d_batch}
MAX_SECONDS=${MAX_SECONDS:-$d_secs}
WARMUP_SINGLE=${WARMUP_SINGLE:-$d_wsingle}
WARMUP_BATCH=${WARMUP_BATCH:-$d_wbatch}
CONCS=${CONCS:-1 16 64}
MODES=${MODES:-single batch100}
MISS=${MISS:-0.01}
REDIS_CMD=${REDIS_CMD:-hmget}
DECODE=${DECODE:-1}
RATES=${RATES:-}
CHECK_N=${CHECK_N:-$d_check}
MAX_FOREIGN=${MAX_FOREIGN:-10}
RETRIES=${RETRIES:-1}
QUIET_WAIT=${QUIET_WAIT:-$d_quiet}
PROFILE=${PROFILE:-0}
PIN=${PIN:-0}

OUT=bench/out
BIN=$OUT/servebench
DATA=$OUT/serve/data-$ENTITIES-$FEATURES-s$SEED-$SHARDS
if [[ $SMOKE == 1 ]]; then RES=$OUT/serve-smoke; else RES=$OUT/serve-$ENTITIES; fi
[[ $DECODE == 1 ]] || RES=$RES-nodecode
[[ $REDIS_CMD == hmget ]] || RES=$RES-$REDIS_CMD
[[ $PIN == 1 ]] && RES=$RES-pinned
# PIN=1: the server under test (granary's, or redis-server) on CPU 0 and
# the load generator on CPU 1, as a client on another machine would be;
# by default all three processes share both CPUs.
SRV_PIN=() LOAD_PIN=()
if [[ $PIN == 1 ]]; then
  command -v taskset >/dev/null || die "PIN=1 needs taskset (util-linux)"
  (($(nproc) >= 2)) || die "PIN=1 needs two CPUs"
  SRV_PIN=(taskset -c 0) LOAD_PIN=(taskset -c 1)
fi
mkdir -p "$RES" "$OUT/serve"
rm -f "$RES"/*.json "$RES"/*.err "$RES"/*.log "$RES"/*.md "$RES"/*.prof "$RES"/*.txt

command -v go >/dev/null || die "go is required"
if ! command -v redis-server >/dev/null; then
  # Someone else's apt-get may be installing it right now: wait for dpkg.
  for _ in $(seq 60); do
    fuser /var/lib/dpkg/lock-frontend >/dev/null 2>&1 || break
    log "waiting for a running apt/dpkg to finish (see /tmp/apt.log)"; sleep 5
  done
fi
if ! command -v redis-server >/dev/null; then
  [[ $(id -u) == 0 ]] || die "redis-server is required: apt-get install -y redis-server"
  log "installing redis-server (apt-get)"
  apt-get update >&2 && DEBIAN_FRONTEND=noninteractive apt-get install -y redis-server >&2
fi

HZ=$(getconf CLK_TCK)
NCPU=$(nproc)
busy_jiffies() { awk '/^cpu /{print $2+$3+$4+$7+$8+$9; exit}' /proc/stat; }
busy_pct() {
  local b0 b1
  b0=$(busy_jiffies); sleep 2; b1=$(busy_jiffies)
  awk -v d=$((b1 - b0)) -v hz="$HZ" -v n="$NCPU" 'BEGIN{printf "%.1f", d/hz/(2*n)*100}'
}
# Wait (up to QUIET_WAIT s) until the machine is quiet: both servers are
# idle between cells, so what is busy is someone else.
wait_quiet() {
  local waited=0 b
  ((QUIET_WAIT > 0)) || return 0
  while :; do
    b=$(busy_pct)
    awk -v b="$b" -v m="$MAX_FOREIGN" 'BEGIN{exit !(b < m)}' && return 0
    ((waited >= QUIET_WAIT)) && { log "machine still busy (${b}% CPU), running anyway"; return 0; }
    log "machine busy (${b}% CPU by others, load $(cut -d' ' -f1-3 /proc/loadavg)), waiting..."
    sleep 3; waited=$((waited + 5))
  done
}
json_num() { grep -o "\"$2\":[-0-9.e+]*" "$1" | head -1 | cut -d: -f2; }

# GRANARY_SRC=head (default) builds against a snapshot of the last commit
# (git archive HEAD into bench/out/src-REV, as the other bench scripts
# do), so uncommitted work in internal/ cannot change the figures;
# GRANARY_SRC=tree builds the working tree as it is. bench/serve itself
# always comes from the working tree.
GRANARY_SRC=${GRANARY_SRC:-head}
case $GRANARY_SRC in
head)
  VERSION=$(git rev-parse --short=12 HEAD)
  SRC=$OUT/src-$VERSION
  if [[ ! -f $SRC/go.mod ]]; then
    rm -rf "$SRC.tmp.$$"; mkdir -p "$SRC.tmp.$$"
    git archive --format=tar HEAD | tar -x -C "$SRC.tmp.$$"
    mv "$SRC.tmp.$$" "$SRC" 2>/dev/null || rm -rf "$SRC.tmp.$$"
  fi
  rm -rf "$SRC/bench/serve"; mkdir -p "$SRC/bench"; cp -r bench/serve "$SRC/bench/"
  ;;
tree)
  SRC=.
  VERSION=$(git describe --always --dirty 2>/dev/null || echo dev)
  [[ -n $(git status --porcelain internal/serving internal/online 2>/dev/null) ]] && VERSION="$VERSION, internal/serving or internal/online modified"
  ;;
*) die "GRANARY_SRC must be head or tree" ;;
esac
VERSION="$VERSION (GRANARY_SRC=$GRANARY_SRC)"
LOAD_START=$(cut -d' ' -f1-3 /proc/loadavg)
log "build bench/serve against granary $VERSION"
(cd "$SRC" && go build -o "$ROOT/$BIN" ./bench/serve)

log "data: $ENTITIES entities x $FEATURES features, $SHARDS shards, seed $SEED ($DATA)"
"$BIN" gen -dir "$DATA" -entities "$ENTITIES" -features "$FEATURES" -shards "$SHARDS" -seed "$SEED"

SERVER_PID='' REDIS_PID=''
# shellcheck disable=SC2317 # run by the trap
cleanup() {
  local p
  for p in $SERVER_PID $REDIS_PID; do
    kill "$p" 2>/dev/null || true
  done
  for p in $SERVER_PID $REDIS_PID; do
    wait "$p" 2>/dev/null || true
  done
}
trap cleanup EXIT

# serving refuses tokens shorter than 32 characters
TOKEN=bench-$(od -An -N24 -tx1 /dev/urandom | tr -d " \n")
GPORT=$("$BIN" port)
RPORT=$("$BIN" port)
PPORT=$("$BIN" port)
GRANARY=http://127.0.0.1:$GPORT
REDIS=127.0.0.1:$RPORT

log "granary server on $GRANARY (loading the index)"
pprof=()
[[ $PROFILE == 1 ]] && pprof=(-pprof "127.0.0.1:$PPORT")
"${SRV_PIN[@]}" "$BIN" server -dir "$DATA" -addr "127.0.0.1:$GPORT" -token "$TOKEN" "${pprof[@]}" >"$RES/server.json" 2>"$RES/server.log" &
SERVER_PID=$!
for _ in $(seq 600); do
  grep -q '"loaded"' "$RES/server.json" 2>/dev/null && break
  kill -0 "$SERVER_PID" 2>/dev/null || { tail -5 "$RES/server.log" >&2; die "granary server exited"; }
  sleep 0.5
done
grep -q '"loaded"' "$RES/server.json" || die "granary server did not load in 300 s"
log "index loaded in $(json_num "$RES/server.json" load_s) s, RSS $(json_num "$RES/server.json" rss_before_kib) -> $(json_num "$RES/server.json" rss_after_kib) KiB"

log "redis-server $(redis-server --version | grep -o 'v=[^ ]*') on $REDIS"
"${SRV_PIN[@]}" redis-server --port "$RPORT" --bind 127.0.0.1 --save '' --appendonly no --daemonize no \
  --logfile "$ROOT/$RES/redis.log" --dir "$ROOT/$RES" &
REDIS_PID=$!
for _ in $(seq 100); do
  (exec 3<>"/dev/tcp/127.0.0.1/$RPORT") 2>/dev/null && break
  kill -0 "$REDIS_PID" 2>/dev/null || { tail -5 "$RES/redis.log" >&2; die "redis-server exited"; }
  sleep 0.1
done
log "loading the same values into Redis"
"$BIN" redis-load -dir "$DATA" -addr "$REDIS" >"$RES/redis-load.json"

log "cross-check: $CHECK_N ids in granary and Redis"
"$BIN" check -dir "$DATA" -granary "$GRANARY" -token "$TOKEN" -redis "$REDIS" -n "$CHECK_N" >"$RES/check.json" ||
  die "cross-check failed: granary and Redis disagree, or the check could not run (see above and $RES/check.json)"

FAILED=0
cell() { # target mode conc [rate]
  local target=$1 mode=$2 conc=$3 rate=${4:-0} addr pid n warm label attempt=1 rc
  if [[ $target == granary ]]; then addr=$GRANARY pid=$SERVER_PID; else addr=$REDIS pid=$REDIS_PID; fi
  if [[ $mode == single ]]; then n=$SINGLE_REQUESTS warm=$WARMUP_SINGLE; else n=$BATCH_REQUESTS warm=$WARMUP_BATCH; fi
  label=cell-$target-$mode-c$conc
  if [[ $rate != 0 ]]; then
    label=$label-r$rate
    n=$(awk -v r="$rate" -v s="$MAX_SECONDS" 'BEGIN{printf "%d", r*s/2}') # ~MAX_SECONDS/2 at that rate
  fi
  while :; do
    wait_quiet
    rc=0
    timeout --signal=KILL $((MAX_SECONDS * 3 + 60)) "${LOAD_PIN[@]}" "$BIN" load -dir "$DATA" -target "$target" -addr "$addr" -token "$TOKEN" \
      -mode "$mode" -conc "$conc" -requests "$n" -warmup "$warm" -duration "${MAX_SECONDS}s" -miss "$MISS" \
      -rate "$rate" -redis-cmd "$REDIS_CMD" -decode="$([[ $DECODE == 1 ]] && echo true || echo false)" -server-pid "$pid" >"$RES/$label.json" 2>"$RES/$label.err" || rc=$?
    if ((rc != 0)); then
      log "$label FAILED (exit $rc): $(tail -1 "$RES/$label.err")"
      FAILED=1
      return 0
    fi
    local f
    f=$(json_num "$RES/$label.json" foreign_cpu_pct)
    log "$(printf '%-8s %-9s c%-3s %8.0f req/s  p50 %7.3f ms  p99 %7.3f ms  p99.9 %7.3f ms  foreign CPU %5.1f%%' "$target" "$mode" "$conc" \
      "$(json_num "$RES/$label.json" rps)" "$(awk -v x="$(json_num "$RES/$label.json" p50_us)" 'BEGIN{print x/1000}')" \
      "$(awk -v x="$(json_num "$RES/$label.json" p99_us)" 'BEGIN{print x/1000}')" "$(awk -v x="$(json_num "$RES/$label.json" p999_us)" 'BEGIN{print x/1000}')" "$f")"
    if awk -v f="$f" -v m="$MAX_FOREIGN" 'BEGIN{exit !(f > m)}' && ((attempt <= RETRIES)); then
      log "$label: ${f}% of the CPU went to other processes: re-running"
      mv "$RES/$label.json" "$RES/$label.discarded-$attempt.json"
      attempt=$((attempt + 1))
      continue
    fi
    return 0
  done
}

log "matrix: {$MODES} x conc {$CONCS} x {granary, redis}, at most $SINGLE_REQUESTS single / $BATCH_REQUESTS batch requests or ${MAX_SECONDS}s per cell"
for mode in $MODES; do
  for conc in $CONCS; do
    for target in granary redis; do
      cell "$target" "$mode" "$conc"
    done
  done
done
for rate in $RATES; do
  for target in granary redis; do
    cell "$target" single 16 "$rate"
  done
done

if [[ $PROFILE == 1 ]]; then
  for mode in $MODES; do
    log "CPU profile of the granary server, $mode at concurrency 16 (10 s): $RES/granary-$mode.prof"
    curl -s -o "$RES/granary-$mode.prof" "http://127.0.0.1:$PPORT/debug/pprof/profile?seconds=10" &
    cpid=$!
    sleep 0.2
    "$BIN" load -dir "$DATA" -target granary -addr "$GRANARY" -token "$TOKEN" -mode "$mode" -conc 16 -requests 100000000 \
      -warmup 0 -duration 11s -miss "$MISS" -server-pid "$SERVER_PID" >"$RES/profile-$mode.json" 2>/dev/null || true
    wait "$cpid" || true
    go tool pprof -top -nodecount=40 "$BIN" "$RES/granary-$mode.prof" >"$RES/granary-$mode-top.txt" 2>/dev/null || true
    go tool pprof -top -cum -nodecount=40 "$BIN" "$RES/granary-$mode.prof" >"$RES/granary-$mode-cum.txt" 2>/dev/null || true
  done
fi

curl -s -H "Authorization: Bearer $TOKEN" -o "$RES/server-metrics.txt" "$GRANARY/metrics" || true
# Memory after the runs, then stop both servers (the granary server
# prints its final RSS and CPU on SIGTERM).
printf '{"rss_kib":%s,"hwm_kib":%s}\n' "$(awk '/^VmRSS/{print $2}' "/proc/$REDIS_PID/status")" \
  "$(awk '/^VmHWM/{print $2}' "/proc/$REDIS_PID/status")" >"$RES/redis-end.json"
for p in $SERVER_PID $REDIS_PID; do
  if kill -TERM "$p"; then wait "$p" || true; fi
done
SERVER_PID='' REDIS_PID=

echo
"$BIN" report -res "$RES" -dir "$DATA" -granary "$VERSION" -load-start "$LOAD_START" -pinned="$([[ $PIN == 1 ]] && echo true || echo false)"
echo
log "results in $RES (summary.md, summary.json)"
exit $FAILED
