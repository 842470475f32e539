"""Jepsen's queue workload: producers send unique increasing integers, consumers poll concurrently,
and a final read after healing reads every partition from offset 0 to its high watermark.

Every client process is a thread running one op at a time (as Jepsen's processes do), written to
the history as an invoke and one completion (see ``jepsen/history.py``). Kinds:

* ``raw``: :class:`RawProducer` / :class:`RawConsumer` over ``jepsen/rawclient.py`` (each batch
  sent once; exact ok/fail/info).
* ``librdkafka``: :class:`RdkProducer`, one confluent-kafka Producer (``acks=all``, librdkafka's
  retry defaults, no idempotence) shared by several processes, each waiting for its message's
  delivery report; and :class:`RdkConsumer` (``assign`` from the beginning).

Which librdkafka sends may have been resent (the ``resent`` field): librdkafka resends a batch from
``rd_kafka_handle_Produce_error`` (``src/rdkafka_request.c``) whenever the answer's actions include
Retry or Refresh; Refresh (NOT_LEADER_OR_FOLLOWER, LEADER_NOT_AVAILABLE, ...) requeues the messages
without counting a retry, so the delivery report's retry count cannot tell. That function always
logs, under the ``msg`` debug context, ``<topic> [<partition>]: MessageSet with N message(s) ...
encountered error: <err> (actions <actions>)``. The producer runs with ``debug=msg`` and a
``logger``; those lines reach Python through librdkafka's main queue, the same queue and in the same
order as delivery reports. A send is ``resent: true`` when such a line for its partition arrived
between its ``produce()`` and its delivery report, ``false`` when none did, and the field is
omitted when the log shows no ``Produce MessageSet`` line at all (logging not working).
"""

import logging
import random
import re
import threading
import time

from jepsen import rawclient


class Values:
    """Unique, increasing integers for the whole run (thread-safe)."""

    def __init__(self):
        self._n = 0
        self._lock = threading.Lock()

    def take(self, k=1):
        """The next ``k`` values."""
        with self._lock:
            out = list(range(self._n + 1, self._n + 1 + k))
            self._n += k
            return out


def key_of(topic, partition):
    """The history key of a partition."""
    return "%s/%d" % (topic, partition)


class Process(threading.Thread):
    """One client process: runs ops one at a time until ``stop`` is set."""

    kind = "?"

    def __init__(self, pid, ctx):
        super().__init__(name="process-%s" % pid, daemon=True)
        self.pid = pid
        self.ctx = ctx  # Context
        self.h = ctx.history
        self.rng = random.Random(ctx.seed * 1000 + pid)
        self.errors = []  # unexpected exceptions (a runner bug, reported)

    def run(self):
        try:
            self.body()
        except Exception as e:  # noqa: BLE001 - reported by the runner
            import traceback

            self.errors.append("%s: %s" % (self.name, traceback.format_exc()))
            self.ctx.log("client process %s died: %r" % (self.pid, e))

    def body(self):
        """The process's loop."""
        raise NotImplementedError


class Context:
    """What every client needs: history, topic, partitions, bootstrap addresses, stop flag, pacing."""

    def __init__(self, history, topic, partitions, bootstrap, seed, rate_per_process, log, run_dir):
        self.history = history
        self.topic = topic
        self.partitions = list(partitions)
        self.bootstrap = list(bootstrap)  # [(host, port)]
        self.seed = seed
        self.interval = 1.0 / rate_per_process if rate_per_process > 0 else 0.0
        self.stop = threading.Event()
        self.values = Values()
        self.log = log
        self.run_dir = run_dir

    def bootstrap_str(self):
        """host:port,... for librdkafka."""
        return ",".join("%s:%d" % a for a in self.bootstrap)


class Pacer:
    """Spaces one process's sends ``interval`` apart (waiting on the stop flag)."""

    def __init__(self, ctx, rng):
        self.ctx = ctx
        self.next = time.monotonic() + rng.random() * ctx.interval

    def wait(self):
        """False when the run is stopping."""
        delay = self.next - time.monotonic()
        if delay > 0 and self.ctx.stop.wait(delay):
            return False
        self.next = max(self.next + self.ctx.interval, time.monotonic() - 1.0)
        return not self.ctx.stop.is_set()


