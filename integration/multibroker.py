"""Multi-broker helpers for the replication/controller tests (issue #3), on top of harness.py.

A cluster here is a private ZooKeeper plus brokers 1..n started as separate processes through
scripts/kafka-server-start.sh. The authoritative view of leadership is ZooKeeper's
/brokers/topics/T/partitions/P/state (what the controller wrote); Metadata as clients see it comes
from librdkafka. Every helper polls with a deadline; nothing sleeps a fixed time to "let things
settle".
"""

import json
import os
import re
import signal
import threading
import time

import harness
from harness import wait_until

# A short ZooKeeper session so dead brokers are noticed quickly; no automatic leader rebalance (the
# tests decide where leaders are); a short lag time so ISR changes happen within the tests' budget.
DEFAULT_OVERRIDES = {
    "zookeeper.session.timeout.ms": "6000",
    "auto.leader.rebalance.enable": "false",
    "replica.lag.time.max.ms": "10000",
    "num.network.threads": "2",
    "num.io.threads": "2",
    "offsets.topic.replication.factor": "1",
    "log.segment.bytes": "104857600",
}

TIMEOUT = float(os.environ.get("KAFKA_IT_FAILOVER_TIMEOUT", "90"))


def start_cluster(name, n=3, overrides=None, per_broker=None):
    """ZooKeeper + brokers 1..n (started in parallel, then waited for). Caller closes the cluster."""
    c = harness.Cluster(name)
    try:
        c.start_zk()
        for i in range(1, n + 1):
            ov = dict(DEFAULT_OVERRIDES)
            ov.update(overrides or {})
            ov.update((per_broker or {}).get(i, {}))
            c.add_broker(i, overrides=ov, start=False)
        for b in c.brokers.values():
            b.start(wait=False)
        for b in c.brokers.values():
            b.wait_ready()
        c.wait_for_metadata()
    except BaseException:
        c.failed = True
        c.close()
        raise
    return c


def broker(c, broker_id):
    return c.brokers[broker_id]


# -- ZooKeeper views -----------------------------------------------------------------------------
def partition_state(c, topic, partition):
    """The controller's LeaderAndIsr for one partition: {leader, leader_epoch, isr, controller_epoch}."""
    return c.zk.get_json(f"/brokers/topics/{topic}/partitions/{partition}/state")


def partition_states(c, topic):
    """{partition: state} for every partition of a topic, one ZooKeeper session."""
    out = {}
    with c.zk.client() as z:
        for p in z.children(f"/brokers/topics/{topic}/partitions"):
            data, _ = z.get(f"/brokers/topics/{topic}/partitions/{p}/state")
            out[int(p)] = json.loads(data)
    return out


def assignment(c, topic):
    """{partition: [replicas]} from /brokers/topics/T."""
    doc = c.zk.get_json(f"/brokers/topics/{topic}")
    return {int(p): r for p, r in doc["partitions"].items()}


def controller_id(c):
    """The broker id in /controller, or None when there is none."""
    try:
        return c.zk.get_json("/controller")["brokerid"]
    except Exception:  # noqa: BLE001 - no node
        return None


def controller_epoch(c):
    data, _ = c.zk.get("/controller_epoch")
    return int(data)


def registration_czxid(c, broker_id):
    """czxid of /brokers/ids/N (Kafka's broker epoch), or None while unregistered."""
    st = c.zk.exists(f"/brokers/ids/{broker_id}")
    return None if st is None else st.czxid


def live_brokers(c):
    return sorted(int(x) for x in c.zk.children("/brokers/ids"))


def wait_controller(c, timeout=TIMEOUT, other_than=None):
    def ready():
        cid = controller_id(c)
        if cid is None or cid == other_than:
            return None
        return cid
    return wait_until(ready, timeout, "a controller" + (f" other than {other_than}" if other_than else ""))


