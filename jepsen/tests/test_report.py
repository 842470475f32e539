"""Report tests: a tiny history renders every section (verdict, meta, both plots with the fault
window, anomalies with examples, per-fault figures, impossible notes, controller), the page is
self-contained, and a 200k-op history renders quickly into a small page."""

import os
import re
import time

from jepsen.checker import check, verdict_line
from jepsen.report import impossible_notes, write_report
from jepsen.tests.synth import History, clean_run
from jepsen.tests.test_figures import window_history

K = "t/0"


def tiny():
    h = window_history()
    h.meta.update(seed=42, nemeses=["kill", "zk-quorum"], time_limit=60)
    h.at(6.0).nemesis("start", fault="zk-quorum", targets=["zk2", "zk3"], detail="stop 2 of 3 ZooKeeper servers")
    h.at(6.5).nemesis("impossible", fault="zk-quorum",
                      why="ZooKeeper had no quorum: no controller could act, no ISR could change.")
    h.nemesis("controller", broker=None, epoch=None)
    h.at(8.0).nemesis("stop", fault="zk-quorum")
    h.nemesis("controller", broker=1, epoch=3)
    h.nemesis("broker-exit", server="b3", broker=3, returncode=-9, expected=False)
    h.send(0, K, 6, type_="fail")
    h.crash(9)
    h.assign(9, [K, "t/1"])
    h.poll(9, {K: [(0, 1), (1, 5), (2, 6)], "t/1": [(0, 2), (1, 4)]}, final=True)  # reads a failed send
    return h


def test_tiny_report_has_every_section(tmp_path):
    h = tiny()
    r = check(h.meta, h.ops)
    assert r["failures"] == ["G1a"]
    path = write_report(h.meta, h.ops, r, str(tmp_path / "out"))
    assert path == str(tmp_path / "out" / "report.html")
    html = open(path).read()
    assert verdict_line(r).split(";")[0] in html and 'class="verdict invalid"' in html
    assert html.count("<svg") == 3 and "latency (ms, log)" in html and "completions per second" in html
    assert "not yet returned by any ok poll" in html and "At most 4 acknowledged values" in html
    assert html.count("kill -9 broker 2") >= 3  # both plots' window tips and the table
    assert "During zk-quorum (targets zk2, zk3) from 6.0 s to 8.0 s: ZooKeeper had no quorum" in html
    assert "During kill (targets 2) from 2.0 s to 3.0 s: every replica of t/9 was on broker 2" in html
    assert "G1a" in html and "&quot;reader&quot;" in html  # the example case, as JSON
    assert "2.40 s (1.1&ndash;3.5)" in html  # the kill window's produce unavailability
    assert "<td class=\"n\">0/1/0</td>" in html  # its sends: one info
    assert "1.2 s" in html  # seconds to full ISR
    assert "1 unanswered" in html and "<td>seed</td><td><pre>42</pre></td>" in html
    assert "<td>time_limit</td><td><pre>60</pre></td>" in html
    assert "Client errors" in html and "synthetic fail" in html
    assert "Other nemesis events" in html and "broker-exit" in html and "&quot;returncode&quot;: -9" in html
    assert "<script" not in html and not re.search(r"(src|href)=", html)


def test_impossible_notes_are_plain_sentences():
    h = tiny()
    notes = impossible_notes(check(h.meta, h.ops))
    assert notes == [
        "During kill (targets 2) from 2.0 s to 3.0 s: every replica of t/9 was on broker 2",
        "During zk-quorum (targets zk2, zk3) from 6.0 s to 8.0 s: ZooKeeper had no quorum: no controller could act, "
        "no ISR could change.",
    ]


def test_empty_history_renders(tmp_path):
    h = History()
    r = check(h.meta, h.ops)
    html = open(write_report(h.meta, h.ops, r, str(tmp_path))).read()
    assert "UNKNOWN" in html and "No fault window" in html and "None found." in html


def test_200k_op_report_is_fast_and_small(tmp_path):
    h = clean_run(70000, keys=tuple("t/%d" % i for i in range(6)),
                  faults=[("kill", 20, 30), ("partition", 60, 70), ("kill", 100, 104)])
    assert len(h.ops) >= 175000
    t0 = time.monotonic()
    r = check(h.meta, h.ops)
    t1 = time.monotonic()
    path = write_report(h.meta, h.ops, r, str(tmp_path))
    t2 = time.monotonic()
    assert r["valid"] is True and len(r["figures"]["windows"]) == 3
    assert t1 - t0 < 10 and t2 - t1 < 5, (t1 - t0, t2 - t1)
    assert os.path.getsize(path) < 1_500_000
    html = open(path).read()
    assert html.count("partition") >= 3
