"""Issue #3: acknowledged data survives leader and controller failures; min.insync.replicas; unclean
leader election. Three broker processes on a private ZooKeeper, real librdkafka clients."""

import time

import pytest
from confluent_kafka import KafkaError

import clients
import kwire
import multibroker as mb
from harness import wait_until


@pytest.fixture
def cluster3(request):
    c = mb.start_cluster(request.node.name[:30])
    yield c
    mb.close_for(request, c)


def test_acks_all_survives_leader_and_controller_kill9(cluster3):
    c = cluster3
    topic = "seq"
    mb.create_topic(c, topic, partitions=3, rf=3, configs={"min.insync.replicas": "2"})
    mb.wait_full_isr(c, topic)
    prod = mb.SeqProducer(c.bootstrap, topic, [0, 1, 2], rate=300).start()
    try:
        prod.wait_acked(300)

        # 1. kill -9 the leader of partition 0; a new leader must be elected and acks continue.
        leader = mb.partition_state(c, topic, 0)["leader"]
        mb.kill9(mb.broker(c, leader))
        mb.wait_leader(c, topic, 0, other_than=leader)
        prod.wait_acked(300)
        mb.restart_after_kill(mb.broker(c, leader))
        mb.wait_full_isr(c, topic)
        prod.wait_acked(300)

        # 2. kill -9 the controller; another broker takes over, acks continue.
        ctrl = mb.wait_controller(c)
        mb.kill9(mb.broker(c, ctrl))
        mb.wait_controller(c, other_than=ctrl)
        for p in range(3):
            mb.wait_leader(c, topic, p, other_than=ctrl)
        prod.wait_acked(300)
        mb.restart_after_kill(mb.broker(c, ctrl))
        mb.wait_full_isr(c, topic)
        prod.wait_acked(300)
    finally:
        remaining = prod.stop()
    assert remaining == 0, f"{remaining} messages never resolved"
    assert not any(e.code() not in (KafkaError._MSG_TIMED_OUT,) for _, _, e in prod.failed), \
        f"non-timeout delivery errors: {prod.failed[:5]}"

    consumed = mb.consume_all(c.bootstrap, topic, [0, 1, 2])
    values = {p: [v for _, v in recs] for p, recs in consumed.items()}
    # The broker-reported offsets of acknowledged records must hold those records.
    by_offset = {p: dict(recs) for p, recs in consumed.items()}
    wrong = [(p, s, o, by_offset[p].get(o)) for p in range(3) for s, o in prod.acked[p]
             if by_offset[p].get(o) != str(s).encode()]
    problems, duplicates = mb.check_sequence(values, prod.acked, prod.sent)
    n_acked = prod.n_acked()
    print(f"sent {prod.seq}, acknowledged {n_acked}, failed {len(prod.failed)}, "
          f"duplicates from retries {duplicates}, consumed {sum(len(v) for v in values.values())}")
    assert not problems, problems
    assert not wrong, f"acknowledged offsets holding other values: {wrong[:10]}"
    # A duplicate may only be of a value the producer had to retry; a value acknowledged once
    # appears at most twice (first attempt + the acknowledged retry).
    for p, vs in values.items():
        counts = {}
        for v in vs:
            counts[v] = counts.get(v, 0) + 1
        assert max(counts.values(), default=1) <= 2, f"partition {p}: a value appears more than twice"


def _produce_raw(port, topic, partition, value, acks=-1, timeout_ms=5000):
    batch = kwire.record_batch([(None, value)])
    with kwire.RawConn("127.0.0.1", port, timeout=30) as conn:
        conn.send(kwire.produce_v3(topic, partition, batch, acks=acks, timeout_ms=timeout_ms))
        _, res = kwire.parse_produce_v3_response(conn.recv_frame())
    return res[(topic, partition)]


NOT_ENOUGH_REPLICAS = 19


