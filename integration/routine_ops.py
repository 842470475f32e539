"""Shared workload of the routine-operations tests (test_rolling_restart.py, test_disk_replaced.py):
a 3-broker cluster configured the way Kafka runs by default where leadership movement matters, one
busy RF 3 topic with an acks=all producer, idle RF 3 topics written once, and a consumer group whose
commits create an RF 3 `__consumer_offsets`. Plus one restart step that times how long the cluster
takes to be fully in sync again, and checks the brokers' output for log storms.

Why idle topics: the rolling-restart bug (issue 8) lived on partitions whose leader changed while
nothing was appended (a leader epoch a broker led without appending), so most partitions here,
including 49 of the 50 `__consumer_offsets` partitions, never see an append after the start.
"""

import time

from confluent_kafka import KafkaError

import clients
import group_helpers as gh
import multibroker as mb

# Leaders must move during a rolling restart the way they do in production: SIGTERM runs a
# controlled shutdown (controlled.shutdown.enable, Kafka's default) that moves leadership away, and
# the auto leader rebalance (Kafka's default auto.leader.rebalance.enable=true) moves it back to the
# preferred replica. Its check interval is 300 s in Kafka; 5 s here to fit the CI budget, and any
# imbalance triggers it (percentage 0) so leadership always returns to the preferred replica, which
# makes "every leader is preferred again" a condition the test can wait for.
OVERRIDES = {
    "offsets.topic.replication.factor": "3",
    "group.initial.rebalance.delay.ms": "0",
    "controlled.shutdown.enable": "true",
    "auto.leader.rebalance.enable": "true",
    "leader.imbalance.check.interval.seconds": "5",
    "leader.imbalance.per.broker.percentage": "0",
}

BUSY = "busy"
BUSY_PARTITIONS = 6
IDLE_TOPICS = [f"idle{i}" for i in range(5)]
IDLE_PARTITIONS = 3
IDLE_PER_PARTITION = 4
GROUP = "routine-ops-group"

# Bounds from the issue: the cluster is fully in sync again within 30 s of a broker's (re)start;
# a broker writes at most a few MB per restart and no line more than a couple of hundred times.
ISR_BOUND_S = 30.0
PREFERRED_BOUND_S = 30.0
STALE_ISR_WAIT_S = 15.0
MAX_LOG_BYTES = 5 << 20
MAX_REPEATS = 200


def start_cluster(name):
    """ZooKeeper + brokers 1-3 with the harness defaults plus OVERRIDES."""
    return mb.start_cluster(name, overrides=OVERRIDES)


