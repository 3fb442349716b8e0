#!/usr/bin/env bash
# make check: every suite, then one closing line for all of them.
#   1. tests/run.sh       unit tests + end-to-end tests (normal build)
#   2. tests/sanitize.sh  the same suite under ASan+UBSan, unit tests under valgrind
#   3. tests/fuzz/run.sh  regression inputs + a short run of each libFuzzer target
# Closes with "check: N passed, M failed" (the sum); exits non-zero on any failure.
# CHECK_QUICK=1 runs step 1 only (for development).
set -uo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.." || exit 1

passed=0
failed=0
status=0
failures=$(mktemp)
trap 'rm -f "$failures"' EXIT
run_suite() {
    local name=$1
    shift
    local log
    log=$(mktemp)
    "$@" 2>&1 | tee "$log"
    local rc=${PIPESTATUS[0]}
    grep -E '^failed test: |^sanitize: FAILED' "$log" | sed "s/^/check: $name: /" >>"$failures"
    local line
    line=$(grep -E '(^|: )[0-9]+ passed, [0-9]+ failed' "$log" | tail -1)
    rm -f "$log"
    if [[ -z "$line" ]]; then
        echo "check: $name printed no summary"
        failed=$((failed + 1))
        status=1
        return
    fi
    local p f
    p=$(sed -E 's/(^|.*[^0-9])([0-9]+) passed, ([0-9]+) failed.*/\2/' <<<"$line")
    f=$(sed -E 's/(^|.*[^0-9])([0-9]+) passed, ([0-9]+) failed.*/\3/' <<<"$line")
    passed=$((passed + p))
    failed=$((failed + f))
    if [[ $rc -ne 0 ]]; then status=1; fi
    echo "check: $name: $p passed, $f failed"
}

run_suite tests bash tests/run.sh
if [[ "${CHECK_QUICK:-0}" != 1 ]]; then
    run_suite sanitizers bash tests/sanitize.sh
    run_suite fuzz env FUZZ_SECONDS="${FUZZ_SECONDS:-5}" bash tests/fuzz/run.sh
fi
if [[ $passed -eq 0 ]]; then status=1; fi
if [[ $failed -ne 0 ]]; then status=1; fi
# Repeated at the end: CI keeps only the tail of the output.
cat "$failures"
echo "check: $passed passed, $failed failed"
exit $status
