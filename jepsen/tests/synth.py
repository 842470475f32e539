"""Builders of synthetic histories for the checker and report tests, in the format of
``jepsen/history.py``: each call appends an invoke and its completion with increasing indexes and
times, so a test states only what matters to it."""

import json
import random


class History:
    """A history under construction: ``ops`` grows as sends, polls, assigns... are added."""

    def __init__(self, meta=None, step=0.01):
        self.meta = dict({"type": "meta", "seed": 1, "brokers": [1, 2, 3], "nemeses": [], "time_limit": 10},
                         **(meta or {}))
        self.ops = []
        self.t = 0.0
        self.step = step

    def _op(self, process, type_, f, value, **extra):
        self.t += self.step
        op = {"index": len(self.ops), "time": round(self.t, 6), "process": process, "type": type_, "f": f,
              "value": value}
        op.update(extra)
        self.ops.append(op)
        return op

    def at(self, t):
        """Move the clock to time t (the next op happens just after it)."""
        self.t = t
        return self

    def send(self, process, key, value, offset=None, type_="ok", resent=None, more=()):
        """A send of ``value`` to ``key`` (plus ``more``: further ``(key, value, offset)`` micro-ops);
        the completion carries the offsets only when ``ok``."""
        mops = [(key, value, offset)] + list(more)
        self._op(process, "invoke", "send", [["send", k, v] for k, v, _ in mops])
        if type_ == "ok":
            done = [["send", k, [o, v]] for k, v, o in mops]
        else:
            done = [["send", k, v] for k, v, _ in mops]
        extra = {} if resent is None else {"resent": resent}
        if type_ != "ok":
            extra["error"] = "synthetic %s" % type_
        return self._op(process, type_, "send", done, **extra)

    def poll(self, process, records, type_="ok", final=False):
        """A poll returning ``records`` ({key: [(offset, value), ...]}) when ``ok``."""
        extra = {"final": True} if final else {}
        self._op(process, "invoke", "poll", [["poll"]], **extra)
        value = [["poll", {k: [list(p) for p in ps] for k, ps in records.items()}]] if type_ == "ok" else [["poll"]]
        return self._op(process, type_, "poll", value, **extra)

    def assign(self, process, keys, type_="ok"):
        """An assign of ``keys`` (a new consumer position)."""
        self._op(process, "invoke", "assign", list(keys))
        return self._op(process, type_, "assign", list(keys))

    def subscribe(self, process, topics, type_="ok"):
        """A subscribe to ``topics``."""
        self._op(process, "invoke", "subscribe", list(topics))
        return self._op(process, type_, "subscribe", list(topics))

    def crash(self, process):
        """The process's client was closed and replaced."""
        self._op(process, "invoke", "crash", None)
        return self._op(process, "info", "crash", None)

    def nemesis(self, f, **value):
        """A nemesis op (start, stop, healed, controller, impossible) with ``value``."""
        return self._op("nemesis", "info", f, value)

    def write(self, path, torn=None):
        """Write as history.jsonl; ``torn`` appends a half-written last line."""
        with open(path, "w") as f:
            f.write(json.dumps(self.meta) + "\n")
            for op in self.ops:
                f.write(json.dumps(op) + "\n")
            if torn:
                f.write(torn)
        return path


def clean_run(n_sends, keys=("t/0", "t/1", "t/2"), processes=4, seed=7, faults=()):
    """A valid history: ``n_sends`` ok sends spread over keys and processes, consumers polling
    what was written in order, then a final read of everything. ``faults`` is a list of
    ``(fault, start, stop)``: no send is acknowledged inside a fault window."""
    rnd = random.Random(seed)
    h = History({"nemeses": sorted({f for f, _, _ in faults})}, step=0.001)
    next_offset = {k: 0 for k in keys}
    log = {k: [] for k in keys}
    read_upto = {k: 0 for k in keys}
    for p in range(processes):
        h.assign(100 + p, keys)
    faults = sorted(faults, key=lambda x: x[1])
    pending = list(faults)
    active = []
    v = 0
    while v < n_sends:
        if pending and h.t >= pending[0][1]:
            fault, start, stop = pending.pop(0)
            h.nemesis("start", fault=fault, targets=[1], detail="%s broker 1" % fault)
            active.append((fault, stop))
        if active and h.t >= active[0][1]:
            fault, _ = active.pop(0)
            h.nemesis("stop", fault=fault, targets=[1])
            h.nemesis("healed", fault=fault, full_isr_after_s=1.5)
        k = keys[rnd.randrange(len(keys))]
        p = rnd.randrange(processes)
        if active:
            h.send(p, k, v, type_="info" if v % 2 else "fail")
            v += 1
            continue
        h.send(p, k, v, next_offset[k])
        log[k].append((next_offset[k], v))
        next_offset[k] += 1
        v += 1
        if rnd.random() < 0.3:
            c = 100 + rnd.randrange(processes)
            # every consumer reads each key in order; give the consumer its own cursor per key
            cur = h.__dict__.setdefault("cursors", {}).setdefault((c, k), 0)
            batch = log[k][cur:cur + rnd.randrange(1, 5)]
            h.cursors[(c, k)] = cur + len(batch)
            h.poll(c, {k: batch})
            read_upto[k] = max(read_upto[k], cur + len(batch))
    while active:
        fault, _ = active.pop(0)
        h.nemesis("stop", fault=fault, targets=[1])
        h.nemesis("healed", fault=fault, full_isr_after_s=1.5)
    h.crash(200)
    h.assign(200, keys)
    for k in keys:
        for i in range(0, len(log[k]), 500):
            h.poll(200, {k: log[k][i:i + 500]}, final=True)
    return h
