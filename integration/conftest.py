"""Fixtures: a real ZooKeeper and the project's broker as separate processes (see harness.py).

* `cluster`          module-scoped: ZooKeeper + broker 1 with config/server.properties.
* `cluster_factory`  function-scoped: build private clusters with custom broker overrides/wrappers.

When a test fails, the logs of every live cluster are printed (pytest shows them under the failure)
and copied to $KAFKA_IT_FAILED_LOGS (default /tmp/kafka-it-failed).
"""

import os
import shutil
import sys

import pytest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import harness  # noqa: E402


def pytest_report_header(config):
    binary = harness.BROKER_BIN
    state = "present" if os.path.exists(binary) else "MISSING (cargo build --release --workspace)"
    return [f"broker binary: {binary} {state}", f"kcat: {shutil.which('kcat')}",
            f"zkCli: {harness.ZK_CLI if os.path.exists(harness.ZK_CLI) else 'MISSING'}"]


@pytest.hookimpl(tryfirst=True, hookwrapper=True)
def pytest_runtest_makereport(item, call):
    outcome = yield
    rep = outcome.get_result()
    setattr(item, "rep_" + rep.when, rep)


def _failed(node):
    return any(getattr(getattr(node, f"rep_{w}", None), "failed", False) for w in ("setup", "call"))


@pytest.fixture(autouse=True)
def _logs_on_failure(request):
    yield
    if _failed(request.node):
        for c in list(harness.ALL_CLUSTERS):
            c.failed = True
            print(c.dump_logs())


@pytest.fixture(scope="session", autouse=True)
def _prerequisites():
    missing = [tool for tool in ("kcat", "java") if shutil.which(tool) is None]
    if not os.path.exists(harness.ZK_CLI):
        missing.append(harness.ZK_CLI)
    if missing:
        pytest.exit(f"missing prerequisites: {missing} (run scripts/test.sh, which installs them)", returncode=3)


@pytest.fixture(scope="module")
def cluster(request):
    name = request.module.__name__.replace("test_", "")
    c = harness.Cluster(name)
    with harness.managed(c):
        c.start_zk()
        c.add_broker(1)
        yield c


@pytest.fixture
def cluster_factory(request):
    made = []
    name = request.node.name.replace("test_", "")[:40]

    def make(broker_overrides=None, wrapper=None, start_broker=True, broker_id=1):
        c = harness.Cluster(name)
        made.append(c)
        c.start_zk()
        if start_broker:
            c.add_broker(broker_id, overrides=broker_overrides, wrapper=wrapper)
        return c

    yield make
    for c in made:
        if _failed(request.node) and not c.failed:
            c.failed = True
            print(c.dump_logs())
        c.close()
