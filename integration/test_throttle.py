"""Issue #3 part 5: replication throttles (KIP-73) as Kafka 2.8 enforces them.

`kafka-reassign-partitions --execute --throttle R` writes `leader/follower.replication.throttled.rate`
on the brokers of the move and `leader/follower.replication.throttled.replicas` on the topic; the
leader then sends, and the new follower pulls, the moved partition at about R bytes/s. `--verify`
removes the configs once the move is complete.
"""

import json
import os
import time

import pytest

import clients
import multibroker as mb
from harness import wait_until

SIZE = 20 * 1024 * 1024
RATE = 2_000_000


@pytest.fixture
def cluster2(request):
    c = mb.start_cluster(request.node.name[:30], n=2)
    yield c
    mb.close_for(request, c)


def _reassign(c, *args):
    return c.tool("kafka-reassign-partitions.sh", "--zookeeper", c.zk.connect, *args, timeout=120)


def _configs(c, entity):
    if not c.zk.exists(f"/config/{entity}"):
        return {}
    return c.zk.get_json(f"/config/{entity}").get("config", {})


def _log_bytes(d):
    """Bytes in a partition directory's segment files (0 before the replica exists)."""
    try:
        return sum(os.path.getsize(os.path.join(d, f)) for f in os.listdir(d) if f.endswith(".log"))
    except OSError:
        return 0


def test_reassignment_is_throttled_and_verify_removes_throttle(cluster2):
    c = cluster2
    topic = "throttled"
    mb.create_topic(c, topic, assignment_spec="1")
    value = os.urandom(1000)  # incompressible, and compression is off
    n = SIZE // 1000
    clients.produce_sync(c.bootstrap, topic, ((None, value) for _ in range(n)), acks="1",
                         **{"linger.ms": 20, "batch.size": 500_000})
    size = mb.log_end_offset(mb.broker(c, 1), topic, 0)
    assert size == n

    plan = {"version": 1, "partitions": [{"topic": topic, "partition": 0, "replicas": [2]}]}
    path = os.path.join(c.workdir, "reassign.json")
    with open(path, "w") as f:
        json.dump(plan, f)
    t0 = time.monotonic()
    p = _reassign(c, "--reassignment-json-file", path, "--execute", "--throttle", str(RATE))
    assert p.returncode == 0, p.stdout + p.stderr
    assert f"The inter-broker throttle limit was set to {RATE} B/s" in p.stdout
    assert _configs(c, f"topics/{topic}")["follower.replication.throttled.replicas"] == "0:2"
    assert _configs(c, f"topics/{topic}")["leader.replication.throttled.replicas"] == "0:1"
    for b in (1, 2):
        assert _configs(c, f"brokers/{b}")["follower.replication.throttled.rate"] == str(RATE)

    # While the move runs the new replica grows at about RATE.
    samples = []

    def moved():
        samples.append((round(time.monotonic() - t0, 1), _log_bytes(mb.broker(c, 2).partition_dir(topic, 0))))
        return mb.assignment(c, topic) == {0: [2]} and not c.zk.exists("/admin/reassign_partitions")
    wait_until(moved, 90, "the throttled move to complete", interval=0.25)
    elapsed = time.monotonic() - t0
    expected = SIZE / RATE
    print(f"moved {SIZE} bytes in {elapsed:.1f}s: {SIZE / elapsed:.0f} B/s with a {RATE} B/s throttle "
          f"progress (s, bytes on broker 2) {samples[::4]}")
    assert elapsed >= 0.6 * expected, f"not throttled: {elapsed:.1f}s for {SIZE} bytes at {RATE} B/s"
    assert elapsed <= 3 * expected, f"far slower than the throttle: {elapsed:.1f}s"

    v = _reassign(c, "--reassignment-json-file", path, "--verify")
    assert v.returncode == 0, v.stdout + v.stderr
    assert f"Reassignment of partition {topic}-0 is complete." in v.stdout
    assert "Clearing broker-level throttles on brokers 1,2" in v.stdout, v.stdout
    assert f"Clearing topic-level throttles on topic {topic}" in v.stdout, v.stdout
    topic_cfg = _configs(c, f"topics/{topic}")
    assert "leader.replication.throttled.replicas" not in topic_cfg, topic_cfg
    assert "follower.replication.throttled.replicas" not in topic_cfg, topic_cfg
    for b in (1, 2):
        cfg = _configs(c, f"brokers/{b}")
        assert "leader.replication.throttled.rate" not in cfg and "follower.replication.throttled.rate" not in cfg, cfg
    assert mb.log_end_offset(mb.broker(c, 2), topic, 0) == n


def test_default_broker_rate_and_wildcard_replicas_from_kafka_configs(cluster2):
    """The `<default>` broker entity's rates (kafka-configs --entity-default) and a topic's `*`
    throttled replicas, set while the brokers run, throttle a plain (unthrottled) reassignment."""
    c = cluster2
    topic = "wild"
    size, rate = 10 * 1024 * 1024, 1_000_000
    mb.create_topic(c, topic, assignment_spec="1")
    value = os.urandom(1000)
    clients.produce_sync(c.bootstrap, topic, ((None, value) for _ in range(size // 1000)), acks="1",
                         **{"linger.ms": 20, "batch.size": 500_000})

    def configs(*args):
        p = c.tool("kafka-configs.sh", "--zookeeper", c.zk.connect, "--alter", *args)
        assert p.returncode == 0, p.stdout + p.stderr
    configs("--entity-type", "brokers", "--entity-default", "--add-config",
            f"leader.replication.throttled.rate={rate},follower.replication.throttled.rate={rate}")
    configs("--entity-type", "topics", "--entity-name", topic, "--add-config",
            "leader.replication.throttled.replicas=*,follower.replication.throttled.replicas=*")
    assert _configs(c, "brokers/<default>")["leader.replication.throttled.rate"] == str(rate)

    plan = {"version": 1, "partitions": [{"topic": topic, "partition": 0, "replicas": [2]}]}
    path = os.path.join(c.workdir, "reassign.json")
    with open(path, "w") as f:
        json.dump(plan, f)
    t0 = time.monotonic()
    p = _reassign(c, "--reassignment-json-file", path, "--execute")
    assert p.returncode == 0, p.stdout + p.stderr
    wait_until(lambda: mb.assignment(c, topic) == {0: [2]} and not c.zk.exists("/admin/reassign_partitions"),
               60, "the throttled move to complete", interval=0.25)
    elapsed = time.monotonic() - t0
    print(f"moved {size} bytes in {elapsed:.1f}s: {size / elapsed:.0f} B/s with a default {rate} B/s throttle")
    assert elapsed >= 0.6 * size / rate, f"not throttled: {elapsed:.1f}s"
    assert elapsed <= 3 * size / rate, f"far slower than the throttle: {elapsed:.1f}s"
