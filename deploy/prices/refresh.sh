#!/usr/bin/env bash
# Maintainer script: compare the built-in price book with the public price catalogs as they
# ship in their PyPI packages, for a person to review.
#
#   deploy/prices/refresh.sh            # pinned catalog versions (below)
#   LITELLM_VERSION=latest GENAI_PRICES_VERSION=latest deploy/prices/refresh.sh
#   deploy/prices/refresh.sh --pin      # also rewrite the pinned snapshots in testdata/prices/
#
# 1. Installs litellm (without its dependencies: only its bundled
#    model_prices_and_context_window_backup.json is read) and genai-prices into
#    .unitcost/prices/venv, and copies both catalogs to .unitcost/prices/ (genai-prices' data is
#    exported to JSON by genai_prices_json.py). Nothing is fetched from the catalogs' web sites
#    and unitcost itself never needs the network for prices.
# 2. Runs `unitcost prices diff builtin CATALOG --explained deploy/prices/explained-differences.yaml`
#    for each: every difference not explained is printed. Review each against the provider's
#    pricing page, then either correct pipeline/pricing/builtin.yaml (rates, as_of, source, and
#    the book's refreshed / refreshed_from) or add the difference with its reason to
#    deploy/prices/explained-differences.yaml. Rerun until nothing is left.
# 3. With --pin, writes the catalog entries the book is compared with to testdata/prices/
#    (both catalogs are MIT-licensed; see testdata/prices/README.md and update the versions
#    there). `make test` then compares the book with these snapshots.
# Exit status 1 while any difference is unexplained. Idempotent.
set -euo pipefail
repo=$(cd "$(dirname "$0")/../.." && pwd)
home=${UNITCOST_HOME:-$repo/.unitcost}
LITELLM_VERSION=${LITELLM_VERSION:-1.110.2}
GENAI_PRICES_VERSION=${GENAI_PRICES_VERSION:-0.2.3}
pin=false
for a in "$@"; do
  case $a in
    --pin) pin=true ;;
    -h|--help) sed -n '2,27p' "$0"; exit 0 ;;
    *) echo "refresh: unknown argument $a (want --pin)" >&2; exit 2 ;;
  esac
done
spec() { if [ "$2" = latest ]; then echo "$1"; else echo "$1==$2"; fi; }
dir=$home/prices
venv=$dir/venv
want="$(spec litellm "$LITELLM_VERSION") $(spec genai-prices "$GENAI_PRICES_VERSION")"
command -v python3 >/dev/null || { echo "refresh: python3 not found; install it (apt-get install python3 python3-venv)" >&2; exit 1; }
mkdir -p "$dir"
if [ ! -f "$venv/.installed" ] || [ "$(cat "$venv/.installed")" != "$want" ] || [[ $want == *latest* ]]; then
  echo "refresh: installing $want into $venv (PyPI)..."
  [ -x "$venv/bin/pip" ] || python3 -m venv "$venv" || { echo "refresh: python3 -m venv failed; apt-get install python3-venv" >&2; exit 1; }
  "$venv/bin/pip" install -q --disable-pip-version-check --upgrade --no-deps "$(spec litellm "$LITELLM_VERSION")" >"$dir/pip.log" 2>&1 &&
    "$venv/bin/pip" install -q --disable-pip-version-check --upgrade "$(spec genai-prices "$GENAI_PRICES_VERSION")" >>"$dir/pip.log" 2>&1 || {
      echo "refresh: pip install failed; see $dir/pip.log" >&2; exit 1; }
  echo "$want" >"$venv/.installed"
fi
py=$venv/bin/python
lv=$("$py" -c 'import importlib.metadata as m; print(m.version("litellm"))')
gv=$("$py" -c 'import importlib.metadata as m; print(m.version("genai-prices"))')
site=$("$py" -c 'import sysconfig; print(sysconfig.get_paths()["purelib"])')
litellm=$dir/litellm-$lv.json
genai=$dir/genai-prices-$gv.json
cp "$site/litellm/model_prices_and_context_window_backup.json" "$litellm"
"$py" "$repo/deploy/prices/genai_prices_json.py" >"$genai"
echo "refresh: catalogs litellm $lv -> $litellm, genai-prices $gv -> $genai"

cd "$repo"
go build -o "$dir/unitcost" ./cmd/unitcost
status=0
for cat in "$litellm" "$genai"; do
  "$dir/unitcost" prices diff builtin "$cat" --explained deploy/prices/explained-differences.yaml || status=1
done
if $pin; then
  "$dir/unitcost" prices diff builtin "$litellm" --write-subset testdata/prices/litellm.json >/dev/null || true
  "$dir/unitcost" prices diff builtin "$genai" --write-subset testdata/prices/genai-prices.json >/dev/null || true
  echo "refresh: pinned snapshots written to testdata/prices/ (litellm $lv, genai-prices $gv): update the versions in testdata/prices/README.md"
fi
if [ $status -ne 0 ]; then
  echo "refresh: review the differences above: fix pipeline/pricing/builtin.yaml or explain them in deploy/prices/explained-differences.yaml" >&2
fi
exit $status
