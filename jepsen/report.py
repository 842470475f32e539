"""The report of a failure-script run: one self-contained ``report.html`` (inline SVG and CSS, no
scripts, no network), readable for 10^6-op histories.

It states the verdict, the run's parameters, the guarantees the faults made impossible (plainly, at
the top), latency and throughput over time with the fault windows shaded, the anomalies with
examples, and the per-fault figures (produce unavailability, seconds to full ISR) and controller
check.

``python3 -m jepsen.report HISTORY.jsonl [OUT_DIR]`` checks a history and writes its report.
"""

import datetime
import json
import os
import sys
from html import escape

from jepsen import plots
from jepsen.checker import check, verdict_line

CSS = """
body{font-family:-apple-system,Segoe UI,Helvetica,Arial,sans-serif;margin:24px;color:#222;max-width:1000px}
h1{font-size:20px} h2{font-size:16px;margin-top:28px;border-bottom:1px solid #ccc}
.verdict{font:15px/1.4 monospace;padding:10px;border-radius:4px}
.valid{background:#e3f5e6} .invalid{background:#fbe0e0} .unknown{background:#fff3d6}
table{border-collapse:collapse;font-size:13px;margin:6px 0} td,th{border:1px solid #ddd;padding:3px 6px;
vertical-align:top;text-align:left} th{background:#f4f4f4} td.n{text-align:right;font-variant-numeric:tabular-nums}
pre{font-size:12px;margin:0;white-space:pre-wrap;word-break:break-all}
.note{background:#fff3d6;border-left:4px solid #e08a00;padding:6px 10px;margin:6px 0}
.fail{color:#b00;font-weight:bold} .muted{color:#777}
svg text{font-size:11px;fill:#333} svg .title{font-size:12px;font-weight:bold}
svg .grid{stroke:#eee} svg .frame{fill:none;stroke:#999} svg .wlabel{font-size:10px;font-weight:bold}
"""


def _s(x, unit=" s", digits=1):
    if x is None:
        return "-"
    if isinstance(x, float):
        return ("%." + str(digits) + "f%s") % (x, unit)
    return "%s%s" % (x, unit)


def _table(header, rows, numeric=()):
    out = ["<table><tr>%s</tr>" % "".join("<th>%s</th>" % escape(h) for h in header)]
    for row in rows:
        cells = []
        for n, c in enumerate(row):
            cls = ' class="n"' if n in numeric else ""
            cells.append("<td%s>%s</td>" % (cls, c))
        out.append("<tr>%s</tr>" % "".join(cells))
    out.append("</table>")
    return "".join(out)


def impossible_notes(result):
    """Plain sentences, one per impossible guarantee: during which fault, from when to when, and why
    (the runner's words), e.g. "During zk-quorum from 40.1 s to 61.3 s: ZooKeeper had no quorum..."."""
    notes = []
    for w in result["figures"]["windows"]:
        for imp in w["impossible"]:
            stop = "%.1f s" % w["stop"] if w["stop"] is not None else "the end of the run"
            targets = w.get("targets")
            if isinstance(targets, list):
                targets = ", ".join(str(t) for t in targets)
            notes.append("During %s%s from %.1f s to %s: %s" % (
                w["fault"], " (targets %s)" % targets if targets else "", w["start"], stop,
                imp.get("why") or "a guarantee could not hold (no reason given)."))
    return notes


FIRST_META = ("seed", "nemeses", "brokers", "time_limit", "topics", "topic")


def _meta_value(key, value):
    if key == "clients" and isinstance(value, dict):
        kinds = {}
        for kind in value.values():
            kinds[str(kind)] = kinds.get(str(kind), 0) + 1
        summary = ", ".join("%d %s" % (n, k) for k, n in sorted(kinds.items()))
        return "%s<details><summary>per process</summary><pre>%s</pre></details>" % (
            escape(summary), escape(json.dumps(value)))
    if key == "start_unix" and isinstance(value, (int, float)):
        when = datetime.datetime.fromtimestamp(value, datetime.timezone.utc)
        return escape(when.strftime("%Y-%m-%d %H:%M:%S UTC"))
    return "<pre>%s</pre>" % escape(json.dumps(value, default=str))


