"""Issue #4: consumer groups against the group coordinator. Three broker processes on a private
ZooKeeper (`__consumer_offsets` with RF 3), real clients: confluent-kafka consumers run as separate
processes (group_worker.py, so kill -9 is a real crash), kafka-python's KafkaConsumer, and raw
requests (groupwire.py) for the protocol-level answers.

The tests share one cluster and run in file order: the protocol test first (it needs a cluster where
`__consumer_offsets` does not exist yet), the coordinator-failover test last (it kills a broker).
"""

import os
import signal
import threading
import time

import pytest
from confluent_kafka import Consumer, KafkaException, TopicPartition

import clients
import groupwire as gw
import multibroker as mb
from group_worker import TIMEOUT, Worker, analyse, wait_consumed_to, wait_split
from harness import wait_until

OFFSETS = "__consumer_offsets"
SESSION_MS = 6000


@pytest.fixture(scope="module")
def cluster():
    c = mb.start_cluster("groups", overrides={"offsets.topic.replication.factor": "3",
                                              "group.initial.rebalance.delay.ms": "0"})
    yield c
    c.close()


# -- consumer processes (group_worker.py) ---------------------------------------------------------
@pytest.fixture
def workers(cluster, request):
    made = []

    def start(name, topic, group, **opts):
        w = Worker(cluster, name, topic, group, **opts)
        made.append(w)
        return w

    yield start
    for w in made:
        if w.proc.poll() is None:
            os.killpg(w.proc.pid, signal.SIGKILL)
            w.proc.wait(30)
    rep = getattr(request.node, "rep_call", None)
    if rep is not None and rep.failed:
        for w in made:
            print(w.summary())
            print(f"--- {w.out} ---\n{open(w.out, errors='replace').read()[-3000:]}")


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


# -- raw protocol helpers ------------------------------------------------------------------------
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
    return result


def expected_coordinator(c, group):
    return mb.partition_state(c, OFFSETS, gw.offsets_partition(group))["leader"]


# -- 7. protocol level (first: needs a cluster without __consumer_offsets) -------------------------
def test_find_coordinator_creates_offsets_topic(cluster):
    c = cluster
    assert not c.zk.exists(f"/brokers/topics/{OFFSETS}"), "test must run before anything creates the topic"
    with gw.GroupConn("127.0.0.1", c.brokers[1].port) as conn:
        r = conn.find_coordinator("proto-group")
    assert (r["error"], r["node_id"], r["host"], r["port"]) == (gw.COORDINATOR_NOT_AVAILABLE, -1, "", -1), r

    wait_until(lambda: c.zk.exists(f"/brokers/topics/{OFFSETS}"), 30, f"{OFFSETS} to be created in ZooKeeper")
    asg = mb.assignment(c, OFFSETS)
    assert sorted(asg) == list(range(50))
    assert all(len(set(r)) == 3 for r in asg.values()), asg
    cfg = c.zk.get_json(f"/config/topics/{OFFSETS}")["config"]
    assert cfg.get("cleanup.policy") == "compact", cfg
    assert cfg.get("segment.bytes") == "104857600", cfg
    assert cfg.get("compression.type") == "producer", cfg

    # Every broker names the leader of partition abs(hashCode) % 50 as the coordinator.
    for group in ("proto-group", "console-consumer-4242", "polygenelubricants", "g", "groupé-ü"):
        for b in (1, 2, 3):
            r = find_coordinator(c, group, via=b)
            want = expected_coordinator(c, group)
            assert r["node_id"] == want, (group, b, r, want)
            assert (r["host"], r["port"]) == ("127.0.0.1", broker_by_id(c, want).port), r


