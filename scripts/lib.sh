#!/usr/bin/env bash
# Shared helpers for the launcher scripts (the role kafka-run-class.sh plays in Kafka):
# locating the checkout, building missing binaries, running in the background with
# output in $LOG_DIR/<name>.out, and waiting for a TCP port.
#
# Source it as:  . "$(dirname "$0")/lib.sh"

# Repository root, derived from this file's location.
KAFKA_BASE="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
# Directory for daemon output and pid files.
LOG_DIR="${LOG_DIR:-$KAFKA_BASE/logs}"
export LOG_DIR

# Java classpath pieces for Debian's ZooKeeper (its jar's manifest lists the rest)
# plus a log4j 1.x binding for slf4j.
ZK_CLASSPATH="/usr/share/java/zookeeper.jar:/usr/share/java/slf4j-log4j12.jar:/usr/share/java/log4j-1.2.jar"

# die MESSAGE: print to stderr and exit 1.
die() {
  echo "$*" >&2
  exit 1
}

# require_zookeeper: make sure the ZooKeeper distribution and java are installed.
require_zookeeper() {
  if [ ! -f /usr/share/java/zookeeper.jar ] || ! command -v java >/dev/null 2>&1; then
    die "Apache ZooKeeper is not installed: run 'apt-get install -y zookeeper' first."
  fi
}

# release_binary NAME PACKAGE: print the path of target/release/NAME, building PACKAGE
# (quietly, once) if the binary does not exist yet. Set KAFKA_REBUILD=1 to always run
# cargo first (a no-op when nothing changed) so an old binary is never used.
release_binary() {
  local name="$1" pkg="$2" bin="$KAFKA_BASE/target/release/$1"
  if [ ! -x "$bin" ] || [ "${KAFKA_REBUILD:-0}" = "1" ]; then
    [ -x "$bin" ] || echo "Building $name (cargo build --release -p $pkg) ..." >&2
    (cd "$KAFKA_BASE" && cargo build --release --quiet -p "$pkg" --bin "$name") >&2 \
      || die "Failed to build $name"
    [ -x "$bin" ] || die "Build finished but $bin is missing"
  fi
  printf '%s\n' "$bin"
}

# run_daemon NAME CMD...: start CMD in the background, detached from the terminal, with
# stdout+stderr written to $LOG_DIR/NAME.out and its pid in $LOG_DIR/NAME.pid.
# Sets DAEMON_PID.
run_daemon() {
  local name="$1"
  shift
  mkdir -p "$LOG_DIR"
  local out="$LOG_DIR/$name.out"
  nohup "$@" >"$out" 2>&1 </dev/null &
  DAEMON_PID=$!
  echo "$DAEMON_PID" >"$LOG_DIR/$name.pid"
}

# port_open HOST PORT: true if a TCP connection to HOST:PORT succeeds.
port_open() {
  (exec 3<>"/dev/tcp/$1/$2") >/dev/null 2>&1
}

# prop_value FILE KEY: value of KEY in a .properties file (last occurrence), or empty.
prop_value() {
  local file="$1" key="$2"
  [ -f "$file" ] || return 0
  sed -n -E "s/^[[:space:]]*${key//./\\.}[[:space:]]*[=:][[:space:]]*(.*[^[:space:]])?[[:space:]]*$/\1/p" "$file" | tail -n 1
}

# connect_host HOST: the address to probe for a server bound to HOST.
connect_host() {
  case "$1" in
    "" | 0.0.0.0 | "[::]" | "::") echo 127.0.0.1 ;;
    \[*\]) local h="${1#[}"; echo "${h%]}" ;;
    *) echo "$1" ;;
  esac
}

# wait_for_exit SECONDS PID...: wait until all PIDs have exited; 0 if they did.
wait_for_exit() {
  local secs="$1" i=0
  shift
  while [ "$i" -lt $((secs * 10)) ]; do
    local alive=0 p
    for p in "$@"; do
      # A zombie (exited, not yet reaped by its parent) counts as gone.
      if kill -0 "$p" 2>/dev/null && ! grep -qs '^[0-9]* ([^)]*) Z' "/proc/$p/stat"; then alive=1; fi
    done
    [ "$alive" -eq 0 ] && return 0
    sleep 0.1
    i=$((i + 1))
  done
  return 1
}

# pid_listening PID PORT: true if process PID has a TCP socket listening on PORT.
# Falls back to a plain connect test when `ss` is unavailable.
pid_listening() {
  local pid="$1" port="$2"
  if command -v ss >/dev/null 2>&1; then
    ss -Hltnp "sport = :$port" 2>/dev/null | grep -q "pid=$pid,"
  else
    port_open 127.0.0.1 "$port"
  fi
}

# wait_for_listen PID PORT SECONDS: wait until PID listens on PORT.
# Returns 0 when it does, 1 if PID exits first, 2 on timeout.
wait_for_listen() {
  local pid="$1" port="$2" secs="$3" i=0
  while [ "$i" -lt $((secs * 10)) ]; do
    if pid_listening "$pid" "$port"; then
      return 0
    fi
    if ! kill -0 "$pid" 2>/dev/null; then
      return 1
    fi
    sleep 0.1
    i=$((i + 1))
  done
  return 2
}

# report_daemon_failure NAME: show why a daemon did not come up, from its .out file.
report_daemon_failure() {
  local out="$LOG_DIR/$1.out"
  echo "$1 failed to start; last lines of $out:" >&2
  tail -n 20 "$out" >&2 2>/dev/null
}
