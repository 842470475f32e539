#!/usr/bin/env python3
"""Failover benchmark (not a test: it asserts nothing about timings; a step that times out is
reported as such in the table).

For each partition count (default 1,000 and 10,000), a fresh private ZooKeeper and three brokers
(integration/multibroker.py, zookeeper.session.timeout.ms=6000) and one topic with that many
partitions, replication factor 3, are used to measure:
  * creation: kafka-topics.sh --create until librdkafka's Metadata shows a leader for every partition;
  * leader failover after kill -9 of partition 0's leader (not the controller): from the kill to the
    first successful acks=all produce to partition 0 (new leader); the ZooKeeper session timeout
    (6 s) is part of it, since that is how the controller learns of the death;
  * leader failover after controlled shutdown (SIGTERM) of partition 0's leader: from the signal to
    the first successful acks=all produce to partition 0, and until the process exited;
  * controller failover after kill -9 of the controller: from the kill to a new /controller, and to
    the first successful topic creation (kafka-topics --create, RF 2, leader visible to clients).
And once, on a 3-partition RF 3 topic: produce throughput of 100-byte records with acks=all vs
acks=1 (confluent-kafka, linger.ms=10, batch.size 1 MiB).
"""

import argparse
import os
import signal
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from confluent_kafka import Producer  # noqa: E402

import harness  # noqa: E402
import multibroker as mb  # noqa: E402
from harness import wait_until  # noqa: E402

MiB = 1024 * 1024


def log(msg):
    print(f"[{time.strftime('%H:%M:%S')}] {msg}", flush=True)


def first_produce(bootstrap, topic, partition, t0, timeout, c=None, old_leader=None):
    """Retries single acks=all produces to `partition` until one is acknowledged; returns the time
    since t0 of that acknowledgement, or None on timeout. With `old_leader`, attempts start only
    once ZooKeeper's partition state names another leader (so the acknowledgement comes from the
    new leader, not from the old one still serving during a controlled shutdown)."""
    p = Producer({"bootstrap.servers": bootstrap, "broker.address.family": "v4", "acks": "all",
                  "enable.idempotence": False, "message.timeout.ms": 5000, "retry.backoff.ms": 50,
                  "topic.metadata.refresh.interval.ms": 500, "linger.ms": 0,
                  "reconnect.backoff.max.ms": 200, "socket.timeout.ms": 5000})
    deadline = time.monotonic() + timeout
    try:
        while time.monotonic() < deadline:
            if old_leader is not None:
                try:
                    ld = mb.partition_state(c, topic, partition)["leader"]
                except Exception:  # noqa: BLE001 - ZooKeeper busy: try again
                    ld = old_leader
                if ld in (old_leader, -1):
                    time.sleep(0.02)
                    continue
            res = []
            p.produce(topic, value=b"probe", partition=partition,
                      on_delivery=lambda e, m: res.append(e))
            p.flush(10)
            if res and res[0] is None:
                return time.monotonic() - t0
            time.sleep(0.02)
        return None
    finally:
        p.flush(1)


def fmt(x, missing="timeout"):
    return missing if x is None else f"{x:8.2f}"


def timed(what, fn, timeout):
    try:
        return fn()
    except (TimeoutError, harness.HarnessError) as e:
        log(f"{what}: {e}")
        return None


def restart(b, timeout):
    """mb.restart_after_kill with the benchmark's timeout for the start too: a broker loading (and,
    after kill -9, recovering) 10,000 logs takes longer than the harness's default start timeout."""
    b.wait_deregistered(timeout)
    b.start(wait=False)
    b.wait_ready(timeout)