def test_group_lifecycle_raw(cluster):
    c = cluster
    topic = "proto-t"
    mb.create_topic(c, topic, partitions=2, rf=3)
    group = "proto-group"
    sub = gw.consumer_subscription([topic])
    coord = find_coordinator(c, group)["node_id"]
    other = next(b for b in c.brokers.values() if b.broker_id != coord)
    port = broker_by_id(c, coord).port
    with gw.GroupConn("127.0.0.1", port) as conn, gw.GroupConn("127.0.0.1", port) as conn2:
        r = conn.join_group(group, session_timeout=1000, protocols=[("range", sub)])
        assert r["error"] == gw.INVALID_SESSION_TIMEOUT, r
        r = conn.join_group(group, protocols=[("range", sub)])
        assert (r["error"], r["generation"]) == (gw.MEMBER_ID_REQUIRED, -1), r
        m1 = r["member_id"]
        assert m1.startswith("it-groups-") and len(m1) == len("it-groups-") + 36, m1
        r = conn.join_group(group, member_id=m1, protocols=[("range", sub)])
        assert (r["error"], r["generation"], r["protocol"], r["leader"], r["member_id"]) == \
            (gw.NONE, 1, "range", m1, m1), r
        assert [(m["member_id"], m["metadata"]) for m in r["members"]] == [(m1, sub)], r
        d = conn.describe_groups([group])[group]
        # Only a Stable group reports its protocol and the members' metadata and assignment.
        assert (d["state"], d["protocol"], [(m["member_id"], m["metadata"], m["assignment"]) for m in d["members"]]) \
            == ("CompletingRebalance", "", [(m1, b"", b"")]), d
        assert conn.heartbeat(group, 1, m1)["error"] == gw.NONE
        assert conn.offset_commit(group, {(topic, 0): 1}, generation=1, member_id=m1) == \
            {(topic, 0): gw.REBALANCE_IN_PROGRESS}
        mine = gw.consumer_assignment({topic: [0, 1]})
        r = conn.sync_group(group, 1, m1, assignments=[(m1, mine)])
        assert (r["error"], r["assignment"]) == (gw.NONE, mine), r
        assert conn.heartbeat(group, 1, m1)["error"] == gw.NONE
        assert conn.heartbeat(group, 1, "nobody")["error"] == gw.UNKNOWN_MEMBER_ID
        assert conn.heartbeat(group, 7, m1)["error"] == gw.ILLEGAL_GENERATION
        d = conn.describe_groups([group])[group]
        assert (d["error"], d["state"], d["protocol_type"], d["protocol"]) == (0, "Stable", "consumer", "range"), d
        assert [(m["member_id"], m["client_id"], m["metadata"], m["assignment"]) for m in d["members"]] == \
            [(m1, "it-groups", sub, mine)], d
        assert d["members"][0]["client_host"].startswith("/127.0.0.1"), d
        err, groups = conn.list_groups()
        assert err == 0 and groups.get(group) == ("consumer", "Stable"), groups
        err, groups = conn.list_groups(states=["Empty"])
        assert err == 0 and group not in groups, groups
        r = conn.join_group(group, protocol_type="connect", protocols=[("range", sub)])
        assert r["error"] == gw.INCONSISTENT_GROUP_PROTOCOL, r

        # A second member: the group waits in PreparingRebalance for the first one to rejoin.
        r = conn2.join_group(group, protocols=[("range", sub)])
        assert r["error"] == gw.MEMBER_ID_REQUIRED, r
        m2 = r["member_id"]
        join2 = in_thread(lambda: conn2.join_group(group, member_id=m2, protocols=[("range", sub)]))
        d = wait_until(lambda: (lambda d: d if d["state"] == "PreparingRebalance" else None)(
            conn.describe_groups([group])[group]), 10, "PreparingRebalance")
        assert sorted(m["member_id"] for m in d["members"]) == sorted([m1, m2]), d
        assert conn.heartbeat(group, 1, m1)["error"] == gw.REBALANCE_IN_PROGRESS
        # Commits of the current generation are still accepted while preparing the rebalance.
        assert conn.offset_commit(group, {(topic, 0): 2}, generation=1, member_id=m1) == {(topic, 0): 0}
        r = conn.join_group(group, member_id=m1, protocols=[("range", sub)])
        assert (r["error"], r["generation"], r["leader"]) == (0, 2, m1), r
        assert sorted(m["member_id"] for m in r["members"]) == sorted([m1, m2]), r
        r2 = join2()
        assert (r2["error"], r2["generation"], r2["leader"], r2["member_id"], r2["members"]) == (0, 2, m1, m2, []), r2
        a1, a2 = gw.consumer_assignment({topic: [0]}), gw.consumer_assignment({topic: [1]})
        sync2 = in_thread(lambda: conn2.sync_group(group, 2, m2))  # parked until the leader's SyncGroup
        assert conn.sync_group(group, 2, m1, assignments=[(m1, a1), (m2, a2)]) == \
            {"throttle": 0, "error": 0, "assignment": a1}
        r2 = sync2()
        assert (r2["error"], r2["assignment"]) == (0, a2), r2
        assert conn.heartbeat(group, 1, m1)["error"] == gw.ILLEGAL_GENERATION
        d = conn.describe_groups([group])[group]
        assert d["state"] == "Stable" and {m["member_id"]: m["assignment"] for m in d["members"]} == \
            {m1: a1, m2: a2}, d

        # Offsets of an active member; a generation -1 commit is refused while the group has members.
        assert conn.offset_commit(group, {(topic, 0): 5, (topic, 1): 7}, generation=2, member_id=m1) == \
            {(topic, 0): 0, (topic, 1): 0}
        assert conn.offset_commit(group, {(topic, 0): 9}) == {(topic, 0): gw.UNKNOWN_MEMBER_ID}
        assert conn.offset_fetch(group, {topic: [0, 1]}) == (0, {(topic, 0): (5, 0), (topic, 1): (7, 0)})
        assert conn.offset_commit(group, {("no-such-topic", 0): 1}, generation=2, member_id=m1) == \
            {("no-such-topic", 0): gw.UNKNOWN_TOPIC_OR_PARTITION}
        assert conn.delete_groups([group]) == {group: gw.NON_EMPTY_GROUP}
        assert conn.offset_delete(group, {topic: [0]}) == (0, {(topic, 0): gw.GROUP_SUBSCRIBED_TO_TOPIC})

        r = conn.leave_group(group, [(m1, None), (m2, None), ("stranger", None)])
        assert r["error"] == 0 and [m["error"] for m in r["members"]] == [0, 0, gw.UNKNOWN_MEMBER_ID], r
        # Kafka completes the join of a group left without members at once (Empty, generation 3).
        d = conn.describe_groups([group])[group]
        assert (d["state"], d["members"]) == ("Empty", []), d
        assert conn.heartbeat(group, 2, m1)["error"] == gw.UNKNOWN_MEMBER_ID
        assert conn.offset_fetch(group, {topic: [0, 1]})[1] == {(topic, 0): (5, 0), (topic, 1): (7, 0)}
        assert conn.offset_delete(group, {topic: [0]}) == (0, {(topic, 0): 0})
        assert conn.offset_fetch(group, {topic: [0, 1]})[1] == {(topic, 0): (-1, 0), (topic, 1): (7, 0)}
        assert conn.delete_groups([group]) == {group: 0}
        d = conn.describe_groups([group])[group]
        assert (d["error"], d["state"]) == (0, "Dead"), d
        assert conn.offset_fetch(group, {topic: [1]})[1] == {(topic, 1): (-1, 0)}
        assert conn.delete_groups([group]) == {group: gw.GROUP_ID_NOT_FOUND}

    # A broker that does not lead the group's partition refuses it.
    with gw.GroupConn("127.0.0.1", other.port) as conn:
        assert conn.offset_fetch(group, {topic: [0]})[0] == gw.NOT_COORDINATOR
        assert conn.heartbeat(group, 1, "x")["error"] == gw.NOT_COORDINATOR

    # The "simple consumer" path: a generation -1 commit creates an Empty group.
    simple = "proto-simple"
    with coordinator_conn(c, simple) as conn:
        assert conn.offset_commit(simple, {(topic, 0): 3}, generation=4, member_id="m") == \
            {(topic, 0): gw.ILLEGAL_GENERATION}
        assert conn.offset_fetch(simple, {topic: [0]}) == (0, {(topic, 0): (-1, 0)})
        assert conn.offset_commit(simple, {(topic, 0): 3, (topic, 1): 4}) == {(topic, 0): 0, (topic, 1): 0}
        assert conn.offset_fetch(simple, None)[1] == {(topic, 0): (3, 0), (topic, 1): (4, 0)}
        d = conn.describe_groups([simple])[simple]
        assert (d["error"], d["state"], d["protocol_type"], d["members"]) == (0, "Empty", "", []), d
        err, groups = conn.list_groups(states=["Empty"])
        assert err == 0 and groups.get(simple) == ("", "Empty"), groups
    never = "never-seen-group"
    with coordinator_conn(c, never) as conn:
        assert conn.delete_groups([never]) == {never: gw.GROUP_ID_NOT_FOUND}
        assert conn.offset_delete(never, {topic: [0]})[0] == gw.GROUP_ID_NOT_FOUND
    # Seen by a client too.
    assert committed_offsets(c, simple, topic, [0, 1]) == {0: 3, 1: 4}


