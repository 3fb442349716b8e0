#!/usr/bin/env bash
# Runs ndpq's tests under the sanitizers:
#   1. builds build-asan/ndpq and build-asan/test_unit with clang, ASan + UBSan
#      (no recovery: the first error stops the process);
#   2. runs the whole suite (tests/run.sh: unit + end-to-end) on those binaries,
#      leaks included (detect_leaks=1);
#   3. builds the normal build/test_unit and runs it under valgrind
#      (definite and indirect leaks are errors).
# Sanitizer reports are written to build-asan/sanitizer-logs/ (one file per
# process that had one) and printed at the end, so a report from a process
# whose exit status no test looks at is not lost; any report is a failure.
# Closes with
#   sanitize: N passed, M failed
# counting the tests of steps 2 and 3, plus one failure for each build that
# failed, for valgrind errors outside a failed test, and for stray sanitizer
# reports. Exits non-zero on any failure.
#
# Environment: SANITIZE_CC (default clang), and tests/run.sh's NDPQ_E2E_JOBS,
# NDPQ_E2E_FILTER.
set -uo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT" || exit 1

CC_ASAN="${SANITIZE_CC:-clang}"
ASAN_DIR=build-asan
ASAN_CFLAGS='-O1 -g -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=all'
ASAN_LDFLAGS='-fsanitize=address,undefined'
LOGS="$ROOT/$ASAN_DIR/sanitizer-logs"
JOBS="$(nproc 2>/dev/null || echo 2)"

passed=0
failed=0
t_start=$SECONDS
work="$(mktemp -d "${TMPDIR:-/tmp}/ndpq-sanitize.XXXXXX")"
trap 'rm -rf "$work"' EXIT

say() { printf 'sanitize: %s\n' "$*"; }

# "[word: ]N passed, M failed" -> "N M", from the last such line of a file.
counts() {
  grep -E '^([A-Za-z_-]+: )?[0-9]+ passed, [0-9]+ failed' "$1" | tail -n 1 |
    sed -E 's/^([A-Za-z_-]+: )?([0-9]+) passed, ([0-9]+) failed.*/\2 \3/'
}

# --- 1. ASan + UBSan build -------------------------------------------------------
say "building $ASAN_DIR/ndpq and $ASAN_DIR/test_unit ($CC_ASAN, ASan + UBSan)"
# make does not notice changed flags: start over when they differ from the last build.
sig="$CC_ASAN | $ASAN_CFLAGS | $ASAN_LDFLAGS"
if [[ "$(cat "$ASAN_DIR/.sanitize-flags" 2>/dev/null)" != "$sig" ]]; then
  rm -rf "$ASAN_DIR/obj" "$ASAN_DIR/libndpq.a" "$ASAN_DIR/ndpq" "$ASAN_DIR/test_unit"
fi
asan_ok=0
if make -j"$JOBS" BUILD="$ASAN_DIR" CC="$CC_ASAN" CFLAGS="$ASAN_CFLAGS" LDFLAGS="$ASAN_LDFLAGS" \
  "$ASAN_DIR/ndpq" "$ASAN_DIR/test_unit" >"$work/asan-build.log" 2>&1; then
  mkdir -p "$ASAN_DIR"
  printf '%s' "$sig" >"$ASAN_DIR/.sanitize-flags"
  asan_ok=1
else
  tail -n 30 "$work/asan-build.log"
  say "FAILED: ASan build"
  failed=$((failed + 1))
fi

# --- 2. the whole suite on the ASan binaries -------------------------------------
if ((asan_ok)); then
  rm -rf "$LOGS"
  mkdir -p "$LOGS"
  t0=$SECONDS
  # LeakSanitizer cannot run under ptrace: the tests that inject faults with
  # strace would die of "LeakSanitizer has encountered a fatal error". The
  # tests run ndpq through this wrapper, which turns leak checking off only
  # for a traced process and execs the binary (same pid, same arguments).
  wrapper="$ROOT/$ASAN_DIR/ndpq-sanitize"
  cat >"$wrapper" <<WRAPPER
#!/bin/sh
# Written by tests/sanitize.sh: runs $ROOT/$ASAN_DIR/ndpq, without leak checks when traced.
while read -r k v; do
  if [ "\$k" = "TracerPid:" ]; then
    [ "\$v" != 0 ] && export ASAN_OPTIONS="\${ASAN_OPTIONS:-}:detect_leaks=0"
    break
  fi
