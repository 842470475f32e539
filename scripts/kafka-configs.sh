#!/usr/bin/env bash
# kafka-configs: runs target/release/kafka-configs (built on first use).

. "$(dirname "$0")/lib.sh"

bin=$(release_binary kafka-configs tools) || exit 1
exec "$bin" "$@"
