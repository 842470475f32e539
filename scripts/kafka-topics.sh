#!/usr/bin/env bash
# kafka-topics: runs target/release/kafka-topics (built on first use).

. "$(dirname "$0")/lib.sh"

bin=$(release_binary kafka-topics tools) || exit 1
exec "$bin" "$@"
