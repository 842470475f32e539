#!/usr/bin/env bash
# Throughput benchmark: a private ZooKeeper + one broker in a temp dir, produce/consume with
# confluent-kafka (librdkafka) for 100-byte and 1 KiB records, and the raw loopback TCP bandwidth
# measured in the same run; prints a table. Not a test: nothing is asserted about timings.
#   bash scripts/bench.sh [--records-100 N] [--records-1k N] [--loopback-mib N]
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
bash scripts/setup.sh --no-start
exec python3 integration/bench/bench.py "$@"
