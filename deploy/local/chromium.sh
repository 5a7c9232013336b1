#!/usr/bin/env bash
# Installs Debian's chromium package (headless browser for the dashboard tests) with apt.
# Idempotent: does nothing when /usr/bin/chromium exists. There is no daemon, so "start"
# installs, "status" reports whether it is installed and "stop" does nothing (this lets
# deploy/local/with-services.sh treat it like the other services).
#   deploy/local/chromium.sh start|stop|status
set -euo pipefail
repo=$(cd "$(dirname "$0")/../.." && pwd)
home=${UNITCOST_HOME:-$repo/.unitcost}
bin=${UNITCOST_CHROMIUM:-/usr/bin/chromium}

install() {
  if [ -x "$bin" ]; then return; fi
  mkdir -p "$home"
  echo "chromium: installing Debian's chromium package (apt-get)..."
  if [ "$(id -u)" != 0 ]; then sudo=sudo; else sudo=; fi
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -q chromium fonts-dejavu-core >"$home/apt-chromium.log" 2>&1 || {
    echo "chromium: apt-get install failed; see $home/apt-chromium.log" >&2; exit 1; }
}

case "${1:-start}" in
  start) install; "$bin" --version ;;
  status) [ -x "$bin" ] && "$bin" --version ;;
  stop) ;;
  *) echo "usage: $0 start|stop|status" >&2; exit 2 ;;
esac
