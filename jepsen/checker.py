"""The checker of a failure-script history: anomalies (see ``jepsen/anomalies.py`` for their
definitions, Jepsen's ``jepsen.tests.kafka`` queue checker's, and where our history differs), figures
(``jepsen/figures.py``) and the verdict.

Which anomalies make a history invalid (as in Jepsen, every anomaly it does not explicitly allow):

* always failures: ``lost-write``, ``duplicate`` (broker-made), ``inconsistent-offsets``, ``G1a``,
  ``poll-skip``, ``nonmonotonic-poll``, ``nonmonotonic-send``, ``int-poll-skip``,
  ``int-nonmonotonic-poll``, ``int-send-skip``, ``int-nonmonotonic-send``, ``unknown-value`` and
  ``controller-split``;
* ``unseen`` is a failure only if the history has final reads (``"final": true`` polls) that
  completed ``ok``: without them an acknowledged value may simply not have been polled yet;
* never failures: ``duplicate-client`` (a non-idempotent client's own resend), and
  ``poll-skip-subscribed`` / ``nonmonotonic-poll-subscribed`` (a group rebalance may move
  partitions between polls; Jepsen allows these whenever subscribe is used).

Note: Jepsen allows ``int-send-skip`` because in its transactional workload other producers'
writes interleave with a transaction's. Here it is a failure, which holds as long as the runner
sends the micro-ops of one send op to one key as a single produce batch.

The verdict: ``False`` if any failure was found; otherwise ``"unknown"`` if the history is too short
to say anything (no ``ok`` send or no ``ok`` poll) or has no completed final read; otherwise ``True``.

Command line: ``python3 -m jepsen.checker HISTORY.jsonl [--json]`` prints the verdict line (and the
whole result as JSON) and exits 0 if valid, 1 if invalid, 2 if unknown or unreadable.
"""

import argparse
import json
import sys

from jepsen import anomalies, figures as figures_mod
from jepsen.history import read_history

ALWAYS_FAILURES = (
    "lost-write", "duplicate", "inconsistent-offsets", "G1a", "poll-skip", "nonmonotonic-poll",
    "nonmonotonic-send", "int-poll-skip", "int-nonmonotonic-poll", "int-send-skip",
    "int-nonmonotonic-send", "unknown-value", "controller-split",
)
INFORMATIONAL = ("duplicate-client", "poll-skip-subscribed", "nonmonotonic-poll-subscribed")
# Order in which anomalies are listed in the verdict and the report.
ORDER = ALWAYS_FAILURES[:3] + ("G1a", "unseen") + ALWAYS_FAILURES[4:] + INFORMATIONAL


def op_counts(ops):
    """``{f: {type: count}}`` of the client ops, and ``{"nemesis": {f: count}}`` for the nemesis."""
    counts = {}
    nemesis = {}
    for op in ops:
        if op.get("process") == "nemesis":
            f = op.get("f")
            nemesis[f] = nemesis.get(f, 0) + 1
            continue
        by_type = counts.setdefault(op.get("f"), {})
        t = op.get("type")
        by_type[t] = by_type.get(t, 0) + 1
    counts["nemesis"] = nemesis
    return counts


def error_counts(ops, limit=12):
    """The most frequent client error texts of completions (``info`` and ``fail``, and ``ok`` polls
    that answered for some partitions only): ``[{"f", "type", "error", "count"}]``, most frequent
    first (Jepsen's "info txn causes")."""
    counts = {}
    for op in ops:
        t = op.get("type")
        if t != "invoke" and op.get("error") and op.get("process") != "nemesis":
            key = (op.get("f"), t, str(op["error"])[:300])
            counts[key] = counts.get(key, 0) + 1
    top = sorted(counts.items(), key=lambda kv: -kv[1])[:limit]
    return [{"f": f, "type": t, "error": e, "count": n} for (f, t, e), n in top]


