#!/usr/bin/env bash
# kafka-reassign-partitions: runs target/release/kafka-reassign-partitions (built on first use).

. "$(dirname "$0")/lib.sh"

bin=$(release_binary kafka-reassign-partitions tools) || exit 1
exec "$bin" "$@"
