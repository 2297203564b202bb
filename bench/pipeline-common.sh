# Shared by bench/extract.sh and bench/build.sh (sourced, not run): build
# the Go programs, install DuckDB, wait for a quiet machine, time one run
# under /usr/bin/time -v with the load average and foreign CPU recorded.
# Follows bench/import.sh's conventions (bench/out/, GRANARY_SRC, .meta).

log() { printf '\033[1m== %s\033[0m\n' "$*" >&2; }
die() { echo "$(basename "$0"): $*" >&2; exit 1; }

for tool in go node npm /usr/bin/time awk; do
  command -v "$tool" >/dev/null || die "$tool is required"
done

HZ=$(getconf CLK_TCK)
NCPU=$(nproc)
MAX_FOREIGN=${MAX_FOREIGN:-10}
RETRIES=${RETRIES:-1}
QUIET_WAIT=${QUIET_WAIT:-120}
OUT=bench/out
BIN=$OUT/bin

# build_prog NAME...: go build ./bench/NAME into bench/out/bin/NAME.
# GRANARY_SRC=head (default) builds against a snapshot of the last commit
# (git archive HEAD into bench/out/src-REV, as bench/import.sh does), so
# that uncommitted work in internal/ cannot change or break the figures;
# GRANARY_SRC=tree builds the working tree as it is. The bench/ programs
# always come from the working tree.
build_progs() {
  GRANARY_SRC=${GRANARY_SRC:-head}
  mkdir -p "$BIN"
  case $GRANARY_SRC in
  head)
    REV=$(git rev-parse --short=12 HEAD)
    SRC=$OUT/src-$REV
    if [[ ! -f $SRC/go.mod ]]; then
      rm -rf "$SRC.tmp.$$"; mkdir -p "$SRC.tmp.$$"
      git archive --format=tar HEAD | tar -x -C "$SRC.tmp.$$"
      mv "$SRC.tmp.$$" "$SRC" 2>/dev/null || rm -rf "$SRC.tmp.$$"
    fi
    VERSION=$REV
    ;;
  tree)
    SRC=.
    VERSION=$(git describe --always --dirty 2>/dev/null || echo dev)
    ;;
  *) die "GRANARY_SRC must be head or tree" ;;
  esac
  local p
  for p in "$@"; do
    if [[ $SRC != . ]]; then
      rm -rf "$SRC/bench/$p"; mkdir -p "$SRC/bench"; cp -r "bench/$p" "$SRC/bench/"
    fi
    log "build bench/$p against granary $VERSION (GRANARY_SRC=$GRANARY_SRC)"
    (cd "$SRC" && go build -o "$ROOT/$BIN/$p" "./bench/$p")
  done
  if [[ ! -d bench/duckdb/node_modules/@duckdb/node-api ]]; then
    log "npm ci (bench/duckdb: @duckdb/node-api, pinned in package-lock.json)"
    npm ci --prefix bench/duckdb --no-audit --no-fund >&2
  fi
}

busy_jiffies() { awk '/^cpu /{print $2+$3+$4+$7+$8+$9; exit}' /proc/stat; }
now() { date +%s.%N; }
loadavg() { cut -d' ' -f1-3 /proc/loadavg; }

busy_pct() {
  local b0 b1 t0 t1
  t0=$(now); b0=$(busy_jiffies); sleep 2; b1=$(busy_jiffies); t1=$(now)
  awk -v d=$((b1 - b0)) -v hz="$HZ" -v n="$NCPU" -v a="$t0" -v b="$t1" 'BEGIN{printf "%.1f", d/hz/((b-a)*n)*100}'
}

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

time_field() { awk -F': ' -v k="$2" '$1 ~ "^[ \t]*"k"$" {print $2; exit}' "$1"; }

# run LABEL ENGINE VARIANT CMD...: one timed run under /usr/bin/time -v
# (and `timeout $TIMEOUT`), re-run while other processes used more than
# MAX_FOREIGN % of the machine. Writes RES/LABEL.{json,err,time,meta}.
# A run that fails or times out is recorded ("status") and does not stop
# the script.
TIMEOUT=${TIMEOUT:-1800}
run() {
  local label=$1 engine=$2 variant=$3; shift 3
  local attempt=1
  while :; do
    wait_quiet
    local lb la b0 b1 t0 t1 wall user sys foreign rss status=ok rc=0
    lb=$(loadavg); b0=$(busy_jiffies); t0=$(now)
    /usr/bin/time -v -o "$RES/$label.time" timeout --signal=KILL "$TIMEOUT" "$@" >"$RES/$label.json" 2>"$RES/$label.err" || rc=$?
    t1=$(now); b1=$(busy_jiffies); la=$(loadavg)
    if ((rc != 0)); then
      status="failed (exit $rc)"
      # timeout(1) exits 124 when it had to kill the command
      grep -Eq "Command (exited with non-zero status 124|terminated by signal 9)" "$RES/$label.time" && status="killed after ${TIMEOUT}s timeout"
      tail -5 "$RES/$label.err" >&2
      echo '{}' >"$RES/$label.json"
    fi
    user=$(time_field "$RES/$label.time" "User time \\(seconds\\)")
    sys=$(time_field "$RES/$label.time" "System time \\(seconds\\)")
    rss=$(time_field "$RES/$label.time" "Maximum resident set size \\(kbytes\\)")
    wall=$(awk -v a="$t0" -v b="$t1" 'BEGIN{printf "%.3f", b-a}')
    foreign=$(awk -v d=$((b1 - b0)) -v hz="$HZ" -v u="${user:-0}" -v s="${sys:-0}" -v w="$wall" -v n="$NCPU" \
      'BEGIN{f=(d/hz-u-s)/(w*n)*100; if(f<0)f=0; printf "%.1f", f}')
    cat >"$RES/$label.meta" <<JSON
{"label":"$label","engine":"$engine","variant":"$variant","attempt":$attempt,"status":"$status",
 "load_before":"$lb","load_after":"$la","busy_before_pct":$BUSY_BEFORE,"foreign_cpu_pct":$foreign,
 "process_wall_s":$wall,"user_s":${user:-0},"sys_s":${sys:-0},"max_rss_kib":${rss:-0}}
JSON
    log "$label: $status, ${wall}s wall, $(awk -v k="${rss:-0}" 'BEGIN{printf "%.0f", k/1024}') MiB peak RSS, load $lb -> $la, foreign CPU ${foreign}%"
    if [[ $status == ok ]] && awk -v f="$foreign" -v m="$MAX_FOREIGN" 'BEGIN{exit !(f > m)}' && ((attempt <= RETRIES)); then
      log "$label looks contaminated (${foreign}% of the CPU went to other processes): re-running"
      for ext in json err time meta; do mv "$RES/$label.$ext" "$RES/$label.contaminated-$attempt.$ext"; done
      attempt=$((attempt + 1))
      continue
    fi
    return 0
  done
}

machine_json() { # extra JSON fields...
  cat <<JSON
{"date":"$(date -u +%Y-%m-%dT%H:%M:%SZ)","cpu":"$(awk -F': ' '/model name/{print $2; exit}' /proc/cpuinfo)","cores":$NCPU,
 "mem_gib":$(awk '/MemTotal/{printf "%.1f", $2/1048576}' /proc/meminfo),"kernel":"$(uname -r)","go":"$(go env GOVERSION)",
 "node":"$(node --version)","granary":"$VERSION","granary_src":"$GRANARY_SRC","load_at_start":"$(loadavg)","max_foreign_pct":$MAX_FOREIGN,
 "runs":${RUNS:-1},"timeout_s":$TIMEOUT$1}
JSON
}
