#!/usr/bin/env bash
# Run every test of ndpq: the C unit tests, then the end-to-end tests (node --test).
# Called by `make check` after building. Prints, as its very last line:
#   check: N passed, M failed
# and exits non-zero if anything failed or if no test ran.
#
# Environment:
#   NDPQ_BIN        ndpq binary under test (default build/ndpq), e.g. an ASan build
#   NDPQ_TEST_UNIT  unit-test binary (default: test_unit beside NDPQ_BIN, else build/test_unit)
#   NDPQ_E2E_JOBS   test files run at once (default 2)
#   NDPQ_E2E_FILTER only run e2e tests whose name matches this pattern (node --test-name-pattern)
#   NDPQ_KEEP_TMP   keep the e2e temp directories (for debugging)
set -uo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"

export NDPQ_BIN="${NDPQ_BIN:-$ROOT/build/ndpq}"
case "$NDPQ_BIN" in /*) ;; *) NDPQ_BIN="$ROOT/$NDPQ_BIN" ;; esac
if [[ -z "${NDPQ_TEST_UNIT:-}" ]]; then
  NDPQ_TEST_UNIT="$(dirname "$NDPQ_BIN")/test_unit"
  [[ -x "$NDPQ_TEST_UNIT" ]] || NDPQ_TEST_UNIT="$ROOT/build/test_unit"
fi

passed=0
failed=0
work="$(mktemp -d "${TMPDIR:-/tmp}/ndpq-check.XXXXXX")"
trap 'rm -rf "$work"' EXIT

# --- unit tests -------------------------------------------------------------
echo "== unit tests: $NDPQ_TEST_UNIT"
if [[ -x "$NDPQ_TEST_UNIT" ]]; then
  "$NDPQ_TEST_UNIT" 2>&1 | tee "$work/unit.out"
  unit_rc=${PIPESTATUS[0]}
  line="$(grep -E '^([A-Za-z_-]+: )?[0-9]+ passed, [0-9]+ failed' "$work/unit.out" | tail -n 1)"
  if [[ -n "$line" ]]; then
    up="$(sed -E 's/^([A-Za-z_-]+: )?([0-9]+) passed.*/\2/' <<<"$line")"
    uf="$(sed -E 's/.* ([0-9]+) failed.*/\1/' <<<"$line")"
    passed=$((passed + up))
    failed=$((failed + uf))
    if ((unit_rc != 0 && uf == 0)); then
      echo "unit tests exited $unit_rc after reporting no failure: counted as one failure"
      failed=$((failed + 1))
    fi
  else
    echo "unit tests (exit $unit_rc) printed no 'N passed, N failed' line: counted as one failure"
    failed=$((failed + 1))
  fi
else
  echo "no unit-test binary at $NDPQ_TEST_UNIT: counted as one failure"
  failed=$((failed + 1))
fi

# --- end-to-end tests ---------------------------------------------------------
echo "== end-to-end tests: $NDPQ_BIN"
if [[ ! -d "$ROOT/tests/readers/node_modules" ]]; then
  bash "$ROOT/scripts/setup.sh" || echo "setup failed"
fi
mapfile -t e2e_files < <(find "$ROOT/tests/e2e" -maxdepth 1 -name '*.test.mjs' | sort)
if ((${#e2e_files[@]} == 0)); then
  echo "no e2e test files found"
  failed=$((failed + 1))
else
  node_args=(--test --test-concurrency="${NDPQ_E2E_JOBS:-2}" --test-timeout=600000
    --test-reporter=spec --test-reporter-destination=stdout
    --test-reporter=tap --test-reporter-destination="$work/e2e.tap")
  [[ -n "${NDPQ_E2E_FILTER:-}" ]] && node_args+=(--test-name-pattern="$NDPQ_E2E_FILTER")
  node "${node_args[@]}" "${e2e_files[@]}"
  e2e_rc=$?
  ep="$(sed -nE 's/^# pass ([0-9]+)$/\1/p' "$work/e2e.tap" | tail -n 1)"
  ef="$(sed -nE 's/^# fail ([0-9]+)$/\1/p' "$work/e2e.tap" | tail -n 1)"
  ec="$(sed -nE 's/^# cancelled ([0-9]+)$/\1/p' "$work/e2e.tap" | tail -n 1)"
  if [[ -z "$ep" || -z "$ef" ]]; then
    echo "node --test (exit $e2e_rc) left no summary: counted as one failure"
    failed=$((failed + 1))
  else
    passed=$((passed + ep))
    failed=$((failed + ef + ${ec:-0}))
    if ((e2e_rc != 0 && ef + ${ec:-0} == 0)); then
      echo "node --test exited $e2e_rc with no failed test: counted as one failure"
      failed=$((failed + 1))
    fi
  fi
fi

# Name the failures last, where a log's tail is all one may get to see.
{
  grep -E '^FAIL ' "$work/unit.out" 2>/dev/null | sed 's/^FAIL /unit: /'
  [[ -f "$work/e2e.tap" ]] && grep -E '^ *not ok ' "$work/e2e.tap" | sed -E 's/^ *not ok [0-9]+ - /e2e: /'
} | sed 's/^/failed test: /' | awk '!seen[$0]++'

status=0
if ((failed > 0)); then
  status=1
elif ((passed == 0)); then
  echo "no test ran"
  status=1
fi
echo "check: $passed passed, $failed failed"
exit "$status"
