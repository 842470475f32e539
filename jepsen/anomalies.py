"""The queue anomalies of a history: version orders per key, then one check per anomaly.

The definitions are those of Jepsen's ``jepsen.tests.kafka`` queue workload (its checker, read for
behaviour; this is an independent Python implementation). In brief:

*Version order.* For every key (``"<topic>/<partition>"``) a log ``offset -> value(s)`` is rebuilt
from every ``[offset, value]`` pair a poll returned (whatever the poll's completion type) and from
the acknowledged offsets of sends that must have happened: an ``ok`` send, or an ``info`` send one of
whose values was read by an ``ok`` poll. Offsets are not required to be dense; the *index* of an
offset is its rank among the offsets of that key that hold a value. An offset holding two different
values is ``inconsistent-offsets``; one value at two or more offsets is a duplicate.

*Ordering checks* compare indexes, never raw offsets: a step of +1 is normal, more than +1 is a
skip (the values in between are listed), 0 or less is nonmonotonic. Where an index is unknown (a
value nobody saw at any offset) the step is taken to be +1, so nothing is reported.

* ``int-poll-skip`` / ``int-nonmonotonic-poll``: two consecutive records of one key in one poll.
* ``int-send-skip`` / ``int-nonmonotonic-send``: two consecutive values sent to one key in one op.
* ``poll-skip`` / ``nonmonotonic-poll``: per process, the last record an ``ok`` poll returned for a
  key against the first record of that key in the process's next poll that returns the key.
* ``nonmonotonic-send``: per process, the last value an ``ok``/``info`` send sent to a key against
  the first value of the next such send to that key (no cross-op send skip: other producers
  interleave).

*Resets of the per-process checks.* An ``ok``/``info`` ``assign`` or ``subscribe`` restarts the
process's poll ordering entirely: history.py defines either call as a new consumer position (the
runner's consumers assign from offset 0), whereas Jepsen keeps the order of the keys the call names
again; ours is less sensitive there and never a false alarm. For send ordering
it keeps only the keys it names (Jepsen's rule; a subscribe names topics here, so the keys of those
topics). A ``crash`` restarts both. Any ``info`` completion restarts both after it is checked: in
Jepsen an indeterminate op retires its process and the next op runs as a new process with a new
client, so per-process orders never span one. (A failed op changes nothing.)

*Subscribe.* With ``subscribe`` the group may move partitions between consumers between two polls,
and our history has no rebalance log, so cross-poll skips/regressions seen while the process was
subscribed are reported as ``poll-skip-subscribed`` / ``nonmonotonic-poll-subscribed``
(informational), as Jepsen allows ``poll-skip`` and ``nonmonotonic-poll`` when subscribe is used.

*Other anomalies.*

* ``G1a``: an ``ok`` poll read a value whose send failed (``fail``: definitely not written).
* ``lost-write``: per key, take the highest index at which any value read by an ``ok`` poll first
  appears; every value whose last appearance is at or below it must have been read by some ``ok``
  poll; one that was not, and whose send must have happened (``ok``, or ``info`` with some value of
  it read), is lost.
* ``duplicate``: a value at more than one offset of a key. Split by who made it (not in Jepsen,
  which assumes an idempotent producer): if any completion of the value's send says
  ``"resent": true`` the client itself sent it twice (``duplicate-client``, not a failure),
  otherwise the broker did (``duplicate``).
* ``unseen``: values of ``ok`` sends that no ``ok`` poll ever returned (Jepsen's final unseen set).
* ``unknown-value``: a poll returned a value that no send in the history carried. Jepsen aborts its
  analysis on this; we report it (corruption or a foreign writer) and count it as a failure.

*Counting.* ``G1a``, ``lost-write``, ``unseen``, ``unknown-value`` and duplicates count distinct
(key, value) pairs (the example names the first reader); ``inconsistent-offsets`` counts (key,
offset) pairs; ordering anomalies count pairs of records.

*Where our history differs from Jepsen's.* There are no transactions: every send or poll op is a
one-op transaction, so ``precommitted-read`` and the rebalance-log exemptions do not apply, and
Jepsen's Elle cycle search is not done (with one-op transactions only its realtime cycles could add
anything, e.g. a poll that returned a value before that value's send was invoked). Keys are strings. An offset of ``null`` or below 0 (acks=0 answers -1) is
unknown. Where a value sits at several offsets, Jepsen's value-to-index map keeps the last one; we
index a record by the offset the op itself saw (polls and ``ok`` sends carry it) and fall back to
the value's last index only when the op has no offset (``info``/``fail`` sends). On a history
without duplicates the two are identical; with a client duplicate ours does not report the
duplicate a second time as a spurious ordering anomaly.
"""

EXAMPLES = 8  # concrete cases kept per anomaly (counts are always complete)
SKIPPED_SHOWN = 10  # skipped values listed per skip case


