#!/usr/bin/env bash
# ndpq benchmark, three stages in one report:
#   convert  NDJSON -> snappy Parquet, ndpq against DuckDB, same data, same run
#   ingest   `ndpq ingest` of 100,000 S3 events into a fresh state.db (issue #3)
#   latency  `ndpq run`: 10th file of a 10 x 10 MB batch landing -> its Parquet (issue #4)
#
#   bash bench/run.sh            (what `make bench` runs, after building build/ndpq
#                                 and running scripts/setup.sh)
#
# Environment:
#   BENCH_ONLY="convert ingest latency flat"  the stages to run (spaces or commas)
#   BENCH_MB=200          size of each data set in MB (10^6 bytes), 20 files each
#   BENCH_SETS=events     data sets: any of "events wide longstr"
#   BENCH_REPEAT=5        runs per (tool, data set, threads); the median is reported
#   BENCH_THREADS="1 2"   thread counts
#   BENCH_TOOLS="ndpq duckdb ndpq-none ndpq-tmpfs"  leave one out to measure only
#                         the others; ndpq-none is ndpq with --compression none, which
#                         shows how much of ndpq's time is the snappy library's;
#                         ndpq-tmpfs is ndpq with its file on tmpfs, which shows how
#                         much is putting the file on the device (writes, fsync)
#   BENCH_TMPFS=/dev/shm  where ndpq-tmpfs writes (must be a tmpfs; else it is skipped)
#   BENCH_DUCKDB_COLUMNS=given  "given": DuckDB gets the column list from an
#                         untimed describe pass (the kindest set-up for DuckDB);
#                         "discover": the describe pass is part of DuckDB's time
#   BENCH_STRICT=0        1: exit 3 when issue #2's bar (ndpq >= DuckDB speed and
#                         < DuckDB peak RSS at every thread count) is missed
#   NDPQ=build/ndpq       binary under test
#   BENCH_NODE_MODULES    node_modules holding @duckdb/node-api
#                         (default tests/readers/node_modules)
#   BENCH_INGEST_EVENTS=100000   events per ingest run (a multiple of 10)
#   BENCH_INGEST_MAX="200 10"    MAX_FILES_PER_MANIFEST values (production, default)
#   BENCH_INGEST_REPEAT="3 1"    ingest runs for each MAX value (or one count for all);
#                         the median is reported. MAX=10 writes 10,000 fsynced manifests,
#                         so it is slow and runs once by default.
#   BENCH_LATENCY_ROUNDS=5       batches landed on the running service
#   BENCH_FLAT_REPEAT=3          runs per (size, threads) in the flat stage; the large
#                         batch (the events set copied ten times) is made once, like the others
#
# Ingest and latency have no DuckDB side; see bench/ingest.mjs and
# bench/latency.mjs for what exactly is timed and checked.
#
# Data is cached in build/bench-data/<set>-<MB>/ and made again only when missing.
# Results: a table on stdout (also build/bench/results.txt), and
# build/bench/results.json; raw runs in build/bench/measurements.tsv. Each ndpq output is
# read back with DuckDB (row count = input lines, every key a column, report
# records = lines and no corrupt record) before its numbers count; any
# failure there exits 1. Every run is timed with GNU time (%e wall seconds,
# %M peak RSS KiB, %I what it read from disk, %U %S user and system CPU
# seconds), its input read through the page cache just before (warm); ndpq
# and DuckDB runs alternate, and each repeat covers every thread count.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$ROOT"

MB=${BENCH_MB:-200}
SETS=${BENCH_SETS:-events wide longstr}
REPEAT=${BENCH_REPEAT:-5}
THREADS=${BENCH_THREADS:-1 2}
TOOLS=${BENCH_TOOLS:-ndpq duckdb ndpq-none ndpq-tmpfs}
DUCK_COLS=${BENCH_DUCKDB_COLUMNS:-given}
NDPQ=${NDPQ:-$ROOT/build/ndpq}
DATA_ROOT=$ROOT/build/bench-data
OUT=$ROOT/build/bench
TIME=/usr/bin/time
# Wall s, peak RSS KiB, 512-byte blocks read from disk, user and system CPU s.
TIME_FMT='%e %M %I %U %S'

