#!/usr/bin/env bash
# Builds the libFuzzer targets in tests/fuzz/ into build-fuzz/ and runs each:
#   1. replays every saved regression input (tests/fuzz/regressions/<target>/*);
#   2. fuzzes for FUZZ_SECONDS on a copy of the seed corpus
#      (tests/fuzz/corpus/<target>/; the committed corpus is never grown).
# A crash, leak, timeout or failed check ends that target's run; the input is
# saved under build-fuzz/crashes/ and the script exits non-zero.
# Prints one line per target with its executions and time, and closes with
#   fuzz: N passed, M failed
# (one test per target run and per regression input).
#
# Environment:
#   FUZZ_SECONDS   seconds of fuzzing per target (default 10; 0 = only replay regressions)
#   FUZZ_TARGETS   space-separated subset of targets (default: every tests/fuzz/fuzz_*.c)
#   FUZZ_CC        clang to use (default clang)
#   FUZZ_JOBS      parallel compiles (default: number of cores)
#   FUZZ_ARGS      extra libFuzzer flags for the fuzzing runs
set -uo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
cd "$ROOT" || exit 1

OUT="$ROOT/build-fuzz"
FUZZ_DIR="$ROOT/tests/fuzz"
FUZZ_SECONDS="${FUZZ_SECONDS:-10}"
CC="${FUZZ_CC:-clang}"
JOBS="${FUZZ_JOBS:-$(nproc 2>/dev/null || echo 2)}"
PKGS="libzstd liblz4 snappy zlib jansson sqlite3 libcurl"

# Longest input per target: the scanner's inputs are whole files of several
# lines (so several row groups and pages); the others are single documents.
declare -A MAX_LEN=([fuzz_scanner]=16384 [fuzz_events]=16384 [fuzz_manifest]=8192 [fuzz_config]=8192)
declare -A DICT=([fuzz_scanner]=json.dict [fuzz_events]=events.dict [fuzz_manifest]=json.dict [fuzz_config]=config.dict)

say() { printf 'fuzz: %s\n' "$*"; }

if ! command -v "$CC" >/dev/null; then
  say "$CC not found (install clang)"
  echo "fuzz: 0 passed, 1 failed"
  exit 1
fi
# shellcheck disable=SC2086 # PKGS is a list
if ! pkg-config --exists $PKGS; then
  say "pkg-config cannot find the libraries ($PKGS)"
  echo "fuzz: 0 passed, 1 failed"
  exit 1
fi
# shellcheck disable=SC2086
PKG_CFLAGS="$(pkg-config --cflags $PKGS)"
# shellcheck disable=SC2086
PKG_LIBS="$(pkg-config --libs $PKGS)"
VERSION="$(sed -nE 's/^VERSION[[:space:]]*:=[[:space:]]*//p' Makefile | head -n 1)"

# shellcheck disable=SC2206 # PKG_CFLAGS is a list of flags
COMMON=(-std=c11 -D_GNU_SOURCE -O1 -g -fno-omit-frame-pointer -Isrc $PKG_CFLAGS
  "-DNDPQ_VERSION=\"${VERSION:-0.0.0}\"" '-DNDPQ_BUILD="fuzz"')
# shellcheck disable=SC2054 # the commas belong to -fsanitize=
LIB_FLAGS=(-fsanitize=fuzzer-no-link,address,undefined -fno-sanitize-recover=undefined)
# shellcheck disable=SC2054
TARGET_FLAGS=(-fsanitize=fuzzer,address,undefined -fno-sanitize-recover=undefined)

if [[ -n "${FUZZ_TARGETS:-}" ]]; then
  read -r -a targets <<<"$FUZZ_TARGETS"
else
  mapfile -t targets < <(find "$FUZZ_DIR" -maxdepth 1 -name 'fuzz_*.c' -printf '%f\n' | sed 's/\.c$//' | sort)