def test_two_of_three_down_not_enough_replicas(cluster3):
    c = cluster3
    topic = "minisr"
    mb.create_topic(c, topic, partitions=1, rf=3, configs={"min.insync.replicas": "2"})
    mb.wait_full_isr(c, topic)
    clients.produce_sync(c.bootstrap, topic, [(None, b"before")], acks="all")

    ctrl = mb.wait_controller(c)
    survivor = ctrl  # keep the controller: the test is about min.insync.replicas, not failover
    down = [b for b in (1, 2, 3) if b != survivor]
    for b in down:
        mb.kill9(mb.broker(c, b))
    # The controller removes dead brokers from the ISR once their sessions expire.
    wait_until(lambda: mb.partition_state(c, topic, 0)["isr"] == [survivor], mb.TIMEOUT,
               f"ISR shrunk to [{survivor}]")
    assert mb.partition_state(c, topic, 0)["leader"] == survivor
    _, hw_before = clients.watermarks(mb.broker(c, survivor).bootstrap, topic, 0)

    # librdkafka without retries reports the broker's error as is.
    p = clients.producer(mb.broker(c, survivor).bootstrap, acks="all", retries=0,
                         **{"message.timeout.ms": 20000})
    errs, oks = [], []
    for i in range(5):
        p.produce(topic, value=f"nope-{i}".encode(), partition=0,
                  on_delivery=lambda e, m: (errs if e else oks).append(e or m.offset()))
    assert p.flush(60) == 0
    assert not oks, f"acknowledged with one replica in sync: offsets {oks}"
    codes = {e.code() for e in errs}
    print("delivery errors:", sorted({e.name() for e in errs}))
    assert codes <= {KafkaError.NOT_ENOUGH_REPLICAS, KafkaError._MSG_TIMED_OUT}, errs
    assert KafkaError.NOT_ENOUGH_REPLICAS in codes, f"no NOT_ENOUGH_REPLICAS among {errs}"
    # And on the wire: Produce acks=-1 answers error 19 directly.
    err, _ = _produce_raw(mb.broker(c, survivor).port, topic, 0, b"raw-nope")
    assert err == NOT_ENOUGH_REPLICAS, f"Produce acks=-1 with ISR of 1 answered error {err}"
    # acks=1 is not subject to min.insync.replicas.
    err, _ = _produce_raw(mb.broker(c, survivor).port, topic, 0, b"acks1-ok", acks=1)
    assert err == 0
    # Nothing of the refused produce became visible.
    consumed = mb.consume_all(c.bootstrap, topic, [0])[0]
    assert [v for _, v in consumed] == [b"before", b"acks1-ok"], consumed

    # One broker returns: once it is back in the ISR, acks=all succeeds.
    back = down[0]
    mb.restart_after_kill(mb.broker(c, back))
    mb.wait_isr(c, topic, [0], [survivor, back])
    offs = clients.produce_sync(c.bootstrap, topic, [(None, b"after")], acks="all", retries=10)
    assert offs == [(0, 2)], offs
    assert hw_before == 1


def _describe_leader(c, topic, p):
    return mb.describe(c, topic)[p]["Leader"]


def test_unclean_leader_election_off_and_on(cluster3):
    c = cluster3
    ctrl = mb.wait_controller(c)
    a, b = [x for x in (1, 2, 3) if x != ctrl]  # leader a, follower b; the controller stays up
    spec = f"{a}:{b}"
    mb.create_topic(c, "clean", assignment_spec=spec, configs={"min.insync.replicas": "1"})
    mb.create_topic(c, "unclean", assignment_spec=spec,
                    configs={"min.insync.replicas": "1", "unclean.leader.election.enable": "true"})
    for t in ("clean", "unclean"):
        mb.wait_full_isr(c, t)
        mb.wait_leader(c, t, 0, equal_to=a)
        clients.produce_sync(c.bootstrap, t, [(None, f"both-{i}".encode()) for i in range(10)], acks="all")

    # The follower dies: the ISR shrinks to the leader, which takes more writes alone.
    mb.kill9(mb.broker(c, b))
    for t in ("clean", "unclean"):
        wait_until(lambda t=t: mb.partition_state(c, t, 0)["isr"] == [a], mb.TIMEOUT, f"{t} ISR == [{a}]")
        clients.produce_sync(mb.broker(c, a).bootstrap, t,
                             [(None, f"only-a-{i}".encode()) for i in range(20)], acks="all")
    old_leo = {t: clients.watermarks(mb.broker(c, a).bootstrap, t, 0)[1] for t in ("clean", "unclean")}
    assert old_leo == {"clean": 30, "unclean": 30}, old_leo

    # The only ISR member dies; the out-of-sync follower comes back.
    mb.kill9(mb.broker(c, a))
    for t in ("clean", "unclean"):
        wait_until(lambda t=t: mb.partition_state(c, t, 0)["leader"] == -1, mb.TIMEOUT, f"{t} offline")
    mb.restart_after_kill(mb.broker(c, b))

    # unclean.leader.election.enable=true: b is elected although it was not in the ISR.
    st = mb.wait_leader(c, "unclean", 0, equal_to=b)
    assert st["isr"] == [b], st
    new_leo = clients.watermarks(mb.broker(c, b).bootstrap, "unclean", 0)[1]
    print(f"unclean election: old leader {a} log end {old_leo['unclean']}, new leader {b} log end {new_leo}")
    assert new_leo == 10 < old_leo["unclean"], (new_leo, old_leo)

    # Off (the default): b is alive and registered, yet the partition stays offline.
    deadline = time.monotonic() + 15
    while time.monotonic() < deadline:
        assert mb.partition_state(c, "clean", 0)["leader"] == -1, "an out-of-sync replica was elected"
        time.sleep(0.5)
    assert _describe_leader(c, "clean", 0) == "none"
    assert _describe_leader(c, "unclean", 0) == str(b)

    # The old leader returns: "unclean" truncates it to the new leader's log (its 20 extra records
    # are gone), "clean" gets its leader back with nothing lost.
    mb.restart_after_kill(mb.broker(c, a))
    mb.wait_leader(c, "clean", 0, equal_to=a)
    mb.wait_isr(c, "unclean", [0], [a, b])
    got = mb.consume_all(c.bootstrap, "unclean", [0])[0]
    assert [v for _, v in got] == [f"both-{i}".encode() for i in range(10)], got
    wait_until(lambda: mb.log_end_offset(mb.broker(c, a), "unclean", 0) == 10, mb.TIMEOUT,
               "old leader truncated to 10")
    got = mb.consume_all(c.bootstrap, "clean", [0])[0]
    assert len(got) == 30
