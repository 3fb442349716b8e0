#!/usr/bin/env bash
# ndpq benchmark: NDJSON -> snappy Parquet, ndpq against DuckDB, same data, same run.
#
#   bash bench/run.sh            (what `make bench` runs, after building build/ndpq
#                                 and running scripts/setup.sh)
#
# Environment:
#   BENCH_MB=200          size of each data set in MB (10^6 bytes), 20 files each
#   BENCH_SETS=events     data sets: any of "events wide longstr"
#   BENCH_REPEAT=3        runs per (tool, data set, threads); the median is reported
#   BENCH_THREADS="1 2"   thread counts
#   BENCH_TOOLS="ndpq duckdb"  leave one out to measure only the other
#   BENCH_DUCKDB_COLUMNS=given  "given": DuckDB gets the column list from an
#                         untimed describe pass (the kindest set-up for DuckDB);
#                         "discover": the describe pass is part of DuckDB's time
#   BENCH_STRICT=0        1: exit 3 when issue #2's bar (ndpq >= DuckDB speed and
#                         < DuckDB peak RSS at every thread count) is missed
#   NDPQ=build/ndpq       binary under test
#   BENCH_NODE_MODULES    node_modules holding @duckdb/node-api
#                         (default tests/readers/node_modules)
#
# Data is cached in build/bench-data/<set>-<MB>/ and made again only when missing.
# Results: a table on stdout (also build/bench/results.txt), and
# build/bench/results.json; raw runs in build/bench/measurements.tsv. Each ndpq output is
# read back with DuckDB (row count = input lines, every key a column, report
# records = lines and no corrupt record) before its numbers count; any
# failure there exits 1. Every run is timed with GNU time (%e wall seconds,
# %M peak RSS KiB); ndpq and DuckDB runs alternate, and each repeat covers
# every thread count.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$ROOT"

MB=${BENCH_MB:-200}
SETS=${BENCH_SETS:-events}
REPEAT=${BENCH_REPEAT:-3}
THREADS=${BENCH_THREADS:-1 2}
TOOLS=${BENCH_TOOLS:-ndpq duckdb}
DUCK_COLS=${BENCH_DUCKDB_COLUMNS:-given}
NDPQ=${NDPQ:-$ROOT/build/ndpq}
DATA_ROOT=$ROOT/build/bench-data
OUT=$ROOT/build/bench
TIME=/usr/bin/time

die() { echo "bench: $*" >&2; exit 1; }
log() { echo "bench: $*" >&2; }
has_tool() { [[ " $TOOLS " == *" $1 "* ]]; }

[[ "$MB" =~ ^[0-9]+([.][0-9]+)?$ ]] || die "BENCH_MB must be a number, got '$MB'"
[[ "$REPEAT" =~ ^[1-9][0-9]*$ ]] || die "BENCH_REPEAT must be a positive integer, got '$REPEAT'"
case "$DUCK_COLS" in given|discover) ;; *) die "BENCH_DUCKDB_COLUMNS must be given or discover" ;; esac
[ -x "$TIME" ] || die "$TIME (GNU time) is missing; run scripts/setup.sh"
"$TIME" -f '%e %M' true 2>/dev/null || die "$TIME is not GNU time (needs -f '%e %M'); run scripts/setup.sh"
command -v node >/dev/null || die "node is missing; run scripts/setup.sh"
if has_tool ndpq; then
  [ -x "$NDPQ" ] || die "$NDPQ not built; run make"
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
printf 'set\ttool\tthreads\trep\tseconds\trss_kib\tout_bytes\n' > "$MEAS"
: > "$VERIFY"

# measure SET TOOL THREADS REP OUTFILE CMD...: one timed run, appended to $MEAS.
measure() {
  local set=$1 tool=$2 thr=$3 rep=$4 outfile=$5; shift 5
  local tf=$OUT/time.$$ so=$OUT/last-$tool.stdout se=$OUT/last-$tool.stderr
  [ -n "$outfile" ] && rm -rf "$outfile"
  local rc=0
  "$TIME" -f '%e %M' -o "$tf" "$@" >"$so" 2>"$se" || rc=$?
  if [ "$rc" -ne 0 ]; then
    echo "bench: $tool failed (exit $rc) on $set, threads $thr:" >&2
    echo "  $*" | cut -c1-300 >&2
    tail -n 20 "$se" >&2
    exit 1
  fi
  # GNU time may print "Command exited with non-zero status" first; take the last line.
  local secs rss
  read -r secs rss < <(tail -n 1 "$tf")
  rm -f "$tf"
  local bytes=0
  [ -n "$outfile" ] && [ -f "$outfile" ] && bytes=$(stat -c %s "$outfile")
  printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$set" "$tool" "$thr" "$rep" "$secs" "$rss" "$bytes" >> "$MEAS"
  log "$(printf '%-8s %-8s threads=%s rep=%s  %6ss  %7s KiB  %s bytes' "$set" "$tool" "$thr" "$rep" "$secs" "$rss" "$bytes")"
}

# Baseline: node + DuckDB loaded, SELECT 1.
if has_tool duckdb; then
  node bench/duckdb.mjs baseline || die "cannot load DuckDB through node; run scripts/setup.sh"
  for ((r = 1; r <= REPEAT; r++)); do
    measure - baseline 0 "$r" "" node bench/duckdb.mjs baseline
  done
fi

for set in $SETS; do
  DATA=$DATA_ROOT/$set-$MB
  if [ ! -f "$DATA/meta.json" ]; then
    log "generating $set data, $MB MB -> $DATA"
    node bench/gen.mjs "$set" "$MB" "$DATA"
  fi
  FILES=("$DATA"/*.ndjson)   # glob order is sorted: events-00, events-01, ...
  [ -f "${FILES[0]}" ] || die "no input files in $DATA"
  COLS=$DATA/duckdb-columns.json
  if [ ! -f "$COLS" ]; then
    node bench/duckdb.mjs describe "$COLS.tmp" "${FILES[@]}"
    mv "$COLS.tmp" "$COLS"
  fi
  # Warm the page cache so both tools read from memory.
  cat "${FILES[@]}" > /dev/null

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

NDPQ_VERSION=""
if has_tool ndpq; then
  NDPQ_VERSION=$("$NDPQ" --version 2>/dev/null | head -n 1 || true)
fi
export NDPQ_VERSION BENCH_MB=$MB BENCH_SETS=$SETS BENCH_REPEAT=$REPEAT BENCH_THREADS=$THREADS \
  BENCH_DUCKDB_COLUMNS=$DUCK_COLS BENCH_STRICT=${BENCH_STRICT:-0}
node bench/report.mjs "$MEAS" "$DATA_ROOT" "$OUT/results.json" | tee "$OUT/results.txt"