def test_group_id_metadata_and_legacy_offsets_raw(cluster):
    c = cluster
    topic = "proto-edge"
    mb.create_topic(c, topic, partitions=1, rf=3)
    sub = gw.consumer_subscription([topic])
    # "" is no group for the coordination APIs, but offsets may be kept under it.
    with coordinator_conn(c, "") as conn:
        assert conn.join_group("", protocols=[("range", sub)])["error"] == gw.INVALID_GROUP_ID
        assert conn.heartbeat("", 1, "m")["error"] == gw.INVALID_GROUP_ID
        assert conn.offset_commit("", {(topic, 0): 3}) == {(topic, 0): 0}
        assert conn.offset_fetch("", {topic: [0]}) == (0, {(topic, 0): (3, 0)})
    group = "proto-edge"
    with coordinator_conn(c, group) as conn:
        assert conn.offset_commit(group, {(topic, 0): 1}, metadata="m" * 4097) == \
            {(topic, 0): gw.OFFSET_METADATA_TOO_LARGE}
        assert conn.offset_fetch(group, {topic: [0]}) == (0, {(topic, 0): (-1, 0)})
        assert conn.offset_commit(group, {(topic, 0): 1}, metadata="m" * 4096) == {(topic, 0): 0}

    # Version 0 keeps offsets in ZooKeeper (/consumers/<group>/offsets/<topic>/<partition>), on any broker.
    legacy = "proto-legacy"
    with gw.GroupConn("127.0.0.1", c.brokers[2].port) as conn:
        assert conn.offset_fetch_v0(legacy, {topic: [0]}) == {(topic, 0): (-1, gw.UNKNOWN_TOPIC_OR_PARTITION)}
        assert conn.offset_commit_v0(legacy, {(topic, 0): 42}) == {(topic, 0): 0}
        assert conn.offset_fetch_v0(legacy, {topic: [0]}) == {(topic, 0): (42, 0)}
    data, _ = c.zk.get(f"/consumers/{legacy}/offsets/{topic}/0")
    assert data == b"42", data
    with coordinator_conn(c, legacy) as conn:  # not in __consumer_offsets
        assert conn.offset_fetch(legacy, {topic: [0]}) == (0, {(topic, 0): (-1, 0)})


