"""Issue #3: a follower whose log diverged (its leader died after appending records nobody
replicated) truncates by leader epoch (OffsetsForLeaderEpoch, KIP-101/279) when it returns, and ends
up with exactly the new leader's log."""

import time

import pytest

import clients
import multibroker as mb
from harness import wait_until

# A longer session than mb's default: the followers are paused for a few seconds and must not
# expire meanwhile; the dead leader is still noticed within the budget.
OVERRIDES = {"zookeeper.session.timeout.ms": "10000", "replica.fetch.wait.max.ms": "500"}
# A follower's fetch may be parked at the leader (up to replica.fetch.wait.max.ms); if the leader
# answers it while the follower is stopped, the records wait in the follower's socket buffer and are
# appended when it resumes. After this long every parked fetch has been answered (empty), and a
# stopped follower sends no new one.
PARKED_FETCH_S = 2.0


@pytest.fixture
def cluster3(request):
    c = mb.start_cluster(request.node.name[:30], overrides=OVERRIDES)
    yield c
    mb.close_for(request, c)


def test_diverged_follower_truncates_by_leader_epoch(cluster3):
    c = cluster3
    topic = "diverge"
    ctrl = mb.wait_controller(c)
    # The leader is not the controller (its death must not also need a controller failover).
    leader = next(x for x in (1, 2, 3) if x != ctrl)
    followers = [x for x in (1, 2, 3) if x != leader]
    spec = ":".join(str(x) for x in [leader, *followers])
    mb.create_topic(c, topic, assignment_spec=spec, configs={"min.insync.replicas": "1"})
    mb.wait_full_isr(c, topic)
    mb.wait_leader(c, topic, 0, equal_to=leader)
    clients.produce_sync(c.bootstrap, topic, [(None, f"common-{i}".encode()) for i in range(50)],
                         acks="all", **{"compression.type": "none"})

    lb = mb.broker(c, leader)
    # Freeze the followers, write to the leader alone with acks=1, kill it.
    for f in followers:
        mb.sigstop(mb.broker(c, f))
    try:
        time.sleep(PARKED_FETCH_S)
        clients.produce_sync(lb.bootstrap, topic, [(None, f"lost-{i}".encode()) for i in range(30)],
                             acks="1", timeout=30, **{"compression.type": "none"})
        mb.kill9(lb)
    finally:
        for f in followers:
            mb.sigcont(mb.broker(c, f))
    old_log = mb.log_records(lb, topic, 0)
    assert [v for _, _, v in old_log][50:] == [f"lost-{i}".encode() for i in range(30)], \
        "the old leader should hold the 30 unreplicated records"

    st = mb.wait_leader(c, topic, 0, other_than=leader)
    new_leader = st["leader"]
    assert new_leader in followers
    nb = mb.broker(c, new_leader)
    # The new leader writes different records at the offsets the old leader used for "lost-*".
    clients.produce_sync(nb.bootstrap, topic, [(None, f"new-{i}".encode()) for i in range(20)],
                         acks="1", **{"compression.type": "none"})
    new_records = mb.log_records(nb, topic, 0)
    assert [v for _, _, v in new_records] == [f"common-{i}".encode() for i in range(50)] + \
        [f"new-{i}".encode() for i in range(20)]

    mb.restart_after_kill(lb)
    mb.wait_isr(c, topic, [0], [leader, new_leader])

    # The returned replica's log is byte for byte the new leader's log.
    def same():
        return mb.segment_bytes(lb, topic, 0) == mb.segment_bytes(nb, topic, 0)
    try:
        wait_until(same, mb.TIMEOUT, "the old leader's log to equal the new leader's")
    finally:
        got = mb.log_records(lb, topic, 0)
        print(f"old leader {leader}: {len(old_log)} records before, {len(got)} after; "
              f"new leader {new_leader}: {len(new_records)}")
    values = [v for _, _, v in mb.log_records(lb, topic, 0)]
    assert not any(v.startswith(b"lost-") for v in values)
    # Epochs: the old leader's checkpointed epoch cache now ends with the new leader's epoch.
    with open(f"{lb.partition_dir(topic, 0)}/leader-epoch-checkpoint") as f:
        lines = f.read().split()
    assert lines, "leader-epoch-checkpoint is empty"

    # Consumers see the new leader's history.
    consumed = mb.consume_all(c.bootstrap, topic, [0])[0]
    assert [v for _, v in consumed] == [f"common-{i}".encode() for i in range(50)] + \
        [f"new-{i}".encode() for i in range(20)]
