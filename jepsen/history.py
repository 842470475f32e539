"""The history of a failure-script run: one JSON object per line (`history.jsonl`).

Shared by the runner (which writes it) and the checker and report (which read it). The shape follows
Jepsen's `jepsen.tests.kafka` queue workload so its anomaly definitions apply unchanged; only the
encoding is JSON instead of EDN.

Line 1 is a header, ``{"type": "meta", ...}``: seed, brokers, nemeses, topic(s), time limit, the
client kind of every process (``"clients": {"0": "raw", "1": "librdkafka", ...}``), and
``"start_unix"``, the wall-clock time at which ``time`` 0 was taken.

Every other line is an operation:

``index``
    0, 1, 2 ... in file order.
``time``
    seconds since the start of the run (monotonic clock), a float.
``process``
    an int for a client process, or ``"nemesis"``.
``type``
    ``"invoke"`` (the op started), then exactly one completion by the same process: ``"ok"``
    (it happened), ``"fail"`` (it definitely did not happen: the broker answered an error that
    means nothing was written), or ``"info"`` (unknown: timeout, lost connection,
    NOT_ENOUGH_REPLICAS_AFTER_APPEND ...). Nemesis ops are ``"info"`` only.
``f``
    ``"send"``, ``"poll"``, ``"assign"``, ``"subscribe"``, ``"crash"`` for clients; ``"start"`` /
    ``"stop"`` for the nemesis.
``value``
    send: a list of micro-ops ``[["send", key, v], ...]``; on ``ok`` each becomes
    ``["send", key, [offset, v]]`` (the offset the broker acknowledged). Keys are strings
    ``"<topic>/<partition>"``; values are ints, unique over the whole run.
    poll: ``[["poll"]]`` on invoke; on ok ``[["poll", {key: [[offset, v], ...]}]]``, records in
    the order the consumer returned them.
    assign / subscribe: the list of keys (assign) or topics (subscribe). Either one starts a new
    consumer position: poll ordering checks restart after it, as after a ``crash``.
    crash: the process's client was closed and replaced (its position is lost).
    nemesis start/stop: ``{"fault": "kill", "targets": [2], "detail": "kill -9 broker 2"}``; a
    ``stop`` names the same ``fault`` as its ``start``. The fault window shaded in the report runs
    from a start to the next stop of the same fault.
    nemesis ``"healed"`` (after a stop): ``{"fault": "kill", "full_isr_after_s": 4.2}`` — seconds
    from the stop until every partition's ISR was full again (``null`` if it was not within the
    runner's limit).
    nemesis ``"controller"``: ``{"broker": 2, "epoch": 7}``, a sample of ``/controller`` and
    ``/controller_epoch``; ``{"broker": null, "epoch": null}`` when ZooKeeper did not answer.
    nemesis ``"impossible"``: ``{"fault": "zk-quorum", "why": "..."}`` — a fault during which a
    guarantee cannot hold (quorum lost, every replica of a partition cut off); the report says so.
Optional fields:
``final``
    true on the polls of the final read (after every fault healed), which must see everything.
``error``
    the client's error text on ``fail`` / ``info``.
``resent``
    on send completions: true if the client itself may have sent the batch more than once (a
    retry, or librdkafka's silent resend after NOT_LEADER_OR_FOLLOWER); false if it certainly did
    not; absent if unknown. Duplicates of a value whose send had ``resent`` true are attributed to
    the client, not the broker.

How the checker (``jepsen/anomalies.py``) reads a few points the format leaves open:

* A send op's micro-ops for one key are taken to be one produce batch, so they must land at
  consecutive offsets (otherwise ``int-send-skip`` / ``int-nonmonotonic-send``).
* An offset that is ``null`` or below 0 is unknown. Records on ``info``/``fail`` polls, if a client
  writes any, still count for the per-key logs (not as reads).
* A subscribe names topics; the topic of a key is the part before its last ``/``.
* Any ``info`` completion of a client op ends that process's poll and send ordering, as a ``crash``
  does: the op may have advanced the consumer or left a produce in flight (Jepsen retires the
  process). A ``fail`` changes nothing.
* A send invoke without a completion (the run was killed) is indeterminate, like ``info``.
* ``final`` matters on the completion: only ``ok`` final polls make ``unseen`` a failure.
* Nemesis ops are single lines (an invoke, if written, is ignored); ``healed`` belongs to the last
  window of its fault that was stopped; an ``impossible`` op belongs to every window of its fault
  (or of any fault, if it names none) open at its time.
"""

import json
import threading
import time


class HistoryWriter:
    """Appends operations to a history file, thread-safe, flushed line by line so a run that is
    killed still leaves a readable history."""

    def __init__(self, path, meta):
        self._lock = threading.Lock()
        self._file = open(path, "w", buffering=1)
        self._t0 = time.monotonic()
        self._index = 0
        header = {"type": "meta", "start_unix": time.time()}
        header.update(meta)
        self._file.write(json.dumps(header) + "\n")

    def now(self):
        """Seconds since the run started (the ``time`` of the next op)."""
        return time.monotonic() - self._t0

    def append(self, process, type_, f, value, **extra):
        """Write one op and return it (with its index and time)."""
        with self._lock:
            op = {"index": self._index, "time": round(self.now(), 6), "process": process, "type": type_, "f": f, "value": value}
            op.update(extra)
            self._index += 1
            self._file.write(json.dumps(op) + "\n")
            return op

    def close(self):
        with self._lock:
            self._file.close()


def read_history(path):
    """(meta, ops) of a history file. A torn last line (the run was killed mid-write) is ignored."""
    meta = {}
    ops = []
    with open(path) as f:
        for line in f:
            line = line.strip()
            if not line:
                continue
            try:
                rec = json.loads(line)
            except ValueError:
                continue
            if rec.get("type") == "meta":
                meta = rec
            else:
                ops.append(rec)
    return meta, ops
