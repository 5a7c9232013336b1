#!/usr/bin/env bash
# The dashboard's one third-party asset, uPlot (MIT), is committed as the dist files of the
# npm package pinned by pipeline/web/npm/package-lock.json, so `go build` works from a
# plain clone. This script installs that package with `npm ci` (which checks the tarball
# against the lockfile's sha512 integrity) under .unitcost/webvendor and then
#   check  (default; `make test` runs it): fails unless the committed files equal the package's
#   update: copies the package's files into pipeline/web/assets/vendor/ (after changing the pin)
set -euo pipefail
repo=$(cd "$(dirname "$0")/../.." && pwd)
home=${UNITCOST_HOME:-$repo/.unitcost}
work=$home/webvendor
npmdir=$repo/pipeline/web/npm
vendor=$repo/pipeline/web/assets/vendor
files=("dist/uPlot.iife.min.js:uPlot.iife.min.js" "dist/uPlot.min.css:uPlot.min.css" "LICENSE:uPlot.LICENSE")

mkdir -p "$work"
cp "$npmdir/package.json" "$npmdir/package-lock.json" "$work/"
(cd "$work" && npm ci --ignore-scripts --no-audit --no-fund --loglevel=error --cache "$home/npm-cache" >/dev/null)
pkg=$work/node_modules/uplot
version=$(node -p "require('$pkg/package.json').version")

case "${1:-check}" in
  update)
    for f in "${files[@]}"; do cp "$pkg/${f%%:*}" "$vendor/${f##*:}"; done
    (cd "$vendor" && sha256sum uPlot.iife.min.js uPlot.min.css uPlot.LICENSE > SHA256SUMS)
    echo "webvendor: copied uplot $version into pipeline/web/assets/vendor" ;;
  check)
    bad=0
    for f in "${files[@]}"; do
      if ! cmp -s "$pkg/${f%%:*}" "$vendor/${f##*:}"; then
        echo "webvendor: pipeline/web/assets/vendor/${f##*:} differs from uplot $version's ${f%%:*} (run deploy/local/webvendor.sh update)" >&2
        bad=1
      fi
    done
    [ $bad = 0 ] && echo "webvendor: pipeline/web/assets/vendor matches uplot $version pinned by package-lock.json"
    exit $bad ;;
  *) echo "usage: $0 check|update" >&2; exit 2 ;;
esac