class Findings:
    """Counts and a few example cases per anomaly name; the checker's output for anomalies."""

    def __init__(self, examples=EXAMPLES):
        self.counts = {}
        self.examples = {}
        self._limit = examples

    def add(self, name, case):
        """Count one case of anomaly ``name``; keep it as an example if there are few so far."""
        n = self.counts.get(name, 0)
        self.counts[name] = n + 1
        if n < self._limit:
            self.examples.setdefault(name, []).append(case)


def send_writes(op):
    """The ``(key, offset, value)`` of each send micro-op of an op, in order. The offset is None
    when the completion carries none (invokes, info and fail) or an unknown one (null, or below 0
    as acks=0 answers); this rule is inlined in the loops over poll records too."""
    out = []
    for mop in op.get("value") or ():
        if type(mop) is not list or len(mop) < 3 or mop[0] != "send":
            continue
        x = mop[2]
        if type(x) is list and len(x) == 2:
            o = x[0]
            out.append((mop[1], o if type(o) is int and o >= 0 else None, x[1]))
        else:
            out.append((mop[1], None, x))
    return out


def poll_reads(op):
    """``{key: [[offset, value], ...]}`` of every poll micro-op of an op (several are concatenated
    per key, in order); empty for invokes and for completions without records."""
    mops = op.get("value")
    if not isinstance(mops, list):
        return {}
    found = None
    for mop in mops:
        if isinstance(mop, list) and len(mop) >= 2 and mop[0] == "poll" and isinstance(mop[1], dict):
            if found is None:
                found = mop[1]
            else:
                merged = {k: list(v) for k, v in found.items()}
                for k, pairs in mop[1].items():
                    merged.setdefault(k, []).extend(pairs)
                found = merged
    return found or {}


def _value_order(v):
    """Sort key for the values of one offset: ints numerically, anything else after, by text."""
    return (0, v, "") if type(v) is int else (1, 0, repr(v))


class KeyOrder:
    """The version order of one key: its log, dense indexes, and where each value appears."""

    __slots__ = ("offsets", "index_of", "by_index", "first_index", "last_index", "dups", "conflicts")

    def __init__(self, at, extra):
        self.offsets = sorted(at)
        self.index_of = {}
        self.by_index = []
        self.first_index = {}
        self.last_index = {}
        self.dups = {}  # value -> [offsets] for values at more than one offset
        self.conflicts = []  # (offset, index, sorted values)
        seen_at = {}
        for i, o in enumerate(self.offsets):
            self.index_of[o] = i
            v = at[o]
            self.by_index.append(v)
            values = (v,) if o not in extra else tuple(sorted(extra[o], key=_value_order))
            if len(values) > 1:
                self.conflicts.append((o, i, list(values)))
            for x in values:
                if x in self.first_index:
                    self.dups.setdefault(x, [seen_at[x]]).append(o)
                else:
                    self.first_index[x] = i
                    seen_at[x] = o
                self.last_index[x] = i

    def index(self, offset, value):
        """Index of a record: by the offset the op saw, else the value's last index, else None."""
        if offset is not None:
            i = self.index_of.get(offset)
            if i is not None:
                return i
        return self.last_index.get(value)


