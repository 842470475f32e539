"""Issue #3 operations: controlled shutdown on SIGTERM, partition reassignment with
kafka-reassign-partitions.sh --zookeeper, preferred replica election with
kafka-preferred-replica-election.sh --zookeeper and kafka-leader-election.sh."""

import json
import os
import threading
import time

import pytest
from confluent_kafka import KafkaError

import clients
import multibroker as mb
from harness import wait_until


@pytest.fixture
def cluster3(request):
    c = mb.start_cluster(request.node.name[:30])
    yield c
    mb.close_for(request, c)


def test_controlled_shutdown_moves_leaders_before_exit(cluster3):
    c = cluster3
    topic = "cs"
    mb.create_topic(c, topic, partitions=9, rf=3, configs={"min.insync.replicas": "2"})
    mb.wait_full_isr(c, topic)
    ctrl = mb.wait_controller(c)
    # A broker that is not the controller and leads something.
    sts = mb.partition_states(c, topic)
    victim = max((x for x in (1, 2, 3) if x != ctrl),
                 key=lambda x: sum(1 for s in sts.values() if s["leader"] == x))
    led = [p for p, s in sts.items() if s["leader"] == victim]
    assert led, f"broker {victim} leads nothing: {sts}"

    prod = mb.SeqProducer(c.bootstrap, topic, list(range(9)), rate=300).start()
    observations = []  # (alive after the read, partitions it leads)
    try:
        prod.wait_acked(300)
        vb = mb.broker(c, victim)
        paths = [f"/brokers/topics/{topic}/partitions/{p}/state" for p in led]
        moved_while_alive = None
        # One ZooKeeper session, tight loop: the controller moves the leaders within milliseconds
        # and the broker exits soon after, so each round reads only the partitions it led.
        with c.zk.client() as z:
            vb._signal(__import__("signal").SIGTERM)
            t0 = time.monotonic()
            while vb.alive() and time.monotonic() - t0 < 120:
                try:
                    leading = [p for p, path in zip(led, paths)
                               if json.loads(z.get(path)[0])["leader"] == victim]
                except Exception:  # noqa: BLE001 - keep polling while it shuts down
                    continue
                alive = vb.alive()
                observations.append((alive, leading))
                if alive and not leading and moved_while_alive is None:
                    moved_while_alive = time.monotonic() - t0
        exited = not vb.alive()
        if exited:
            vb._wait_exit(30)
        prod.wait_acked(300)
    finally:
        remaining = prod.stop()
    print(f"broker {victim} led {led}; leaders moved after {moved_while_alive}s; "
          f"{len(observations)} polls; exit code {vb.proc.returncode if vb.proc else '?'}")
    assert exited, f"broker {victim} did not exit within 120s of SIGTERM"
    assert moved_while_alive is not None, \
        f"broker {victim} still led partitions whenever it was seen alive: {observations[-5:]}"
    after = {p: s["leader"] for p, s in mb.partition_states(c, topic).items()}
    assert victim not in after.values(), after
    md = mb.client_leaders(c, topic, bootstrap=mb.broker(c, ctrl).bootstrap)
    assert victim not in md.values(), md
    assert remaining == 0
    assert not prod.failed, f"{len(prod.failed)} deliveries failed, e.g. {prod.failed[:3]}"
    consumed = mb.consume_all(mb.broker(c, ctrl).bootstrap, topic, list(range(9)))
    problems, dups = mb.check_sequence({p: [v for _, v in r] for p, r in consumed.items()},
                                       prod.acked, prod.sent)
    print(f"acknowledged {prod.n_acked()}, duplicates from retries {dups}")
    assert not problems, problems


def _reassign(c, *args):
    return c.tool("kafka-reassign-partitions.sh", "--zookeeper", c.zk.connect, *args, timeout=120)


