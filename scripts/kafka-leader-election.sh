#!/usr/bin/env bash
# kafka-leader-election: runs target/release/kafka-leader-election (built on first use).

. "$(dirname "$0")/lib.sh"

bin=$(release_binary kafka-leader-election tools) || exit 1
exec "$bin" "$@"
