#!/usr/bin/env bash
# kafka-console-consumer: runs target/release/kafka-console-consumer (built on first use).

. "$(dirname "$0")/lib.sh"

bin=$(release_binary kafka-console-consumer tools) || exit 1
exec "$bin" "$@"
