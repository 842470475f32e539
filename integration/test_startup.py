"""Broker start-up as Kafka does it: broker.id generation through /brokers/seqid, refusal to start
when the id is registered by a live broker, a ZooKeeper chroot, and clear messages for bad config."""

import json
import subprocess

import pytest

from clients import consume_partitions, produce_sync
from harness import wait_until


def _meta_properties(b):
    with open(f"{b.log_dir}/meta.properties") as f:
        return dict(ln.strip().split("=", 1) for ln in f if "=" in ln and not ln.startswith("#"))


def test_generated_broker_id_starts_at_1001(cluster_factory):
    c = cluster_factory(start_broker=False)
    b = c.add_broker(-1, tag="generated", expect_id=1001)
    reg = c.zk.get_json("/brokers/ids/1001")
    assert reg["port"] == b.port
    assert c.zk.children("/brokers/ids") == ["1001"]
    assert _meta_properties(b)["broker.id"] == "1001"
    # the sequence is the zkVersion of /brokers/seqid
    _, stat = c.zk.get("/brokers/seqid")
    assert stat.version == 1

    # restarting keeps the id stored in meta.properties
    b.stop()
    b.wait_deregistered()
    b.start()
    assert c.zk.children("/brokers/ids") == ["1001"]
    _, stat = c.zk.get("/brokers/seqid")
    assert stat.version == 1


def test_duplicate_broker_id_is_refused(cluster_factory):
    c = cluster_factory()
    first = c.brokers[1]
    _, before = c.zk.get("/brokers/ids/1")
    dup = c.add_broker(1, tag="duplicate", start=False)
    dup.start(wait=False)
    try:
        dup.proc.wait(60)
    except subprocess.TimeoutExpired:
        pytest.fail("a second broker with id 1 kept running while broker 1 is registered")
    assert dup.proc.returncode != 0
    text = dup.log_text()
    assert "/brokers/ids/1" in text or "broker.id" in text or "id 1" in text, text[-2000:]
    # the live broker's registration is untouched and it still serves
    _, after = c.zk.get("/brokers/ids/1")
    assert (after.czxid, after.ephemeral_owner) == (before.czxid, before.ephemeral_owner)
    assert json.loads(c.zk.get("/brokers/ids/1")[0])["port"] == first.port
    assert first.alive()


def test_chroot(cluster_factory):
    c = cluster_factory(start_broker=False)
    b = c.add_broker(1, chroot="/kafka")
    assert c.zk.exists("/kafka/brokers/ids/1")
    assert not c.zk.exists("/brokers"), "nothing may be written outside the chroot"
    p = c.tool("kafka-topics.sh", "--zookeeper", c.zk.connect + "/kafka", "--create", "--topic", "rooted",
               "--partitions", "1", "--replication-factor", "1")
    assert p.returncode == 0, p.stdout + p.stderr
    assert c.zk.exists("/kafka/brokers/topics/rooted")
    c.wait_for_leaders("rooted", 1)
    produce_sync(b.bootstrap, "rooted", [(b"k", b"v")])
    got = consume_partitions(b.bootstrap, "rooted", [0], 1)[0]
    assert [(k, v) for _, k, v in got] == [(b"k", b"v")]
    assert c.zk.exists("/kafka/brokers/topics/rooted/partitions/0/state")


@pytest.mark.parametrize("key,value", [("num.partitions", "not-a-number"), ("log.segment.bytes", "-5")])
def test_bad_config_value_is_named(cluster_factory, key, value):
    c = cluster_factory(start_broker=False)
    b = c.add_broker(1, overrides={key: value}, start=False)
    b.start(wait=False)
    try:
        b.proc.wait(60)
    except subprocess.TimeoutExpired:
        pytest.fail(f"the broker started with {key}={value}")
    assert b.proc.returncode != 0
    assert key in b.log_text(), b.log_text()[-2000:]


def test_unknown_config_key_is_named(cluster_factory):
    c = cluster_factory(start_broker=False)
    b = c.add_broker(1, overrides={"no.such.setting": "1"}, start=False)
    b.start(wait=False)
    # Kafka warns about an unknown key (and starts); a refusal naming it is acceptable too
    wait_until(lambda: "no.such.setting" in b.log_text(), 60, "a message naming the unknown key")
