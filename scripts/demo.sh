#!/usr/bin/env bash
# The README's main command (make demo): the whole pipeline on the embedded
# default. Sample NDJSON for yesterday and today lands in demo/buckets/input;
# `ndpq run --once` tracks, quarantines, batches, writes manifests and runs
# each batch's conversion; then the status table, the Parquet paths and a
# DuckDB read of the output are printed.
set -euo pipefail
cd "$(dirname "$0")/.."
NDPQ=${NDPQ_BIN:-build/ndpq}
export NDPQ_HOME=${DEMO_HOME:-demo}
rm -rf "$NDPQ_HOME"
mkdir -p "$NDPQ_HOME/buckets/input"
today=$(date -u +%F)
yesterday=$(date -u -d yesterday +%F)

node scripts/sample-data.mjs "$NDPQ_HOME/buckets/input" "$yesterday" "$today"
echo 'not ndjson' > "$NDPQ_HOME/buckets/input/$today-notes.txt"   # wrong extension: quarantined
: > "$NDPQ_HOME/buckets/input/$today-empty.ndjson"                 # empty: quarantined

echo "== ndpq run --once (MAX_FILES_PER_MANIFEST=${MAX_FILES_PER_MANIFEST:=4})"
export MAX_FILES_PER_MANIFEST
"$NDPQ" run --once
echo
echo "== ndpq status"
"$NDPQ" status
echo
echo "== Parquet written"
find "$NDPQ_HOME/buckets/output" -name '*.parquet' | sort
echo
node scripts/show.mjs "$NDPQ_HOME/buckets/output/merged-parquet-*/*.parquet"
