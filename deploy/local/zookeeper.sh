#!/usr/bin/env bash
# Starts (or stops) Apache ZooKeeper from Debian's package on loopback, for the ClickHouse
# cluster test (Replicated tables, ON CLUSTER DDL). Data and logs under .unitcost/zookeeper.
#   deploy/local/zookeeper.sh start|stop|status
# Env: UNITCOST_HOME (default: <repo>/.unitcost), UNITCOST_ZK_PORT (default 12181).
set -euo pipefail
repo=$(cd "$(dirname "$0")/../.." && pwd)
home=${UNITCOST_HOME:-$repo/.unitcost}
dir=$home/zookeeper
port=${UNITCOST_ZK_PORT:-12181}
pidfile=$dir/zookeeper.pid

running() { [ -f "$pidfile" ] && kill -0 "$(cat "$pidfile")" 2>/dev/null; }
port_open() { (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; }
# Serving (not only listening): `srvr` names the server's mode once it takes sessions;
# ClickHouse servers with Replicated tables refuse to start against one that does not yet.
serving() { (exec 3<>"/dev/tcp/127.0.0.1/$port" && printf srvr >&3 && grep -q "^Mode:" <&3) 2>/dev/null; }

install() {
  if [ -f /usr/share/java/zookeeper.jar ]; then return; fi
  echo "zookeeper: installing Debian's zookeeper package (apt-get)..."
  mkdir -p "$home"
  if [ "$(id -u)" != 0 ]; then sudo=sudo; else sudo=; fi
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -q zookeeper >"$home/apt-zookeeper.log" 2>&1 || {
    echo "zookeeper: apt-get install failed; see $home/apt-zookeeper.log" >&2; exit 1; }
}

start() {
  mkdir -p "$dir/data" "$dir/log" "$dir/conf"
  if running; then
    for _ in $(seq 1 120); do serving && break; sleep 0.5; done
    echo "zookeeper: already running on 127.0.0.1:$port"; return
  fi
  if port_open; then echo "zookeeper: something else already listens on 127.0.0.1:$port; set UNITCOST_ZK_PORT" >&2; exit 1; fi
  install
  cat >"$dir/conf/zoo.cfg" <<CFG
tickTime=2000
dataDir=$dir/data
clientPort=$port
clientPortAddress=127.0.0.1
maxClientCnxns=200
admin.enableServer=false
4lw.commands.whitelist=ruok,srvr
CFG
  for f in logback.xml log4j.properties; do
    [ -f "/etc/zookeeper/conf/$f" ] && cp "/etc/zookeeper/conf/$f" "$dir/conf/$f"
  done
  echo "zookeeper: starting on 127.0.0.1:$port (logs: $dir/log)"
  nohup java -Xmx256m -cp "$dir/conf:/usr/share/java/zookeeper.jar" -Dzookeeper.log.dir="$dir/log" \
    -Dzookeeper.root.logger=INFO,CONSOLE org.apache.zookeeper.server.quorum.QuorumPeerMain "$dir/conf/zoo.cfg" \
    >"$dir/log/stdout.log" 2>&1 &
  echo $! >"$pidfile"
  for _ in $(seq 1 120); do
    if serving; then echo "zookeeper: ready"; return; fi
    if ! kill -0 $! 2>/dev/null; then echo "zookeeper: exited; see $dir/log/stdout.log" >&2; tail -20 "$dir/log/stdout.log" >&2; exit 1; fi
    sleep 0.5
  done
  echo "zookeeper: not ready after 60 s; see $dir/log/stdout.log" >&2; exit 1
}

stop() {
  if ! running; then echo "zookeeper: not running"; rm -f "$pidfile"; return; fi
  pid=$(cat "$pidfile"); kill "$pid"
  for _ in $(seq 1 60); do kill -0 "$pid" 2>/dev/null || { echo "zookeeper: stopped"; rm -f "$pidfile"; return; }; sleep 0.5; done
  kill -9 "$pid" 2>/dev/null || true; rm -f "$pidfile"; echo "zookeeper: killed after 30 s"
}

case "${1:-start}" in
  start) start ;;
  stop) stop ;;
  status) if running; then echo "zookeeper: running on 127.0.0.1:$port"; else echo "zookeeper: not running"; exit 1; fi ;;
  *) echo "usage: $0 start|stop|status" >&2; exit 2 ;;
esac
