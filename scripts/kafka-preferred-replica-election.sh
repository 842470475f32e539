#!/usr/bin/env bash
# kafka-preferred-replica-election: runs target/release/kafka-preferred-replica-election (built on first use).

. "$(dirname "$0")/lib.sh"

bin=$(release_binary kafka-preferred-replica-election tools) || exit 1
exec "$bin" "$@"
