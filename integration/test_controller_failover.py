"""Issue #3: ZooKeeper session expiry. A broker paused past zookeeper.session.timeout.ms re-registers
with a new broker epoch (the czxid of /brokers/ids/N); a controller paused the same way is replaced
(/controller changes, /controller_epoch increments) and stops acting once it resumes."""

import time

import pytest

import clients
import multibroker as mb
from harness import wait_until

SESSION_MS = 6000


@pytest.fixture
def cluster3(request):
    c = mb.start_cluster(request.node.name[:30],
                         overrides={"zookeeper.session.timeout.ms": str(SESSION_MS)})
    yield c
    mb.close_for(request, c)


def _pause_until_expired(c, b, broker_id):
    """SIGSTOP until ZooKeeper drops the registration, then SIGCONT."""
    mb.sigstop(b)
    try:
        wait_until(lambda: mb.registration_czxid(c, broker_id) is None, mb.TIMEOUT,
                   f"/brokers/ids/{broker_id} to expire")
    finally:
        mb.sigcont(b)


def test_paused_broker_rejoins_with_new_epoch(cluster3):
    c = cluster3
    ctrl = mb.wait_controller(c)
    victim = next(x for x in (1, 2, 3) if x != ctrl)
    mb.create_topic(c, "paused", partitions=3, rf=3, configs={"min.insync.replicas": "2"})
    mb.wait_full_isr(c, "paused")
    before = mb.registration_czxid(c, victim)
    assert before is not None

    _pause_until_expired(c, mb.broker(c, victim), victim)
    # The controller handled it as a failure: no partition led by it, it left every ISR.
    wait_until(lambda: all(victim not in s["isr"] and s["leader"] != victim
                           for s in mb.partition_states(c, "paused").values()),
               mb.TIMEOUT, f"broker {victim} out of every ISR")
    after = wait_until(lambda: mb.registration_czxid(c, victim), mb.TIMEOUT,
                       f"broker {victim} to re-register")
    print(f"broker {victim} epoch (czxid) {before} -> {after}")
    assert after != before and after > before
    # Handled as a restart: it catches up and rejoins every ISR; the cluster serves acks=all.
    mb.wait_full_isr(c, "paused")
    assert mb.broker(c, victim).alive()
    clients.produce_sync(c.bootstrap, "paused", [(None, b"x")] * 30, acks="all")


def test_paused_controller_is_replaced_and_stops_acting(cluster3):
    c = cluster3
    old = mb.wait_controller(c)
    epoch = mb.controller_epoch(c)
    old_czxid = mb.registration_czxid(c, old)

    _pause_until_expired(c, mb.broker(c, old), old)
    new = mb.wait_controller(c, other_than=old)
    new_epoch = mb.controller_epoch(c)
    print(f"controller {old} (epoch {epoch}) -> {new} (epoch {new_epoch})")
    assert new_epoch > epoch
    wait_until(lambda: (mb.registration_czxid(c, old) or old_czxid) != old_czxid, mb.TIMEOUT,
               f"broker {old} to re-register")

    # The resumed broker does not act as controller: /controller and its epoch stay put, and the
    # state it would write carries the new epoch only.
    mb.create_topic(c, "after", partitions=6, rf=3)
    mb.wait_full_isr(c, "after")
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        assert mb.controller_id(c) == new
        assert mb.controller_epoch(c) == new_epoch
        time.sleep(0.5)
    for p, st in mb.partition_states(c, "after").items():
        assert st["controller_epoch"] == new_epoch, (p, st)
    # Kafka's Metadata names the active controller on every broker, the old one included.
    for b in c.brokers.values():
        wait_until(lambda b=b: _metadata_controller(b) == new, mb.TIMEOUT,
                   f"broker {b.broker_id} to name controller {new}")
    clients.produce_sync(c.bootstrap, "after", [(None, b"y")] * 30, acks="all")


def _metadata_controller(b):
    import kwire
    with kwire.RawConn("127.0.0.1", b.port, timeout=10) as conn:
        conn.send(kwire.metadata_v1([], 1))
        _, cid = kwire.parse_metadata_v1_brokers(conn.recv_frame())
    return cid
