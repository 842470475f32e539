#!/usr/bin/env bash
# Start a broker: kafka-server-start.sh [-daemon] server.properties [--override property=value]*
# Runs target/release/kafka-server (built on first use), which reads the properties file
# and applies the overrides itself. With -daemon the broker runs in the background
# (output in $LOG_DIR/kafkaServer.out) and the script returns once it listens on its
# first listener's port, or fails if the broker exits first.

. "$(dirname "$0")/lib.sh"

if [ $# -lt 1 ]; then
  echo "USAGE: $0 [-daemon] server.properties [--override property=value]*"
  exit 1
fi

daemon=0
while [ $# -gt 0 ]; do
  case "$1" in
    -daemon) daemon=1; shift ;;
    -loggc) shift ;;
    -name) shift 2 ;;
    *) break ;;
  esac
done
[ $# -ge 1 ] || die "USAGE: $0 [-daemon] server.properties [--override property=value]*"

bin=$(release_binary kafka-server broker) || exit 1

if [ "$daemon" -eq 0 ]; then
  exec "$bin" "$@"
fi

# Work out which port to wait for: the first listener, after overrides.
cfg="$1"
listeners=$(prop_value "$cfg" listeners)
legacy_port=$(prop_value "$cfg" port)
prev=""
for arg in "${@:2}"; do
  kv=""
  case "$arg" in
    --override=*) kv="${arg#--override=}" ;;
    *) [ "$prev" = "--override" ] && kv="$arg" ;;
  esac
  case "$kv" in
    listeners=*) listeners="${kv#listeners=}" ;;
    port=*) legacy_port="${kv#port=}" ;;
  esac
  prev="$arg"
done
if [ -n "$listeners" ]; then
  first="${listeners%%,*}"
  port="${first##*:}"
else
  port="${legacy_port:-9092}"
fi

run_daemon kafkaServer "$bin" "$@"
wait_for_listen "$DAEMON_PID" "$port" "${KAFKA_START_WAIT_SECS:-60}"
case $? in
  0) exit 0 ;;
  1) report_daemon_failure kafkaServer; exit 1 ;;
  *) echo "Broker (pid $DAEMON_PID) is not listening on port $port yet; see $LOG_DIR/kafkaServer.out" >&2
     exit 1 ;;
esac
