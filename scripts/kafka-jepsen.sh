#!/usr/bin/env bash
# Jepsen-style failure runs against this Kafka (see jepsen/README.md):
#   scripts/kafka-jepsen.sh --nemesis partition,kill,pause,zk,disk --time-limit 120 --seed 7
#   scripts/kafka-jepsen.sh --cleanup      # remove what a run killed with -9 left behind
# Needs root and `ip netns` (iproute2); installs nothing. Exit status: 0 no anomaly, 1 an anomaly,
# 2 the run itself failed (bad flags included).

cd "$(dirname "$0")/.." || exit 2

for arg in "$@"; do
  case "$arg" in
    -h|--help) exec python3 -m jepsen.run --help ;;
  esac
done
if ! command -v ip >/dev/null 2>&1; then
  echo "error: the ip command (iproute2) is missing: apt-get install -y iproute2" >&2
  exit 2
fi
if [ "$(id -u)" -ne 0 ]; then
  echo "error: needs root (network namespaces, tmpfs mounts); try: sudo $0 $*" >&2
  exit 2
fi
exec python3 -m jepsen.run "$@"
