#!/usr/bin/env bash
# Builds .unitcost/otelcol/otelcol-unitcost: an OpenTelemetry Collector with the OTLP
# receiver and the kafka exporter (contrib v0.165.1), from the Collector's Go modules
# (deploy/otelcol, its own Go module), for `make bench-e2e`'s ingest comparison. The
# otelcol-contrib release binary is on GitHub releases only, not on a package registry;
# this is what the Collector's builder would generate. Idempotent; the first build takes
# minutes (it downloads and compiles the Collector's dependencies).
set -euo pipefail
repo=$(cd "$(dirname "$0")/../.." && pwd)
home=${UNITCOST_HOME:-$repo/.unitcost}
out=$home/otelcol/otelcol-unitcost
stamp=$(cat "$repo/deploy/otelcol/go.sum" "$repo/deploy/otelcol/main.go" | sha256sum | cut -c1-16)
if [ -x "$out" ] && [ "$(cat "$out.stamp" 2>/dev/null)" = "$stamp" ]; then exit 0; fi
mkdir -p "$home/otelcol"
echo "otelcol: building $out from deploy/otelcol (Go modules; first time takes minutes)..."
(cd "$repo/deploy/otelcol" && go build -o "$out" .) >"$home/otelcol/build.log" 2>&1 || {
  echo "otelcol: build failed; see $home/otelcol/build.log" >&2; exit 1; }
echo "$stamp" >"$out.stamp"
