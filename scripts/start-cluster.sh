#!/usr/bin/env bash
# Start the 3-broker development cluster on this host, in the background:
#   ZooKeeper  config/zookeeper.properties   localhost:2181   output in logs/zookeeper/
#   broker N   config/server-N.properties    localhost:909(1+N) output in logs/server-N/
# Waits until all three brokers are registered in ZooKeeper and visible in Metadata.
# Components that are already running (their port answers) are left alone.
# Stop with scripts/stop-cluster.sh. Needs the build (scripts/setup.sh does it).
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
BROKERS=(1 2 3)
WAIT_SECS=${CLUSTER_START_WAIT_SECS:-120}

port_open() { (exec 3<>"/dev/tcp/127.0.0.1/$1") >/dev/null 2>&1; }
prop() { sed -n -E "s/^[[:space:]]*$2[[:space:]]*=[[:space:]]*(.*[^[:space:]])[[:space:]]*$/\1/p" "$1" | tail -n 1; }

zk_port=$(prop config/zookeeper.properties clientPort)
zk_port=${zk_port:-2181}
if port_open "$zk_port"; then
  echo "ZooKeeper: something already listens on port $zk_port; using it"
else
  echo "ZooKeeper: starting (config/zookeeper.properties, port $zk_port)"
  LOG_DIR="$ROOT/logs/zookeeper" bash scripts/zookeeper-server-start.sh -daemon config/zookeeper.properties
fi

for n in "${BROKERS[@]}"; do
  cfg="config/server-$n.properties"
  listener=$(prop "$cfg" listeners)
  port=${listener##*:}
  if port_open "$port"; then
    echo "broker $n: something already listens on port $port; leaving it"
    continue
  fi
  echo "broker $n: starting ($cfg, port $port)"
  LOG_DIR="$ROOT/logs/server-$n" bash scripts/kafka-server-start.sh -daemon "$cfg"
done

# All three registered: /brokers/ids lists them (ZooKeeper's own CLI) ...
want="[$(IFS=,; echo "${BROKERS[*]}" | sed 's/,/, /g')]"
deadline=$((SECONDS + WAIT_SECS))
ids=""
while [ $SECONDS -lt $deadline ]; do
  ids=$(bash scripts/zookeeper-shell.sh "localhost:$zk_port" ls /brokers/ids 2>/dev/null | grep '^\[' | tail -n 1 || true)
  [ "$ids" = "$want" ] && break
  sleep 1
done
if [ "$ids" != "$want" ]; then
  echo "brokers registered in ZooKeeper: ${ids:-none}, expected $want after ${WAIT_SECS}s; see logs/server-*/kafkaServer.out" >&2
  exit 1
fi
echo "ZooKeeper /brokers/ids: $ids"

# ... and a client sees all three in Metadata.
first=$(prop config/server-1.properties listeners)
first=${first##*//}
while [ $SECONDS -lt $deadline ]; do
  n=$(kcat -b "$first" -L -m 5 2>/dev/null | grep -cE '^ +broker [0-9]+ at ' || true)
  [ "$n" -eq ${#BROKERS[@]} ] && break
  sleep 1
done
if [ "${n:-0}" -ne ${#BROKERS[@]} ]; then
  echo "Metadata from $first lists ${n:-0} brokers, expected ${#BROKERS[@]}" >&2
  exit 1
fi
kcat -b "$first" -L -m 5 | sed -n '1,/topics:/p' | grep -v 'topics:'
