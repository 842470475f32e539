"""A group consumer run as its own process by test_groups.py, so that kill -9 is a real crash.

A confluent-kafka consumer subscribes to one topic in a group and writes what happens to a JSON-lines
log (flushed before every commit): `assign`/`revoke`/`lost` with the partitions, one `msg` per
record (partition, offset, value), and one `commit` per synchronous commit with the offsets it
committed and whether the broker accepted them. It commits the next offset of every partition it
consumed from after each batch ("process, then commit"), unless --commit-limit says to stop
committing once that many records were consumed (used to leave uncommitted records behind before a
kill). SIGTERM closes the consumer (LeaveGroup for a dynamic member) and exits.

    python3 group_worker.py --bootstrap B --topic T --group G --log FILE [--instance-id I]

The second half is the test side: `Worker` starts one such process and reads its log back;
`wait_split`/`wait_consumed_to` wait on several workers; `analyse` checks a group's whole history
(no acknowledged record skipped, no record consumed again once committed, no two owners at once).
"""

import argparse
import json
import os
import signal
import subprocess
import sys
import time

from confluent_kafka import Consumer, KafkaError, KafkaException, TopicPartition

TIMEOUT = 60  # seconds the test-side helpers wait for a group to settle


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--bootstrap", required=True)
    ap.add_argument("--topic", required=True)
    ap.add_argument("--group", required=True)
    ap.add_argument("--log", required=True)
    ap.add_argument("--instance-id")
    ap.add_argument("--client-id", default="it-group-worker")
    ap.add_argument("--commit-limit", type=int, default=-1)
    ap.add_argument("--session-ms", type=int, default=6000)
    ap.add_argument("--max-poll-ms", type=int, default=10000)
    ap.add_argument("--batch", type=int, default=20)
    ap.add_argument("--debug", help="librdkafka debug contexts (to the worker's stderr), e.g. cgrp")
    ap.add_argument("--conf", action="append", default=[], help="extra consumer property k=v")
    args = ap.parse_args()

    log = open(args.log, "a", buffering=1)

    def emit(ev, **kw):
        log.write(json.dumps({"ev": ev, "t": time.time(), **kw}) + "\n")

    conf = {"bootstrap.servers": args.bootstrap, "broker.address.family": "v4", "group.id": args.group,
            "client.id": args.client_id, "enable.auto.commit": False, "auto.offset.reset": "earliest",
            "session.timeout.ms": args.session_ms, "heartbeat.interval.ms": 1000,
            "max.poll.interval.ms": args.max_poll_ms, "fetch.wait.max.ms": 100,
            "topic.metadata.refresh.interval.ms": 2000, "enable.partition.eof": False}
    if args.instance_id:
        conf["group.instance.id"] = args.instance_id
    if args.debug:
        conf["debug"] = args.debug
    conf.update(kv.split("=", 1) for kv in args.conf)
    consumer = Consumer(conf)
    # cooperative-sticky rebalances incrementally: callbacks list only the partitions added/removed.
    incremental = "cooperative" in conf.get("partition.assignment.strategy", "")
    stopping = []
    signal.signal(signal.SIGTERM, lambda *_: stopping.append(1))

    consumed = [0]
    pending = {}  # partition -> next offset, consumed but not yet committed

    def commit(parts):
        """Synchronously commits the pending offsets of `parts` and logs the broker's answer."""
        todo = {p: pending.pop(p) for p in sorted(parts) if p in pending}
        if not todo or 0 <= args.commit_limit < consumed[0]:
            return
        offsets = [TopicPartition(args.topic, p, o) for p, o in todo.items()]
        try:
            result = consumer.commit(offsets=offsets, asynchronous=False)
            bad = {str(tp.partition): str(tp.error) for tp in result or [] if tp.error is not None}
            ok = {str(tp.partition): tp.offset for tp in result or [] if tp.error is None}
            emit("commit", ok=ok, failed=bad)
        except KafkaException as e:
            emit("commit", ok={}, failed={str(p): str(e) for p in todo})

    def on_revoke(c, parts):
        commit([p.partition for p in parts])  # eager protocol: still this generation
        emit("revoke", parts=sorted(p.partition for p in parts))

    def on_lost(c, parts):
        for p in parts:
            pending.pop(p.partition, None)
        emit("lost", parts=sorted(p.partition for p in parts))

    consumer.subscribe([args.topic], on_revoke=on_revoke, on_lost=on_lost,
                       on_assign=lambda c, parts: emit("assign", parts=sorted(p.partition for p in parts),
                                                       incremental=incremental))
    emit("start")
    since_commit = 0
    while not stopping:
        m = consumer.poll(0.2)
        if m is not None:
            if m.error() is not None:
                if m.error().code() != KafkaError._PARTITION_EOF:
                    emit("error", err=str(m.error()))
                continue
            emit("msg", p=m.partition(), o=m.offset(), v=int(m.value()))
            pending[m.partition()] = m.offset() + 1
            consumed[0] += 1
            since_commit += 1
            if since_commit < args.batch:
                continue
        if pending:
            commit(list(pending))
        since_commit = 0
    emit("closing")
    consumer.close()
    emit("closed")
    log.close()
    return 0


