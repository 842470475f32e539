#!/usr/bin/env bash
# ZooKeeper's command-line client: zookeeper-shell.sh host:port[/chroot] [command args...]
# Without a command it is interactive. -zk-tls-config-file is accepted and ignored
# (TLS to ZooKeeper is not supported here).

. "$(dirname "$0")/lib.sh"

if [ $# -lt 1 ]; then
  echo "USAGE: $0 zookeeper_host:port[/path] [-zk-tls-config-file file] [args...]"
  exit 1
fi
require_zookeeper

server="$1"
shift
args=()
while [ $# -gt 0 ]; do
  if [ "$1" = "-zk-tls-config-file" ]; then
    echo "Warning: -zk-tls-config-file is not supported and was ignored" >&2
    shift 2 || shift
    continue
  fi
  args+=("$1")
  shift
done

heap_opts=${KAFKA_HEAP_OPTS:--Xmx512M}
log4j_opts=${KAFKA_LOG4J_OPTS:--Dlog4j.configuration=file:$KAFKA_BASE/scripts/log4j/tools.properties}
# shellcheck disable=SC2086  # option strings are meant to be split into words
exec java $heap_opts $log4j_opts ${KAFKA_OPTS:-} -cp "$ZK_CLASSPATH" \
  org.apache.zookeeper.ZooKeeperMain -server "$server" "${args[@]}"
