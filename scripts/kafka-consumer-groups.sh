#!/usr/bin/env bash
# kafka-consumer-groups: runs target/release/kafka-consumer-groups (built on first use).

. "$(dirname "$0")/lib.sh"

bin=$(release_binary kafka-consumer-groups tools) || exit 1
exec "$bin" "$@"
