#!/usr/bin/env bash
# Starts (or stops) a two-server ClickHouse cluster with ZooKeeper on loopback, for the
# cluster variant of the schema (clickhouse.cluster; see pipeline/store/cluster.go).
# Servers: 127.0.0.1:19101 and :19102 (native), ZooKeeper :12181. Two clusters are
# defined over them:
#   unitcost_ha      one shard, two replicas (the servers replicate each other)
#   unitcost_shards  two shards, one replica each (rows split between the servers)
# Macros: {shard} = 01 / 02, {replica} = node1 / node2.
#   deploy/local/cluster.sh start|stop|status
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/../.." && pwd)
home=${UNITCOST_HOME:-$repo/.unitcost}
zk=${UNITCOST_ZK_PORT:-12181}

node_config() { # node number -> XML merged into that server's config
  local i=$1
  cat <<XML
<?xml version="1.0"?>
<yandex>
  <interserver_http_host>127.0.0.1</interserver_http_host>
  <interserver_http_port>1920$i</interserver_http_port>
  <zookeeper><node><host>127.0.0.1</host><port>$zk</port></node></zookeeper>
  <distributed_ddl><path>/clickhouse/unitcost/task_queue/ddl</path></distributed_ddl>
  <macros><shard>0$i</shard><replica>node$i</replica></macros>
  <remote_servers>
    <unitcost_ha>
      <shard><internal_replication>true</internal_replication>
        <replica><host>127.0.0.1</host><port>19101</port></replica>
        <replica><host>127.0.0.1</host><port>19102</port></replica>
      </shard>
    </unitcost_ha>
    <unitcost_shards>
      <shard><internal_replication>true</internal_replication><replica><host>127.0.0.1</host><port>19101</port></replica></shard>
      <shard><internal_replication>true</internal_replication><replica><host>127.0.0.1</host><port>19102</port></replica></shard>
    </unitcost_shards>
  </remote_servers>
</yandex>
XML
}

node() { # action, node number
  local i=$1 action=$2
  mkdir -p "$home"
  node_config "$i" >"$home/cluster-node$i.xml"
  UNITCOST_CH_NAME=cluster-node$i UNITCOST_CH_TCP_PORT=1910$i UNITCOST_CH_HTTP_PORT=1820$i \
    UNITCOST_CH_CONFIG_D="$home/cluster-node$i.xml" "$here/clickhouse.sh" "$action"
}

case "${1:-start}" in
  start) "$here/zookeeper.sh" start; node 1 start; node 2 start ;;
  stop) node 1 stop || true; node 2 stop || true; "$here/zookeeper.sh" stop ;;
  status) "$here/zookeeper.sh" status && node 1 status && node 2 status ;;
  *) echo "usage: $0 start|stop|status" >&2; exit 2 ;;
esac
