"""Issue #4: consumer groups against the group coordinator. Three broker processes on a private
ZooKeeper (`__consumer_offsets` with RF 3), real clients: confluent-kafka consumers run as separate
processes (group_worker.py, so kill -9 is a real crash), kafka-python's KafkaConsumer, and raw
requests (groupwire.py) for the protocol-level answers.

The tests share one cluster and run in file order: the protocol test first (it needs a cluster where
`__consumer_offsets` does not exist yet), the coordinator-failover test last (it kills a broker).
"""

import json
import os
import signal
import subprocess
import sys
import time

import pytest
from confluent_kafka import Consumer, KafkaException, TopicPartition

import clients
import groupwire as gw
import multibroker as mb
from harness import wait_until

OFFSETS = "__consumer_offsets"
SESSION_MS = 6000
WORKER = os.path.join(os.path.dirname(os.path.abspath(__file__)), "group_worker.py")
TIMEOUT = 60


@pytest.fixture(scope="module")
def cluster():
    c = mb.start_cluster("groups", overrides={"offsets.topic.replication.factor": "3",
                                              "group.initial.rebalance.delay.ms": "0"})
    yield c
    c.close()


# -- consumer processes --------------------------------------------------------------------------
class Worker:
    """One group_worker.py process and a reader for its JSON-lines event log."""

    def __init__(self, c, name, topic, group, **opts):
        self.name = name
        self.log = os.path.join(c.workdir, f"worker-{name}.jsonl")
        self.out = os.path.join(c.workdir, f"worker-{name}.out")
        cmd = [sys.executable, WORKER, "--bootstrap", c.bootstrap, "--topic", topic, "--group", group,
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
        """The partitions held now, replaying assign/revoke/lost (eager: revoke all, then assign)."""
        held = set()
        for e in self.events():
            if e["ev"] == "assign":
                held = set(e["parts"])
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


def wait_split(members, counts, partitions, timeout=TIMEOUT):
    """Waits until the members' assignments are disjoint, cover `partitions` and have these sizes
    (sorted); returns [set] in member order."""
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


def high_watermarks(c, topic, partitions):
    return {p: clients.watermarks(c.bootstrap, topic, p)[1] for p in partitions}


def analyse(members, acked):
    """Checks a group's consumption history. `acked`: {p: [(seq, offset)]} from the producer.
    A *session* is the run of records one member consumed from one partition between being
    assigned it and losing it. Returns (problems, report)."""
    problems = []
    sessions = {}   # p -> [dict(worker, assigned_at, msgs=[(t, offset, value)])]
    commits = {}    # p -> [(t, offset)] accepted commits
    for w in members:
        current = {}
        for e in w.events():
            if e["ev"] == "assign":
                for p in e["parts"]:
                    current[p] = dict(worker=w.name, assigned_at=e["t"], msgs=[])
                    sessions.setdefault(p, []).append(current[p])
            elif e["ev"] in ("revoke", "lost"):
                for p in e["parts"]:
                    current.pop(p, None)
            elif e["ev"] == "msg":
                s = current.get(e["p"])
                if s is None:
                    problems.append(f"{w.name} consumed {e['p']}@{e['o']} without holding the partition")
                    continue
                s["msgs"].append((e["t"], e["o"], e["v"]))
            elif e["ev"] == "commit":
                for p, o in e["ok"].items():
                    commits.setdefault(int(p), []).append((e["t"], o))
    duplicates = 0
    consumed = 0
    for p, acks in acked.items():
        by_offset = {}
        live = sorted((s for s in sessions.get(p, []) if s["msgs"]), key=lambda s: s["msgs"][0][0])
        prev_end_t = None
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
            prev_end_t = s["msgs"][-1][0]
            for _, o, v in s["msgs"]:
                consumed += 1
                if o in by_offset:
                    duplicates += 1
                    if by_offset[o] != v:
                        problems.append(f"p{p}@{o}: value {v} here, {by_offset[o]} before")
                by_offset[o] = v
        missing = [(seq, o) for seq, o in acks if by_offset.get(o) != seq]
        if missing:
            problems.append(f"p{p}: {len(missing)} acknowledged records never consumed, first {missing[:5]}")
    report = dict(consumed=consumed, duplicates=duplicates,
                  sessions=sum(len([s for s in v if s["msgs"]]) for v in sessions.values()),
                  commits=sum(len(v) for v in commits.values()))
    return problems, report


def group_consumer(c, group, **extra):
    conf = {"bootstrap.servers": c.bootstrap, "broker.address.family": "v4", "group.id": group,
            "enable.auto.commit": False, "auto.offset.reset": "earliest", "session.timeout.ms": SESSION_MS,
            "heartbeat.interval.ms": 1000, "fetch.wait.max.ms": 100, "enable.partition.eof": False}
    conf.update(extra)
    return Consumer(conf)


def committed_offsets(c, group, topic, partitions, timeout=TIMEOUT):
    """OffsetFetch through a confluent-kafka consumer's committed(), retried while the coordinator
    moves or loads; {p: offset} (-1001 = none)."""
    cons = group_consumer(c, group)
    try:
        def fetch():
            res = cons.committed([TopicPartition(topic, p) for p in partitions], timeout=10)
            if any(tp.error is not None for tp in res):
                raise KafkaException(str([tp.error for tp in res]))
            return {tp.partition: tp.offset for tp in res}
        return wait_until(fetch, timeout, f"committed offsets of {group}", interval=0.5)
    finally:
        cons.close()


# -- raw protocol helpers ------------------------------------------------------------------------
def broker_by_id(c, node_id):
    return next(b for b in c.brokers.values() if b.broker_id == node_id)


def find_coordinator(c, group, via=None, other_than=None, timeout=TIMEOUT):
    """Polls FindCoordinator (to broker `via`, default any live one) until it names a coordinator."""
    def ask():
        brokers = [broker_by_id(c, via)] if via is not None else [b for b in c.brokers.values() if b.alive()]
        with gw.GroupConn("127.0.0.1", brokers[0].port, timeout=10) as conn:
            r = conn.find_coordinator(group)
        if r["error"] != gw.NONE or r["node_id"] == other_than:
            return None
        return r
    return wait_until(ask, timeout, f"FindCoordinator({group}) to answer", interval=0.5)


def coordinator_conn(c, group):
    r = find_coordinator(c, group)
    return gw.GroupConn("127.0.0.1", r["port"], timeout=30)


def expected_coordinator(c, group):
    return mb.partition_state(c, OFFSETS, gw.offsets_partition(group))["leader"]


# -- 7. protocol level (first: needs a cluster without __consumer_offsets) -------------------------
def test_find_coordinator_creates_offsets_topic(cluster):
    c = cluster
    assert not c.zk.exists(f"/brokers/topics/{OFFSETS}"), "test must run before anything creates the topic"
    with gw.GroupConn("127.0.0.1", c.brokers[1].port) as conn:
        r = conn.find_coordinator("proto-group")
    assert (r["error"], r["node_id"], r["host"], r["port"]) == (gw.COORDINATOR_NOT_AVAILABLE, -1, "", -1), r

    wait_until(lambda: c.zk.exists(f"/brokers/topics/{OFFSETS}"), 30, f"{OFFSETS} to be created in ZooKeeper")
    asg = mb.assignment(c, OFFSETS)
    assert sorted(asg) == list(range(50))
    assert all(len(set(r)) == 3 for r in asg.values()), asg
    cfg = c.zk.get_json(f"/config/topics/{OFFSETS}")["config"]
    assert cfg.get("cleanup.policy") == "compact", cfg
    assert cfg.get("segment.bytes") == "104857600", cfg
    assert cfg.get("compression.type") == "producer", cfg

    # Every broker names the leader of partition abs(hashCode) % 50 as the coordinator.
    for group in ("proto-group", "console-consumer-4242", "polygenelubricants", "g", "groupé-ü"):
        for b in (1, 2, 3):
            r = find_coordinator(c, group, via=b)
            want = expected_coordinator(c, group)
            assert r["node_id"] == want, (group, b, r, want)
            assert (r["host"], r["port"]) == ("127.0.0.1", broker_by_id(c, want).port), r


def test_group_lifecycle_raw(cluster):
    c = cluster
    topic = "proto-t"
    mb.create_topic(c, topic, partitions=2, rf=3)
    group = "proto-group"
    sub = gw.consumer_subscription([topic])
    coord = find_coordinator(c, group)["node_id"]
    other = next(b for b in c.brokers.values() if b.broker_id != coord)
    with gw.GroupConn("127.0.0.1", broker_by_id(c, coord).port) as conn:
        r = conn.join_group(group, session_timeout=1000, protocols=[("range", sub)])
        assert r["error"] == gw.INVALID_SESSION_TIMEOUT, r
        r = conn.join_group(group, protocols=[("range", sub)])
        assert (r["error"], r["generation"]) == (gw.MEMBER_ID_REQUIRED, -1), r
        member = r["member_id"]
        assert member.startswith("it-groups-") and len(member) == len("it-groups-") + 36, member
        r = conn.join_group(group, member_id=member, protocols=[("range", sub)])
        assert (r["error"], r["generation"], r["protocol"], r["leader"], r["member_id"]) == \
            (gw.NONE, 1, "range", member, member), r
        assert [(m["member_id"], m["metadata"]) for m in r["members"]] == [(member, sub)], r
        assert conn.heartbeat(group, 1, member)["error"] == gw.NONE  # CompletingRebalance
        mine = gw.consumer_assignment({topic: [0, 1]})
        r = conn.sync_group(group, 1, member, assignments=[(member, mine)])
        assert (r["error"], r["assignment"]) == (gw.NONE, mine), r
        assert conn.heartbeat(group, 1, member)["error"] == gw.NONE
        assert conn.heartbeat(group, 1, "nobody")["error"] == gw.UNKNOWN_MEMBER_ID
        assert conn.heartbeat(group, 7, member)["error"] == gw.ILLEGAL_GENERATION
        d = conn.describe_groups([group])[group]
        assert (d["error"], d["state"], d["protocol_type"], d["protocol"]) == (0, "Stable", "consumer", "range"), d
        assert [(m["member_id"], m["client_id"], m["metadata"], m["assignment"]) for m in d["members"]] == \
            [(member, "it-groups", sub, mine)], d
        assert d["members"][0]["client_host"].startswith("/127.0.0.1"), d
        err, groups = conn.list_groups()
        assert err == 0 and groups.get(group) == ("consumer", "Stable"), groups
        err, groups = conn.list_groups(states=["Empty"])
        assert err == 0 and group not in groups, groups

        # Offsets of an active member; a generation -1 commit is refused while the group has members.
        assert conn.offset_commit(group, {(topic, 0): 5, (topic, 1): 7}, generation=1, member_id=member) == \
            {(topic, 0): 0, (topic, 1): 0}
        assert conn.offset_commit(group, {(topic, 0): 9}) == {(topic, 0): gw.UNKNOWN_MEMBER_ID}
        assert conn.offset_fetch(group, {topic: [0, 1]}) == (0, {(topic, 0): (5, 0), (topic, 1): (7, 0)})
        assert conn.offset_commit(group, {("no-such-topic", 0): 1}, generation=1, member_id=member) == \
            {("no-such-topic", 0): gw.UNKNOWN_TOPIC_OR_PARTITION}
        assert conn.delete_groups([group]) == {group: gw.NON_EMPTY_GROUP}
        assert conn.offset_delete(group, {topic: [0]}) == (0, {(topic, 0): gw.GROUP_SUBSCRIBED_TO_TOPIC})

        r = conn.leave_group(group, [(member, None)])
        assert r["error"] == 0 and [m["error"] for m in r["members"]] == [0], r
        # Kafka completes the join of a group left without members at once (Empty, generation 2).
        d = conn.describe_groups([group])[group]
        assert (d["state"], d["members"]) == ("Empty", []), d
        assert conn.heartbeat(group, 1, member)["error"] == gw.UNKNOWN_MEMBER_ID
        assert conn.offset_fetch(group, {topic: [0, 1]})[1] == {(topic, 0): (5, 0), (topic, 1): (7, 0)}
        assert conn.offset_delete(group, {topic: [0]}) == (0, {(topic, 0): 0})
        assert conn.offset_fetch(group, {topic: [0, 1]})[1] == {(topic, 0): (-1, 0), (topic, 1): (7, 0)}
        assert conn.delete_groups([group]) == {group: 0}
        d = conn.describe_groups([group])[group]
        assert (d["error"], d["state"]) == (0, "Dead"), d
        assert conn.offset_fetch(group, {topic: [1]})[1] == {(topic, 1): (-1, 0)}
        assert conn.delete_groups([group]) == {group: gw.GROUP_ID_NOT_FOUND}

    # A broker that does not lead the group's partition refuses it.
    with gw.GroupConn("127.0.0.1", other.port) as conn:
        assert conn.offset_fetch(group, {topic: [0]})[0] == gw.NOT_COORDINATOR
        assert conn.heartbeat(group, 1, "x")["error"] == gw.NOT_COORDINATOR

    # The "simple consumer" path: a generation -1 commit creates an Empty group.
    simple = "proto-simple"
    with coordinator_conn(c, simple) as conn:
        assert conn.offset_commit(simple, {(topic, 0): 3}, generation=4, member_id="m") == \
            {(topic, 0): gw.ILLEGAL_GENERATION}
        assert conn.offset_fetch(simple, {topic: [0]}) == (0, {(topic, 0): (-1, 0)})
        assert conn.offset_commit(simple, {(topic, 0): 3, (topic, 1): 4}) == {(topic, 0): 0, (topic, 1): 0}
        assert conn.offset_fetch(simple, None)[1] == {(topic, 0): (3, 0), (topic, 1): (4, 0)}
        d = conn.describe_groups([simple])[simple]
        assert (d["error"], d["state"], d["protocol_type"], d["members"]) == (0, "Empty", "", []), d
        err, groups = conn.list_groups(states=["Empty"])
        assert err == 0 and groups.get(simple) == ("", "Empty"), groups
    never = "never-seen-group"
    with coordinator_conn(c, never) as conn:
        assert conn.delete_groups([never]) == {never: gw.GROUP_ID_NOT_FOUND}
        assert conn.offset_delete(never, {topic: [0]})[0] == gw.GROUP_ID_NOT_FOUND
    # Seen by a client too.
    assert committed_offsets(c, simple, topic, [0, 1]) == {0: 3, 1: 4}


# -- 1. rebalancing with joins and a crash ---------------------------------------------------------
def test_rebalance_on_join_and_crash(cluster, workers):
    c = cluster
    topic, group = "g-rebalance", "g-rebalance"
    mb.create_topic(c, topic, partitions=4, rf=3)
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
          f"sessions, duplicates {report['duplicates']}, accepted commits {report['commits']}; the crashed "
          f"member's partitions moved after {moved_after:.1f}s")
    assert not problems, problems
    # The crashed member is only noticed when its session expires.
    assert moved_after >= SESSION_MS / 1000 - 2, moved_after