def check(meta, ops):
    """Check a history (``meta`` and ``ops`` as returned by ``jepsen.history.read_history``) and
    return the result dict: ``valid``, ``anomalies`` {name: count}, ``examples`` {name: [cases]},
    ``failures`` (names making it invalid), ``counts`` {f: {type: n}}, ``errors`` (most frequent
    client errors), ``final_reads``, ``keys``, ``figures``, ``meta`` and ``why`` (one sentence on the
    verdict). Everything in it is plain JSON."""
    found, hist = anomalies.find_anomalies(ops)
    figs = figures_mod.figures(ops)
    figs["unseen"] = figures_mod.unseen_over_time(hist, figs["end_time"])
    for case in figs["controller"]["cases"]:
        found.add("controller-split", case)
    counts = op_counts(ops)
    final_reads = hist.final_ok_polls
    failures = [name for name in ORDER if found.counts.get(name) and
                (name in ALWAYS_FAILURES or (name == "unseen" and final_reads > 0))]
    ok_sends = counts.get("send", {}).get("ok", 0)
    ok_polls = counts.get("poll", {}).get("ok", 0)
    if failures:
        valid, why = False, "anomalies found: " + ", ".join(failures)
    elif ok_sends == 0 or ok_polls == 0:
        valid, why = "unknown", "too short: %d ok sends, %d ok polls" % (ok_sends, ok_polls)
    elif final_reads == 0:
        valid, why = "unknown", "no completed final read, so nothing can be said of unseen values"
    else:
        valid, why = True, "no anomaly among %d ok sends, checked by %d final polls" % (ok_sends, final_reads)
    names = [n for n in ORDER if n in found.counts] + sorted(n for n in found.counts if n not in ORDER)
    return {
        "valid": valid,
        "why": why,
        "failures": failures,
        "anomalies": {n: found.counts[n] for n in names},
        "examples": {n: found.examples.get(n, []) for n in names},
        "counts": counts,
        "errors": error_counts(ops),
        "final_reads": final_reads,
        "keys": len(hist.orders()),
        "figures": figs,
        "meta": {k: v for k, v in meta.items() if k != "type"},
    }


def _n(x):
    return "{:,}".format(x)


def verdict_line(result):
    """One line summing up a result, e.g. ``VALID: 12,345 sends (12,001 ok, 80 info, 264 fail),
    0 lost, 0 duplicates (3 by client resends), 0 unseen, ...`` or ``INVALID: lost-write 2, G1a 1;
    ...`` or ``UNKNOWN (why): ...``."""
    a = result["anomalies"]
    sends = result["counts"].get("send", {})
    polls = result["counts"].get("poll", {})
    stats = "%s sends (%s ok, %s info, %s fail), %s lost, %s duplicates (%s by client resends), %s unseen, " \
            "%s polls (%s ok, %s final)" % (
                _n(sum(v for t, v in sends.items() if t != "invoke")), _n(sends.get("ok", 0)),
                _n(sends.get("info", 0)), _n(sends.get("fail", 0)), _n(a.get("lost-write", 0)),
                _n(a.get("duplicate", 0)), _n(a.get("duplicate-client", 0)), _n(a.get("unseen", 0)),
                _n(sum(v for t, v in polls.items() if t != "invoke")), _n(polls.get("ok", 0)),
                _n(result.get("final_reads", 0)))
    windows = result["figures"]["windows"]
    if windows:
        worst = max(w["unavailability"]["gap_s"] for w in windows)
        isr = [w["full_isr_after_s"] for w in windows if w["full_isr_after_s"] is not None]
        stats += ", %d fault windows (worst produce gap %.1f s%s)" % (
            len(windows), worst, ", max %.1f s to full ISR" % max(isr) if isr else "")
    if result["valid"] is True:
        return "VALID: " + stats
    if result["valid"] is False:
        listed = ", ".join("%s %s" % (n, _n(a[n])) for n in result["failures"])
        return "INVALID: %s; %s" % (listed, stats)
    return "UNKNOWN (%s): %s" % (result["why"], stats)


def main(argv=None):
    """Command line: print the verdict of a history file; exit 0 valid, 1 invalid, 2 otherwise."""
    ap = argparse.ArgumentParser(prog="python3 -m jepsen.checker", description=__doc__.split("\n")[0])
    ap.add_argument("history", help="history.jsonl written by the runner")
    ap.add_argument("--json", action="store_true", help="also print the whole result as JSON")
    args = ap.parse_args(argv)
    try:
        meta, ops = read_history(args.history)
    except (OSError, UnicodeDecodeError) as e:
        print("UNREADABLE: %s" % e)
        return 2
    result = check(meta, ops)
    print(verdict_line(result))
    if args.json:
        print(json.dumps(result, indent=1, default=str))
    return {True: 0, False: 1}.get(result["valid"], 2)


if __name__ == "__main__":
    sys.exit(main())
