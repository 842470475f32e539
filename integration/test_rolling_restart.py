"""Issue 8: routine operations. Two rounds of rolling SIGTERM restarts and one of kill -9 restarts of
3 brokers carrying a busy RF 3 topic (acks=all producer throughout), idle RF 3 topics and an RF 3
`__consumer_offsets`: after every restart the whole cluster is in sync again within 30 s, the
brokers' output stays small with no line repeated in a loop, and at the end nothing acknowledged
is lost, the idle topics and the group's offsets are intact.

This is the regression test of the follower loop on "Truncating <tp> to offset N (LEO was N):
leader's end offset for epoch E is N" (400,000 lines in 45 s, partitions out of the ISR for good)
and of its class: a line repeated per request or fetch without progress."""

import pytest

import multibroker as mb
import routine_ops as ro


@pytest.fixture
def cluster3(request):
    c = ro.start_cluster(request.node.name[:30])
    yield c
    mb.close_for(request, c)


def test_rolling_restarts_keep_isr_logs_and_data(cluster3):
    """SIGTERM, SIGTERM, kill -9 rounds over brokers 1, 2, 3 (the controller among them each
    round): leadership moves away (controlled shutdown or failure) and back (auto leader
    rebalance) on every partition, busy or idle; after each restart every ISR is full within 30 s
    and each broker wrote at most 5 MB with no normalised line more than 200 times."""
    c = cluster3
    w = ro.Workload(c)
    w.create()
    watch = mb.LogWatch(c)
    prod = w.start_producer()
    figures = []
    try:
        for rnd, how in enumerate(("SIGTERM", "SIGTERM", "kill -9"), start=1):
            for bid in (1, 2, 3):
                fig = ro.restart(c, bid, how, prod)
                fig["round"] = rnd
                fig["log_bytes"], fig["top_line"] = ro.check_logs(
                    watch, f"round {rnd}, {how} restart of broker {bid}")
                figures.append(fig)
    finally:
        w.stop_producer()
    ro.check_logs(watch, "after the producer stopped")
    for f in figures:
        print(f"round {f['round']} {f['how']:8} broker {f['broker']}"
              f"{' (controller)' if f['was_controller'] else ''}: down {f['down_s']}s, "
              f"full ISR {f['isr_s']}s, leaders preferred {f['preferred_s']}s after start, "
              f"log growth {f['log_bytes']}, most repeated line {f['top_line'][0]}x on broker "
              f"{f['top_line'][1]}: {f['top_line'][2][:120]!r}, stale ISR entries {len(f['stale_isr'])}")
    w.verify()
    # Still healthy once all is done.
    assert not mb.isr_gaps(c)
    # A stopped broker must not stay in the ISR: ZooKeeper would claim a dead replica is in sync
    # (no under-replicated partition reported while it is down), and the next acks=all write or
    # offset commit there would wait replica.lag.time.max.ms for the leader to drop it. On an idle
    # partition nothing ever drops it (the follower's LEO equals the leader's).
    stale = [(f["round"], f["how"], f["broker"], f["stale_isr"]) for f in figures if f["stale_isr"]]
    assert not stale, ("stopped brokers left in ISRs (round, how, broker, [(topic, partition, isr, "
                       f"leader)]): {[(r, h, b, len(s), s[:5]) for r, h, b, s in stale]}")
