#!/usr/bin/env bash
# The README's main command (make demo): sample NDJSON for yesterday and
# today, one manifest per date, converted by `ndpq convert --manifest` into
# demo/buckets/output/merged-parquet-DATE/, then read back with DuckDB.
set -euo pipefail
cd "$(dirname "$0")/.."
NDPQ=${NDPQ_BIN:-build/ndpq}
HOME_DIR=${DEMO_HOME:-demo}
rm -rf "$HOME_DIR"
mkdir -p "$HOME_DIR/buckets/input" "$HOME_DIR/buckets/manifests/manifests"
today=$(date -u +%F)
yesterday=$(date -u -d yesterday +%F)

node scripts/sample-data.mjs "$HOME_DIR/buckets/input" "$yesterday" "$today"

for d in "$yesterday" "$today"; do
  m="$HOME_DIR/buckets/manifests/manifests/$d/demo-$d.json"
  mkdir -p "$(dirname "$m")"
  node -e '
    const [dir, date, out] = process.argv.slice(1);
    const fs = require("fs"), path = require("path");
    const files = fs.readdirSync(dir).filter(f => f.startsWith(date)).sort()
      .map(f => "file://" + path.resolve(dir, f).split("/").map(encodeURIComponent).join("/"));
    fs.writeFileSync(out, JSON.stringify({fileLocations: [{URIPrefixes: files}]}));
  ' "$HOME_DIR/buckets/input" "$d" "$m"
  echo "== ndpq convert --manifest $m"
  NDPQ_HOME="$HOME_DIR" "$NDPQ" convert --manifest "$m"
done

echo "== Parquet written"
find "$HOME_DIR/buckets/output" -name '*.parquet' | sort
node scripts/show.mjs "$HOME_DIR/buckets/output/merged-parquet-*/*.parquet"