def test_static_member_and_sync_errors_raw(cluster):
    c = cluster
    topic = "proto-edge"
    if not c.zk.exists(f"/brokers/topics/{topic}"):
        mb.create_topic(c, topic, partitions=1, rf=3)
    sub = gw.consumer_subscription([topic])
    group = "proto-static"
    with coordinator_conn(c, group) as conn:
        assert conn.sync_group(group, 1, "m")["error"] == gw.UNKNOWN_MEMBER_ID  # no such group
        # A static member joins at once: no MEMBER_ID_REQUIRED round trip.
        r = conn.join_group(group, instance_id="inst-x", protocols=[("range", sub)])
        assert (r["error"], r["generation"], r["leader"]) == (0, 1, r["member_id"]), r
        m1 = r["member_id"]
        assert m1.startswith("inst-x-"), m1
        assert conn.sync_group(group, 2, m1, instance_id="inst-x")["error"] == gw.ILLEGAL_GENERATION
        assert conn.sync_group(group, 1, "nobody")["error"] == gw.UNKNOWN_MEMBER_ID
        assert conn.sync_group(group, 1, m1, instance_id="inst-x")["error"] == 0
        # A known member id with an instance id the group doesn't know.
        r = conn.join_group(group, member_id=m1, instance_id="inst-y", protocols=[("range", sub)])
        assert r["error"] == gw.UNKNOWN_MEMBER_ID, r
        # The instance restarts: a new member id replaces the old one, the old one is fenced.
        r = conn.join_group(group, instance_id="inst-x", protocols=[("range", sub)])
        assert r["error"] == 0 and r["member_id"] != m1 and r["generation"] == 1, r
        m2 = r["member_id"]
        assert conn.heartbeat(group, 1, m1, instance_id="inst-x")["error"] == gw.FENCED_INSTANCE_ID
        assert conn.offset_commit(group, {(topic, 0): 1}, generation=1, member_id=m1, instance_id="inst-x") == \
            {(topic, 0): gw.FENCED_INSTANCE_ID}
        assert conn.sync_group(group, 1, m2, instance_id="inst-x")["error"] == 0
        assert conn.heartbeat(group, 1, m2, instance_id="inst-x")["error"] == 0
        assert conn.offset_commit(group, {(topic, 0): 1, (topic, 99): 1}, generation=1, member_id=m2,
                                  instance_id="inst-x") == {(topic, 0): 0, (topic, 99): gw.UNKNOWN_TOPIC_OR_PARTITION}
        d = conn.describe_groups([group])[group]
        assert d["state"] == "Stable" and [(m["member_id"], m["instance_id"]) for m in d["members"]] == \
            [(m2, "inst-x")], d
        # Admin removal of a static member: LeaveGroup by instance id alone.
        r = conn.leave_group(group, [("", "inst-x")])
        assert r["error"] == 0 and [(m["instance_id"], m["error"]) for m in r["members"]] == [("inst-x", 0)], r
        d = conn.describe_groups([group])[group]
        assert (d["state"], d["members"]) == ("Empty", []), d
    # Groups are listed only by their coordinator.
    coord = find_coordinator(c, group)["node_id"]
    for b in c.brokers.values():
        with gw.GroupConn("127.0.0.1", b.port) as conn:
            err, groups = conn.list_groups()
        assert err == 0 and (group in groups) == (b.broker_id == coord), (b.broker_id, coord, groups)


