#!/usr/bin/env bash
# Start Apache ZooKeeper (the distribution's QuorumPeerMain) with a Kafka-style
# zookeeper.properties.  Usage: zookeeper-server-start.sh [-daemon] zookeeper.properties
# With -daemon the server runs in the background (output in $LOG_DIR/zookeeper.out) and
# the script returns once ZooKeeper accepts connections on its clientPort.

. "$(dirname "$0")/lib.sh"

if [ $# -lt 1 ]; then
  echo "USAGE: $0 [-daemon] zookeeper.properties"
  exit 1
fi

daemon=0
while [ $# -gt 0 ]; do
  case "$1" in
    -daemon) daemon=1; shift ;;
    -loggc) shift ;;              # accepted for compatibility; no JVM GC log is written
    -name) shift 2 ;;             # accepted for compatibility; the name is always zookeeper
    *) break ;;
  esac
done
[ $# -ge 1 ] || die "USAGE: $0 [-daemon] zookeeper.properties"

cfg="$1"
[ -f "$cfg" ] || die "Config file $cfg does not exist"
cfg="$(cd "$(dirname "$cfg")" && pwd)/$(basename "$cfg")"

require_zookeeper
mkdir -p "$LOG_DIR"

heap_opts=${KAFKA_HEAP_OPTS:--Xmx512M -Xms512M}
log4j_opts=${KAFKA_LOG4J_OPTS:--Dlog4j.configuration=file:$KAFKA_BASE/scripts/log4j/zookeeper.properties}
# shellcheck disable=SC2206  # option strings are meant to be split into words
cmd=(java $heap_opts $log4j_opts ${KAFKA_OPTS:-} "-Dzookeeper.log.dir=$LOG_DIR"
  -cp "$ZK_CLASSPATH" org.apache.zookeeper.server.quorum.QuorumPeerMain "$cfg")

if [ "$daemon" -eq 0 ]; then
  exec "${cmd[@]}"
fi

port=$(prop_value "$cfg" clientPort)
port=${port:-2181}
run_daemon zookeeper "${cmd[@]}"
wait_for_listen "$DAEMON_PID" "$port" "${ZOOKEEPER_START_WAIT_SECS:-15}"
case $? in
  0) exit 0 ;;
  1) report_daemon_failure zookeeper; exit 1 ;;
  *) echo "ZooKeeper (pid $DAEMON_PID) is not listening on port $port yet; see $LOG_DIR/zookeeper.out" >&2
     exit 1 ;;
esac