class Workload:
    """The topics, the producer and the group of one test, and the final checks on them."""

    def __init__(self, c, rate=150.0):
        self.c = c
        self.rate = rate
        self.idle_written = {}  # (topic, partition) -> [values] written once at the start
        self.committed = {}     # topic -> {partition: committed offset}
        self.prod = None

    # -- set-up ----------------------------------------------------------------------------------
    def create(self):
        """Creates the busy and idle topics, writes the idle topics' messages (acks=all), and has a
        group consume and commit them, which creates `__consumer_offsets`; waits for full ISRs."""
        c = self.c
        mb.create_topic(c, BUSY, partitions=BUSY_PARTITIONS, rf=3, configs={"min.insync.replicas": "2"})
        for t in IDLE_TOPICS:
            mb.create_topic(c, t, partitions=IDLE_PARTITIONS, rf=3)
        for t in IDLE_TOPICS:
            for p in range(IDLE_PARTITIONS):
                vals = [f"{t}-{p}-{i}".encode() for i in range(IDLE_PER_PARTITION)]
                offs = clients.produce_sync(c.bootstrap, t, [(None, v) for v in vals], partition=p,
                                            acks="all", retries=10)
                assert offs == [(p, i) for i in range(IDLE_PER_PARTITION)], offs
                self.idle_written[(t, p)] = vals
        self._group_commit()
        mb.wait_cluster_state(c, lambda: mb.isr_gaps(c), mb.TIMEOUT, "full ISR after set-up")
        n_offsets = len(mb.assignment(c, gh.OFFSETS))
        assert n_offsets == 50, f"__consumer_offsets has {n_offsets} partitions"

    def _group_commit(self):
        """A real confluent-kafka group member subscribes to the idle topics, reads everything and
        commits synchronously (FindCoordinator creates `__consumer_offsets` with RF 3)."""
        want = len(IDLE_TOPICS) * IDLE_PARTITIONS * IDLE_PER_PARTITION
        cons = gh.group_consumer(self.c, GROUP)
        try:
            cons.subscribe(IDLE_TOPICS)
            got = 0
            deadline = time.monotonic() + mb.TIMEOUT
            while got < want:
                assert time.monotonic() < deadline, f"group read {got} of {want} idle messages"
                for m in cons.consume(num_messages=1000, timeout=1.0):
                    if m.error() is None:
                        got += 1
                    elif m.error().code() != KafkaError._PARTITION_EOF:
                        raise AssertionError(f"group consumer error: {m.error()}")
            res = cons.commit(asynchronous=False)
            assert all(tp.error is None for tp in res), res
            for tp in res:
                self.committed.setdefault(tp.topic, {})[tp.partition] = tp.offset
        finally:
            cons.close()
        expected = {t: {p: IDLE_PER_PARTITION for p in range(IDLE_PARTITIONS)} for t in IDLE_TOPICS}
        assert self.committed == expected, self.committed

    # -- the producer ----------------------------------------------------------------------------
    def start_producer(self):
        """An acks=all producer on the busy topic for the whole test. enable.idempotence=false
        (SeqProducer's default) because the broker has no idempotent producer yet, so a retried
        batch may be stored twice; duplicates are counted, not failed."""
        self.prod = mb.SeqProducer(self.c.bootstrap, BUSY, range(BUSY_PARTITIONS), rate=self.rate).start()
        self.prod.wait_acked(100)
        return self.prod

    def stop_producer(self):
        """Stops and flushes; every message must have been resolved."""
        remaining = self.prod.stop()
        assert remaining == 0, f"{remaining} messages never resolved"

    # -- final checks ----------------------------------------------------------------------------
    def verify(self, bootstrap=None):
        """Every acknowledged message of the busy topic is in its partition at the offset the broker
        reported, in send order (offsets strictly increasing with the sequence number); the idle
        topics hold exactly what was written; the group's offsets are still committed. Returns
        figures for the report."""
        bootstrap = bootstrap or self.c.bootstrap
        prod = self.prod
        assert not prod.failed, f"{len(prod.failed)} deliveries failed, first: {prod.failed[:5]}"
        parts = list(range(BUSY_PARTITIONS))
        consumed = mb.consume_all(bootstrap, BUSY, parts)
        values = {p: [v for _, v in recs] for p, recs in consumed.items()}
        problems, duplicates = mb.check_sequence(values, prod.acked, prod.sent)
        by_offset = {p: dict(recs) for p, recs in consumed.items()}
        wrong = [(p, s, o, by_offset[p].get(o)) for p in parts for s, o in prod.acked[p]
                 if by_offset[p].get(o) != str(s).encode()]
        for p in parts:
            acked = sorted(prod.acked[p])
            offs = [o for _, o in acked]
            bad = [i for i in range(1, len(offs)) if offs[i] <= offs[i - 1]]
            if bad:
                problems.append(f"partition {p}: acknowledged offsets not increasing with the sequence "
                                f"around {acked[max(bad[0] - 2, 0):bad[0] + 2]}")
        lost = sum(1 for p in parts for s, o in prod.acked[p] if by_offset[p].get(o) is None)
        figures = {"sent": prod.seq, "acked": prod.n_acked(), "failed": len(prod.failed),
                   "lost": lost, "duplicates": duplicates,
                   "consumed": sum(len(v) for v in values.values())}
        print(f"busy topic: {figures}")
        assert not problems, problems
        assert not wrong, f"acknowledged offsets holding other values (or nothing): {wrong[:10]}"

        for (t, p), vals in sorted(self.idle_written.items()):
            got = mb.consume_all(bootstrap, t, [p])[p]
            assert [v for _, v in got] == vals and [o for o, _ in got] == list(range(len(vals))), \
                f"{t}-{p}: {got}, expected {vals}"

        for t, offs in sorted(self.committed.items()):
            now = gh.committed_offsets(self.c, GROUP, t, list(offs))
            assert now == offs, f"group {GROUP} committed offsets of {t}: {now}, committed {offs}"
        return figures