# -- 1. rebalancing with joins and a crash ---------------------------------------------------------
def test_rebalance_on_join_and_crash(cluster, workers):
    c = cluster
    topic, group = "g-rebalance", "g-rebalance"
    mb.create_topic(c, topic, partitions=4, rf=3)
    parts = [0, 1, 2, 3]
    prod = mb.SeqProducer(c.bootstrap, topic, parts, rate=150).start()
    try:
        a = workers("a", topic, group)
        b = workers("b", topic, group)
        wait_split([a, b], [2, 2], parts)
        prod.wait_acked(150)
        cw = workers("c", topic, group)
        held = wait_split([a, b, cw], [2, 1, 1], parts)
        prod.wait_acked(150)
        wait_until(lambda: cw.messages(), TIMEOUT, "the third member to consume")

        victim = [a, b, cw][[len(h) for h in held].index(2)]
        survivors = [w for w in (a, b, cw) if w is not victim]
        victim.kill9()
        wait_split(survivors, [2, 2], parts, timeout=TIMEOUT)
        moved_after = time.time() - victim.killed_at
        prod.wait_acked(150)
    finally:
        remaining = prod.stop()
    assert remaining == 0 and not prod.failed, (remaining, prod.failed[:5])
    ends = {p: max(o for _, o in prod.acked[p]) + 1 for p in parts}
    wait_consumed_to(survivors, ends)
    for w in survivors:
        w.stop()

    problems, report = analyse([a, b, cw], prod.acked)
    print(f"produced {prod.n_acked()}, consumed {report['consumed']} in {report['sessions']} partition "
          f"sessions, read again {report['duplicates']} (by how the previous owner's session ended: "
          f"{report['duplicates_after']}), commits accepted {report['commits']}, refused "
          f"{report['failed_commits']}; the crashed member's partitions moved after {moved_after:.1f}s")
    assert not problems, problems
    # Graceful (eager) rebalances commit in the revoke callback: nothing is read twice after one
    # unless such a commit was refused.
    assert report["duplicates_after"].get("revoke", 0) == 0 or report["failed_commits"] > 0, report
    # The crashed member is only noticed when its session expires.
    assert moved_after >= SESSION_MS / 1000 - 2, moved_after


def test_cooperative_rebalances(cluster, workers):
    """librdkafka's cooperative-sticky assignor: incremental rebalances (two rounds when a partition
    moves) through the same coordinator; only moved partitions are revoked."""
    c = cluster
    topic, group = "g-coop", "g-coop"
    mb.create_topic(c, topic, partitions=4, rf=3)
    parts = [0, 1, 2, 3]
    coop = "partition.assignment.strategy=cooperative-sticky"
    prod = mb.SeqProducer(c.bootstrap, topic, parts, rate=150).start()
    try:
        a = workers("coop-a", topic, group, conf=coop)
        b = workers("coop-b", topic, group, conf=coop)
        wait_split([a, b], [2, 2], parts)
        prod.wait_acked(100)
        revoked_before = sum(len(e["parts"]) for w in (a, b) for e in w.rebalance_events() if e["ev"] == "revoke")
        cw = workers("coop-c", topic, group, conf=coop)
        wait_split([a, b, cw], [2, 1, 1], parts)
        revoked = sum(len(e["parts"]) for w in (a, b) for e in w.rebalance_events() if e["ev"] == "revoke")
        prod.wait_acked(100)
        cw.stop()  # LeaveGroup: its partition goes back without a crash
        wait_split([a, b], [2, 2], parts)
        prod.wait_acked(100)
    finally:
        remaining = prod.stop()
    assert remaining == 0 and not prod.failed, (remaining, prod.failed[:5])
    ends = {p: max(o for _, o in prod.acked[p]) + 1 for p in parts}
    wait_consumed_to([a, b], ends)
    a.stop()
    b.stop()
    problems, report = analyse([a, b, cw], prod.acked)
    print(f"cooperative: produced {prod.n_acked()}, consumed {report['consumed']} in {report['sessions']} "
          f"partition sessions, read again {report['duplicates']}, partitions revoked when the third "
          f"member joined: {revoked - revoked_before}")
    assert not problems, problems
    assert report["duplicates"] == 0 or report["failed_commits"] > 0, report
    assert revoked - revoked_before == 1, "a sticky incremental rebalance moves exactly one partition"


