#!/usr/bin/env bash
# Stop what scripts/start-cluster.sh started: brokers 1-3 (SIGTERM = controlled shutdown), then
# ZooKeeper. Only the processes recorded in logs/server-N/kafkaServer.pid and
# logs/zookeeper/zookeeper.pid are signalled (unlike kafka-server-stop.sh, which stops every broker
# on the host). Data stays in /tmp/kafka-logs-N and /tmp/zookeeper.
set -uo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
WAIT_SECS=${CLUSTER_STOP_WAIT_SECS:-60}

# stop NAME PIDFILE PATTERN: SIGTERM the recorded pid if it is alive and still runs PATTERN.
stop() {
  local name="$1" pidfile="$2" pattern="$3" pid i
  if [ ! -f "$pidfile" ]; then
    echo "$name: no pid file ($pidfile); not started by start-cluster.sh"
    return 0
  fi
  pid=$(cat "$pidfile")
  if ! kill -0 "$pid" 2>/dev/null || ! tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null | grep -q "$pattern"; then
    echo "$name: not running"
    rm -f "$pidfile"
    return 0
  fi
  echo "$name: stopping (pid $pid)"
  kill -TERM "$pid"
  for ((i = 0; i < WAIT_SECS * 10; i++)); do
    kill -0 "$pid" 2>/dev/null || { rm -f "$pidfile"; return 0; }
    sleep 0.1
  done
  echo "$name: still running after ${WAIT_SECS}s; sending SIGKILL" >&2
  kill -KILL "$pid" 2>/dev/null
  rm -f "$pidfile"
}

for n in 3 2 1; do
  stop "broker $n" "$ROOT/logs/server-$n/kafkaServer.pid" "kafka-server"
done
stop "ZooKeeper" "$ROOT/logs/zookeeper/zookeeper.pid" "QuorumPeerMain"
