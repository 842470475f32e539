"""Issue #4, protocol level: what the group coordinator answers to raw requests (groupwire.py) —
FindCoordinator and the creation of `__consumer_offsets`, the group state machine step by step,
error codes, static members, v0 offsets in ZooKeeper, and the records it writes — on three broker
processes over a private ZooKeeper. The first test needs a cluster where `__consumer_offsets` does
not exist yet, so the tests run in file order on a cluster of their own.
"""

import time

import pytest

import groupwire as gw
import multibroker as mb
from group_helpers import (OFFSETS, broker_by_id, committed_offsets, coordinator_conn, create_topic,
                           expected_coordinator, find_coordinator, in_thread, start_cluster)
from harness import wait_until


@pytest.fixture(scope="module")
def cluster():
    c = start_cluster("groups-protocol")
    yield c
    c.close()


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
    create_topic(c, topic, 2)
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
    create_topic(c, topic, 1)
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
    create_topic(c, topic, 1)
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


def test_offsets_topic_records_on_disk(cluster):
    """What the coordinator appended to `__consumer_offsets` is Kafka's record format: offset commit
    key v1 / value v3, group metadata key v2 / value v3 (read from the leader's segment files)."""
    c = cluster
    topic = "proto-edge"
    create_topic(c, topic, 1)
    group = "proto-disk"
    sub = gw.consumer_subscription([topic])
    with coordinator_conn(c, group) as conn:
        r = conn.join_group(group, instance_id="inst-d", protocols=[("range", sub)], session_timeout=7000,
                            rebalance_timeout=9000)
        m = r["member_id"]
        asg = gw.consumer_assignment({topic: [0]})
        assert conn.sync_group(group, 1, m, assignments=[(m, asg)], instance_id="inst-d")["error"] == 0
        assert conn.offset_commit(group, {(topic, 0): 17}, generation=1, member_id=m, instance_id="inst-d",
                                  metadata="meta") == {(topic, 0): 0}
        assert conn.leave_group(group, [(m, "inst-d")])["error"] == 0
    part = gw.offsets_partition(group)
    leader = broker_by_id(c, mb.partition_state(c, OFFSETS, part)["leader"])

    def records():
        out = [gw.parse_offsets_record(k, v) for _, k, v in mb.log_records(leader, OFFSETS, part)]
        return [x for x in out if (x[1] if x[0] == "group" else x[1][0]) == group]
    recs = wait_until(lambda: (lambda r: r if len(r) >= 3 else None)(records()), 10, "the group's records on disk")
    kinds = [(k, v["version"] if v else None) for k, _, v in recs]
    assert kinds == [("group", 3), ("offset", 3), ("group", 3)], kinds
    _, _, stable = recs[0]
    assert (stable["protocol_type"], stable["generation"], stable["protocol"], stable["leader"]) == \
        ("consumer", 1, "range", m), stable
    assert stable["members"] == [dict(member_id=m, instance_id="inst-d", client_id="it-groups",
                                      client_host=stable["members"][0]["client_host"], rebalance_timeout=9000,
                                      session_timeout=7000, subscription=sub, assignment=asg)], stable
    assert stable["members"][0]["client_host"].startswith("/127.0.0.1"), stable
    _, key, off = recs[1]
    assert key == (group, topic, 0) and (off["offset"], off["leader_epoch"], off["metadata"]) == (17, -1, "meta"), off
    assert abs(off["commit_timestamp"] / 1000 - time.time()) < 60, off
    _, _, empty = recs[2]
    assert (empty["generation"], empty["protocol"], empty["leader"], empty["members"]) == (2, None, None, []), empty


def test_member_not_rejoining_is_dropped_after_rebalance_timeout_raw(cluster):
    """A member that keeps heartbeating but does not rejoin is removed when the join phase times out
    (the group's rebalance timeout), and the others get a new generation without it."""
    c = cluster
    topic = "proto-edge"
    create_topic(c, topic, 1)
    sub = gw.consumer_subscription([topic])
    group = "proto-rebalance-timeout"
    timeouts = dict(session_timeout=6000, rebalance_timeout=6000, protocols=[("range", sub)])
    with coordinator_conn(c, group) as conn, coordinator_conn(c, group) as conn2:
        m1 = conn.join_group(group, **timeouts)["member_id"]
        assert conn.join_group(group, member_id=m1, **timeouts)["generation"] == 1
        assert conn.sync_group(group, 1, m1)["error"] == 0
        m2 = conn2.join_group(group, **timeouts)["member_id"]
        t0 = time.monotonic()
        join2 = in_thread(lambda: conn2.join_group(group, member_id=m2, **timeouts))
        wait_until(lambda: conn.describe_groups([group])[group]["state"] == "PreparingRebalance", 10,
                   "PreparingRebalance")
        answers = set()
        while not join2.done() and time.monotonic() - t0 < 20:
            answers.add(conn.heartbeat(group, 1, m1)["error"])
            time.sleep(0.5)
        r = join2()
        waited = time.monotonic() - t0
        assert (r["error"], r["generation"], r["leader"], [m["member_id"] for m in r["members"]]) == \
            (0, 2, m2, [m2]), r
        assert answers == {gw.REBALANCE_IN_PROGRESS}, answers
        assert 4.5 <= waited <= 15, f"the join phase ended after {waited:.1f}s, rebalance timeout 6s"
        assert conn.heartbeat(group, 1, m1)["error"] == gw.UNKNOWN_MEMBER_ID
        assert conn2.sync_group(group, 2, m2, assignments=[(m2, b"")])["error"] == 0
        d = conn.describe_groups([group])[group]
        assert d["state"] == "Stable" and [m["member_id"] for m in d["members"]] == [m2], d


def test_groups_and_offsets_survive_full_cluster_restart_raw(cluster):
    """Every broker restarted (SIGTERM, then start): the coordinator loads the group and its offsets
    back from `__consumer_offsets` — the member is still known with its generation."""
    c = cluster
    topic = "proto-edge"
    create_topic(c, topic, 1)
    sub = gw.consumer_subscription([topic])
    group = "proto-restart"
    timeouts = dict(session_timeout=30000, rebalance_timeout=30000, protocols=[("range", sub)])
    with coordinator_conn(c, group) as conn:
        m = conn.join_group(group, **timeouts)["member_id"]
        assert conn.join_group(group, member_id=m, **timeouts)["generation"] == 1
        asg = gw.consumer_assignment({topic: [0]})
        assert conn.sync_group(group, 1, m, assignments=[(m, asg)])["error"] == 0
        assert conn.offset_commit(group, {(topic, 0): 11}, generation=1, member_id=m) == {(topic, 0): 0}
    for b in c.brokers.values():
        b.stop()
    for b in c.brokers.values():
        b.wait_deregistered()
        b.start(wait=False)
    for b in c.brokers.values():
        b.wait_ready()

    def loaded():
        with coordinator_conn(c, group) as conn:
            if conn.offset_fetch(group, {topic: [0]})[0] != 0:
                return None  # still loading
            return conn.describe_groups([group])[group], conn.offset_fetch(group, {topic: [0]})[1]
    d, offsets = wait_until(loaded, 60, f"{group} to be served again", interval=0.5)
    assert offsets == {(topic, 0): (11, 0)}, offsets
    assert d["state"] == "Stable" and [(x["member_id"], x["assignment"]) for x in d["members"]] == [(m, asg)], d
    with coordinator_conn(c, group) as conn:
        assert conn.heartbeat(group, 1, m)["error"] == 0
        assert conn.leave_group(group, [(m, None)])["error"] == 0
        assert conn.describe_groups([group])[group]["state"] == "Empty"