def _meta_section(meta, result):
    keys = [k for k in FIRST_META if k in meta] + sorted(k for k in meta if k not in FIRST_META and k != "type")
    rows = [(escape(k), _meta_value(k, meta[k])) for k in keys]
    rows.append(("keys seen", str(result.get("keys", 0))))
    rows.append(("final ok polls", str(result.get("final_reads", 0))))
    counts = result["counts"]
    for f in sorted((k for k in counts if k != "nemesis"), key=str):
        by = counts[f]
        rows.append(("%s ops" % escape(str(f)), escape(", ".join("%s %s" % (t, "{:,}".format(n))
                                                                  for t, n in sorted(by.items(), key=str)))))
    if counts.get("nemesis"):
        rows.append(("nemesis ops", escape(", ".join("%s %d" % kv for kv in sorted(counts["nemesis"].items(), key=str)))))
    html = "<h2>Run</h2>" + _table(("", ""), rows)
    if result.get("errors"):
        html += "<h2>Client errors</h2>" + _table(
            ("op", "type", "count", "error"),
            [(escape(str(e["f"])), escape(e["type"]), "{:,}".format(e["count"]), "<pre>%s</pre>" % escape(e["error"]))
             for e in result["errors"]], numeric=(2,))
    return html


def _anomaly_section(result):
    if not result["anomalies"]:
        return "<h2>Anomalies</h2><p>None found.</p>"
    rows = []
    for name, count in result["anomalies"].items():
        failing = name in result["failures"]
        if failing:
            status = '<span class="fail">failure</span>'
        elif name == "unseen":
            status = "not a failure: no completed final read"
        else:
            status = '<span class="muted">informational</span>'
        examples = result["examples"].get(name, [])
        shown = "\n".join(json.dumps(e, default=str) for e in examples)
        if count > len(examples):
            shown += "\n... %d more" % (count - len(examples))
        rows.append((escape(name), "{:,}".format(count), status, "<pre>%s</pre>" % escape(shown)))
    return ("<h2>Anomalies</h2><p class=muted>Definitions: <code>jepsen/anomalies.py</code>; op numbers are the "
            "history's <code>index</code>.</p>" + _table(("anomaly", "count", "status", "examples"), rows, numeric=(1,)))


def _gap(g, with_key=False):
    if not g:
        return "-"
    text = "%.2f s (%.1f&ndash;%.1f%s)" % (g["gap_s"], g["from"], g["to"], ", no ack after" if g.get("unbounded") else "")
    if with_key:
        text = "%s: %s" % (escape(str(g.get("key"))), text)
    return text


def _sends(counts):
    if not counts:
        return "-"
    return "/".join("{:,}".format(counts.get(t, 0)) for t in ("ok", "info", "fail"))


def _fault_section(result):
    figs = result["figures"]
    windows = figs["windows"]
    if not windows:
        return "<h2>Faults</h2><p>No fault window in this history.</p>"
    rows = []
    for w in windows:
        rows.append((escape(str(w["fault"])), escape(json.dumps(w.get("targets"))), escape(str(w.get("detail") or "")),
                     _s(w["start"]), _s(w["stop"]) if not w["open"] else "open", _s(w["duration"]),
                     _sends(w.get("sends")),
                     _gap(w.get("unavailability")), _gap(w.get("worst_key_unavailability"), True),
                     _s(w["full_isr_after_s"]) if w["healed"] else ("not reported" if not w["open"] else "-"),
                     str(len(w["impossible"]))))
    html = ["<h2>Fault windows</h2><p class=muted>Produce unavailability: the largest gap between consecutive "
            "acknowledged sends that overlaps the window (last ack before &ndash; first ack after).</p>",
            _table(("fault", "targets", "detail", "start", "stop", "duration", "sends ok/info/fail",
                    "produce unavailability", "worst key", "full ISR after", "impossible"), rows,
                   numeric=(3, 4, 5, 6, 9, 10))]
    agg_rows = []
    for fault, a in figs["per_fault"].items():
        agg_rows.append((escape(str(fault)), str(a["count"]), _s(a["max_unavailability_s"], digits=2),
                         _s(a["median_unavailability_s"], digits=2), _s(a["max_key_unavailability_s"], digits=2),
                         _s(a["max_full_isr_after_s"]), str(a["not_healed"]), str(a["not_reported"]),
                         str(a["impossible"])))
    html.append("<h2>Per fault type</h2>")
    html.append(_table(("fault", "windows", "max unavailability", "median", "worst key (max)",
                        "max s to full ISR", "ISR not full in time", "no ISR report", "impossible"), agg_rows,
                       numeric=(1, 2, 3, 4, 5, 6, 7, 8)))
    return "".join(html)


