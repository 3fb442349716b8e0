#!/usr/bin/env bash
# Install what ndpq needs to build and test, and nothing that is already there.
#   - Debian packages: only the missing ones (one apt-get update, one apt-get install).
#   - npm test readers in tests/readers/: `npm ci` from the committed lockfile, only when
#     node_modules is missing or older than package-lock.json.
# Idempotent and quick when everything is present. Runs as root on Debian 12 (no sudo).
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"

DEB_PACKAGES=(
  build-essential pkg-config clang libclang-rt-14-dev
  libsnappy-dev libzstd-dev zlib1g-dev liblz4-dev libjansson-dev libsqlite3-dev sqlite3
  libcurl4-openssl-dev
  time nodejs npm valgrind strace
)

log() { printf 'setup: %s\n' "$*" >&2; }

# A package counts as present when it is installed, or when an installed package
# provides it (NodeSource's nodejs provides and conflicts with Debian's npm).
installed_or_provided="$(dpkg-query -W -f='${db:Status-Abbrev}|${Package}|${Provides}\n' 2>/dev/null |
  awk -F'|' '$1 ~ /^ii/ { print $2; n = split($3, a, /, */); for (i = 1; i <= n; i++) { sub(/ .*/, "", a[i]); if (a[i] != "") print a[i] } }' |
  sort -u)"
missing=()
for p in "${DEB_PACKAGES[@]}"; do
  if ! grep -qxF "$p" <<<"$installed_or_provided"; then
    missing+=("$p")
  fi
done

if ((${#missing[@]})); then
  if [[ $(id -u) -ne 0 ]]; then
    log "missing Debian packages (${missing[*]}) and not root: install them and rerun"
    exit 1
  fi
  log "installing Debian packages: ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${missing[@]}"
else
  log "Debian packages: all present"
fi

# npm test readers
READERS="$ROOT/tests/readers"
LOCK="$READERS/package-lock.json"
STAMP="$READERS/node_modules/.package-lock.json" # written by npm on every install
if [[ ! -f "$LOCK" ]]; then
  log "missing $LOCK"
  exit 1
fi
if [[ ! -d "$READERS/node_modules" || ! -f "$STAMP" || "$LOCK" -nt "$STAMP" ]]; then
  log "installing npm test readers (npm ci) in tests/readers"
  (cd "$READERS" && npm ci --no-audit --no-fund --loglevel=error) >&2
  touch "$STAMP"
else
  log "npm test readers: up to date"
fi
