#!/usr/bin/env bash
# Runs a command with local services up, and stops afterwards the services it started
# (services that were already running are left running).
#   deploy/local/with-services.sh "clickhouse kafka" -- go test ./...
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
services=$1; shift
[ "${1:-}" = "--" ] && shift
started=()
cleanup() {
  for s in "${started[@]}"; do "$here/$s.sh" stop || true; done
}
trap cleanup EXIT
for s in $services; do
  if ! "$here/$s.sh" status >/dev/null 2>&1; then
    "$here/$s.sh" start
    started+=("$s")
  else
    echo "$s: already running; leaving it running"
  fi
done
"$@"