def bench_partitions(n, timeout, steps=("kill9", "sigterm", "controller"), zk_session_timeout_ms="6000"):
    row = {"partitions": n}
    c = mb.start_cluster(f"bench-{n}", overrides={"zookeeper.session.timeout.ms": zk_session_timeout_ms,
                                                   "num.replica.fetchers": "1"})
    try:
        topic = f"p{n}"
        log(f"{n} partitions: creating")
        t0 = time.monotonic()
        p = c.topics("--create", "--topic", topic, "--partitions", str(n), "--replication-factor", "3")
        if p.returncode != 0:
            raise harness.HarnessError(p.stdout + p.stderr)
        row["create"] = timed("create", lambda: (c.wait_for_leaders(topic, n, timeout=timeout),
                                                 time.monotonic() - t0)[1], timeout)
        log(f"  created in {fmt(row['create'])} s; waiting for full ISR")
        if row["create"] is None:
            errs = [ln for ln in mb.broker(c, 1).log_text().splitlines() if " ERROR " in ln]
            row["error"] = "creation did not complete" + (f"; broker 1: ...{errs[-1][-150:]}" if errs else "")
            return row
        timed("full ISR", lambda: mb.wait_full_isr(c, topic, timeout=timeout), timeout)
        # Warm a probe path.
        first_produce(c.bootstrap, topic, 0, time.monotonic(), 60)

        def victim():
            ctrl = mb.wait_controller(c)
            ld = mb.partition_state(c, topic, 0)["leader"]
            if ld == ctrl:
                # Move partition 0's leadership off the controller is not needed for the figure;
                # pick another partition led by a non-controller broker instead.
                for part, st in sorted(mb.partition_states(c, topic).items()):
                    if st["leader"] != ctrl:
                        return part, st["leader"]
            return 0, ld

        if "kill9" in steps:
            # -- kill -9 of a leader ------------------------------------------------------------
            part, ld = victim()
            b = mb.broker(c, ld)
            log(f"  kill -9 broker {ld} (leader of {topic}-{part})")
            t0 = time.monotonic()
            b._signal(signal.SIGKILL)
            row["kill9"] = first_produce(c.bootstrap, topic, part, t0, timeout, c, ld)
            log(f"  first acks=all produce after {fmt(row['kill9'])} s")
            restart(b, timeout)
            timed("full ISR", lambda: mb.wait_full_isr(c, topic, timeout=timeout), timeout)

        if "sigterm" in steps:
            # -- controlled shutdown of a leader ------------------------------------------------
            part, ld = victim()
            b = mb.broker(c, ld)
            log(f"  SIGTERM broker {ld} (leader of {topic}-{part})")
            t0 = time.monotonic()
            b._signal(signal.SIGTERM)
            row["cs"] = first_produce(c.bootstrap, topic, part, t0, timeout, c, ld)
            row["cs_exit"] = timed("exit", lambda: (wait_until(lambda: not b.alive(), timeout, "exit"),
                                                    time.monotonic() - t0)[1], timeout)
            log(f"  first produce after {fmt(row['cs'])} s, exited after {fmt(row['cs_exit'])} s")
            if b.alive():
                b.kill9()
            restart(b, timeout)
            timed("full ISR", lambda: mb.wait_full_isr(c, topic, timeout=timeout), timeout)

        if "controller" in steps:
            # -- kill -9 of the controller ------------------------------------------------------
            ctrl = mb.wait_controller(c)
            b = mb.broker(c, ctrl)
            log(f"  kill -9 controller {ctrl}")
            t0 = time.monotonic()
            b._signal(signal.SIGKILL)
            row["ctrl"] = timed("new controller", lambda: (mb.wait_controller(c, timeout=timeout, other_than=ctrl),
                                                           time.monotonic() - t0)[1], timeout)

            def create_after():
                p = c.topics("--create", "--topic", "after-failover", "--partitions", "1",
                             "--replication-factor", "2")
                if p.returncode != 0:
                    raise harness.HarnessError(p.stdout + p.stderr)
                c.wait_for_leaders("after-failover", 1, timeout=timeout)
                return time.monotonic() - t0
            row["ctrl_create"] = timed("create after failover", create_after, timeout)
            log(f"  new controller after {fmt(row['ctrl'])} s, topic created after {fmt(row['ctrl_create'])} s")
    finally:
        c.close()
    return row