# -- 2. independent groups ------------------------------------------------------------------------
def test_two_groups_each_see_every_message(cluster):
    c = cluster
    topic = "g-two"
    mb.create_topic(c, topic, partitions=3, rf=3)
    clients.produce_sync(c.bootstrap, topic, [(str(i).encode(), str(i).encode()) for i in range(90)], acks="all")
    consumers = {g: group_consumer(c, g) for g in ("g-two-a", "g-two-b")}
    seen = {g: [] for g in consumers}
    try:
        for cons in consumers.values():
            cons.subscribe([topic])

        def done():
            for g, cons in consumers.items():
                for m in cons.consume(num_messages=100, timeout=0.2):
                    if m.error() is None:
                        seen[g].append(int(m.value()))
            return all(len(set(v)) == 90 for v in seen.values())
        wait_until(done, TIMEOUT, "both groups to read all 90 messages", interval=0)
    finally:
        for cons in consumers.values():
            cons.close()
    for g, values in seen.items():
        assert sorted(set(values)) == list(range(90)), g
        assert len(values) == 90, f"{g} read {len(values) - 90} duplicates without any rebalance"


# -- 3. resume from the committed offset after a crash -------------------------------------------
def test_restart_resumes_from_committed_offset(cluster, workers):
    c = cluster
    topic, group = "g-resume", "g-resume"
    mb.create_topic(c, topic, partitions=2, rf=3)
    # Many small batches and one batch per fetch, so that the consumer (mostly) alternates between
    # the partitions.
    prod = clients.producer(c.bootstrap, acks="all")
    for i in range(200):
        prod.produce(topic, value=str(i).encode(), partition=i % 2)
        if i % 10 == 9:
            assert prod.flush(30) == 0
    ends = high_watermarks(c, topic, [0, 1])
    assert ends == {0: 100, 1: 100}, ends
    w1 = workers("w1", topic, group, commit_limit=80, batch=10, conf="max.partition.fetch.bytes=50")
    wait_consumed_to([w1], ends, committed=False)
    w1.kill9()
    last = w1.committed()
    # Records left uncommitted on every partition (usually commits in the middle of both).
    assert last and all(last.get(p, 0) < ends[p] for p in ends), (last, ends)
    start = {p: last.get(p, 0) for p in ends}
    assert committed_offsets(c, group, topic, [0, 1]) == {p: last.get(p, -1001) for p in ends}

    w2 = workers("w2", topic, group)
    wait_consumed_to([w2], ends)
    w2.stop()
    firsts = {}
    for m in w2.messages():
        firsts.setdefault(m["p"], m["o"])
    assert {p: firsts.get(p, ends[p]) for p in ends} == start, "w2 did not resume at the committed offsets"
    for p in ends:
        offs = [m["o"] for m in w2.messages() if m["p"] == p]
        assert offs == list(range(start[p], ends[p])), f"partition {p}: w2 read {offs[:5]}..{offs[-5:]}"
    print(f"committed before the crash {start}, ends {ends}; re-read after restart "
          f"{sum(ends[p] - start[p] for p in ends)} records")