ONLY=${BENCH_ONLY:-convert ingest latency flat}
ONLY=${ONLY//,/ }
FLAT_REPEAT=${BENCH_FLAT_REPEAT:-3}

die() { echo "bench: $*" >&2; exit 1; }
log() { echo "bench: $*" >&2; }
has_tool() { [[ " $TOOLS " == *" $1 "* ]]; }
want() { [[ " $ONLY " == *" $1 "* ]]; }

for st in $ONLY; do
  case "$st" in convert|ingest|latency|flat) ;; *) die "unknown stage '$st' in BENCH_ONLY (convert, ingest, latency, flat)" ;; esac
done
[ -n "${ONLY// /}" ] || die "BENCH_ONLY names no stage (convert, ingest, latency, flat)"

[[ "$MB" =~ ^[0-9]+([.][0-9]+)?$ ]] || die "BENCH_MB must be a number, got '$MB'"
[[ "$REPEAT" =~ ^[1-9][0-9]*$ ]] || die "BENCH_REPEAT must be a positive integer, got '$REPEAT'"
[[ "$FLAT_REPEAT" =~ ^[1-9][0-9]*$ ]] || die "BENCH_FLAT_REPEAT must be a positive integer, got '$FLAT_REPEAT'"
case "$DUCK_COLS" in given|discover) ;; *) die "BENCH_DUCKDB_COLUMNS must be given or discover" ;; esac
[ -x "$TIME" ] || die "$TIME (GNU time) is missing; run scripts/setup.sh"
"$TIME" -f '%e %M' true 2>/dev/null || die "$TIME is not GNU time (needs -f '%e %M'); run scripts/setup.sh"
command -v node >/dev/null || die "node is missing; run scripts/setup.sh"
if has_tool ndpq || has_tool ndpq-none || has_tool ndpq-tmpfs || want ingest || want latency || want flat; then
  [ -x "$NDPQ" ] || die "$NDPQ not built; run make"
fi
if want ingest || want latency; then
  command -v sqlite3 >/dev/null || die "sqlite3 (the CLI) is missing; run scripts/setup.sh"
fi
for s in $SETS; do
  case "$s" in events|wide|longstr) ;; *) die "unknown data set '$s' (events, wide, longstr)" ;; esac
done

# These machines are shared and small: say so when something else is busy.
read -r LOAD1 _ < /proc/loadavg
if awk -v l="$LOAD1" 'BEGIN { exit !(l > 0.5) }'; then
  log "warning: load average is $LOAD1 before the run; other work will add noise (ratios are still same-run)"
fi
export BENCH_LOAD_START=$LOAD1

mkdir -p "$OUT"
MEAS=$OUT/measurements.tsv
VERIFY=$OUT/verify.txt
printf 'set\ttool\tthreads\trep\tseconds\trss_kib\tout_bytes\tdisk_kib\tuser_s\tsys_s\n' > "$MEAS"
: > "$VERIFY"
# Results of this run only: a stage that does not run leaves nothing behind.
rm -f "$OUT/results.json" "$OUT/results.txt" "$OUT/ingest.json" "$OUT/latency.json" "$OUT/latency-service.json"

# warm FILES...: reads files through the page cache. measure and time_pair
# warm the stage's input, WARM (set by each stage; empty: none), before every
# timed run, and DuckDB's code before each DuckDB run.
# Both tools are meant to read their input from memory, and reading it once per set
# did not keep it there: this machine's kernel pages out memory that looks
# idle for a minute (DAMON, "pageout"), page cache included. A set read once
# and then idle while DuckDB ran, or while other sets ran (the pairs), came
# back partly from disk: after 70 s idle, a 2-thread longstr job read 10 MB
# from disk and took 0.57 s against 0.41. measure also records what each
# run read from disk (GNU time's %I), and the report flags any run that did.
warm() { cat "$@" > /dev/null; }
# DuckDB's side loads node, the DuckDB library and its JavaScript (170 MB),
# which page out the same way; its runs get them warmed too, as its floor
# run had them.
DUCK_CODE=("$(readlink -f "$(command -v node || echo /dev/null)")" "$ROOT/bench/duckdb.mjs")
while IFS= read -r -d '' f; do DUCK_CODE+=("$f"); done \
  < <(find "$ROOT/tests/readers/node_modules/@duckdb" -type f -print0 2>/dev/null)
