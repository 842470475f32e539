"""Issue #4: consumer groups with real clients against the group coordinator. Three broker processes
on a private ZooKeeper (`__consumer_offsets` with RF 3): confluent-kafka consumers run as separate
processes (group_worker.py, so kill -9 is a real crash), kafka-python's KafkaConsumer alongside.
The raw protocol answers are in test_groups_protocol.py. The tests share one cluster; the
coordinator-failover test runs last (it kills a broker).
"""

import os
import signal
import time

import pytest
from confluent_kafka import TopicPartition

import clients
import groupwire as gw
import multibroker as mb
from group_helpers import (OFFSETS, SESSION_MS, broker_by_id, committed_offsets, coordinator_conn, create_topic,
                           expected_coordinator, find_coordinator, group_consumer, high_watermarks, start_cluster)
from group_worker import TIMEOUT, Worker, analyse, wait_consumed_to, wait_split
from harness import wait_until


@pytest.fixture(scope="module")
def cluster():
    c = start_cluster("groups")
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


# -- 1. rebalancing with joins and a crash ---------------------------------------------------------
def test_rebalance_on_join_and_crash(cluster, workers):
    c = cluster
    topic, group = "g-rebalance", "g-rebalance"
    create_topic(c, topic, 4)
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
    create_topic(c, topic, 4)
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
    create_topic(c, topic, 3)
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
    create_topic(c, topic, 2)
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
    create_topic(c, topic, 2)
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
    create_topic(c, topic, 4)
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
    create_topic(c, topic, 2)
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
    create_topic(c, topic, 2)
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
