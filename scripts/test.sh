#!/usr/bin/env bash
# Run every test: installs what is missing and builds (scripts/setup.sh --no-start), then
#   1. cargo test --release --workspace   (unit and crate tests; shares the release build)
#   2. python3 -m pytest -v integration/ jepsen/tests/  (real ZooKeeper, brokers as separate processes,
#      real clients; the failure scripts' checker and a short mixed fault schedule)
# Exits non-zero if anything fails. Extra arguments go to pytest, e.g.
#   bash scripts/test.sh -k quickstart
# Set SKIP_CARGO_TEST=1 to run only the integration suite.
set -uo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"

bash scripts/setup.sh --no-start || { echo "setup failed" >&2; exit 1; }
[ -x "$HOME/.cargo/bin/cargo" ] && export PATH="$HOME/.cargo/bin:$PATH"

cargo_rc=0
if [ "${SKIP_CARGO_TEST:-0}" != 1 ]; then
  echo "==> cargo test --release --workspace"
  timeout "${CARGO_TEST_TIMEOUT:-1800}" cargo test --release --workspace
  cargo_rc=$?
  [ "$cargo_rc" -eq 0 ] || echo "==> cargo test FAILED (exit $cargo_rc); running the integration tests anyway"
fi

echo "==> python3 -m pytest -v integration/ jepsen/tests/"
# A hung test must not eat CI's budget: the whole suite gets a hard limit.
pytest_cmd=(timeout -k 30 "${PYTEST_TIMEOUT:-2400}" python3 -m pytest -v integration/ jepsen/tests/ "$@")
if unshare --pid --fork --mount-proc --kill-child true 2>/dev/null; then
  # Run in a private PID namespace (when allowed): every process a test starts dies with it, and
  # kafka-server-stop.sh / zookeeper-server-stop.sh, which signal every broker / ZooKeeper they can
  # see, see only this run's, so their test can run on a shared machine too. bash stays PID 1 to
  # reap the daemons that tests start and stop.
  KAFKA_IT_STOP_SCRIPTS=1 unshare --pid --fork --mount-proc --kill-child bash -c '"$@"; exit $?' pytest "${pytest_cmd[@]}"
else
  "${pytest_cmd[@]}"
fi
pytest_rc=$?

# (nothing printed after this point, so the output ends with pytest's summary line)
[ "$cargo_rc" -eq 0 ] && [ "$pytest_rc" -eq 0 ]
