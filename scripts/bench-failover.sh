#!/usr/bin/env bash
# Failover benchmark: private ZooKeeper + three brokers per run (temp dirs, free ports, 127.0.0.1):
# topic creation, leader failover after kill -9 and after controlled shutdown, controller failover,
# with 1,000 and 10,000 partitions (RF 3), and RF 3 produce throughput acks=all vs acks=1 for
# 100-byte records; prints a table. Not a test: nothing is asserted about timings.
#   bash scripts/bench-failover.sh [--sizes 1000,10000] [--records N (0: no throughput run)] [--timeout SECONDS]
#                                  [--steps kill9,sigterm,controller] [--zk-session-timeout-ms 6000]
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
bash scripts/setup.sh --no-start
exec python3 integration/bench/failover.py "$@"
