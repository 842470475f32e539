"""The figures of several runs in one table: ``python3 -m jepsen.summary jepsen/runs/*``.

For the issue's report: the seeds run and their verdicts, and per fault type (over every run) how
many windows there were, the worst and median seconds of produce unavailability (the longest gap
between acknowledged writes overlapping a window, all partitions; and for the worst single
partition), the worst seconds from a fault's stop to full ISRs, and how many windows had an
``impossible`` note. Reads each run directory's ``result.json``.
"""

import json
import os
import statistics
import sys


def load(dirs):
    """[(run dir, result)] of the run directories that have a result.json."""
    out = []
    for d in dirs:
        path = os.path.join(d, "result.json")
        if os.path.isfile(path):
            with open(path) as f:
                out.append((d, json.load(f)))
    return out


def verdict(result):
    """VALID / INVALID / UNKNOWN, counting runner findings as INVALID."""
    if result.get("runner", {}).get("findings"):
        return "INVALID (runner: %s)" % ", ".join(sorted({f["kind"] for f in result["runner"]["findings"]}))
    return {True: "VALID", False: "INVALID"}.get(result.get("valid"), "UNKNOWN") + (
        "" if result.get("valid") is True else ": " + result.get("why", ""))


def table(runs):
    """The summary as text lines."""
    lines = ["%d runs" % len(runs), ""]
    for d, r in runs:
        lines.append("seed %-6s %-60s %s" % (r.get("meta", {}).get("seed"), verdict(r)[:60], d))
    per = {}
    for _, r in runs:
        for w in r.get("figures", {}).get("windows", []):
            per.setdefault(w["fault"], []).append(w)
    lines += ["", "%-24s %7s %10s %10s %10s %10s %10s" % ("fault", "windows", "max gap s", "median s",
                                                          "worst key", "max ISR s", "impossible")]
    for fault in sorted(per):
        ws = per[fault]
        gaps = [w["unavailability"]["gap_s"] for w in ws if w.get("unavailability")]
        keys = [w["worst_key_unavailability"]["gap_s"] for w in ws if w.get("worst_key_unavailability")]
        isr = [w["full_isr_after_s"] for w in ws if w.get("full_isr_after_s") is not None]
        lines.append("%-24s %7d %10s %10s %10s %10s %10d" % (
            fault, len(ws), _f(max(gaps) if gaps else None), _f(statistics.median(gaps) if gaps else None),
            _f(max(keys) if keys else None), _f(max(isr) if isr else None), sum(1 for w in ws if w.get("impossible"))))
    return lines


def _f(x):
    return "-" if x is None else "%.1f" % x


def main(argv=None):
    """Print the summary of the run directories given."""
    argv = sys.argv[1:] if argv is None else argv
    if not argv:
        print("usage: python3 -m jepsen.summary RUN_DIR...")
        return 2
    print("\n".join(table(load(argv))))
    return 0


if __name__ == "__main__":
    sys.exit(main())
