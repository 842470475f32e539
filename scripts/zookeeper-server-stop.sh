#!/usr/bin/env bash
# Stop every ZooKeeper server (java QuorumPeerMain process) on this host by sending it
# SIGTERM (or $SIGNAL).  Exits 1 with a message when none is running.

SIGNAL=${SIGNAL:-TERM}
PIDS=$(pgrep -f 'java.*org\.apache\.zookeeper\.server\.quorum\.QuorumPeerMain')

if [ -z "$PIDS" ]; then
  echo "No zookeeper server to stop"
  exit 1
fi
# shellcheck disable=SC2086  # one argument per pid
kill -s "$SIGNAL" $PIDS