class RawProducer(Process):
    """Sends 1-3 values per op as one batch, exactly once, to its own partition when ``partition``
    is given (so a partition that blocks acks=all writes blocks only its own producers), else to a
    random one each time."""

    kind = "raw"

    def __init__(self, pid, ctx, partition=None):
        super().__init__(pid, ctx)
        self.partition = partition

    def body(self):
        client = rawclient.RawClient(self.ctx.bootstrap, self.ctx.topic, timeout=12.0)
        pacer = Pacer(self.ctx, self.rng)
        while pacer.wait():
            p = self.rng.choice(self.ctx.partitions) if self.partition is None else self.partition
            k = key_of(self.ctx.topic, p)
            vals = self.ctx.values.take(self.rng.randint(1, 3))
            self.h.append(self.pid, "invoke", "send", [["send", k, v] for v in vals])
            kind, base, err = client.produce(p, vals)
            if kind == "ok":
                self.h.append(self.pid, "ok", "send", [["send", k, [base + i, v]] for i, v in enumerate(vals)],
                              resent=False)
            else:
                self.h.append(self.pid, kind, "send", [["send", k, v] for v in vals], resent=False, error=err)
                if kind == "info":
                    client.close()  # an indeterminate op retires the connection, like a new process
        client.close()


_ERR_LINE = re.compile(r"(\S+) \[(\d+)\]: MessageSet with (\d+) message\(s\) .*encountered error: (.*) \(actions ([^)]*)\)")


class RdkEvidence(logging.Handler):
    """The librdkafka log, parsed for resends (see the module docstring) and kept in a file."""

    def __init__(self, topic, path):
        super().__init__()
        self.topic = topic
        self.errors = {}  # partition -> number of "encountered error" lines so far
        self.produce_lines = 0
        self.file = open(path, "a", buffering=1)

    def emit(self, record):
        msg = record.getMessage()
        if "Produce MessageSet with" in msg:
            self.produce_lines += 1
            return
        if "MessageSet with" in msg and msg.endswith("delivered"):
            return
        m = _ERR_LINE.search(msg)
        if m and m.group(1) == self.topic:
            p = int(m.group(2))
            self.errors[p] = self.errors.get(p, 0) + 1
        self.file.write("%.3f %s\n" % (time.time(), msg))

    def close(self):
        self.file.close()
        super().close()


class RdkProducer:
    """One confluent-kafka Producer shared by several processes (threads), each with one message in
    flight; a poll thread serves delivery reports and the log."""

    kind = "librdkafka"

    def __init__(self, pids, ctx, name):
        from confluent_kafka import Producer

        self.ctx = ctx
        self.evidence = RdkEvidence(ctx.topic, "%s/%s.log" % (ctx.run_dir, name))
        logger = logging.getLogger("jepsen." + name)
        logger.propagate = False
        logger.setLevel(logging.DEBUG)
        logger.addHandler(self.evidence)
        conf = {
            "bootstrap.servers": ctx.bootstrap_str(), "acks": "all",
            # Not supported by this broker yet; also librdkafka's default.
            "enable.idempotence": False,
            # librdkafka's default is 300 s; shorter so a send stuck behind a fault completes within
            # the run instead of blocking its process for most of it.
            "message.timeout.ms": 30000,
            "compression.type": "none",  # the raw reader decodes uncompressed batches only
            "debug": "msg", "logger": logger,
        }
        self.producer = Producer(conf)
        self.producer.list_topics(ctx.topic, timeout=30)  # partitions known before the first send
        self.processes = [_RdkSender(pid, ctx, self) for pid in pids]
        self.poller = threading.Thread(target=self._poll, name=name + "-poll", daemon=True)
        self.done = threading.Event()

    def _poll(self):
        while not self.done.is_set():
            self.producer.poll(0.1)

    def start(self):
        """Start the poll thread and the processes."""
        self.poller.start()
        for p in self.processes:
            p.start()

    def finish(self, timeout):
        """After the processes stopped: flush what is still in flight (bounded), stop polling."""
        deadline = time.monotonic() + timeout
        while self.producer.flush(0.5) > 0 and time.monotonic() < deadline:
            pass
        self.done.set()
        self.poller.join(5)
        self.evidence.close()


