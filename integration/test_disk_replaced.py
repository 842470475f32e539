"""Issue 8: routine operations, a replaced disk. A broker stopped with SIGTERM, its whole log dir
deleted and started again with the same id must re-replicate every partition from the others
(busy, idle, bulk multi-segment topics and `__consumer_offsets`), rejoin every ISR within 60 s, and
end up with the same data as the other replicas; made the only broker left, it serves every
acknowledged message, the idle topics and the group's committed offsets from its new copy."""

import os
import shutil

import pytest

import clients
import multibroker as mb
import routine_ops as ro

BULK = "bulk"
BULK_PARTITIONS = 3
BULK_RECORDS = 18000  # ~18 MB of 1 KB values, ~6 segments per partition with 3 MB segments
REJOIN_BOUND_S = 60.0


@pytest.fixture
def cluster3(request):
    c = ro.start_cluster(request.node.name[:30])
    yield c
    mb.close_for(request, c)


def _bulk_value(i):
    return f"bulk-{i:06d}-".encode().ljust(1000, b"b")


def _replica_differences(c):
    """Partitions whose replicas differ on disk: [(topic, partition, {broker: (LEO, bytes)})] for
    every partition whose concatenated segment bytes are not the same on all of its replicas. The
    follower appends the leader's batches as they are, so in-sync replicas are byte-equal
    (segment boundaries aside, which concatenation ignores; nothing here is old enough to be
    compacted or deleted)."""
    out = []
    for (t, p), (replicas, _) in sorted(mb.all_partition_states(c).items()):
        data = {r: mb.segment_bytes(mb.broker(c, r), t, p) for r in replicas}
        if len(set(data.values())) > 1:
            out.append((t, p, {r: (mb.log_end_offset(mb.broker(c, r), t, p), len(d)) for r, d in data.items()}))
    return out


def test_empty_log_dir_re_replicates_everything_and_rejoins(cluster3):
    """The controller's broker (the harder case: controlled shutdown of the controller itself, then
    a controller failover) loses its log dir while the acks=all producer runs; it comes back empty,
    copies ~18 MB plus every idle and `__consumer_offsets` partition, rejoins every ISR within 60 s
    and is byte-equal to the other replicas; then the other two are stopped one at a time and
    everything acknowledged is read back from it alone."""
    c = cluster3
    w = ro.Workload(c, rate=200.0)
    w.create()
    mb.create_topic(c, BULK, partitions=BULK_PARTITIONS, rf=3,
                    configs={"segment.bytes": str(3 << 20), "min.insync.replicas": "2"})
    bulk = {p: [] for p in range(BULK_PARTITIONS)}
    offs = clients.produce_sync(c.bootstrap, BULK, [(None, _bulk_value(i)) for i in range(BULK_RECORDS)],
                                acks="all", retries=10, **{"linger.ms": 20, "batch.num.messages": 500})
    for i, (p, o) in enumerate(offs):
        bulk[p].append((o, _bulk_value(i)))
    prod = w.start_producer()
    prod.wait_acked(1000)
    watch = mb.LogWatch(c)

    victim = mb.wait_controller(c)
    vb = mb.broker(c, victim)

    def wipe(stale):
        # Deleting the data of a replica ZooKeeper still lists as in sync would let it be elected
        # with an empty log: the test must not do that, and the cluster must not ask for it.
        assert not stale, f"stopped broker {victim} still in the ISR of {len(stale)} partitions: {stale[:10]}"
        shutil.rmtree(vb.log_dir)
        assert not os.path.exists(vb.log_dir)

    fig = ro.restart(c, victim, "SIGTERM", prod, before_start=wipe, isr_bound=REJOIN_BOUND_S)
    grown, top = ro.check_logs(watch, f"re-replication onto broker {victim}")
    print(f"disk replaced on broker {victim} (controller): full ISR {fig['isr_s']}s, leaders preferred "
          f"{fig['preferred_s']}s after start; log growth {grown}; most repeated line {top[0]}x on "
          f"broker {top[1]}: {top[2][:120]!r}")
    w.stop_producer()

    # Every replica of every partition holds the same bytes, the new copy included.
    expected = {(t, p) for (t, p) in mb.all_partition_states(c)}
    present = {(t, p) for (t, p) in expected if os.path.isdir(vb.partition_dir(t, p))}
    assert present == expected, f"missing on broker {victim}: {sorted(expected - present)[:10]}"
    mb.wait_cluster_state(c, lambda: _replica_differences(c), REJOIN_BOUND_S,
                          "every replica byte-equal to the others")
    copied = sum(len(mb.segment_bytes(vb, t, p)) for t, p in expected)
    print(f"broker {victim} holds {copied / 1e6:.1f} MB in {len(expected)} partitions, equal to the other replicas")

    # Make it the only broker: SIGTERM the two others one at a time; it leads everything.
    for other in (x for x in (1, 2, 3) if x != victim):
        ob = mb.broker(c, other)
        ob.stop()
        mb.wait_cluster_state(c, lambda: [x for x in mb.still_involving(c, other) if x[3] == other],
                              mb.TIMEOUT, f"broker {other} leading nothing")
    mb.wait_cluster_state(c, lambda: [(t, p, st["leader"]) for (t, p), (_, st) in mb.all_partition_states(c).items()
                                      if st["leader"] != victim],
                          mb.TIMEOUT, f"broker {victim} leading every partition")
    figures = w.verify(bootstrap=vb.bootstrap)
    got = mb.consume_all(vb.bootstrap, BULK, list(range(BULK_PARTITIONS)))
    for p in range(BULK_PARTITIONS):
        assert got[p] == bulk[p], (f"{BULK}-{p} on broker {victim}: {len(got[p])} records, "
                                   f"{len(bulk[p])} acknowledged")
    assert figures["lost"] == 0