class HistoryIndex:
    """What one pass over the client ops learns: who wrote each value and how it ended, what ``ok``
    polls read, and the per-key logs (turned into :class:`KeyOrder` by :meth:`orders`)."""

    def __init__(self, ops):
        self.writer = {}  # key -> value -> the op that sent it (completion, else invoke)
        self.ok_sent = {}  # key -> value -> (offset, op index, time) for ok sends
        self.poll_time = {}  # op index -> time of every ok poll
        self.failed = {}  # key -> set of values whose send failed
        self.resent = {}  # key -> set of values whose send completion said resent: true
        self.ok_read = {}  # key -> value -> index of the first ok poll that read it
        self._at = {}  # key -> offset -> first value seen there
        self._extra = {}  # key -> offset -> set of values when more than one
        self.final_ok_polls = 0
        pending = []  # info sends with offsets: in the log only if one of their values was read
        unfinished = {}  # process -> its send invoke not completed (yet)
        for op in ops:
            p = op.get("process")
            if p == "nemesis":
                continue
            f = op.get("f")
            t = op.get("type")
            if f == "send":
                if t == "invoke":
                    older = unfinished.get(p)
                    if older is not None:
                        self._unfinished(older)
                    unfinished[p] = op
                else:
                    unfinished.pop(p, None)
                    self._send(op, t, pending)
            elif f == "poll" and t != "invoke":
                reads = poll_reads(op)
                ok = t == "ok"
                idx = op.get("index")
                if ok:
                    self.poll_time[idx] = op.get("time")
                    if op.get("final"):
                        self.final_ok_polls += 1
                for k, pairs in reads.items():
                    kr = self.ok_read.setdefault(k, {}) if ok else None
                    at = self._at.get(k)
                    if at is None:
                        at = self._at[k] = {}
                    for pair in pairs:
                        o, v = pair[0], pair[1]
                        if type(o) is int and o >= 0:  # inline _put: this loop sees every record read
                            prev = at.get(o, _MISSING)
                            if prev is _MISSING:
                                at[o] = v
                            elif prev != v:
                                self._extra.setdefault(k, {}).setdefault(o, {prev}).add(v)
                        if ok and v not in kr:
                            kr[v] = idx
        for op in unfinished.values():
            self._unfinished(op)
        for op in pending:
            if self.must_have_committed(op):
                for k, o, v in send_writes(op):
                    if o is not None:
                        self._put(k, o, v)
        self._orders = None

    def _unfinished(self, op):
        """A send invoke that never completed (the run ended first): indeterminate, like ``info``."""
        for k, _, v in send_writes(op):
            self.writer.setdefault(k, {}).setdefault(v, op)

    def _send(self, op, t, pending):
        writes = send_writes(op)
        for k, o, v in writes:
            kw = self.writer.get(k)
            if kw is None:
                kw = self.writer[k] = {}
            kw[v] = op
            if t == "ok":
                self.ok_sent.setdefault(k, {})[v] = (o, op.get("index"), op.get("time"))
                if o is not None:
                    self._put(k, o, v)
            elif t == "fail":
                self.failed.setdefault(k, set()).add(v)
            if op.get("resent") is True:
                self.resent.setdefault(k, set()).add(v)
        if t == "info" and any(o is not None for _, o, _ in writes):
            pending.append(op)

    def _put(self, k, o, v):
        at = self._at.get(k)
        if at is None:
            at = self._at[k] = {}
        prev = at.get(o, _MISSING)
        if prev is _MISSING:
            at[o] = v
        elif prev != v:
            self._extra.setdefault(k, {}).setdefault(o, {prev}).add(v)

    def must_have_committed(self, op):
        """True if a send op's effects must be visible: it is ``ok``, or it is indeterminate
        (``info``, or an invoke never completed) and some value it sent was read by an ``ok``
        poll."""
        t = op.get("type")
        if t == "ok":
            return True
        if t == "fail":
            return False
        return any(v in self.ok_read.get(k, ()) for k, _, v in send_writes(op))

    def orders(self):
        """``{key: KeyOrder}``, built once."""
        if self._orders is None:
            self._orders = {k: KeyOrder(at, self._extra.get(k, {})) for k, at in self._at.items()}
            self._at = self._extra = None
        return self._orders


_MISSING = object()


def _op_ref(op):
    return op.get("index")


def log_anomalies(hist, found):
    """The anomalies of the logs alone: inconsistent offsets and duplicates (split client/broker)."""
    for k, order in hist.orders().items():
        for o, i, values in order.conflicts:
            found.add("inconsistent-offsets", {"key": k, "offset": o, "index": i, "values": values})
        resent = hist.resent.get(k, ())
        for v, offsets in order.dups.items():
            writer = hist.writer.get(k, {}).get(v)
            name = "duplicate-client" if v in resent else "duplicate"
            found.add(name, {"key": k, "value": v, "offsets": offsets, "count": len(offsets),
                             "writer": _op_ref(writer) if writer else None})


def read_anomalies(hist, found):
    """G1a, lost writes, unseen values and values nobody sent (from what ``ok`` polls read)."""
    orders = hist.orders()
    for k, read in hist.ok_read.items():
        failed = hist.failed.get(k, ())
        writers = hist.writer.get(k, {})
        for v, reader in read.items():
            if v in failed:
                found.add("G1a", {"key": k, "value": v, "writer": _op_ref(writers[v]), "reader": reader})
            elif v not in writers:
                found.add("unknown-value", {"key": k, "value": v, "reader": reader})
        order = orders.get(k)
        if order is None:
            continue
        bound = -1
        for v in read:
            i = order.first_index.get(v)
            if i is not None and i > bound:
                bound = i
        if bound < 0:
            continue
        lost = []
        for v, last in order.last_index.items():
            if last <= bound and v not in read:
                w = writers.get(v)
                if w is not None and hist.must_have_committed(w):
                    lost.append((order.first_index[v], v, w))
        if lost:
            max_value = order.by_index[bound]
            for i, v, w in sorted(lost, key=lambda x: x[0]):
                found.add("lost-write", {"key": k, "value": v, "offset": order.offsets[i], "index": i,
                                         "max_read_index": bound, "max_read_offset": order.offsets[bound],
                                         "max_read_value": max_value, "max_reader": read.get(max_value),
                                         "writer": _op_ref(w), "writer_type": w.get("type")})
    for k, sent in hist.ok_sent.items():
        read = hist.ok_read.get(k, {})
        for v, (o, op_index, _) in sent.items():
            if v not in read:
                found.add("unseen", {"key": k, "value": v, "offset": o, "writer": op_index})