# -- 2. independent groups ------------------------------------------------------------------------
def test_two_groups_each_see_every_message(cluster):
    c = cluster
    topic = "g-two"
    mb.create_topic(c, topic, partitions=3, rf=3)
    clients.produce_sync(c.bootstrap, topic, [(None, str(i).encode()) for i in range(90)])
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
    mb.create_topic(c, topic, partitions=2, rf=3)
    clients.produce_sync(c.bootstrap, topic, [(None, str(i).encode()) for i in range(200)])
    ends = high_watermarks(c, topic, [0, 1])
    w1 = workers("w1", topic, group, commit_limit=80, batch=10)
    wait_consumed_to([w1], ends, committed=False)
    w1.kill9()
    last = w1.committed()
    assert last and any(last.get(p, 0) < ends[p] for p in ends), (last, ends)
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
    mb.create_topic(c, topic, partitions=2, rf=3)
    clients.produce_sync(c.bootstrap, topic, [(None, str(i).encode()) for i in range(60)])
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
    want = {p: (max(read[p]) + 1 if p in read else None) for p in (0, 1)}
    assert kp_committed == want, (kp_committed, want)
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
            return all(last.get(p, -1) + 1 >= ends[p] for p in (0, 1))
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
    mb.create_topic(c, topic, partitions=4, rf=3)
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
    ids = {m["instance_id"]: m["member_id"] for m in d["members"]}
    assert d["state"] == "Stable" and sorted(ids) == ["inst-a", "inst-b"], d
    assert ids["inst-a"] != old_id and ids["inst-a"].startswith("inst-a-"), (ids, old_id)
    print(f"static member back with {sorted(held_a)} after {back_after:.1f}s, no rebalance of the other")


