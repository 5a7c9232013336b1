#!/usr/bin/env bash
# Starts (or stops) a single-node Apache Kafka 4.x broker in KRaft mode on loopback, from
# Maven Central jars run with the machine's Java 17. Jars, data and logs live under
# .unitcost/kafka. Idempotent: "start" on a running broker does nothing.
#   deploy/local/kafka.sh start|stop|status
# Env: UNITCOST_HOME (default: <repo>/.unitcost), UNITCOST_KAFKA_PORT (default 19092).
set -euo pipefail
repo=$(cd "$(dirname "$0")/../.." && pwd)
home=${UNITCOST_HOME:-$repo/.unitcost}
dir=$home/kafka
port=${UNITCOST_KAFKA_PORT:-19092}
cport=$((port + 1))
pidfile=$dir/kafka.pid

running() { [ -f "$pidfile" ] && kill -0 "$(cat "$pidfile")" 2>/dev/null; }
port_open() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

fetch() {
  if [ -f "$dir/libs/.complete" ]; then return; fi
  command -v java >/dev/null || { echo "kafka: java not found; install OpenJDK 17 (apt-get install openjdk-17-jre-headless)" >&2; exit 1; }
  command -v mvn >/dev/null || { echo "kafka: mvn not found; install Maven (apt-get install maven)" >&2; exit 1; }
  echo "kafka: resolving org.apache.kafka:kafka_2.13 and its runtime dependencies from Maven Central..."
  mkdir -p "$dir/libs"
  mvn -q -B -f "$repo/deploy/kafka/pom.xml" -Dmaven.repo.local="$home/m2" \
    dependency:copy-dependencies -DincludeScope=runtime -DoutputDirectory="$dir/libs" >"$dir/mvn.log" 2>&1 || {
    echo "kafka: Maven could not resolve the jars; see $dir/mvn.log" >&2; exit 1; }
  touch "$dir/libs/.complete"
}

start() {
  mkdir -p "$dir/log"
  if running; then echo "kafka: already running on 127.0.0.1:$port (logs: $dir/log)"; return; fi
  if port_open "$port"; then echo "kafka: something else already listens on 127.0.0.1:$port; set UNITCOST_KAFKA_PORT" >&2; exit 1; fi
  fetch
  cat >"$dir/server.properties" <<PROPS
process.roles=broker,controller
node.id=1
controller.quorum.voters=1@127.0.0.1:$cport
listeners=PLAINTEXT://127.0.0.1:$port,CONTROLLER://127.0.0.1:$cport
advertised.listeners=PLAINTEXT://127.0.0.1:$port
controller.listener.names=CONTROLLER
inter.broker.listener.name=PLAINTEXT
listener.security.protocol.map=PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT
log.dirs=$dir/data
num.partitions=4
offsets.topic.replication.factor=1
offsets.topic.num.partitions=4
transaction.state.log.replication.factor=1
transaction.state.log.min.isr=1
group.initial.rebalance.delay.ms=0
auto.create.topics.enable=true
PROPS
  cp=("$dir/libs/*")
  if [ ! -f "$dir/data/meta.properties" ]; then
    cid=$(java -cp "${cp[*]}" kafka.tools.StorageTool random-uuid 2>/dev/null | tail -1)
    java -cp "${cp[*]}" kafka.tools.StorageTool format -t "$cid" -c "$dir/server.properties" >"$dir/log/format.log" 2>&1 || {
      echo "kafka: storage format failed; see $dir/log/format.log" >&2; exit 1; }
  fi
  echo "kafka: starting KRaft broker on 127.0.0.1:$port (logs: $dir/log)"
  nohup java -Xms256m -Xmx768m -XX:+UseG1GC -Djava.awt.headless=true \
    -Dkafka.logs.dir="$dir/log" -Dlog4j2.configurationFile="$repo/deploy/kafka/log4j2.properties" \
    -cp "${cp[*]}" kafka.Kafka "$dir/server.properties" >"$dir/log/stdout.log" 2>&1 &
  echo $! >"$pidfile"
  for _ in $(seq 1 240); do
    if port_open "$port"; then echo "kafka: ready"; return; fi
    if ! running; then echo "kafka: broker exited; see $dir/log/server.log and $dir/log/stdout.log" >&2; tail -20 "$dir/log/stdout.log" >&2; exit 1; fi
    sleep 0.5
  done
  echo "kafka: not ready after 120 s; see $dir/log/server.log" >&2; exit 1
}

stop() {
  if ! running; then echo "kafka: not running"; rm -f "$pidfile"; return; fi
  pid=$(cat "$pidfile"); kill "$pid"
  for _ in $(seq 1 60); do kill -0 "$pid" 2>/dev/null || { echo "kafka: stopped"; rm -f "$pidfile"; return; }; sleep 0.5; done
  kill -9 "$pid" 2>/dev/null || true; rm -f "$pidfile"; echo "kafka: killed after 30 s"
}

case "${1:-start}" in
  start) start ;;
  stop) stop ;;
  status) if running; then echo "kafka: running on 127.0.0.1:$port"; else echo "kafka: not running"; exit 1; fi ;;
  *) echo "usage: $0 start|stop|status" >&2; exit 2 ;;
esac
