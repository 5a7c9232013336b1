#!/usr/bin/env bash
# Starts (or stops) a ClickHouse server from Debian's package on loopback, with all data
# and logs under .unitcost/clickhouse. Idempotent: "start" on a running server does nothing.
#   deploy/local/clickhouse.sh start|stop|status
# Env: UNITCOST_HOME (default: <repo>/.unitcost), UNITCOST_CH_TCP_PORT (default 19000),
#      UNITCOST_CH_HTTP_PORT (default 18123), UNITCOST_CH_NAME (the directory under
#      UNITCOST_HOME, default clickhouse), UNITCOST_CH_CONFIG_D (an XML file merged into the
#      server's config, e.g. a cluster's; deploy/local/cluster.sh uses these).
set -euo pipefail
repo=$(cd "$(dirname "$0")/../.." && pwd)
home=${UNITCOST_HOME:-$repo/.unitcost}
dir=$home/${UNITCOST_CH_NAME:-clickhouse}
tcp=${UNITCOST_CH_TCP_PORT:-19000}
http=${UNITCOST_CH_HTTP_PORT:-18123}
pidfile=$dir/clickhouse.pid

running() { [ -f "$pidfile" ] && kill -0 "$(cat "$pidfile")" 2>/dev/null; }
port_open() { (exec 3<>"/dev/tcp/127.0.0.1/$tcp") 2>/dev/null; }

install() {
  if command -v clickhouse-server >/dev/null 2>&1; then return; fi
  echo "clickhouse: installing Debian's clickhouse-server package (apt-get)..."
  if [ "$(id -u)" != 0 ]; then sudo=sudo; else sudo=; fi
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -q clickhouse-server clickhouse-client >"$home/apt-clickhouse.log" 2>&1 || {
    echo "clickhouse: apt-get install failed; see $home/apt-clickhouse.log" >&2; exit 1; }
}

write_config() {
  mkdir -p "$dir/data" "$dir/tmp" "$dir/user_files" "$dir/format_schemas" "$dir/log" "$dir/config.d"
  rm -f "$dir/config.d/"*.xml
  if [ -n "${UNITCOST_CH_CONFIG_D:-}" ]; then cp "$UNITCOST_CH_CONFIG_D" "$dir/config.d/"; fi
  cat >"$dir/config.xml" <<XML
<?xml version="1.0"?>
<yandex>
  <logger><level>information</level>
    <log>$dir/log/clickhouse-server.log</log><errorlog>$dir/log/clickhouse-server.err.log</errorlog>
    <size>100M</size><count>3</count></logger>
  <listen_host>127.0.0.1</listen_host>
  <tcp_port>$tcp</tcp_port>
  <http_port>$http</http_port>
  <max_connections>1024</max_connections>
  <keep_alive_timeout>3</keep_alive_timeout>
  <max_concurrent_queries>100</max_concurrent_queries>
  <uncompressed_cache_size>1073741824</uncompressed_cache_size>
  <mark_cache_size>1073741824</mark_cache_size>
  <path>$dir/data/</path>
  <tmp_path>$dir/tmp/</tmp_path>
  <user_files_path>$dir/user_files/</user_files_path>
  <format_schema_path>$dir/format_schemas/</format_schema_path>
  <users_config>$dir/users.xml</users_config>
  <default_profile>default</default_profile>
  <default_database>default</default_database>
  <timezone>UTC</timezone>
  <mlock_executable>false</mlock_executable>
  <builtin_dictionaries_reload_interval>3600</builtin_dictionaries_reload_interval>
  <max_session_timeout>3600</max_session_timeout>
  <default_session_timeout>60</default_session_timeout>
  <merge_tree><parts_to_delay_insert>300</parts_to_delay_insert><parts_to_throw_insert>600</parts_to_throw_insert></merge_tree>
</yandex>
XML
  cat >"$dir/users.xml" <<XML
<?xml version="1.0"?>
<yandex>
  <profiles>
    <default><max_memory_usage>4000000000</max_memory_usage><load_balancing>random</load_balancing>
      <allow_experimental_low_cardinality_type>1</allow_experimental_low_cardinality_type></default>
  </profiles>
  <users>
    <default><password></password><networks><ip>127.0.0.1</ip><ip>::1</ip></networks>
      <profile>default</profile><quota>default</quota></default>
  </users>
  <quotas><default><interval><duration>3600</duration><queries>0</queries><errors>0</errors>
    <result_rows>0</result_rows><read_rows>0</read_rows><execution_time>0</execution_time></interval></default></quotas>
</yandex>
XML
}

start() {
  mkdir -p "$dir"
  if running; then echo "clickhouse: already running on 127.0.0.1:$tcp (logs: $dir/log)"; return; fi
  if port_open; then echo "clickhouse: something else already listens on 127.0.0.1:$tcp; set UNITCOST_CH_TCP_PORT" >&2; exit 1; fi
  install
  write_config
  echo "clickhouse: starting on 127.0.0.1:$tcp (logs: $dir/log)"
  nohup clickhouse-server --config-file="$dir/config.xml" >"$dir/log/stdout.log" 2>&1 &
  echo $! >"$pidfile"
  for _ in $(seq 1 120); do
    if port_open; then echo "clickhouse: ready"; return; fi
    if ! kill -0 $! 2>/dev/null; then echo "clickhouse: server exited; see $dir/log/clickhouse-server.err.log and $dir/log/stdout.log" >&2; tail -20 "$dir/log/stdout.log" >&2; exit 1; fi
    sleep 0.5
  done
  echo "clickhouse: not ready after 60 s; see $dir/log/clickhouse-server.err.log" >&2; exit 1
}

stop() {
  if ! running; then echo "clickhouse: not running"; rm -f "$pidfile"; return; fi
  pid=$(cat "$pidfile"); kill "$pid"
  for _ in $(seq 1 60); do kill -0 "$pid" 2>/dev/null || { echo "clickhouse: stopped"; rm -f "$pidfile"; return; }; sleep 0.5; done
  kill -9 "$pid" 2>/dev/null || true; rm -f "$pidfile"; echo "clickhouse: killed after 30 s"
}

case "${1:-start}" in
  start) start ;;
  stop) stop ;;
  status) if running; then echo "clickhouse: running on 127.0.0.1:$tcp"; else echo "clickhouse: not running"; exit 1; fi ;;
  *) echo "usage: $0 start|stop|status" >&2; exit 2 ;;
esac
