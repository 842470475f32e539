"""Figures of a run: fault windows with their produce unavailability and ISR recovery, aggregates
per fault type, and the controller check.

*Fault window*: a nemesis ``start`` to the next ``stop`` naming the same ``fault`` (several open
starts of one fault are closed first-in first-out); a start never stopped runs to the end of the
history (``"open": true``). The nemesis ``healed`` op that follows a stop gives the window's
``full_isr_after_s``; ``impossible`` ops of the same fault (or naming none) whose time falls in the
window are attached to it.

*Produce unavailability* of a window: the largest gap between two consecutive acknowledged (``ok``)
send completions such that the gap overlaps the window, from the last ack before the window's start
(or the start itself if there was none) to the first ack after its stop (or the end of the history,
``"unbounded": true``, if there was none). Computed over all keys, and per key (the worst key is
reported).

*Controller check*: nemesis ``controller`` samples (``/controller`` and ``/controller_epoch``).
The epoch must never decrease, and one epoch must belong to one broker. The two znodes are read one
after the other, so a sample taken while the controller changes may pair the old broker with the
new epoch (or the new broker with the old one); a single such sample between the two epochs, whose
broker is the adjacent epoch's controller, is counted as torn and not reported. Anything else is a
``controller-split`` case. Samples with a null broker or epoch (ZooKeeper did not answer, or no
controller) are counted and skipped.
"""

import bisect
import statistics


def nemesis_ops(ops):
    """The nemesis completions of a history (nemesis invokes, if a runner writes them, are skipped)."""
    return [op for op in ops if op.get("process") == "nemesis" and op.get("type") != "invoke"]


def _value(op):
    v = op.get("value")
    return v if isinstance(v, dict) else {}


def end_time(ops):
    """The time of the last op (0.0 for an empty history)."""
    t = 0.0
    for op in ops:
        x = op.get("time")
        if x is not None and x > t:
            t = x
    return float(t)


def fault_windows(ops, nemesis=None, end=None):
    """The fault windows of a history, in start order (dicts without the unavailability figures);
    ``nemesis`` and ``end`` may be passed when already known."""
    nemesis = nemesis_ops(ops) if nemesis is None else nemesis
    end = end_time(ops) if end is None else end
    windows = []
    open_by_fault = {}
    last_closed = {}
    for op in nemesis:
        f = op.get("f")
        v = _value(op)
        fault = v.get("fault")
        if f == "start":
            w = {"fault": fault, "targets": v.get("targets"), "detail": v.get("detail"),
                 "start": op.get("time"), "stop": None, "duration": None, "open": True,
                 "start_op": op.get("index"), "stop_op": None, "full_isr_after_s": None,
                 "healed": False, "impossible": []}
            windows.append(w)
            open_by_fault.setdefault(fault, []).append(w)
        elif f == "stop":
            queue = open_by_fault.get(fault)
            if queue:
                w = queue.pop(0)
                w.update(stop=op.get("time"), open=False, stop_op=op.get("index"))
                w["duration"] = round(w["stop"] - w["start"], 6)
                last_closed[fault] = w
        elif f == "healed":
            w = last_closed.get(fault)
            if w is not None and not w["healed"]:
                w["healed"] = True
                w["full_isr_after_s"] = v.get("full_isr_after_s")
    for op in nemesis:
        if op.get("f") != "impossible":
            continue
        v = _value(op)
        t = op.get("time", 0.0)
        for w in windows:
            stop = w["stop"] if w["stop"] is not None else end
            if (v.get("fault") in (None, w["fault"])) and w["start"] - 1e-3 <= t <= stop + 1e-3:
                w["impossible"].append({"time": t, "op": op.get("index"), "fault": v.get("fault"),
                                        "why": v.get("why")})
    return windows


def send_times(ops):
    """({type: sorted completion times of sends of that type}, {key: sorted times of ``ok`` sends
    to it})."""
    by_type = {"ok": [], "info": [], "fail": []}
    per_key = {}
    for op in ops:
        if op.get("f") != "send" or op.get("process") == "nemesis":
            continue
        typ = op.get("type")
        if typ not in by_type:
            continue
        t = op.get("time")
        by_type[typ].append(t)
        if typ == "ok":
            for mop in op.get("value") or ():
                if len(mop) >= 2:
                    per_key.setdefault(mop[1], []).append(t)
    for ts in by_type.values():
        ts.sort()
    for ts in per_key.values():
        ts.sort()
    return by_type, per_key


def largest_gap(times, start, stop, end):
    """The largest gap between consecutive ``times`` (sorted) that overlaps [start, stop]:
    ``{"gap_s", "from", "to", "unbounded"}``."""
    j0 = bisect.bisect_right(times, start) - 1
    j1 = bisect.bisect_left(times, stop)
    points = [times[j0] if j0 >= 0 else start]
    points.extend(times[max(j0 + 1, 0):j1])
    unbounded = j1 >= len(times)
    points.append(end if unbounded else times[j1])
    best = (-1.0, 0)
    for n in range(len(points) - 1):
        gap = points[n + 1] - points[n]
        if gap > best[0]:
            best = (gap, n)
    gap, n = best
    return {"gap_s": round(max(gap, 0.0), 6), "from": points[n], "to": points[n + 1],
            "unbounded": unbounded and n + 1 == len(points) - 1}


