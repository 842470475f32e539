#!/usr/bin/env bash
# kafka-console-producer: runs target/release/kafka-console-producer (built on first use).

. "$(dirname "$0")/lib.sh"

bin=$(release_binary kafka-console-producer tools) || exit 1
exec "$bin" "$@"