def bench_throughput(records, size=100):
    c = mb.start_cluster("bench-tput")
    rows = []
    try:
        for acks in ("all", "1"):
            topic = f"tput-{acks}"
            mb.create_topic(c, topic, partitions=3, rf=3)
            mb.wait_full_isr(c, topic)
            p = Producer({"bootstrap.servers": c.bootstrap, "broker.address.family": "v4",
                          "acks": acks, "linger.ms": 10, "batch.size": MiB,
                          "queue.buffering.max.messages": 1000000, "enable.idempotence": False,
                          "compression.type": "none"})
            payload = b"x" * size
            # warm-up
            for _ in range(1000):
                p.produce(topic, payload)
            p.flush(60)
            errors = []
            t0 = time.perf_counter()
            for i in range(records):
                while True:
                    try:
                        p.produce(topic, payload, partition=i % 3,
                                  on_delivery=(lambda e, m: errors.append(e)) if i % 1000 == 0 else None)
                        break
                    except BufferError:
                        p.poll(0.01)
            p.flush(300)
            el = time.perf_counter() - t0
            rows.append((acks, records, el, records / el, records * size / el / MiB,
                         sum(1 for e in errors if e is not None)))
            log(f"  acks={acks}: {records / el:,.0f} records/s")
    finally:
        c.close()
    return rows


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--sizes", default="1000,10000")
    ap.add_argument("--records", type=int, default=1000000)
    ap.add_argument("--timeout", type=float, default=120)
    ap.add_argument("--steps", default="kill9,sigterm,controller",
                    help="which failovers to time, in this order (each on the cluster the previous left)")
    ap.add_argument("--zk-session-timeout-ms", default="6000")
    args = ap.parse_args()
    steps = tuple(x for x in args.steps.split(",") if x)

    tput = bench_throughput(args.records) if args.records > 0 else []
    rows = []
    for n in [int(x) for x in args.sizes.split(",") if x]:
        try:
            rows.append(bench_partitions(n, args.timeout, steps, args.zk_session_timeout_ms))
        except Exception as e:  # noqa: BLE001 - report and go on
            log(f"{n} partitions: {e!r}")
            rows.append({"partitions": n, "error": repr(e)[:200]})

    print()
    print(f"Failover (seconds; kill -9 figures include the {int(args.zk_session_timeout_ms) / 1000:g} s ZooKeeper "
          "session timeout; '-' = step not run)")
    print(f"{'partitions':>10} | {'create':>8} | {'kill-9 leader':>13} | {'SIGTERM leader':>14} | "
          f"{'SIGTERM exit':>12} | {'new controller':>14} | {'ctrl+create':>11}")
    for r in rows:
        if "error" in r:
            print(f"{r['partitions']:>10} | error: {r['error']}")
            continue
        cell = {k: fmt(r[k]) if k in r else "-" for k in ("create", "kill9", "cs", "cs_exit", "ctrl", "ctrl_create")}
        print(f"{r['partitions']:>10} | {cell['create']:>8} | {cell['kill9']:>13} | "
              f"{cell['cs']:>14} | {cell['cs_exit']:>12} | {cell['ctrl']:>14} | "
              f"{cell['ctrl_create']:>11}")
    print()
    print("Produce throughput, RF 3, 3 partitions, 100-byte records (confluent-kafka)")
    print(f"{'acks':>5} | {'records':>9} | {'seconds':>8} | {'records/s':>10} | {'MB/s':>6} | sampled errors")
    for acks, n, el, rps, mbs, errs in tput:
        print(f"{acks:>5} | {n:>9} | {el:8.2f} | {rps:10,.0f} | {mbs:6.2f} | {errs}")


if __name__ == "__main__":
    main()