def test_reassignment_1_2_to_2_3(cluster3):
    c = cluster3
    topic = "moving"
    mb.create_topic(c, topic, assignment_spec="1:2,2:1")
    mb.wait_full_isr(c, topic)
    msgs = [(f"k{i}".encode(), f"value-{i}".encode() * 5) for i in range(2000)]
    clients.produce_sync(c.bootstrap, topic, msgs, acks="all")

    plan = {"version": 1, "partitions": [
        {"topic": topic, "partition": 0, "replicas": [2, 3]},
        {"topic": topic, "partition": 1, "replicas": [3, 2]},
    ]}
    path = os.path.join(c.workdir, "reassign.json")
    with open(path, "w") as f:
        json.dump(plan, f)
    p = _reassign(c, "--reassignment-json-file", path, "--execute")
    print(p.stdout, p.stderr)
    assert p.returncode == 0, p.stdout + p.stderr
    assert "Successfully started partition reassignment" in p.stdout

    def verified():
        v = _reassign(c, "--reassignment-json-file", path, "--verify")
        done = (v.returncode == 0 and f"Reassignment of partition {topic}-0 is complete." in v.stdout
                and f"Reassignment of partition {topic}-1 is complete." in v.stdout)
        return v if done else None
    v = wait_until(verified, mb.TIMEOUT * 2, "--verify to report both partitions complete", interval=2)
    print(v.stdout)
    assert mb.assignment(c, topic) == {0: [2, 3], 1: [3, 2]}
    assert not c.zk.exists("/admin/reassign_partitions")
    mb.wait_full_isr(c, topic)
    for p_, st in mb.partition_states(c, topic).items():
        assert st["leader"] in (2, 3) and 1 not in st["isr"], (p_, st)
    # Broker 1 deletes its replicas; broker 3 has full copies.
    wait_until(lambda: not any(os.path.isdir(mb.broker(c, 1).partition_dir(topic, x)) for x in (0, 1)),
               mb.TIMEOUT, "broker 1 to delete its replicas")
    consumed = clients.consume_partitions(c.bootstrap, topic, [0, 1], expected=len(msgs))
    got = sorted((k, v) for recs in consumed.values() for _, k, v in recs)
    assert got == sorted(msgs)
    for x in (0, 1):
        wait_until(lambda x=x: mb.log_end_offset(mb.broker(c, 3), topic, x)
                   == mb.log_end_offset(mb.broker(c, 2), topic, x), mb.TIMEOUT, "replica 3 caught up")


@pytest.mark.parametrize("tool", ["kafka-preferred-replica-election.sh", "kafka-leader-election.sh"])
def test_preferred_replica_election(cluster3, tool):
    c = cluster3
    topic = "pref"
    ctrl = mb.wait_controller(c)
    preferred = next(x for x in (1, 2, 3) if x != ctrl)
    others = [x for x in (1, 2, 3) if x != preferred]
    mb.create_topic(c, topic, assignment_spec=":".join(map(str, [preferred, *others])))
    mb.wait_full_isr(c, topic)
    mb.wait_leader(c, topic, 0, equal_to=preferred)
    clients.produce_sync(c.bootstrap, topic, [(None, b"a")] * 10, acks="all")

    # Move leadership away: the preferred leader dies and comes back (auto rebalance is off).
    pb = mb.broker(c, preferred)
    mb.kill9(pb)
    moved = mb.wait_leader(c, topic, 0, other_than=preferred)["leader"]
    mb.restart_after_kill(pb)
    mb.wait_full_isr(c, topic)
    assert mb.partition_state(c, topic, 0)["leader"] == moved

    if tool == "kafka-preferred-replica-election.sh":
        p = c.tool(tool, "--zookeeper", c.zk.connect)
        ok = "Successfully started preferred replica election" in p.stdout
    else:
        p = c.tool(tool, "--bootstrap-server", c.bootstrap, "--election-type", "preferred",
                   "--all-topic-partitions")
        ok = "Successfully completed leader election (PREFERRED) for partitions" in p.stdout
    print(p.stdout, p.stderr)
    assert p.returncode == 0 and ok, p.stdout + p.stderr
    mb.wait_leader(c, topic, 0, equal_to=preferred)
    wait_until(lambda: mb.client_leaders(c, topic)[0] == preferred, mb.TIMEOUT,
               "clients to see the preferred leader")
    if tool == "kafka-preferred-replica-election.sh":
        wait_until(lambda: not c.zk.exists("/admin/preferred_replica_election"), mb.TIMEOUT,
                   "/admin/preferred_replica_election removed by the controller")
    clients.produce_sync(c.bootstrap, topic, [(None, b"b")] * 10, acks="all")
    assert len(mb.consume_all(c.bootstrap, topic, [0])[0]) == 20