def wait_leader(c, topic, partition, timeout=TIMEOUT, other_than=None, equal_to=None):
    """Waits until ZooKeeper's state names a leader (>= 0, != other_than, == equal_to if given)."""
    def ready():
        st = partition_state(c, topic, partition)
        ld = st["leader"]
        if ld < 0 or ld == other_than or (equal_to is not None and ld != equal_to):
            return None
        return st
    return wait_until(ready, timeout, f"leader of {topic}-{partition}"
                      + (f" other than {other_than}" if other_than is not None else "")
                      + (f" equal to {equal_to}" if equal_to is not None else ""))


def wait_isr(c, topic, partitions, members, timeout=TIMEOUT):
    """Waits until every listed partition's ISR contains all of `members`."""
    members = set(members)

    def ready():
        sts = partition_states(c, topic)
        return all(members <= set(sts[p]["isr"]) for p in partitions)
    wait_until(ready, timeout, f"ISR of {topic} {list(partitions)} to contain {sorted(members)}", interval=0.5)


def wait_full_isr(c, topic, timeout=TIMEOUT):
    """Every partition's ISR equals its full replica list and it has a leader."""
    def ready():
        asg = assignment(c, topic)
        sts = partition_states(c, topic)
        return all(sts[p]["leader"] >= 0 and set(sts[p]["isr"]) == set(r) for p, r in asg.items())
    wait_until(ready, timeout, f"full ISR on every partition of {topic}", interval=0.5)


def client_leaders(c, topic, bootstrap=None, timeout=10):
    """{partition: leader} as librdkafka sees it through Metadata (fresh request each call)."""
    from confluent_kafka.admin import AdminClient

    admin = AdminClient({"bootstrap.servers": bootstrap or c.bootstrap, "broker.address.family": "v4"})
    md = admin.list_topics(topic=topic, timeout=timeout)
    t = md.topics[topic]
    return {p: pm.leader for p, pm in t.partitions.items()}


# -- processes -----------------------------------------------------------------------------------
def sigstop(b):
    b._signal(signal.SIGSTOP)


def sigcont(b):
    b._signal(signal.SIGCONT)


def kill9(b):
    b.kill9()


def restart_after_kill(b, timeout=TIMEOUT):
    """After kill -9 the old session's ephemeral registration must expire before the broker can
    register again."""
    b.wait_deregistered(timeout)
    b.start()


# -- topics --------------------------------------------------------------------------------------
def create_topic(c, topic, partitions=1, rf=3, configs=None, assignment_spec=None, timeout=TIMEOUT):
    args = ["--create", "--topic", topic]
    if assignment_spec:
        args += ["--replica-assignment", assignment_spec]
    else:
        args += ["--partitions", str(partitions), "--replication-factor", str(rf)]
    for k, v in (configs or {}).items():
        args += ["--config", f"{k}={v}"]
    p = c.topics(*args)
    if p.returncode != 0 or f"Created topic {topic}." not in p.stdout:
        raise harness.HarnessError(f"kafka-topics --create {topic} failed (rc {p.returncode}):\n"
                                   f"{p.stdout}\n{p.stderr}")
    n = len(assignment_spec.split(",")) if assignment_spec else partitions
    c.wait_for_leaders(topic, n, timeout=timeout)
    return n


def describe(c, topic):
    """kafka-topics --describe as {partition: {'Leader': .., 'Replicas': .., 'Isr': ..}}."""
    p = c.topics("--describe", "--topic", topic)
    if p.returncode != 0:
        raise harness.HarnessError(f"describe failed: {p.stdout}\n{p.stderr}")
    out = {}
    for ln in harness.describe_lines(p.stdout):
        kv = harness.parse_kv_line(ln)
        if "Partition" in kv:
            out[int(kv["Partition"])] = kv
    return out


# -- on-disk logs --------------------------------------------------------------------------------
def segment_bytes(b, topic, partition):
    """Concatenated .log segment bytes of one partition on one broker (b"" if none)."""
    d = b.partition_dir(topic, partition)
    if not os.path.isdir(d):
        return b""
    out = b""
    for name in sorted(n for n in os.listdir(d) if n.endswith(".log")):
        with open(os.path.join(d, name), "rb") as f:
            out += f.read()
    return out