def check_logs(watch, label):
    """One LogWatch window: fails if a broker wrote more than MAX_LOG_BYTES or repeated a normalised
    line more than MAX_REPEATS times since the previous check. Returns ({broker: bytes grown},
    (count, broker, line) of the most repeated normalised line) for the report."""
    win = watch.window()
    grown = {tag: g for tag, (g, _) in win.items()}
    top = max(((n, tag, line) for tag, (_, counts) in win.items() for line, n in counts.most_common(1)),
              default=(0, None, ""))
    problems = mb.LogWatch.problems(win, MAX_LOG_BYTES, MAX_REPEATS)
    assert not problems, f"{label}: broker output looks like a loop:\n" + "\n".join(problems)
    return grown, top


def restart(c, broker_id, how, prod=None, before_start=None, isr_bound=ISR_BOUND_S):
    """Stops broker `broker_id` (SIGTERM = controlled shutdown, or kill -9), waits until the
    controller has moved all its leaderships and taken it out of every ISR, starts it again and
    times (from the start) how long until every partition of every topic has a full ISR, and until
    every leader is the preferred replica again (the auto leader rebalance). With `prod`, also waits
    for the producer to get more acknowledgements. `before_start(stale)` runs while the broker is
    down (e.g. to delete its log dir); `isr_bound` is the asserted bound. Returns the figures;
    `stale_isr` lists the partitions whose ISR in ZooKeeper still named the stopped broker
    STALE_ISR_WAIT_S after it was gone (checked by the caller, so that one finding does not hide
    the rest of the run)."""
    b = mb.broker(c, broker_id)
    ctrl = mb.controller_id(c)
    t0 = time.monotonic()
    if how == "SIGTERM":
        b.stop()
    else:
        b.kill9()
        b.wait_deregistered(mb.TIMEOUT)
    # Leadership must have moved (controlled shutdown, or failover after the session expired).
    mb.wait_cluster_state(c, lambda: [x for x in mb.still_involving(c, broker_id) if x[3] == broker_id],
                          mb.TIMEOUT, f"broker {broker_id} leading nothing after {how}")
    # And it must leave every ISR: the controller removes a broker that shut down or failed.
    # Longer than replica.lag.time.max.ms, so a leader's own ISR shrink would have happened too.
    stale = []
    try:
        mb.wait_cluster_state(c, lambda: mb.still_involving(c, broker_id), STALE_ISR_WAIT_S,
                              f"broker {broker_id} out of every ISR after {how}")
    except AssertionError:
        stale = mb.still_involving(c, broker_id)
        print(f"STALE ISR: {len(stale)} partitions still list stopped broker {broker_id} in their "
              f"ISR after {STALE_ISR_WAIT_S:.0f}s: {stale[:10]}")
    down_s = time.monotonic() - t0
    if before_start is not None:
        before_start(stale)
    t_start = time.monotonic()
    b.start()
    # The bounds are asserted below so that a slow but converging cluster reports its figures.
    mb.wait_cluster_state(c, lambda: mb.isr_gaps(c), isr_bound * 3,
                          f"full ISR everywhere after {how} restart of broker {broker_id}")
    isr_s = time.monotonic() - t_start
    mb.wait_cluster_state(c, lambda: mb.not_on_preferred_leader(c), isr_bound + PREFERRED_BOUND_S * 2,
                          f"every leader preferred again after {how} restart of broker {broker_id}")
    preferred_s = time.monotonic() - t_start
    if prod is not None:
        prod.wait_acked(50, timeout=60)
    fig = {"broker": broker_id, "how": how, "was_controller": ctrl == broker_id,
           "down_s": round(down_s, 1), "isr_s": round(isr_s, 1), "preferred_s": round(preferred_s, 1),
           "stale_isr": stale}
    print(f"restart: { {k: v for k, v in fig.items() if k != 'stale_isr'} }, stale ISR: {len(stale)}")
    assert isr_s <= isr_bound, f"full ISR took {isr_s:.1f}s after the {how} restart of {broker_id}"
    assert preferred_s <= isr_bound + PREFERRED_BOUND_S, \
        f"leaders preferred again only after {preferred_s:.1f}s ({how} restart of {broker_id})"
    return fig