def _controller_section(result):
    c = result["figures"]["controller"]
    if not c["samples"]:
        return "<h2>Controller</h2><p>No controller samples.</p>"
    html = ["<h2>Controller</h2><p>%d samples (%d unanswered, %d torn reads at a change ignored); %d epoch/broker "
            "periods." % (c["samples"], c["unanswered"], c["torn_samples"], len(c["epochs"]))]
    if c["cases"]:
        html.append(' <span class="fail">controller-split: %d case(s), see anomalies.</span>' % len(c["cases"]))
    else:
        html.append(" The epoch never decreased and every epoch had one broker.")
    html.append("</p>")
    rows = [(str(e["epoch"]), str(e["broker"]), _s(e["first_time"]), _s(e["last_time"]), str(e["samples"]))
            for e in c["epochs"][:200]]
    html.append(_table(("epoch", "broker", "first seen", "last seen", "samples"), rows, numeric=(0, 1, 2, 3, 4)))
    if len(c["epochs"]) > 200:
        html.append("<p class=muted>... %d more periods</p>" % (len(c["epochs"]) - 200))
    return "".join(html)


KNOWN_NEMESIS = {"start", "stop", "healed", "controller", "impossible"}


def _other_nemesis_section(ops, limit=200):
    """Nemesis events the figures do not interpret (e.g. the runner's ``broker-exit``), listed."""
    rows = []
    n = 0
    for op in ops:
        if op.get("process") != "nemesis" or op.get("f") in KNOWN_NEMESIS or op.get("type") == "invoke":
            continue
        n += 1
        if len(rows) < limit:
            rows.append((_s(op.get("time")), escape(str(op.get("f"))),
                         "<pre>%s</pre>" % escape(json.dumps(op.get("value"), default=str))))
    if not rows:
        return ""
    more = "<p class=muted>... %d more</p>" % (n - limit) if n > limit else ""
    return "<h2>Other nemesis events</h2>" + _table(("time", "event", "value"), rows, numeric=(0,)) + more


def render(meta, ops, result):
    """The report's HTML text."""
    valid = result["valid"]
    cls = {True: "valid", False: "invalid"}.get(valid, "unknown")
    title = "Failure-script report%s" % (" (seed %s)" % meta["seed"] if "seed" in meta else "")
    end = result["figures"]["end_time"]
    windows = result["figures"]["windows"]
    parts = ["<!DOCTYPE html><html><head><meta charset=utf-8><title>%s</title><style>%s</style></head><body>"
             % (escape(title), CSS), "<h1>%s</h1>" % escape(title),
             '<div class="verdict %s">%s</div>' % (cls, escape(verdict_line(result))),
             "<p>%s</p>" % escape(str(result.get("why", "")))]
    notes = impossible_notes(result)
    if notes:
        parts.append("<h2>Guarantees the faults made impossible</h2>")
        parts.extend('<div class="note">%s</div>' % escape(n) for n in notes)
    parts.append(_meta_section(meta, result))
    parts.append("<h2>Latency</h2>" + plots.latency_plot(ops, windows, end))
    parts.append("<h2>Throughput</h2>" + plots.throughput_plot(ops, windows, end))
    unseen = result["figures"].get("unseen")
    if unseen:
        parts.append("<h2>Unseen</h2><p>At most %s acknowledged values were waiting to be read; %s never were.</p>"
                     % ("{:,}".format(unseen["max"]), "{:,}".format(result["anomalies"].get("unseen", 0))))
        parts.append(plots.unseen_plot(unseen, windows, end))
    parts.append(_anomaly_section(result))
    parts.append(_fault_section(result))
    parts.append(_controller_section(result))
    parts.append(_other_nemesis_section(ops))
    parts.append("</body></html>\n")
    return "".join(parts)


def write_report(meta, ops, result, out_dir):
    """Write ``out_dir/report.html`` for a checked history and return its path."""
    os.makedirs(out_dir, exist_ok=True)
    path = os.path.join(out_dir, "report.html")
    with open(path, "w") as f:
        f.write(render(meta, ops, result))
    return path


def main(argv=None):
    """Command line: check a history and write its report next to it (or into OUT_DIR)."""
    from jepsen.history import read_history
    argv = sys.argv[1:] if argv is None else argv
    if not argv or argv[0].startswith("-"):
        print("usage: python3 -m jepsen.report HISTORY.jsonl [OUT_DIR]")
        return 2
    meta, ops = read_history(argv[0])
    result = check(meta, ops)
    path = write_report(meta, ops, result, argv[1] if len(argv) > 1 else os.path.dirname(os.path.abspath(argv[0])))
    print(verdict_line(result))
    print(path)
    return 0


if __name__ == "__main__":
    sys.exit(main())