def log_records(b, topic, partition):
    """[(offset, key, value)] parsed from a partition's segments on disk."""
    import kwire

    out = []
    for batch in kwire.parse_batches(segment_bytes(b, topic, partition)):
        out.extend(batch.get("records", []))
    return out


def log_end_offset(b, topic, partition):
    import kwire

    last = -1
    for batch in kwire.parse_batches(segment_bytes(b, topic, partition)):
        last = batch["last_offset"]
    return last + 1


# -- a background producer -----------------------------------------------------------------------
class SeqProducer:
    """A confluent-kafka producer in a thread sending values b"<seq>" (seq = 0, 1, ...) round-robin
    to the topic's partitions, recording what was acknowledged and what failed."""

    def __init__(self, bootstrap, topic, partitions, rate=200.0, **conf):
        from confluent_kafka import Producer

        base = {"bootstrap.servers": bootstrap, "broker.address.family": "v4", "acks": "all",
                "enable.idempotence": False, "retries": 1000000, "retry.backoff.ms": 200,
                "message.timeout.ms": 90000, "request.timeout.ms": 15000,
                "max.in.flight.requests.per.connection": 1, "linger.ms": 5,
                "compression.type": "none", "topic.metadata.refresh.interval.ms": 1000}
        base.update(conf)
        self.producer = Producer(base)
        self.topic = topic
        self.partitions = list(partitions)
        self.rate = rate
        self.sent = {p: [] for p in self.partitions}      # partition -> [seq] in send order
        self.acked = {p: [] for p in self.partitions}     # partition -> [(seq, offset)]
        self.failed = []                                   # [(partition, seq, KafkaError)]
        self.seq = 0
        self._stop = threading.Event()
        self._lock = threading.Lock()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _cb(self, err, msg):
        seq = int(msg.value())
        with self._lock:
            if err is not None:
                self.failed.append((msg.partition(), seq, err))
            else:
                self.acked[msg.partition()].append((seq, msg.offset()))

    def _run(self):
        interval = 1.0 / self.rate
        nxt = time.monotonic()
        while not self._stop.is_set():
            p = self.partitions[self.seq % len(self.partitions)]
            try:
                self.producer.produce(self.topic, value=str(self.seq).encode(), partition=p,
                                      on_delivery=self._cb)
            except BufferError:
                self.producer.poll(0.1)
                continue
            self.sent[p].append(self.seq)
            self.seq += 1
            self.producer.poll(0)
            nxt += interval
            delay = nxt - time.monotonic()
            if delay > 0:
                self.producer.poll(delay)
            else:
                nxt = time.monotonic()

    def start(self):
        self._thread.start()
        return self

    def n_acked(self):
        with self._lock:
            return sum(len(v) for v in self.acked.values())

    def wait_acked(self, n, timeout=TIMEOUT):
        """Waits until `n` more deliveries than now have been acknowledged."""
        target = self.n_acked() + n
        wait_until(lambda: self.n_acked() >= target, timeout, f"{n} more acknowledged deliveries")

    def stop(self, flush_timeout=120):
        self._stop.set()
        self._thread.join(30)
        remaining = self.producer.flush(flush_timeout)
        self.producer = None  # frees librdkafka (no reconnect chatter once the cluster is gone)
        return remaining