fi
if ((${#targets[@]} == 0)); then
  say "no targets"
  echo "fuzz: 0 passed, 1 failed"
  exit 1
fi

t_start=$SECONDS
mkdir -p "$OUT/obj" "$OUT/crashes" "$OUT/logs"

# --- build -------------------------------------------------------------------
# The library (src/*/*.c but main.c) once, instrumented without libFuzzer's
# main; an object is rebuilt when its source or any header is newer.
lib_src=()
for s in src/*/*.c; do [[ "$s" == src/cli/main.c ]] || lib_src+=("$s"); done
newest_header="$(find src tests/fuzz tests/unit -name '*.h' -printf '%T@\n' | sort -n | tail -n 1)"
flags_sig="$CC ${COMMON[*]} ${LIB_FLAGS[*]}"
if [[ "$(cat "$OUT/obj/flags" 2>/dev/null)" != "$flags_sig" ]]; then
  rm -rf "$OUT/obj"
  mkdir -p "$OUT/obj"
  printf '%s' "$flags_sig" >"$OUT/obj/flags"
fi
stale=()
for s in "${lib_src[@]}" tests/unit/decoders.c; do
  o="$OUT/obj/${s%.c}.o"
  if [[ ! -f "$o" || "$s" -nt "$o" ]] ||
    awk -v h="$newest_header" -v t="$(stat -c %Y "$o")" 'BEGIN { exit !(h > t) }'; then
    stale+=("$s")
  fi
done
build_failed=0
if ((${#stale[@]})); then
  say "compiling ${#stale[@]} source files"
  export CC OUT
  # shellcheck disable=SC2016 # expanded by the inner bash
  printf '%s\n' "${stale[@]}" | xargs -P "$JOBS" -I{} bash -c '
    s="$1"; shift
    o="$OUT/obj/${s%.c}.o"
    mkdir -p "$(dirname "$o")"
    "$CC" "$@" -c -o "$o" "$s" || { rm -f "$o"; exit 1; }
  ' _ {} "${COMMON[@]}" "${LIB_FLAGS[@]}" || build_failed=1
fi
if ((build_failed)); then
  say "library build failed"
  echo "fuzz: 0 passed, 1 failed"
  exit 1
fi
lib_obj=()
for s in "${lib_src[@]}"; do lib_obj+=("$OUT/obj/${s%.c}.o"); done

for t in "${targets[@]}"; do
  if [[ ! -f "$FUZZ_DIR/$t.c" ]]; then
    say "no target $t"
    build_failed=1
    continue
  fi
  extra=()
  [[ "$t" == fuzz_scanner ]] && extra+=("$OUT/obj/tests/unit/decoders.o")
  # shellcheck disable=SC2086 # PKG_LIBS is a list
  if ! "$CC" "${COMMON[@]}" "${TARGET_FLAGS[@]}" -o "$OUT/$t" "$FUZZ_DIR/$t.c" \
    "${extra[@]}" "${lib_obj[@]}" $PKG_LIBS -lpthread -lm; then
    say "building $t failed"
    build_failed=1
  fi
done
if ((build_failed)); then
  echo "fuzz: 0 passed, 1 failed"
  exit 1
fi
say "built ${#targets[@]} targets in $((SECONDS - t_start)) s"

# Sanitizer settings for every run: leaks count as failures.
export ASAN_OPTIONS="${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=1}"
export UBSAN_OPTIONS="${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}"

passed=0
failed=0
summary=()
total_execs=0

# --- regression inputs ---------------------------------------------------------
for t in "${targets[@]}"; do
  rdir="$FUZZ_DIR/regressions/$t"
  [[ -d "$rdir" ]] || continue
  mapfile -t files < <(find "$rdir" -type f ! -name '*.md' ! -name '.*' | sort)
  ((${#files[@]})) || continue
  for f in "${files[@]}"; do
    log="$OUT/logs/$t-regression-$(basename "$f").log"
    if "$OUT/$t" "$f" >"$log" 2>&1; then
      passed=$((passed + 1))
    else
      failed=$((failed + 1))
      say "REGRESSION FAILED: $t ${f#"$ROOT"/} (log: ${log#"$ROOT"/})"
      grep -E 'ERROR: |fuzz check failed|runtime error|SUMMARY' "$log" | head -n 5 | sed 's/^/    /'
    fi
  done
  say "$t: replayed ${#files[@]} regression inputs"
done

# --- fuzzing -------------------------------------------------------------------
if [[ "$FUZZ_SECONDS" != 0 ]]; then
  for t in "${targets[@]}"; do
    work="$OUT/work/$t"
    rm -rf "$work"
    mkdir -p "$work/corpus"
    [[ -d "$FUZZ_DIR/corpus/$t" ]] && cp "$FUZZ_DIR/corpus/$t/"* "$work/corpus/" 2>/dev/null
    seeds="$(find "$work/corpus" -type f | wc -l)"
    log="$OUT/logs/$t.log"
    args=(-max_total_time="$FUZZ_SECONDS" -max_len="${MAX_LEN[$t]:-4096}" -timeout=25
      -rss_limit_mb=2048 -print_final_stats=1 -artifact_prefix="$OUT/crashes/$t-")
    d="${DICT[$t]:-}"
    [[ -n "$d" && -f "$FUZZ_DIR/$d" ]] && args+=(-dict="$FUZZ_DIR/$d")
    # shellcheck disable=SC2206
    [[ -n "${FUZZ_ARGS:-}" ]] && args+=($FUZZ_ARGS)
    t0=$SECONDS
    "$OUT/$t" "${args[@]}" "$work/corpus" >"$log" 2>&1
    rc=$?
    secs=$((SECONDS - t0))
    execs="$(sed -nE 's/^stat::number_of_executed_units: *([0-9]+).*/\1/p' "$log" | tail -n 1)"
    rate="$(sed -nE 's/^stat::average_exec_per_sec: *([0-9]+).*/\1/p' "$log" | tail -n 1)"
    if [[ -z "$execs" ]]; then
      # A crash skips the final stats: take the last progress line.
      execs="$(grep -oE '^#[0-9]+' "$log" | tail -n 1 | tr -d '#')"
    fi
    cov="$(grep -oE 'cov: [0-9]+' "$log" | tail -n 1 | sed 's/cov: //')"
    corpus_n="$(find "$work/corpus" -type f | wc -l)"
    line="$(printf '%-14s %9s execs in %3d s (%s/s), cov %s, corpus %d -> %d' "$t" "${execs:-?}" "$secs" \
      "${rate:-?}" "${cov:-?}" "$seeds" "$corpus_n")"
    total_execs=$((total_execs + ${execs:-0}))
    if ((rc == 0)); then
      passed=$((passed + 1))
      summary+=("ok     $line")
    else
      failed=$((failed + 1))
      art="$(grep -oE "Test unit written to [^ ]+" "$log" | tail -n 1 | sed 's/Test unit written to //')"
      kind="$(grep -oE 'ERROR: (AddressSanitizer|LeakSanitizer|UndefinedBehaviorSanitizer|libFuzzer): [a-zA-Z0-9_ -]+|fuzz check failed at [^ ]+|runtime error: .*' "$log" | head -n 1)"
      summary+=("FAILED $line")
      summary+=("         ${kind:-exit $rc} — input: ${art:-none saved} — log: ${log#"$ROOT"/}")
    fi
  done
fi

for s in "${summary[@]}"; do say "$s"; done
say "total: $total_execs executions, $((SECONDS - t_start)) s"
echo "fuzz: $passed passed, $failed failed"
((failed == 0))