class _RdkSender(Process):
    """One process of an :class:`RdkProducer`: one value per op, waits for its delivery report."""

    kind = "librdkafka"

    def __init__(self, pid, ctx, owner):
        super().__init__(pid, ctx)
        self.owner = owner

    def body(self):
        pacer = Pacer(self.ctx, self.rng)
        ev = self.owner.evidence
        while pacer.wait():
            p = self.rng.choice(self.ctx.partitions)
            k = key_of(self.ctx.topic, p)
            (v,) = self.ctx.values.take(1)
            done = threading.Event()
            box = {}

            def report(err, msg, box=box, done=done):
                box["err"], box["offset"] = err, msg.offset()
                box["errors_after"] = ev.errors.get(p, 0)
                done.set()

            before = ev.errors.get(p, 0)
            self.h.append(self.pid, "invoke", "send", [["send", k, v]])
            try:
                self.owner.producer.produce(self.ctx.topic, value=str(v).encode(), partition=p, on_delivery=report)
            except BufferError as e:
                self.h.append(self.pid, "fail", "send", [["send", k, v]], resent=False, error="not queued: %s" % e)
                continue
            while not done.wait(0.5):
                if self.ctx.stop.is_set() and not self.owner.poller.is_alive():
                    return  # never completed: stays an invoke (indeterminate)
            extra = {}
            if ev.produce_lines > 0:
                extra["resent"] = box["errors_after"] != before
            err = box["err"]
            if err is None:
                self.h.append(self.pid, "ok", "send", [["send", k, [box["offset"], v]]], **extra)
            else:
                not_appended = err.code() in rawclient.NOT_APPENDED and extra.get("resent") is False
                self.h.append(self.pid, "fail" if not_appended else "info", "send", [["send", k, v]],
                              error=str(err), **extra)


class RawConsumer(Process):
    """Assigns every partition from offset 0 and polls them; now and then its client "crashes"
    (closed and replaced, position lost) and it assigns again."""

    kind = "raw"

    def body(self):
        keys = [key_of(self.ctx.topic, p) for p in self.ctx.partitions]
        while not self.ctx.stop.is_set():
            client = rawclient.RawClient(self.ctx.bootstrap, self.ctx.topic, timeout=10.0)
            self.h.append(self.pid, "invoke", "assign", keys)
            self.h.append(self.pid, "ok", "assign", keys)
            pos = {p: 0 for p in self.ctx.partitions}
            life = time.monotonic() + self.rng.uniform(20, 60)
            while not self.ctx.stop.is_set() and time.monotonic() < life:
                if not self._poll(client, pos):
                    break
            client.close()
            self.h.append(self.pid, "invoke", "crash", None)
            self.h.append(self.pid, "info", "crash", None)

    def _poll(self, client, pos):
        """One poll op; False when the position is lost (OFFSET_OUT_OF_RANGE): crash and reassign."""
        self.h.append(self.pid, "invoke", "poll", [["poll"]])
        res = client.fetch(pos, max_wait_ms=200)
        got = {}
        errors = []
        out_of_range = False
        for p, (err, _hw, recs) in sorted(res.items()):
            if err:
                errors.append("%d: %s" % (p, err))
                out_of_range |= err == "OFFSET_OUT_OF_RANGE"
                if err.startswith("CORRUPT"):
                    self.ctx.log("raw consumer %s: partition %d: %s" % (self.pid, p, err))
            if recs:
                got[key_of(self.ctx.topic, p)] = [[o, v] for o, v in recs]
                pos[p] = recs[-1][0] + 1
        answered = len(errors) < len(res) or got
        extra = {"error": "; ".join(errors)} if errors else {}
        if answered:
            self.h.append(self.pid, "ok", "poll", [["poll", got]], **extra)
        else:
            self.h.append(self.pid, "info", "poll", [["poll"]], **extra)
            self.ctx.stop.wait(0.2)  # pacing: nothing answered, do not spin
        return not out_of_range


