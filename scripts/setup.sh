#!/usr/bin/env bash
# One command for a newcomer on Debian 12:
#
#   bash scripts/setup.sh             install what is missing, build, start ZooKeeper + 3 brokers
#   bash scripts/setup.sh --no-start  install what is missing and build only (used by scripts/test.sh)
#
# Installs (only when missing, quietly): apt packages zookeeper kcat strace iproute2; Python packages
# confluent-kafka kafka-python pytest; then `cargo build --release --workspace`.
# The cluster (scripts/start-cluster.sh) is ZooKeeper from config/zookeeper.properties and brokers
# from config/server-1/2/3.properties (ports 9092/9093/9094), left running in the background.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"

start=1
for arg in "$@"; do
  case "$arg" in
    --no-start) start=0 ;;
    -h | --help) sed -n '2,10p' "$0"; exit 0 ;;
    *) echo "unknown option: $arg" >&2; exit 2 ;;
  esac
done

say() { printf '==> %s\n' "$*"; }

as_root() {
  if [ "$(id -u)" -eq 0 ]; then "$@"
  elif command -v sudo >/dev/null 2>&1; then sudo "$@"
  else echo "need root for: $*" >&2; return 1
  fi
}

APT_PACKAGES=(zookeeper kcat strace iproute2)
PY_PACKAGES=(confluent-kafka kafka-python pytest)

install_apt() {
  local missing=() pkg
  for pkg in "${APT_PACKAGES[@]}"; do
    dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || missing+=("$pkg")
  done
  if ! command -v python3 >/dev/null 2>&1; then missing+=(python3); fi
  if ! python3 -m pip --version >/dev/null 2>&1; then missing+=(python3-pip); fi
  [ ${#missing[@]} -eq 0 ] && return 0
  say "apt-get install ${missing[*]}"
  local log
  log=$(mktemp)
  if ! { as_root apt-get update -qq && as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq \
      "${missing[@]}"; } >"$log" 2>&1; then
    cat "$log" >&2
    rm -f "$log"
    echo "apt-get failed" >&2
    return 1
  fi
  rm -f "$log"
}

install_python() {
  python3 - <<'EOF' 2>/dev/null && return 0
import confluent_kafka, kafka, pytest  # noqa: F401
EOF
  say "pip install ${PY_PACKAGES[*]}"
  local log
  log=$(mktemp)
  # Debian's own python3 is "externally managed" (PEP 668); fall back to --break-system-packages there.
  if ! python3 -m pip install -q --disable-pip-version-check "${PY_PACKAGES[@]}" >"$log" 2>&1; then
    if grep -q externally-managed "$log"; then
      python3 -m pip install -q --disable-pip-version-check --break-system-packages "${PY_PACKAGES[@]}" >"$log" 2>&1 \
        || { cat "$log" >&2; rm -f "$log"; return 1; }
    else
      cat "$log" >&2
      rm -f "$log"
      return 1
    fi
  fi
  rm -f "$log"
}

build() {
  if ! command -v cargo >/dev/null 2>&1; then
    [ -x "$HOME/.cargo/bin/cargo" ] && export PATH="$HOME/.cargo/bin:$PATH"
  fi
  command -v cargo >/dev/null 2>&1 || { echo "cargo is not installed (https://rustup.rs)" >&2; return 1; }
  say "cargo build --release --workspace"
  cargo build --release --workspace --quiet
}

install_apt
install_python
build

[ "$start" -eq 1 ] || exit 0

bash "$ROOT/scripts/start-cluster.sh"

cat <<'EOF'

ZooKeeper (localhost:2181) and brokers 1, 2, 3 (localhost:9092, 9093, 9094) are running.
Logs: logs/zookeeper/zookeeper.out, logs/server-N/kafkaServer.out. Next commands to try:

  scripts/kafka-topics.sh --zookeeper localhost:2181 --create --topic NEWS --partitions 3 --replication-factor 3
  scripts/kafka-topics.sh --zookeeper localhost:2181 --describe --topic NEWS
  scripts/kafka-topics.sh --zookeeper localhost:2181 --list
  scripts/kafka-console-producer.sh --broker-list localhost:9092 --topic NEWS --property parse.key=true --property key.separator=:
  scripts/kafka-console-consumer.sh --bootstrap-server localhost:9092 --topic NEWS --from-beginning --property print.key=true
  kcat -b localhost:9092 -L
  scripts/kafka-topics.sh --zookeeper localhost:2181 --topic NEWS --alter --config max.message.bytes=64000
  scripts/kafka-configs.sh --zookeeper localhost:2181 --entity-type topics --entity-name NEWS --describe
  scripts/kafka-topics.sh --zookeeper localhost:2181 --topic NEWS --delete

Stop everything with:  bash scripts/stop-cluster.sh
EOF