# -- 5. kafka-python's group client on the same cluster --------------------------------------------
def test_kafka_python_group_commits_visible_to_librdkafka(cluster):
    from kafka import KafkaConsumer
    from kafka import TopicPartition as KTP

    c = cluster
    topic, group = "g-kp", "g-kp"
    mb.create_topic(c, topic, partitions=2, rf=3)
    clients.produce_sync(c.bootstrap, topic, [(str(i).encode(), str(i).encode()) for i in range(60)], acks="all")
    ends = high_watermarks(c, topic, [0, 1])
    kc = KafkaConsumer(topic, bootstrap_servers=c.bootstrap.split(","), group_id=group,
                       auto_offset_reset="earliest", enable_auto_commit=False, session_timeout_ms=SESSION_MS,
                       heartbeat_interval_ms=1000, max_poll_records=15)
    read = {}
    try:
        deadline = time.monotonic() + TIMEOUT
        while sum(len(v) for v in read.values()) < 30:
            assert time.monotonic() < deadline, f"kafka-python read only {read}"
            for tp, recs in kc.poll(timeout_ms=500).items():
                read.setdefault(tp.partition, []).extend(r.offset for r in recs)
        kc.commit()
        kp_committed = {p: kc.committed(KTP(topic, p)) for p in (0, 1)}
    finally:
        kc.close()
    # kafka-python commits its position on every assigned partition (0 where it read nothing yet).
    want = {p: (max(read[p]) + 1 if p in read else kp_committed[p]) for p in (0, 1)}
    assert kp_committed == want and all(want[p] in (None, 0) for p in want if p not in read), (kp_committed, read)
    seen = committed_offsets(c, group, topic, [0, 1])
    assert seen == {p: (-1001 if want[p] is None else want[p]) for p in (0, 1)}, seen

    # librdkafka in the same group resumes there and commits the rest; kafka-python sees that.
    cons = group_consumer(c, group)
    firsts, last = {}, {}
    try:
        cons.subscribe([topic])

        def done():
            for m in cons.consume(num_messages=100, timeout=0.3):
                if m.error() is None:
                    firsts.setdefault(m.partition(), m.offset())
                    last[m.partition()] = m.offset()
            return all((last[p] + 1 if p in last else want[p] or 0) >= ends[p] for p in (0, 1))
        wait_until(done, TIMEOUT, "librdkafka to read the rest", interval=0)
        cons.commit(offsets=[TopicPartition(topic, p, ends[p]) for p in (0, 1)], asynchronous=False)
    finally:
        cons.close()
    assert {p: firsts.get(p) for p in (0, 1) if want[p] is not None and want[p] < ends[p]} == \
        {p: want[p] for p in (0, 1) if want[p] is not None and want[p] < ends[p]}
    kc = KafkaConsumer(bootstrap_servers=c.bootstrap.split(","), group_id=group, enable_auto_commit=False)
    try:
        assert {p: kc.committed(KTP(topic, p)) for p in (0, 1)} == ends
    finally:
        kc.close()


# -- 6. static membership -------------------------------------------------------------------------
def test_static_member_restart_keeps_assignment(cluster, workers):
    c = cluster
    topic, group = "g-static", "g-static"
    mb.create_topic(c, topic, partitions=4, rf=3)
    parts = [0, 1, 2, 3]
    a = workers("static-a", topic, group, instance_id="inst-a")
    b = workers("static-b", topic, group, instance_id="inst-b")
    held_a, held_b = wait_split([a, b], [2, 2], parts)
    b_events = len(b.rebalance_events())
    with coordinator_conn(c, group) as conn:
        d = conn.describe_groups([group])[group]
    assert d["state"] == "Stable" and sorted(m["instance_id"] for m in d["members"]) == ["inst-a", "inst-b"], d
    old_id = next(m["member_id"] for m in d["members"] if m["instance_id"] == "inst-a")
    assert old_id.startswith("inst-a-"), old_id

    a.kill9()
    a2 = workers("static-a2", topic, group, instance_id="inst-a")
    wait_until(lambda: a2.assignment(), TIMEOUT, "the restarted static member to be assigned")
    back_after = time.time() - a.killed_at
    assert a2.assignment() == held_a
    # Past the old member's session timeout: nothing may expire and rebalance the group.
    time.sleep(max(0.0, SESSION_MS / 1000 + 2 - (time.time() - a.killed_at)))
    assert len(b.rebalance_events()) == b_events, f"the other static member rebalanced: {b.rebalance_events()}"
    assert b.assignment() == held_b and a2.assignment() == held_a
    assert [e["ev"] for e in a2.rebalance_events()] == ["assign"], a2.rebalance_events()
    with coordinator_conn(c, group) as conn:
        d = conn.describe_groups([group])[group]
        # The crashed instance's old member id is fenced.
        assert conn.heartbeat(group, 0, old_id, instance_id="inst-a")["error"] == gw.FENCED_INSTANCE_ID
    ids = {m["instance_id"]: m["member_id"] for m in d["members"]}
    assert d["state"] == "Stable" and sorted(ids) == ["inst-a", "inst-b"], d
    assert ids["inst-a"] != old_id and ids["inst-a"].startswith("inst-a-"), (ids, old_id)
    print(f"static member back with {sorted(held_a)} after {back_after:.1f}s, no rebalance of the other")