# -- the test side: a handle on one worker process and checks over several workers' logs ---------
class Worker:
    """One group_worker.py process and a reader for its JSON-lines event log."""

    def __init__(self, c, name, topic, group, **opts):
        self.name = name
        self.log = os.path.join(c.workdir, f"worker-{name}.jsonl")
        self.out = os.path.join(c.workdir, f"worker-{name}.out")
        cmd = [sys.executable, os.path.abspath(__file__), "--bootstrap", c.bootstrap, "--topic", topic, "--group", group,
               "--log", self.log, "--client-id", f"it-{name}"]
        for k, v in opts.items():
            if v is not None:
                cmd += [f"--{k.replace('_', '-')}", str(v)]
        with open(self.out, "ab") as out:
            self.proc = subprocess.Popen(cmd, stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                                         start_new_session=True)
        self.killed_at = None

    def events(self):
        try:
            with open(self.log) as f:
                lines = f.read().splitlines()
        except OSError:
            return []
        out = []
        for ln in lines:
            try:
                out.append(json.loads(ln))
            except ValueError:  # a line cut short by kill -9
                pass
        return out

    def assignment(self):
        """The partitions held now, replaying assign/revoke/lost (eager: revoke all, then assign
        all; incremental: only the changes)."""
        held = set()
        for e in self.events():
            if e["ev"] == "assign":
                held = (held if e.get("incremental") else set()) | set(e["parts"])
            elif e["ev"] in ("revoke", "lost"):
                held -= set(e["parts"])
        return held

    def rebalance_events(self):
        return [e for e in self.events() if e["ev"] in ("assign", "revoke", "lost")]

    def messages(self):
        return [e for e in self.events() if e["ev"] == "msg"]

    def committed(self):
        """{partition: last offset the broker accepted from this worker}."""
        out = {}
        for e in self.events():
            if e["ev"] == "commit":
                for p, o in e["ok"].items():
                    out[int(p)] = o
        return out

    def kill9(self):
        self.killed_at = time.time()
        os.killpg(self.proc.pid, signal.SIGKILL)
        self.proc.wait(30)

    def stop(self):
        """SIGTERM: the worker closes its consumer (LeaveGroup for a dynamic member)."""
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(30)
            except subprocess.TimeoutExpired:
                self.kill9()
                raise AssertionError(f"worker {self.name} did not close within 30s")

    def summary(self):
        evs = self.events()
        return (f"worker {self.name}: {sum(e['ev'] == 'msg' for e in evs)} msgs, rebalance events "
                f"{[(e['ev'], e['parts']) for e in evs if e['ev'] in ('assign', 'revoke', 'lost')]}, "
                f"commits ok {sum(bool(e['ok']) for e in evs if e['ev'] == 'commit')}, failed "
                f"{[e['failed'] for e in evs if e['ev'] == 'commit' and e['failed']][:5]}")



def wait_split(members, counts, partitions, timeout=TIMEOUT):
    """Waits until the members' assignments are disjoint, cover `partitions` and have these sizes
    (sorted); returns [set] in member order."""
    from harness import wait_until

    def ready():
        held = [w.assignment() for w in members]
        union = set().union(*held)
        if sorted(len(h) for h in held) != sorted(counts) or union != set(partitions):
            return None
        return held if sum(len(h) for h in held) == len(union) else None
    return wait_until(ready, timeout, f"assignment sizes {counts} over {len(partitions)} partitions, now "
                      + "; ".join(f"{w.name}={sorted(w.assignment())}" for w in members), interval=0.3)


