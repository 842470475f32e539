#!/usr/bin/env bash
# Stop every broker (kafka-server process) on this host with SIGTERM (or $SIGNAL); the
# broker performs a controlled shutdown. Waits up to 60 s for them to exit.
# Exits 1 with a message when none is running.

. "$(dirname "$0")/lib.sh"

SIGNAL=${SIGNAL:-TERM}
# Zombies (exited but not reaped) are not running brokers.
PIDS=$(pgrep -x -r R,S,D,T,I kafka-server 2>/dev/null || pgrep -x kafka-server)

if [ -z "$PIDS" ]; then
  echo "No kafka server to stop"
  exit 1
fi
# shellcheck disable=SC2086  # one argument per pid
kill -s "$SIGNAL" $PIDS
# shellcheck disable=SC2086
if ! wait_for_exit "${KAFKA_STOP_WAIT_SECS:-60}" $PIDS; then
  echo "Kafka server(s) still running after ${KAFKA_STOP_WAIT_SECS:-60} s:" $PIDS >&2
  exit 1
fi