done </proc/\$\$/status
exec "$ROOT/$ASAN_DIR/ndpq" "\$@"
WRAPPER
  chmod +x "$wrapper"
  # quarantine_size_mb=16: ASan's default 256 MiB quarantine of freed memory
  # alone breaks the e2e test that bounds the converter's peak memory.
  say "running tests/run.sh on $ASAN_DIR/ndpq and $ASAN_DIR/test_unit"
  ASAN_OPTIONS="detect_leaks=1:abort_on_error=1:quarantine_size_mb=16:log_path=$LOGS/asan" \
    UBSAN_OPTIONS="print_stacktrace=1:halt_on_error=1:log_path=$LOGS/asan" \
    NDPQ_BIN="$wrapper" NDPQ_TEST_UNIT="$ROOT/$ASAN_DIR/test_unit" \
    bash tests/run.sh 2>&1 | tee "$work/suite.out"
  suite_rc=${PIPESTATUS[0]}
  read -r sp sf <<<"$(counts "$work/suite.out")"
  if [[ -z "${sp:-}" ]]; then
    say "FAILED: the ASan suite (exit $suite_rc) printed no 'N passed, M failed' line"
    failed=$((failed + 1))
  else
    passed=$((passed + sp))
    failed=$((failed + sf))
    if ((suite_rc != 0 && sf == 0)); then
      say "FAILED: the ASan suite exited $suite_rc with no failed test"
      failed=$((failed + 1))
    fi
  fi
  mapfile -t logs < <(find "$LOGS" -type f 2>/dev/null | sort)
  # LeakSanitizer checks at exit. A process killed at that moment (the
  # tests kill services, and their jobs die with them) can leave a log
  # holding only "Unable to get registers from thread N": the checker could
  # not run, so it found nothing. Every other report counts.
  reports=()
  for f in "${logs[@]}"; do
    if grep -qv 'Unable to get registers from thread' "$f"; then
      reports+=("$f")
    else
      say "not a finding (LeakSanitizer could not stop a dying process): ${f#"$ROOT"/}"
    fi
  done
  if ((${#reports[@]})); then
    say "${#reports[@]} sanitizer report(s) in ${LOGS#"$ROOT"/}:"
    for f in "${reports[@]}"; do
      echo "----- ${f#"$ROOT"/}"
      head -n 60 "$f"
    done
    echo "-----"
    # Counted once more even if a test failed with it: a report must never pass.
    failed=$((failed + 1))
  fi
  say "ASan suite: $((SECONDS - t0)) s"
fi

# --- 3. unit tests under valgrind --------------------------------------------------
t0=$SECONDS
say "building build/test_unit"
if ! make -j"$JOBS" build/test_unit >"$work/build.log" 2>&1; then
  tail -n 30 "$work/build.log"
  say "FAILED: build/test_unit build"
  failed=$((failed + 1))
elif ! command -v valgrind >/dev/null; then
  say "FAILED: valgrind not installed (scripts/setup.sh installs it)"
  failed=$((failed + 1))
else
  say "running build/test_unit under valgrind"
  valgrind --leak-check=full --errors-for-leak-kinds=definite,indirect --error-exitcode=1 \
    --log-file="$work/valgrind.log" build/test_unit >"$work/vg.out" 2>&1
  vg_rc=$?
  tail -n 5 "$work/vg.out"
  read -r vp vf <<<"$(counts "$work/vg.out")"
  vg_errors="$(sed -nE 's/.*ERROR SUMMARY: ([0-9]+) errors.*/\1/p' "$work/valgrind.log" | tail -n 1)"
  if [[ -z "${vp:-}" ]]; then
    say "FAILED: test_unit under valgrind (exit $vg_rc) printed no 'N passed, M failed' line"
    failed=$((failed + 1))
  else
    passed=$((passed + vp))
    failed=$((failed + vf))
  fi
  if [[ "${vg_errors:-0}" != 0 ]] || { ((vg_rc != 0)) && [[ "${vf:-0}" == 0 ]]; }; then
    say "FAILED: valgrind found ${vg_errors:-?} error(s) (exit $vg_rc):"
    grep -vE '^==[0-9]+== *$' "$work/valgrind.log" | grep -A40 -E 'Invalid|uninitialised|definitely lost|indirectly lost|LEAK SUMMARY|ERROR SUMMARY' | head -n 120
    failed=$((failed + 1))
  else
    say "valgrind: no errors, no definite or indirect leaks ($(grep -oE 'in use at exit: [0-9,]+ bytes' "$work/valgrind.log" | head -n 1))"
  fi
  say "valgrind: $((SECONDS - t0)) s"
fi

say "total time $((SECONDS - t_start)) s"
echo "sanitize: $passed passed, $failed failed"
((failed == 0))