def wait_consumed_to(members, ends, timeout=TIMEOUT, committed=True):
    """Waits until, for every partition p, some member consumed offset ends[p] - 1 and (if
    `committed`) some member's last accepted commit for p is ends[p]."""
    from harness import wait_until

    def ready():
        seen = {}
        done = {}
        for w in members:
            for m in w.messages():
                seen[m["p"]] = max(seen.get(m["p"], -1), m["o"])
            for p, o in w.committed().items():
                done[p] = max(done.get(p, 0), o)
        return all(seen.get(p, -1) >= e - 1 and (not committed or done.get(p, 0) >= e)
                   for p, e in ends.items() if e > 0)
    wait_until(ready, timeout, f"members to consume{' and commit' if committed else ''} up to {ends}", interval=0.3)


def analyse(members, acked):
    """Checks a group's consumption history. `acked`: {p: [(seq, offset)]} from the producer.
    A *session* is the run of records one member consumed from one partition between being
    assigned it and losing it. Returns (problems, report)."""
    problems = []
    sessions = {}   # p -> [dict(worker, assigned_at, msgs=[(t, offset, value)], end)]
    commits = {}    # p -> [(t, offset)] accepted commits
    failed_commits = 0
    for w in members:
        current = {}
        for e in w.events():
            if e["ev"] == "assign":
                for p in e["parts"]:
                    current[p] = dict(worker=w.name, assigned_at=e["t"], msgs=[], end=None)
                    sessions.setdefault(p, []).append(current[p])
            elif e["ev"] in ("revoke", "lost"):
                for p in e["parts"]:
                    if p in current:
                        current.pop(p)["end"] = e["ev"]
            elif e["ev"] == "msg":
                s = current.get(e["p"])
                if s is None:
                    problems.append(f"{w.name} consumed {e['p']}@{e['o']} without holding the partition")
                    continue
                s["msgs"].append((e["t"], e["o"], e["v"]))
            elif e["ev"] == "commit":
                for p, o in e["ok"].items():
                    commits.setdefault(int(p), []).append((e["t"], o))
                failed_commits += len(e["failed"])
        for s in current.values():
            s["end"] = "crash" if w.killed_at is not None else "open"
    duplicates = {}  # how the previous owner's session ended -> records read again
    consumed = 0
    for p, acks in acked.items():
        by_offset = {}
        live = sorted((s for s in sessions.get(p, []) if s["msgs"]), key=lambda s: s["msgs"][0][0])
        prev_end_t = None
        prev_end = None
        for s in live:
            offs = [o for _, o, _ in s["msgs"]]
            if offs != list(range(offs[0], offs[0] + len(offs))):
                problems.append(f"p{p}: {s['worker']} consumed a non-contiguous run starting {offs[:5]}")
            # Everything committed before this member was assigned the partition must not come back.
            floor = max((o for t, o in commits.get(p, []) if t < s["assigned_at"]), default=0)
            if offs[0] < floor:
                problems.append(f"p{p}: {s['worker']} restarted at {offs[0]} below the committed {floor}")
            if prev_end_t is not None and s["msgs"][0][0] < prev_end_t:
                problems.append(f"p{p}: {s['worker']} consumed while the previous owner still did")
            for _, o, v in s["msgs"]:
                consumed += 1
                if o in by_offset:
                    duplicates[prev_end] = duplicates.get(prev_end, 0) + 1
                    if by_offset[o] != v:
                        problems.append(f"p{p}@{o}: value {v} here, {by_offset[o]} before")
                by_offset[o] = v
            prev_end_t, prev_end = s["msgs"][-1][0], s["end"]
        missing = [(seq, o) for seq, o in acks if by_offset.get(o) != seq]
        if missing:
            problems.append(f"p{p}: {len(missing)} acknowledged records never consumed, first {missing[:5]}")
    report = dict(consumed=consumed, duplicates=sum(duplicates.values()), duplicates_after=duplicates,
                  sessions=sum(len([s for s in v if s["msgs"]]) for v in sessions.values()),
                  commits=sum(len(v) for v in commits.values()), failed_commits=failed_commits)
    return problems, report


if __name__ == "__main__":
    sys.exit(main())