WARM=()

# meas_row TIMEFILE SET TOOL THREADS REP BYTES: appends the run's row to
# $MEAS from GNU time's file (its last line: time may print "Command exited
# with non-zero status" first), removes the file, prints "seconds rss_kib".
meas_row() {
  local secs rss ins user sys
  read -r secs rss ins user sys < <(tail -n 1 "$1")
  rm -f "$1"
  printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$2" "$3" "$4" "$5" "$secs" "$rss" "$6" "$((ins / 2))" "$user" "$sys" >> "$MEAS"
  echo "$secs $rss"
}

# measure SET TOOL THREADS REP OUTFILE CMD...: one timed run, appended to $MEAS.
measure() {
  local set=$1 tool=$2 thr=$3 rep=$4 outfile=$5; shift 5
  local tf=$OUT/time.$$ so=$OUT/last-$tool.stdout se=$OUT/last-$tool.stderr
  [ -n "$outfile" ] && rm -rf "$outfile"
  ((${#WARM[@]})) && warm "${WARM[@]}"
  case $tool in duckdb | baseline) warm "${DUCK_CODE[@]}" ;; esac
  local rc=0
  "$TIME" -f "$TIME_FMT" -o "$tf" "$@" >"$so" 2>"$se" || rc=$?
  if [ "$rc" -ne 0 ]; then
    echo "bench: $tool failed (exit $rc) on $set, threads $thr:" >&2
    echo "  $*" | cut -c1-300 >&2
    tail -n 20 "$se" >&2
    exit 1
  fi
  local bytes=0
  [ -n "$outfile" ] && [ -f "$outfile" ] && bytes=$(stat -c %s "$outfile")
  local secs rss
  read -r secs rss < <(meas_row "$tf" "$set" "$tool" "$thr" "$rep" "$bytes")
  log "$(printf '%-8s %-8s threads=%s rep=%s  %6ss  %7s KiB  %s bytes' "$set" "$tool" "$thr" "$rep" "$secs" "$rss" "$bytes")"
}

# ensure_set SET MB: the data set in $DATA_ROOT/SET-MB (made once), with
# the column list DuckDB is given (an untimed describe, also made once).
ensure_set() {
  local d=$DATA_ROOT/$1-$2
  if [ ! -f "$d/meta.json" ]; then
    log "generating $1 data, $2 MB -> $d"
    node bench/gen.mjs "$1" "$2" "$d"
  fi
  local files=("$d"/*.ndjson)
  [ -f "${files[0]}" ] || die "no input files in $d"
  if [ ! -f "$d/duckdb-columns.json" ]; then
    node bench/duckdb.mjs describe "$d/duckdb-columns.json.tmp" "$d"/*.ndjson
    mv "$d/duckdb-columns.json.tmp" "$d/duckdb-columns.json"
  fi
}

# ------------------------------------------------------------------ convert
# ndpq-tmpfs: the same job with its file in memory, where no byte reaches a
# device and fsync returns at once. ndpq's own file is on the device, synced
# before the job ends (DuckDB's is left in the page cache): the difference is
# what that costs here. Its folder is removed at the end of the stage.
TMPFS_DIR=
if want convert && has_tool ndpq-tmpfs; then
  TMPFS_ROOT=${BENCH_TMPFS:-/dev/shm}
  if [ "$(stat -f -c %T "$TMPFS_ROOT" 2>/dev/null)" = tmpfs ]; then
    TMPFS_DIR=$(mktemp -d "$TMPFS_ROOT/ndpq-bench.XXXXXX")
    trap 'rm -rf "$TMPFS_DIR"' EXIT
  else
    log "no tmpfs at $TMPFS_ROOT (BENCH_TMPFS): ndpq-tmpfs is left out"
    TOOLS=${TOOLS//ndpq-tmpfs/}
  fi
fi

if want convert; then
  # Baseline: node + DuckDB loaded, SELECT 1.
  if has_tool duckdb; then
    node bench/duckdb.mjs baseline || die "cannot load DuckDB through node; run scripts/setup.sh"
    for ((r = 1; r <= REPEAT; r++)); do
      measure - baseline 0 "$r" "" node bench/duckdb.mjs baseline
    done
  fi

  for set in $SETS; do
    ensure_set "$set" "$MB"
    DATA=$DATA_ROOT/$set-$MB
    FILES=("$DATA"/*.ndjson)   # glob order is sorted: events-00, events-01, ...
    COLS=$DATA/duckdb-columns.json
    WARM=("${FILES[@]}" "$NDPQ")

    SO=$OUT/out/$set
    mkdir -p "$SO"
    DCOLS=$COLS
    [ "$DUCK_COLS" = discover ] && DCOLS=-
    # Each repeat runs every thread count and both tools, so load that comes and
    # goes during the run hits all of them alike (ratios and scaling stay fair).
    # The tool that goes first alternates: neither always gets the warmer machine.
    for ((r = 1; r <= REPEAT; r++)); do
      ti=0
      for thr in $THREADS; do
        ti=$((ti + 1))
        NOUT=$SO/ndpq-t$thr.parquet
        DOUT=$SO/duckdb-t$thr.parquet
        if (( (r + ti) % 2 == 0 )); then order="ndpq duckdb"; else order="duckdb ndpq"; fi
        for tool in $order; do
          has_tool "$tool" || continue
          if [ "$tool" = ndpq ]; then
            measure "$set" ndpq "$thr" "$r" "$NOUT" \
              "$NDPQ" convert --threads "$thr" --compression snappy "${FILES[@]}" -o "$NOUT"
            cp "$OUT/last-ndpq.stdout" "$SO/ndpq-t$thr.report.json"
          else
            measure "$set" duckdb "$thr" "$r" "$DOUT" \
              node bench/duckdb.mjs convert "$thr" "$DOUT" "$DCOLS" "${FILES[@]}"
          fi
        done
        if has_tool ndpq-none; then
          measure "$set" ndpq-none "$thr" "$r" "$SO/ndpq-none-t$thr.parquet" \
            "$NDPQ" convert --threads "$thr" --compression none "${FILES[@]}" -o "$SO/ndpq-none-t$thr.parquet"
        fi
        if has_tool ndpq-tmpfs; then
          measure "$set" ndpq-tmpfs "$thr" "$r" "$TMPFS_DIR/out.parquet" \
            "$NDPQ" convert --threads "$thr" --compression snappy "${FILES[@]}" -o "$TMPFS_DIR/out.parquet"
          rm -f "$TMPFS_DIR/out.parquet"
        fi
        # Verify the first outputs before spending time on more runs, and the
        # last ndpq output (the one whose size is reported).
        if (( r == 1 || r == REPEAT )) && has_tool ndpq; then
          node bench/duckdb.mjs verify "$NOUT" "$DATA/meta.json" "$COLS" "$SO/ndpq-t$thr.report.json" \
            | tee -a "$VERIFY" >&2 || die "ndpq output failed verification; no numbers reported"
        fi
        if (( r == 1 )) && has_tool duckdb; then
          node bench/duckdb.mjs verify "$DOUT" "$DATA/meta.json" "$COLS" \
            | tee -a "$VERIFY" >&2 || die "DuckDB output failed verification; the harness is broken"
        fi
      done
    done
  done
fi
if [ -n "$TMPFS_DIR" ]; then
  rm -rf "$TMPFS_DIR"
  trap - EXIT
fi

# ------------------------------------------------------------------ machine
# time_pair SET TOOL THREADS REP FN: FN a and FN b run at once, each given
# its side and the file for its timing; both rows appended to $MEAS.
time_pair() {
  local set=$1 tool=$2 thr=$3 rep=$4 fn=$5 tfa=$OUT/pair-a.$$ tfb=$OUT/pair-b.$$ pa tf
  ((${#WARM[@]})) && warm "${WARM[@]}"
  "$fn" a "$tfa" &
  pa=$!
  "$fn" b "$tfb" || die "$tool failed in a pair run ($set)"
  wait "$pa" || die "$tool failed in a pair run ($set)"
  for tf in "$tfa" "$tfb"; do meas_row "$tf" "$set" "$tool" "$thr" "$rep" 0 >/dev/null; done
}

# What 2 threads can give here at all: sha256sum over the last set's input
# (in the page cache: pure CPU) alone, then two at once. On a VM whose two
# vCPUs are not two whole cores (SMT siblings, or a busy host), the pair
# runs slower than one alone, and no program's 2-thread scaling can pass
# their combined rate (report.mjs: "machine ceiling").
sha_side() { "$TIME" -f "$TIME_FMT" -o "$2" sha256sum "${PF[@]}" >/dev/null; }
if want convert && [ -n "${FILES[0]:-}" ]; then
  PF=("${FILES[@]}")
  WARM=("${PF[@]}")
  for ((r = 1; r <= REPEAT; r++)); do
    measure - cpu-alone 1 "$r" "" sha256sum "${PF[@]}"
    time_pair - cpu-pair 2 "$r" sha_side
  done
fi

# The same for this work: two 1-thread ndpq conversions of a set at once,
# sharing nothing but the machine. Conversion moves far more memory than
# sha256sum, and two vCPUs that share a host's caches and memory bandwidth
# may give it less than the sha256sum pair shows; a 2-thread job cannot
# beat two independent 1-thread jobs (report.mjs: "two 1-thread jobs").
ndpq_side() {
  rm -f "$OUT/pair-$1.parquet"
  "$TIME" -f "$TIME_FMT" -o "$2" "$NDPQ" convert --threads 1 --compression snappy "${PF[@]}" \
    -o "$OUT/pair-$1.parquet" >/dev/null 2>"$OUT/last-pair-$1.stderr"
}
if want convert && has_tool ndpq; then
  for set in $SETS; do
    PF=("$DATA_ROOT/$set-$MB"/*.ndjson)
    WARM=("${PF[@]}" "$NDPQ")
    for ((r = 1; r <= REPEAT; r++)); do time_pair "$set" ndpq-pair 1 "$r" ndpq_side; done
    rm -f "$OUT/pair-a.parquet" "$OUT/pair-b.parquet"
  done
fi

# ------------------------------------------------------------------ flat
# Memory flat in input size (issue #6): the events set at BENCH_MB, and ten
# copies of it as one batch, converted as the pipeline does (-o DIR: part
# files of about 128 MiB of input each), the two sizes alternating. Copies,
# not links: a job reads a file listed twice (under any name) once. The same
# data ten times over, so only the input size differs (a generated set ten
# times larger has ten times the distinct ids, hence larger dictionaries,
# which the dictionary budget bounds). Each output is checked with DuckDB
# (row count = input lines, every key a column) before its number counts.
# Rows go to measurements.tsv as set "flat", tools small and large.
if want flat; then
  ensure_set events "$MB"
  SMALL=$DATA_ROOT/events-$MB
  LARGE=$DATA_ROOT/events-$MB-x10
  if [ ! -f "$LARGE/meta.json" ]; then
    log "copying $SMALL ten times -> $LARGE"
    rm -rf "$LARGE.tmp"
    mkdir -p "$LARGE.tmp"
    for i in 0 1 2 3 4 5 6 7 8 9; do
      for f in "$SMALL"/*.ndjson; do cp "$f" "$LARGE.tmp/r$i-${f##*/}"; done
    done
    node -e '
      const fs = require("fs"), [src, dst] = process.argv.slice(1);
      const m = JSON.parse(fs.readFileSync(src + "/meta.json", "utf8"));
      const files = fs.readdirSync(dst).filter((f) => f.endsWith(".ndjson")).sort();
      fs.writeFileSync(dst + "/meta.json", JSON.stringify({ ...m, mb: m.mb * 10, files, bytes: m.bytes * 10, lines: m.lines * 10,
        per_file: undefined, copies_of: src }, null, 1) + "\n");' "$SMALL" "$LARGE.tmp"
    cp "$SMALL/duckdb-columns.json" "$LARGE.tmp/"
    mv "$LARGE.tmp" "$LARGE"
  fi
  FO=$OUT/out/flat
  mkdir -p "$FO"
  for ((r = 1; r <= FLAT_REPEAT; r++)); do
    for thr in $THREADS; do
      for tool in small large; do
        D=$SMALL
        [ "$tool" = large ] && D=$LARGE
        WARM=("$D"/*.ndjson)   # from the page cache, as in the convert stage
        measure flat "$tool" "$thr" "$r" "$FO/$tool" \
          "$NDPQ" convert --threads "$thr" "$D"/*.ndjson -o "$FO/$tool"
        if (( r == 1 )); then
          node bench/duckdb.mjs verify "$FO/$tool/*.parquet" "$D/meta.json" "$D/duckdb-columns.json" \
            | tee -a "$VERIFY" >&2 || die "ndpq output (flat, $tool) failed verification; no numbers reported"
        fi
      done
    done
  done
  export BENCH_FLAT_SMALL_MB=$MB BENCH_FLAT_LARGE_MB=$(awk -v m="$MB" 'BEGIN { print m * 10 }')
fi

# ------------------------------------------------------------------ ingest
# 100,000 S3 events through `ndpq ingest` into a fresh state.db per run, with
# MAX_FILES_PER_MANIFEST 200 (production) and 10 (default). The objects and
# the events file are made once (untimed) in build/bench-data/ingest-N-DATE/.
# Each run is checked with sqlite3 before its number counts (see ingest.mjs).
if want ingest; then
  BENCH_DATA_ROOT=$DATA_ROOT BENCH_OUT=$OUT NDPQ=$NDPQ \
    node bench/ingest.mjs "$OUT/ingest.json" || die "ingest benchmark failed; no ingest numbers reported"
fi

# ------------------------------------------------------------------ latency
# `ndpq run` on a fresh NDPQ_HOME; bench/latency.mjs lands batches of 10 x 10 MB
# and times the 10th file's rename -> the batch's Parquet visible. The service
# is ours: it is stopped with SIGTERM at the end, and by the EXIT trap on any
# other way out (failure, Ctrl-C), SIGKILL after 40 s; its jobs carry the home
# in their arguments, so anything left is found and reported.
SVC_PID=""
LAT_HOME=$OUT/latency/home
svc_alive() { local st; st=$(ps -o stat= -p "$1" 2>/dev/null) || return 1; [[ "$st" != Z* ]]; }
stop_service() {
  [ -n "$SVC_PID" ] || return 0
  local pid=$SVC_PID i t0 t1 left
  SVC_PID=""
  t0=$(date +%s.%N)
  kill -TERM "$pid" 2>/dev/null || true
  for ((i = 0; i < 400; i++)); do svc_alive "$pid" || break; sleep 0.1; done
  if svc_alive "$pid"; then
    log "latency: the service (pid $pid) is still running 40 s after SIGTERM; sending SIGKILL"
    kill -KILL "$pid" 2>/dev/null || true
  fi
  SVC_RC=0
  wait "$pid" 2>/dev/null || SVC_RC=$?
  rm -f "$LAT_PIDFILE"
  t1=$(date +%s.%N)
  SVC_STOP_S=$(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.3f", b - a }')
  # Jobs started by the service name a manifest under its home.
  left=$(pgrep -f -- "$LAT_HOME/" || true)
  SVC_LEFT=0
  if [ -n "$left" ]; then
    SVC_LEFT=$(echo "$left" | wc -l)
    log "latency: $SVC_LEFT process(es) of the service left behind, killing them: $(echo $left)"
    kill -KILL $left 2>/dev/null || true
  fi
}
if want latency; then
  LAT_DATA=$DATA_ROOT/latency-events-10x10
  if [ ! -f "$LAT_DATA/meta.json" ]; then
    log "generating latency data, 10 files of 10 MB -> $LAT_DATA"
    BENCH_FILES=10 node bench/gen.mjs events 100 "$LAT_DATA"
  fi
  LAT_LOG=$OUT/latency/service.log
  LAT_PIDFILE=$OUT/latency/service.pid
  # A service that outlived an earlier run (run.sh SIGKILLed) would share the home.
  if [ -f "$LAT_PIDFILE" ] && svc_alive "$(cat "$LAT_PIDFILE")" \
    && tr '\0' ' ' < "/proc/$(cat "$LAT_PIDFILE")/cmdline" 2>/dev/null | grep -q ' run '; then
    die "the service of an earlier latency run is still running (pid $(cat "$LAT_PIDFILE")); stop it first"
  fi
  [ -z "$(pgrep -f -- "$LAT_HOME/" || true)" ] || die "processes from an earlier latency run still use $LAT_HOME: $(pgrep -f -- "$LAT_HOME/" | tr '\n' ' ')"
  rm -rf "$LAT_HOME"
  mkdir -p "$LAT_HOME/buckets/input"
  trap 'if [ -n "$SVC_PID" ]; then log "latency: stopping the service (pid $SVC_PID) on the way out"; stop_service; fi' EXIT
  trap 'exit 130' INT
  trap 'exit 143' TERM
  # A clean configuration: only the home, the batch size and the log level are set.
  env -u TRACKING_TABLE -u INPUT_BUCKET -u MANIFEST_BUCKET -u OUTPUT_BUCKET -u QUARANTINE_BUCKET \
    -u ALLOWED_EXTENSIONS -u MIN_FILES_FOR_PARTIAL_BATCH -u EXPECTED_FILE_SIZE_MB -u MAX_BATCH_BYTES \
    -u MAX_BATCH_WAIT_SECONDS -u CONVERT_THREADS -u MAX_CONCURRENT_RUNS -u COMPRESSION_TYPE -u NDPQ_FAKE_NOW \
    NDPQ_HOME="$LAT_HOME" MAX_FILES_PER_MANIFEST=10 LOG_LEVEL=info \
    "$NDPQ" run >"$LAT_LOG" 2>&1 &
  SVC_PID=$!
  echo "$SVC_PID" > "$LAT_PIDFILE"
  log "latency: ndpq run started (pid $SVC_PID), home $LAT_HOME, log $LAT_LOG"
  node bench/latency.mjs "$LAT_HOME" "$SVC_PID" "$LAT_LOG" "$LAT_DATA" "$OUT/latency.json" \
    || die "latency benchmark failed; no latency numbers reported"
  stop_service
  trap - EXIT INT TERM
  log "latency: service stopped by SIGTERM in ${SVC_STOP_S} s, exit code $SVC_RC, $SVC_LEFT process(es) left"
  printf '{"stop_signal":"SIGTERM","exit_code":%s,"stop_seconds":%s,"left_behind":%s}\n' \
    "$SVC_RC" "$SVC_STOP_S" "$SVC_LEFT" > "$OUT/latency-service.json"
  [ "$SVC_RC" -eq 0 ] || die "the service exited $SVC_RC after SIGTERM (expected 0); see $LAT_LOG"
  [ "$SVC_LEFT" -eq 0 ] || die "the service left $SVC_LEFT process(es) behind after it stopped"
  if grep -E ' (WARN|ERROR) ' "$LAT_LOG" >&2; then die "the service logged warnings or errors (above); see $LAT_LOG"; fi
  # The landed files (500 MB) have done their job; state, logs and Parquet stay.
  find "$LAT_HOME/buckets/input" -name 'lat-*.ndjson' -type f -delete
fi

NDPQ_VERSION=""
if has_tool ndpq; then
  NDPQ_VERSION=$("$NDPQ" --version 2>/dev/null | head -n 1 || true)
fi
export NDPQ_VERSION BENCH_MB=$MB BENCH_SETS=$SETS BENCH_REPEAT=$REPEAT BENCH_THREADS=$THREADS \
  BENCH_DUCKDB_COLUMNS=$DUCK_COLS BENCH_STRICT=${BENCH_STRICT:-0} BENCH_ONLY_STAGES="$ONLY"
node bench/report.mjs "$MEAS" "$DATA_ROOT" "$OUT/results.json" | tee "$OUT/results.txt"