def test_coordinator_controlled_shutdown_moves_group_without_rebalance(cluster, workers):
    """SIGTERM on the coordinator: its offsets partitions move at once (controlled shutdown); the new
    leader loads the group with its member, so the running consumer goes on without a rebalance."""
    c = cluster
    topic, group = "g-graceful", "g-graceful"
    mb.create_topic(c, topic, partitions=2, rf=3)
    coord = find_coordinator(c, group)["node_id"]
    mb.wait_full_isr(c, OFFSETS)
    clients.produce_sync(c.bootstrap, topic, [(str(i).encode(), str(i).encode()) for i in range(100)], acks="all")
    ends = high_watermarks(c, topic, [0, 1])
    w1 = workers("gr-1", topic, group)
    wait_consumed_to([w1], ends)

    stopped = broker_by_id(c, coord)
    t0 = time.time()
    stopped.stop()
    st = mb.wait_leader(c, OFFSETS, gw.offsets_partition(group), other_than=coord)
    assert find_coordinator(c, group, other_than=coord)["node_id"] == st["leader"]
    assert committed_offsets(c, group, topic, [0, 1]) == ends
    moved_after = time.time() - t0
    clients.produce_sync(c.bootstrap, topic, [(str(i).encode(), str(i).encode()) for i in range(100, 200)],
                         acks="all")
    ends2 = high_watermarks(c, topic, [0, 1])
    wait_consumed_to([w1], ends2)
    assert [e["ev"] for e in w1.rebalance_events()] == ["assign"], w1.rebalance_events()
    w1.stop()
    assert committed_offsets(c, group, topic, [0, 1]) == ends2
    stopped.wait_deregistered()
    stopped.start()
    mb.wait_full_isr(c, OFFSETS)
    print(f"coordinator {coord} shut down; broker {st['leader']} served the group after {moved_after:.1f}s, "
          f"no rebalance")


# -- 4. coordinator failover (last: kills a broker) ------------------------------------------------
def test_coordinator_failover_keeps_offsets(cluster, workers):
    c = cluster
    topic, group = "g-failover", "g-failover"
    mb.create_topic(c, topic, partitions=2, rf=3)
    find_coordinator(c, group)  # creates __consumer_offsets when this test runs alone
    mb.wait_full_isr(c, OFFSETS)
    clients.produce_sync(c.bootstrap, topic, [(str(i).encode(), str(i).encode()) for i in range(100)], acks="all")
    ends = high_watermarks(c, topic, [0, 1])
    w1 = workers("fo-1", topic, group)
    wait_consumed_to([w1], ends)

    coord = find_coordinator(c, group)["node_id"]
    assert coord == expected_coordinator(c, group)
    before = committed_offsets(c, group, topic, [0, 1])
    assert before == ends, (before, ends)
    t0 = time.time()
    mb.kill9(broker_by_id(c, coord))
    st = mb.wait_leader(c, OFFSETS, gw.offsets_partition(group), other_than=coord)
    new_coord = find_coordinator(c, group, other_than=coord)["node_id"]
    assert new_coord == st["leader"]
    assert committed_offsets(c, group, topic, [0, 1]) == before
    moved_after = time.time() - t0

    # The live member carries on with the new coordinator.
    clients.produce_sync(c.bootstrap, topic, [(str(i).encode(), str(i).encode()) for i in range(100, 200)], acks="all")
    ends2 = high_watermarks(c, topic, [0, 1])
    wait_consumed_to([w1], ends2)
    w1.stop()
    assert committed_offsets(c, group, topic, [0, 1]) == ends2

    # A consumer started afterwards resumes from the offsets committed through the new coordinator.
    clients.produce_sync(c.bootstrap, topic, [(str(i).encode(), str(i).encode()) for i in range(200, 250)], acks="all")
    ends3 = high_watermarks(c, topic, [0, 1])
    w2 = workers("fo-2", topic, group)
    wait_consumed_to([w2], ends3)
    w2.stop()
    for p in (0, 1):
        offs = [m["o"] for m in w2.messages() if m["p"] == p]
        assert offs == list(range(ends2[p], ends3[p])), f"partition {p}: {offs[:5]}..{offs[-5:]}"
    # librdkafka drops its assignment ("lost") when no heartbeat succeeds for session.timeout.ms, which
    # the ~6s outage (ZooKeeper session expiry + election) can exceed; it then rejoins with a new
    # member id and the join waits for the loaded old member's session to expire.
    print(f"coordinator {coord} killed; broker {new_coord} served the offsets after {moved_after:.1f}s; "
          f"the running member's rebalance events: {[(e['ev'], e['parts']) for e in w1.rebalance_events()]}")