def window_figures(ops, nemesis=None, end=None):
    """Fault windows with ``unavailability`` (all keys), ``worst_key_unavailability`` and ``sends``
    (completions by type inside the window)."""
    end = end_time(ops) if end is None else end
    windows = fault_windows(ops, nemesis, end)
    if not windows:
        return windows
    by_type, per_key = send_times(ops)
    all_t = by_type["ok"]
    for w in windows:
        stop = w["stop"] if w["stop"] is not None else end
        w["sends"] = {t: bisect.bisect_right(ts, stop) - bisect.bisect_left(ts, w["start"])
                      for t, ts in by_type.items()}
        w["unavailability"] = largest_gap(all_t, w["start"], stop, end)
        worst = None
        for k, ts in per_key.items():
            g = largest_gap(ts, w["start"], stop, end)
            if worst is None or g["gap_s"] > worst["gap_s"]:
                worst = dict(g, key=k)
        w["worst_key_unavailability"] = worst
    return windows


def per_fault(windows):
    """Aggregates per fault type: count, max and median unavailability, worst key, ISR recovery
    (``not_healed``: the runner reported the ISR not full within its limit; ``not_reported``: no
    ``healed`` op followed the stop)."""
    out = {}
    for w in windows:
        out.setdefault(w["fault"], []).append(w)
    agg = {}
    for fault, ws in out.items():
        gaps = [w["unavailability"]["gap_s"] for w in ws if w.get("unavailability")]
        key_gaps = [w["worst_key_unavailability"]["gap_s"] for w in ws if w.get("worst_key_unavailability")]
        isr = [w["full_isr_after_s"] for w in ws if w["full_isr_after_s"] is not None]
        agg[fault] = {
            "count": len(ws),
            "max_unavailability_s": max(gaps) if gaps else None,
            "median_unavailability_s": round(statistics.median(gaps), 6) if gaps else None,
            "max_key_unavailability_s": max(key_gaps) if key_gaps else None,
            "max_full_isr_after_s": max(isr) if isr else None,
            "not_healed": sum(1 for w in ws if w["healed"] and w["full_isr_after_s"] is None),
            "not_reported": sum(1 for w in ws if not w["open"] and not w["healed"]),
            "impossible": sum(len(w["impossible"]) for w in ws),
        }
    return agg


def controller_check(ops, nemesis=None):
    """Controller samples summarised, and the ``controller-split`` cases (see module docstring)."""
    samples = []
    unanswered = 0
    for op in nemesis_ops(ops) if nemesis is None else nemesis:
        if op.get("f") != "controller":
            continue
        v = _value(op)
        b, e = v.get("broker"), v.get("epoch")
        if b is None or e is None:
            unanswered += 1
            continue
        samples.append((op.get("time"), op.get("index"), b, e))
    cases = []
    high = None
    for t, idx, b, e in samples:
        if high is not None and e < high[0]:
            cases.append({"kind": "epoch-decreased", "epoch": e, "after_epoch": high[0],
                          "time": t, "op": idx, "earlier_op": high[1]})
        if high is None or e > high[0]:
            high = (e, idx)
    runs = []  # [epoch, broker, count, first op, last op, first time, last time]
    for t, idx, b, e in samples:
        if runs and runs[-1][0] == e and runs[-1][1] == b:
            r = runs[-1]
            r[2] += 1
            r[4], r[6] = idx, t
        else:
            runs.append([e, b, 1, idx, idx, t, t])
    torn = 0
    kept = []
    for n, r in enumerate(runs):
        prev = runs[n - 1] if n > 0 else None
        nxt = runs[n + 1] if n + 1 < len(runs) else None
        if r[2] == 1 and prev and nxt and (
                (nxt[0] == r[0] and prev[1] == r[1] and prev[0] != r[0]) or
                (prev[0] == r[0] and nxt[1] == r[1] and nxt[0] != r[0])):
            torn += 1
            continue
        kept.append(r)
    owner = {}
    for r in kept:
        first = owner.get(r[0])
        if first is None:
            owner[r[0]] = r
        elif first[1] != r[1]:
            cases.append({"kind": "two-brokers-one-epoch", "epoch": r[0], "brokers": [first[1], r[1]],
                          "ops": [first[3], r[3]], "time": r[5]})
    epochs = []
    for r in kept:
        if epochs and epochs[-1]["epoch"] == r[0] and epochs[-1]["broker"] == r[1]:
            epochs[-1].update(last_time=r[6], samples=epochs[-1]["samples"] + r[2])
        else:
            epochs.append({"epoch": r[0], "broker": r[1], "first_time": r[5], "last_time": r[6],
                           "samples": r[2]})
    return {"samples": len(samples) + unanswered, "unanswered": unanswered, "torn_samples": torn,
            "epochs": epochs, "cases": cases}


def unseen_over_time(hist, end, buckets=600):
    """How many acknowledged values no ``ok`` poll had returned yet, sampled at the end of each time
    bucket (Jepsen's unseen plot): ``{"width", "counts", "max", "at_end"}``. A value counts from its
    send's completion until the completion of the first ``ok`` poll that returned it."""
    width = max(0.5, end / buckets)
    n = int(end / width) + 1
    diff = [0] * (n + 1)
    for k, sent in hist.ok_sent.items():
        read = hist.ok_read.get(k, {})
        for v, (_, _, ts) in sent.items():
            if ts is None:
                continue
            reader = read.get(v)
            tr = hist.poll_time.get(reader) if reader is not None else None
            b0 = int(ts / width)
            b1 = n if tr is None else int(tr / width)
            if b1 > b0:
                diff[b0] += 1
                diff[b1] -= 1
    counts = []
    run = 0
    for b in range(n):
        run += diff[b]
        counts.append(run)
    return {"width": width, "counts": counts, "max": max(counts, default=0), "at_end": counts[-1] if counts else 0}


def figures(ops):
    """All figures of a history: ``{"windows", "per_fault", "controller", "end_time"}``."""
    nemesis = nemesis_ops(ops)
    end = end_time(ops)
    windows = window_figures(ops, nemesis, end)
    return {"windows": windows, "per_fault": per_fault(windows), "controller": controller_check(ops, nemesis),
            "end_time": end}