# -- 4. coordinator failover (last: kills a broker) ------------------------------------------------
def test_coordinator_failover_keeps_offsets(cluster, workers):
    c = cluster
    topic, group = "g-failover", "g-failover"
    mb.create_topic(c, topic, partitions=2, rf=3)
    mb.wait_full_isr(c, OFFSETS)
    clients.produce_sync(c.bootstrap, topic, [(None, str(i).encode()) for i in range(100)], acks="all")
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
    clients.produce_sync(c.bootstrap, topic, [(None, str(i).encode()) for i in range(100, 200)], acks="all")
    ends2 = high_watermarks(c, topic, [0, 1])
    wait_consumed_to([w1], ends2)
    w1.stop()
    assert committed_offsets(c, group, topic, [0, 1]) == ends2

    # A consumer started afterwards resumes from the offsets committed through the new coordinator.
    clients.produce_sync(c.bootstrap, topic, [(None, str(i).encode()) for i in range(200, 250)], acks="all")
    ends3 = high_watermarks(c, topic, [0, 1])
    w2 = workers("fo-2", topic, group)
    wait_consumed_to([w2], ends3)
    w2.stop()
    for p in (0, 1):
        offs = [m["o"] for m in w2.messages() if m["p"] == p]
        assert offs == list(range(ends2[p], ends3[p])), f"partition {p}: {offs[:5]}..{offs[-5:]}"
    print(f"coordinator {coord} killed; broker {new_coord} served the offsets after {moved_after:.1f}s; "
          f"the running member rebalanced {len(w1.rebalance_events()) - 1} times")
