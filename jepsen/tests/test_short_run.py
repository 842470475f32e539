"""End to end: a short mixed schedule through scripts/kafka-jepsen.sh (about 2-3 minutes).

Runs the real thing (namespaces, ZooKeeper ensemble, three brokers, every fault family but the
rolling restart, which the longer runs cover) and asserts that it exits 0, prints a verdict line
last, and leaves the history, result and report in its run directory, and nothing behind on the
machine. Skipped, with the reason, when not root or when ``ip netns`` cannot be used.
"""

import json
import os
import subprocess

import pytest

from jepsen import netns
from jepsen.history import read_history

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
USABLE, WHY = netns.have_ip_netns()


@pytest.mark.skipif(not USABLE, reason="needs root and ip netns: %s" % WHY)
def test_short_mixed_schedule(tmp_path):
    """A 60 s schedule of partitions, kills, pauses, ZooKeeper and disk faults, seed 71 (all five families within the first 60 s)."""
    out = tmp_path / "run"
    p = subprocess.run(["bash", os.path.join(REPO, "scripts", "kafka-jepsen.sh"), "--nemesis",
                        "partition,kill,pause,zk,disk", "--time-limit", "60", "--seed", "71", "--out", str(out)],
                       cwd=REPO, capture_output=True, text=True, timeout=600, stdin=subprocess.DEVNULL)
    lines = [ln for ln in p.stdout.splitlines() if ln.strip()]
    assert p.returncode == 0, "exit %d\n%s\n%s" % (p.returncode, p.stdout[-6000:], p.stderr[-3000:])
    assert lines and lines[-1].startswith("VALID: "), lines[-3:]
    for name in ("history.jsonl", "report.html", "result.json", "run.log"):
        assert (out / name).is_file(), name
    meta, ops = read_history(str(out / "history.jsonl"))
    assert meta["seed"] == 71 and meta["zk_nodes"] == 3
    starts = [op for op in ops if op["process"] == "nemesis" and op["f"] == "start"]
    healed = [op for op in ops if op["process"] == "nemesis" and op["f"] == "healed"]
    assert starts and len(healed) >= len(starts)
    assert all(op["value"]["full_isr_after_s"] is not None for op in healed)
    assert any(op.get("final") and op["type"] == "ok" for op in ops)
    result = json.loads((out / "result.json").read_text())
    assert result["valid"] is True and result["runner"]["findings"] == []
    assert "<html" in (out / "report.html").read_text()[:500].lower()
    left = netns.leftovers()
    assert not any(left.values()), left