def _step(found, name, k, order, i1, i2, v1, v2, where):
    """Report the step from index i1 to i2 (None: unknown, nothing reported) as a skip or a
    nonmonotonic step; ``name`` is ("skip name", "nonmonotonic name")."""
    if i1 is None or i2 is None:
        return
    delta = i2 - i1
    if delta == 1:
        return
    case = {"key": k, "values": [v1, v2], "offsets": [order.offsets[i1], order.offsets[i2]], "delta": delta}
    case.update(where)
    if delta > 1:
        if name[0] is None:
            return
        case["skipped_count"] = delta - 1
        case["skipped"] = order.by_index[i1 + 1:min(i2, i1 + 1 + SKIPPED_SHOWN)]
        found.add(name[0], case)
    else:
        found.add(name[1], case)


_INT_POLL = ("int-poll-skip", "int-nonmonotonic-poll")
_INT_SEND = ("int-send-skip", "int-nonmonotonic-send")
_POLL = ("poll-skip", "nonmonotonic-poll")
_POLL_SUB = ("poll-skip-subscribed", "nonmonotonic-poll-subscribed")
_SEND = (None, "nonmonotonic-send")


def _topic(key):
    return key.rsplit("/", 1)[0] if isinstance(key, str) else key


def order_anomalies(ops, hist, found):
    """The ordering anomalies, internal (within one op) and per process (between ops), in one pass
    over the ops in file order, with the resets described in the module docstring."""
    orders = hist.orders()
    last_poll = {}  # process -> key -> (op index, index, value) of the last record an ok poll returned
    last_send = {}  # process -> key -> (op index, index, value) of the last value sent
    mode = {}  # process -> "assign" / "subscribe": its last successful assignment call
    empty = KeyOrder({}, {})
    for op in ops:
        p = op.get("process")
        t = op.get("type")
        if p == "nemesis" or t == "invoke":
            continue
        f = op.get("f")
        idx = op.get("index")
        if f == "poll":
            reads = poll_reads(op)
            state = last_poll.setdefault(p, {})
            names = _POLL_SUB if mode.get(p) == "subscribe" else _POLL
            for k, pairs in reads.items():
                order = orders.get(k, empty)
                index_of, last_index = order.index_of, order.last_index
                prev_i = prev_v = None
                for n, pair in enumerate(pairs):
                    o, v = pair[0], pair[1]
                    i = index_of.get(o) if type(o) is int else None  # inline KeyOrder.index
                    if i is None:
                        i = last_index.get(v)
                    if n == 0:
                        before = state.get(k)
                        if before is not None:
                            _step(found, names, k, order, before[1], i, before[2], v,
                                  {"ops": [before[0], idx], "process": p})
                    elif prev_i is not None and i is not None and i - prev_i != 1:
                        _step(found, _INT_POLL, k, order, prev_i, i, prev_v, v, {"op": idx, "process": p})
                    prev_i, prev_v = i, v
                if t == "ok":
                    state[k] = (idx, prev_i, prev_v)
        elif f == "send":
            writes = send_writes(op)
            state = last_send.setdefault(p, {})
            seen = {}
            for k, o, v in writes:
                order = orders.get(k, empty)
                i = order.index(o, v)
                if k in seen:
                    prev_i, prev_v = seen[k]
                    _step(found, _INT_SEND, k, order, prev_i, i, prev_v, v, {"op": idx, "process": p})
                elif t in ("ok", "info") and k in state:
                    before = state[k]
                    _step(found, _SEND, k, order, before[1], i, before[2], v,
                          {"ops": [before[0], idx], "process": p})
                seen[k] = (i, v)
            if t in ("ok", "info"):
                for k, (i, v) in seen.items():
                    state[k] = (idx, i, v)
        elif f in ("assign", "subscribe") and t in ("ok", "info"):
            mode[p] = f
            last_poll.pop(p, None)
            named = set(op.get("value") or ())
            state = last_send.get(p)
            if state:
                keep = (lambda k: k in named) if f == "assign" else (lambda k: _topic(k) in named)
                last_send[p] = {k: s for k, s in state.items() if keep(k)}
        elif f == "crash":
            last_poll.pop(p, None)
            last_send.pop(p, None)
        if t == "info":
            last_poll.pop(p, None)
            last_send.pop(p, None)


def find_anomalies(ops, examples=EXAMPLES):
    """All anomalies of a history's ops: ``(Findings, HistoryIndex)``."""
    hist = HistoryIndex(ops)
    found = Findings(examples)
    log_anomalies(hist, found)
    read_anomalies(hist, found)
    order_anomalies(ops, hist, found)
    return found, hist
