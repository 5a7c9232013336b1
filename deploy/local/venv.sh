#!/usr/bin/env bash
# Creates .unitcost/venv with the Python peers the tests use: chdb-core (the current
# ClickHouse engine in-process, to check unitcost's SQL on a modern server). Idempotent.
set -euo pipefail
repo=$(cd "$(dirname "$0")/../.." && pwd)
home=${UNITCOST_HOME:-$repo/.unitcost}
venv=$home/venv
want="chdb-core==26.9.0"
if [ -f "$venv/.installed" ] && [ "$(cat "$venv/.installed")" = "$want" ]; then exit 0; fi
command -v python3 >/dev/null || { echo "venv: python3 not found; install it (apt-get install python3 python3-venv)" >&2; exit 1; }
mkdir -p "$home"
echo "venv: installing $want into $venv (PyPI)..."
python3 -m venv "$venv" || { echo "venv: python3 -m venv failed; apt-get install python3-venv" >&2; exit 1; }
"$venv/bin/pip" install -q --disable-pip-version-check "$want" >"$home/pip.log" 2>&1 || {
  echo "venv: pip install failed; see $home/pip.log" >&2; exit 1; }
echo "$want" >"$venv/.installed"
