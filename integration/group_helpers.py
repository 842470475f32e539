"""Helpers shared by the consumer-group tests (test_groups.py, test_groups_protocol.py): the
three-broker cluster they run on, coordinator lookups over raw FindCoordinator, topics known to
every broker, committed offsets as a librdkafka consumer sees them.
"""

import threading

from confluent_kafka import Consumer, KafkaException, TopicPartition

import clients
import groupwire as gw
import multibroker as mb
from group_worker import TIMEOUT
from harness import wait_until

OFFSETS = "__consumer_offsets"
SESSION_MS = 6000


def start_cluster(name):
    """ZooKeeper + brokers 1-3; `__consumer_offsets` gets RF 3 (Kafka's default) and the first
    rebalance of a group is not delayed (as config/server.properties ships)."""
    return mb.start_cluster(name, overrides={"offsets.topic.replication.factor": "3",
                                             "group.initial.rebalance.delay.ms": "0"})


def high_watermarks(c, topic, partitions):
    return {p: clients.watermarks(c.bootstrap, topic, p)[1] for p in partitions}


def group_consumer(c, group, **extra):
    conf = {"bootstrap.servers": c.bootstrap, "broker.address.family": "v4", "group.id": group,
            "enable.auto.commit": False, "auto.offset.reset": "earliest", "session.timeout.ms": SESSION_MS,
            "heartbeat.interval.ms": 1000, "fetch.wait.max.ms": 100, "enable.partition.eof": False}
    conf.update(extra)
    return Consumer(conf)


def committed_offsets(c, group, topic, partitions, timeout=TIMEOUT):
    """OffsetFetch through a confluent-kafka consumer's committed(), retried while the coordinator
    moves or loads; {p: offset} (-1001 = none)."""
    cons = group_consumer(c, group)
    try:
        def fetch():
            res = cons.committed([TopicPartition(topic, p) for p in partitions], timeout=10)
            if any(tp.error is not None for tp in res):
                raise KafkaException(str([tp.error for tp in res]))
            return {tp.partition: tp.offset for tp in res}
        return wait_until(fetch, timeout, f"committed offsets of {group}", interval=0.5)
    finally:
        cons.close()


# -- raw protocol ----------------------------------------------------------------------------------
def broker_by_id(c, node_id):
    return next(b for b in c.brokers.values() if b.broker_id == node_id)


def find_coordinator(c, group, via=None, other_than=None, timeout=TIMEOUT):
    """Polls FindCoordinator (to broker `via`, default any live one) until it names a coordinator."""
    def ask():
        brokers = [broker_by_id(c, via)] if via is not None else [b for b in c.brokers.values() if b.alive()]
        with gw.GroupConn("127.0.0.1", brokers[0].port, timeout=10) as conn:
            r = conn.find_coordinator(group)
        if r["error"] != gw.NONE or r["node_id"] == other_than:
            return None
        return r
    return wait_until(ask, timeout, f"FindCoordinator({group}) to answer", interval=0.5)


def coordinator_conn(c, group):
    r = find_coordinator(c, group)
    return gw.GroupConn("127.0.0.1", r["port"], timeout=30)


def in_thread(fn):
    """Runs a blocking call (a parked JoinGroup/SyncGroup) in a thread; returns a function that
    waits for and returns its result (or raises its exception)."""
    box = {}

    def run():
        try:
            box["value"] = fn()
        except BaseException as e:  # noqa: BLE001 - re-raised in the caller
            box["error"] = e
    t = threading.Thread(target=run, daemon=True)
    t.start()

    def result(timeout=30):
        t.join(timeout)
        if t.is_alive():
            raise AssertionError("the parked request got no answer")
        if "error" in box:
            raise box["error"]
        return box["value"]
    result.done = lambda: not t.is_alive()
    return result


def wait_topic_everywhere(c, topic, partitions):
    """Metadata (raw v1) of every live broker lists the topic with a leader for each partition: a
    broker answers OffsetCommit with UNKNOWN_TOPIC_OR_PARTITION until its own cache has it."""
    def known(b):
        with gw.GroupConn("127.0.0.1", b.port, timeout=10) as conn:
            r = conn.call(3, 1, gw.array([topic], gw.string))
        r.array(lambda r: (r.i32(), r.string(), r.i32(), r.string()))
        r.i32()
        topics = r.array(lambda r: (r.i16(), r.string(), r.i8(), r.array(
            lambda r: (r.i16(), r.i32(), r.i32(), r.array(gw.Reader.i32), r.array(gw.Reader.i32)))))
        return any(err == 0 and name == topic and len(parts) == partitions and all(p[2] >= 0 for p in parts)
                   for err, name, _, parts in topics)
    for b in c.brokers.values():
        if b.alive():
            wait_until(lambda: known(b), TIMEOUT, f"broker {b.broker_id} to know {topic}")


def create_topic(c, topic, partitions):
    """An RF 3 topic known to every broker's metadata cache (idempotent across tests)."""
    if not c.zk.exists(f"/brokers/topics/{topic}"):
        mb.create_topic(c, topic, partitions=partitions, rf=3)
    wait_topic_everywhere(c, topic, partitions)


def expected_coordinator(c, group):
    return mb.partition_state(c, OFFSETS, gw.offsets_partition(group))["leader"]
