#!/usr/bin/env bash
# Installs the Python and Node peers the tests use, under .unitcost/ (idempotent; a no-op
# when already installed):
#   .unitcost/venv          chdb-core: the current ClickHouse engine in-process, to check
#                           unitcost's SQL on a modern server (make sql-modern)
#   .unitcost/clients-venv  the real openai client and three instrumentation libraries
#                           (testdata/clients/python/requirements.txt, pinned)
#   .unitcost/clients-js    the official OpenTelemetry JS SDK (testdata/clients/js, pinned
#                           by its package-lock.json), for the JS client
# The last two drive pipeline/stack's instrumentation suite. Each is keyed by a hash of
# what it installs, so a changed pin reinstalls it.
set -euo pipefail
repo=$(cd "$(dirname "$0")/../.." && pwd)
home=${UNITCOST_HOME:-$repo/.unitcost}
mkdir -p "$home"
command -v python3 >/dev/null || { echo "venv: python3 not found; install it (apt-get install python3 python3-venv)" >&2; exit 1; }

# pyvenv DIR KEY PIP_ARGS...: a virtualenv at DIR with PIP_ARGS installed, unless DIR/.installed says KEY.
pyvenv() {
  local dir=$1 key=$2; shift 2
  if [ -f "$dir/.installed" ] && [ "$(cat "$dir/.installed")" = "$key" ]; then return 0; fi
  echo "venv: installing $key into $dir (PyPI)..."
  rm -rf "$dir"
  python3 -m venv "$dir" || { echo "venv: python3 -m venv failed; apt-get install python3-venv" >&2; exit 1; }
  "$dir/bin/pip" install -q --disable-pip-version-check "$@" >"$dir.pip.log" 2>&1 || {
    echo "venv: pip install failed; see $dir.pip.log" >&2; exit 1; }
  echo "$key" >"$dir/.installed"
}

pyvenv "$home/venv" "chdb-core==26.9.0" "chdb-core==26.9.0"

req=$repo/testdata/clients/python/requirements.txt
pyvenv "$home/clients-venv" "clients $(sha256sum "$req" | cut -c1-16)" -r "$req"

js=$repo/testdata/clients/js
key="js $(cat "$js/package.json" "$js/package-lock.json" | sha256sum | cut -c1-16)"
dir=$home/clients-js
if ! { [ -f "$dir/.installed" ] && [ "$(cat "$dir/.installed")" = "$key" ]; }; then
  command -v npm >/dev/null || { echo "venv: npm not found; install Node.js (apt-get install nodejs npm)" >&2; exit 1; }
  echo "venv: installing the OpenTelemetry JS SDK into $dir (npm ci)..."
  rm -rf "$dir" && mkdir -p "$dir"
  cp "$js/package.json" "$js/package-lock.json" "$dir/"
  (cd "$dir" && npm ci --no-audit --no-fund --ignore-scripts >"$dir/npm.log" 2>&1) || {
    echo "venv: npm ci failed; see $dir/npm.log" >&2; exit 1; }
  echo "$key" >"$dir/.installed"
fi