def check_sequence(consumed, acked, sent):
    """consumed: {p: [values]}, acked: {p: [(seq, offset)]}, sent: {p: [seq]}.
    Returns (problems, duplicates): every acknowledged value must be present, the first occurrences
    must follow send order, and the offsets of acknowledged values must be what the broker
    reported; any second occurrence of a value counts as a duplicate (a retried batch)."""
    problems = []
    duplicates = 0
    for p, values in consumed.items():
        seqs = [int(v) for v in values]
        first = {}
        for i, s in enumerate(seqs):
            if s in first:
                duplicates += 1
            else:
                first[s] = i
        order = [s for s in seqs if first.get(s) is not None]
        uniq = list(dict.fromkeys(order))
        if uniq != sorted(uniq):
            bad = next(i for i in range(1, len(uniq)) if uniq[i] < uniq[i - 1])
            problems.append(f"partition {p}: out of send order around {uniq[max(bad - 3, 0):bad + 3]}")
        sent_set = set(sent[p])
        foreign = [s for s in first if s not in sent_set]
        if foreign:
            problems.append(f"partition {p}: values never sent to it: {foreign[:10]}")
        missing = [s for s, _ in acked[p] if s not in first]
        if missing:
            problems.append(f"partition {p}: {len(missing)} acknowledged values lost, first {missing[:10]}")
    return problems, duplicates


def consume_all(bootstrap, topic, partitions, timeout=TIMEOUT):
    """Reads every partition from the beginning up to its high watermark at the time of the call.
    Returns {p: [(offset, value)]}."""
    from confluent_kafka import OFFSET_BEGINNING, KafkaError, TopicPartition

    import clients

    c = clients.assign_consumer(bootstrap)
    try:
        highs = {}
        for p in partitions:
            _, hi = c.get_watermark_offsets(TopicPartition(topic, p), timeout=30, cached=False)
            highs[p] = hi
        c.assign([TopicPartition(topic, p, OFFSET_BEGINNING) for p in partitions])
        out = {p: [] for p in partitions}
        deadline = time.monotonic() + timeout
        while any((out[p][-1][0] + 1 if out[p] else 0) < highs[p] for p in partitions):
            if time.monotonic() > deadline:
                got = {p: (out[p][-1][0] + 1 if out[p] else 0) for p in partitions}
                raise AssertionError(f"consumed up to {got}, high watermarks {highs}, in {timeout}s")
            for m in c.consume(num_messages=10000, timeout=1.0):
                if m.error() is not None:
                    if m.error().code() == KafkaError._PARTITION_EOF:
                        continue
                    raise AssertionError(f"consumer error: {m.error()}")
                out[m.partition()].append((m.offset(), m.value()))
        return out
    finally:
        c.close()


def close_for(request, c):
    """Fixture teardown: keep and print the logs if the test failed (our fixtures are torn down
    before conftest's log-dumping one, which would no longer see the cluster), then close."""
    rep = getattr(request.node, "rep_call", None)
    if rep is not None and rep.failed:
        c.failed = True
        print(c.dump_logs())
    c.close()


# -- cluster-wide partition health (every topic in ZooKeeper) -------------------------------------
def all_partition_states(c, topics=None):
    """{(topic, partition): (replicas, state)} for every partition of `topics` (default: every topic
    under /brokers/topics, `__consumer_offsets` included), read in one ZooKeeper session. For the
    tests that must see the whole cluster healthy, not one topic."""
    out = {}
    with c.zk.client() as z:
        names = topics if topics is not None else z.children("/brokers/topics")
        for t in names:
            data, _ = z.get(f"/brokers/topics/{t}")
            for p, replicas in json.loads(data)["partitions"].items():
                st, _ = z.get(f"/brokers/topics/{t}/partitions/{p}/state")
                out[(t, int(p))] = (replicas, json.loads(st))
    return out


def isr_gaps(c, topics=None):
    """Partitions that have no leader or whose ISR (ZooKeeper's state) is not their full replica
    list: [(topic, partition, replicas, isr, leader)], sorted. Empty means every replica is in sync."""
    return sorted((t, p, r, st["isr"], st["leader"])
                  for (t, p), (r, st) in all_partition_states(c, topics).items()
                  if st["leader"] < 0 or set(st["isr"]) != set(r))