class RdkConsumer(Process):
    """A confluent-kafka Consumer with ``assign`` from the beginning (no group protocol, nothing
    committed); ``auto.offset.reset=error`` so a lost position shows as a crash, not a silent jump."""

    kind = "librdkafka"

    def _logger(self):
        """librdkafka's log into the run dir instead of stderr."""
        logger = logging.getLogger("jepsen.librdkafka-consumer-%s" % self.pid)
        if not logger.handlers:
            h = logging.FileHandler("%s/librdkafka-consumer-%s.log" % (self.ctx.run_dir, self.pid))
            h.setFormatter(logging.Formatter("%(created).3f %(message)s"))
            logger.addHandler(h)
            logger.propagate = False
            logger.setLevel(logging.INFO)
        return logger

    def body(self):
        from confluent_kafka import OFFSET_BEGINNING, Consumer, KafkaError, TopicPartition

        keys = [key_of(self.ctx.topic, p) for p in self.ctx.partitions]
        while not self.ctx.stop.is_set():
            c = Consumer({"bootstrap.servers": self.ctx.bootstrap_str(), "group.id": "jepsen-assign-only",
                          "enable.auto.commit": False, "enable.auto.offset.store": False,
                          "auto.offset.reset": "error", "enable.partition.eof": False,
                          "logger": self._logger()})
            self.h.append(self.pid, "invoke", "assign", keys)
            c.assign([TopicPartition(self.ctx.topic, p, OFFSET_BEGINNING) for p in self.ctx.partitions])
            self.h.append(self.pid, "ok", "assign", keys)
            life = time.monotonic() + self.rng.uniform(20, 60)
            lost = False
            while not self.ctx.stop.is_set() and time.monotonic() < life and not lost:
                self.h.append(self.pid, "invoke", "poll", [["poll"]])
                got, errors = {}, []
                for m in c.consume(num_messages=500, timeout=0.5):
                    e = m.error()
                    if e is not None:
                        if e.code() != KafkaError._PARTITION_EOF:
                            errors.append(str(e))
                            lost |= e.code() in (KafkaError._AUTO_OFFSET_RESET, KafkaError.OFFSET_OUT_OF_RANGE)
                        continue
                    got.setdefault(key_of(m.topic(), m.partition()), []).append([m.offset(), int(m.value())])
                extra = {"error": "; ".join(errors)} if errors else {}
                self.h.append(self.pid, "ok", "poll", [["poll", got]], **extra)
            c.close()
            self.h.append(self.pid, "invoke", "crash", None)
            self.h.append(self.pid, "info", "crash", None)


def final_read(ctx, first_pid, timeout=90.0):
    """After healing: for each partition a fresh raw client reads from offset 0 to the high
    watermark it saw first, as polls marked ``final``. Returns {partition: (high watermark, records
    read, done)}."""
    out = {}
    pid = first_pid
    for p in ctx.partitions:
        k = key_of(ctx.topic, p)
        client = rawclient.RawClient(ctx.bootstrap, ctx.topic, timeout=10.0)
        ctx.history.append(pid, "invoke", "assign", [k])
        ctx.history.append(pid, "ok", "assign", [k])
        pos, target, n = 0, None, 0
        deadline = time.monotonic() + timeout
        while (target is None or pos < target) and time.monotonic() < deadline:
            ctx.history.append(pid, "invoke", "poll", [["poll"]], final=True)
            err, hw, recs = client.fetch({p: pos}, max_wait_ms=100)[p]
            if err:
                ctx.history.append(pid, "info", "poll", [["poll"]], final=True, error=err)
                time.sleep(0.2)  # pacing between retries of a failed read, bounded by the deadline
                continue
            if target is None:
                target = hw
            ctx.history.append(pid, "ok", "poll", [["poll", {k: [[o, v] for o, v in recs]} if recs else {}]],
                               final=True)
            if recs:
                pos = recs[-1][0] + 1
                n += len(recs)
            elif target is not None and pos < target and hw is not None and hw < target:
                target = hw  # the high watermark moved back (a leader change): read to the new one
        client.close()
        out[p] = (target, n, target is not None and pos >= target)
        pid += 1
    return out