def not_on_preferred_leader(c, topics=None):
    """Partitions not led by their preferred (first-listed) replica: [(topic, partition, preferred,
    leader)], sorted."""
    return sorted((t, p, r[0], st["leader"])
                  for (t, p), (r, st) in all_partition_states(c, topics).items() if st["leader"] != r[0])


def still_involving(c, broker_id, topics=None):
    """Partitions that broker `broker_id` still leads or is still in the ISR of:
    [(topic, partition, isr, leader)]. Empty once the controller has handled its shutdown/failure."""
    return sorted((t, p, st["isr"], st["leader"])
                  for (t, p), (_, st) in all_partition_states(c, topics).items()
                  if st["leader"] == broker_id or broker_id in st["isr"])


def wait_cluster_state(c, problems, timeout, what, interval=0.25):
    """Polls `problems()` (a function returning a list, empty when the wanted state holds) until it
    is empty; returns the seconds it took. On timeout raises AssertionError naming the first
    offending entries, which wait_until's message would not show."""
    t0 = time.monotonic()
    last, last_exc = None, None
    while True:
        try:
            last = problems()
            if not last:
                return time.monotonic() - t0
        except Exception as e:  # noqa: BLE001 - ZooKeeper busy or a node mid-update: poll again
            last_exc = e
        if time.monotonic() - t0 > timeout:
            extra = f" (last error: {last_exc!r})" if last_exc else ""
            raise AssertionError(f"{what}: not reached in {timeout:.0f}s; {len(last or [])} partitions "
                                 f"still off, first: {(last or [])[:8]}{extra}")
        time.sleep(interval)


# -- broker output: growth and repeated lines ----------------------------------------------------
_LOG_TS = re.compile(r"^\[\d{4}-\d\d-\d\d [\d:,.]+\]\s*")
_LOG_NUM = re.compile(r"0x[0-9a-fA-F]+|\d+")


def normalise_log_line(line):
    """A broker log line with its timestamp dropped and every number (decimal or 0x hex) replaced by
    '#', so that one message logged over and over with changing offsets/epochs/partitions counts as
    one line."""
    return _LOG_NUM.sub("#", _LOG_TS.sub("", line.strip()))


class LogWatch:
    """Watches every broker's output file (harness Broker.log: stdout and stderr of the process,
    appended to across restarts) between checkpoints. `window()` returns, per broker tag, how many
    bytes it grew since the previous checkpoint and a Counter of its normalised lines, then moves the
    checkpoint. Exists because a log line repeated per request or per fetch without progress (a
    replication loop, a retry without backoff) is a bug that functional checks alone can miss.
    At most `read_cap` bytes of a window are read for counting (its size is always measured)."""

    def __init__(self, c, read_cap=64 << 20):
        self.c = c
        self.read_cap = read_cap
        self.marks = {tag: b.log_size() for tag, b in c.brokers.items()}

    def window(self):
        import collections

        out = {}
        for tag, b in self.c.brokers.items():
            size = b.log_size()
            start = self.marks.get(tag, 0)
            counts = collections.Counter()
            if size > start:
                with open(b.log, "rb") as f:
                    f.seek(start)
                    text = f.read(min(size - start, self.read_cap)).decode(errors="replace")
                counts.update(normalise_log_line(ln) for ln in text.splitlines() if ln.strip())
            out[tag] = (size - start, counts)
            self.marks[tag] = size
        return out

    @staticmethod
    def problems(window, max_bytes, max_repeats):
        """Human-readable complaints about a `window()` result: brokers that wrote more than
        `max_bytes`, and lines that occur more than `max_repeats` times (top offenders first)."""
        out = []
        for tag, (grown, counts) in sorted(window.items()):
            if grown > max_bytes:
                out.append(f"broker {tag} wrote {grown / 1e6:.1f} MB (limit {max_bytes / 1e6:.1f} MB)")
            for line, n in counts.most_common(5):
                if n > max_repeats:
                    out.append(f"broker {tag}: {n}x {line[:300]!r}")
        return out
