"""Checker tests: one synthetic history per anomaly that must be found, and a near miss that must
not be; duplicate attribution, final reads and unseen, the resets of the per-process orders, a torn
history file and the command line."""

import json
import os
import subprocess
import sys

import pytest

from jepsen.checker import check, main, verdict_line
from jepsen.history import read_history
from jepsen.tests.synth import History, clean_run

K, K2 = "t/0", "t/1"
ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def three_writes(h, key=K, start=0, p=0):
    """Values 10+start.. acknowledged at offsets start.. of key."""
    for n in range(start, start + 3):
        h.send(p, key, 10 + n, n)


def final(h, records):
    """A final read: crash, assign, one final poll."""
    h.crash(90)
    h.assign(90, list(records))
    h.poll(90, records, final=True)


def anomalies(h):
    return check(h.meta, h.ops)["anomalies"]


def test_clean_history_is_valid():
    h = clean_run(3000)
    r = check(h.meta, h.ops)
    json.dumps(r)  # the result is plain JSON (the command line prints it)
    assert r["anomalies"] == {}
    assert r["valid"] is True and r["failures"] == []
    assert verdict_line(r).startswith("VALID: 3,000 sends (3,000 ok, 0 info, 0 fail)")


def test_lost_write_found():
    h = History()
    three_writes(h)
    h.poll(5, {K: [(0, 10)]})
    final(h, {K: [(2, 12)]})  # offset 1 (value 11) is below a read offset and nobody read it
    r = check(h.meta, h.ops)
    assert r["anomalies"]["lost-write"] == 1
    case = r["examples"]["lost-write"][0]
    assert (case["key"], case["value"], case["offset"], case["max_read_offset"]) == (K, 11, 1, 2)
    assert case["writer"] == h.ops[3]["index"] and case["writer_type"] == "ok"
    assert r["valid"] is False and "lost-write" in r["failures"]
    assert verdict_line(r).startswith("INVALID: lost-write 1")


def test_unread_write_above_every_read_is_not_lost_but_unseen():
    h = History()
    three_writes(h)
    final(h, {K: [(0, 10), (1, 11)]})  # offset 2 never read: unseen, not lost
    a = anomalies(h)
    assert "lost-write" not in a and a["unseen"] == 1


def test_failed_or_indeterminate_send_in_a_gap_is_not_lost():
    h = History()
    h.send(0, K, 10, 0)
    h.send(0, K, 11, type_="fail")
    h.send(0, K, 12, type_="info")
    h.send(0, K, 13, 3)
    final(h, {K: [(0, 10), (3, 13)]})
    r = check(h.meta, h.ops)
    assert r["anomalies"] == {} and r["valid"] is True


def test_g1a_read_of_failed_send():
    h = History()
    h.send(0, K, 10, 0)
    w = h.send(0, K, 11, type_="fail")
    final(h, {K: [(0, 10), (1, 11)]})
    r = check(h.meta, h.ops)
    assert r["anomalies"]["G1a"] == 1
    assert r["examples"]["G1a"][0]["writer"] == w["index"]
    assert "G1a" in r["failures"]


def test_read_of_indeterminate_send_is_fine():
    h = History()
    h.send(0, K, 10, 0)
    h.send(0, K, 11, type_="info")
    final(h, {K: [(0, 10), (1, 11)]})
    assert check(h.meta, h.ops)["valid"] is True


def test_inconsistent_offsets():
    h = History()
    h.send(0, K, 10, 0)
    h.send(1, K, 11, 0)  # two acks for one offset
    final(h, {K: [(0, 10)]})
    r = check(h.meta, h.ops)
    assert r["anomalies"]["inconsistent-offsets"] == 1
    assert r["examples"]["inconsistent-offsets"][0]["values"] == [10, 11]
    h2 = History()
    h2.send(0, K, 10, 0)
    final(h2, {K: [(0, 10)]})  # ack and read agree
    assert "inconsistent-offsets" not in anomalies(h2)


def duplicated(resent):
    h = History()
    h.send(0, K, 10, 0, resent=resent)
    h.send(1, K, 11, 1)
    final(h, {K: [(0, 10), (1, 11), (2, 10)]})  # value 10 again at offset 2
    return check(h.meta, h.ops)


def test_duplicate_by_broker_is_a_failure():
    for resent in (None, False):
        r = duplicated(resent)
        assert r["anomalies"]["duplicate"] == 1 and "duplicate-client" not in r["anomalies"]
        assert r["examples"]["duplicate"][0]["offsets"] == [0, 2]
        assert r["valid"] is False


def test_duplicate_by_client_resend_is_reported_not_failed():
    r = duplicated(True)
    assert r["anomalies"] == {"duplicate-client": 1}
    assert r["valid"] is True
    assert "0 duplicates (1 by client resends)" in verdict_line(r)


def test_unseen_is_a_failure_only_with_final_reads():
    h = History()
    three_writes(h)
    h.poll(5, {K: [(0, 10), (1, 11)]})
    r = check(h.meta, h.ops)
    assert r["anomalies"]["unseen"] == 1 and r["examples"]["unseen"][0]["offset"] == 2
    assert r["valid"] == "unknown" and r["failures"] == []
    assert verdict_line(r).startswith("UNKNOWN")
    final(h, {K: [(0, 10), (1, 11)]})
    r = check(h.meta, h.ops)
    assert r["failures"] == ["unseen"] and r["valid"] is False
    h.ops[-1]["type"] = "info"  # a final read that did not complete does not count
    h.ops[-1]["value"] = [["poll"]]
    assert check(h.meta, h.ops)["valid"] == "unknown"


def test_too_short_is_unknown():
    h = History()
    h.send(0, K, 10, 0)
    r = check(h.meta, h.ops)
    assert r["valid"] == "unknown" and "too short" in r["why"]


def skip_history(between=None, mode="assign"):
    """Process 5 reads offsets 0..1, then (after ``between``) offset 3: offset 2 exists."""
    h = History()
    for n in range(4):
        h.send(0, K, 10 + n, n)
    if mode == "assign":
        h.assign(5, [K])
    else:
        h.subscribe(5, ["t"])
    h.poll(5, {K: [(0, 10), (1, 11)]})
    if between:
        between(h)
    h.poll(5, {K: [(3, 13)]})
    final(h, {K: [(n, 10 + n) for n in range(4)]})
    return check(h.meta, h.ops)


def test_poll_skip():
    r = skip_history()
    assert r["anomalies"] == {"poll-skip": 1}
    case = r["examples"]["poll-skip"][0]
    assert case["skipped"] == [12] and case["delta"] == 2 and case["offsets"] == [1, 3]
    assert r["valid"] is False


@pytest.mark.parametrize("reset", [
    lambda h: h.assign(5, [K]),
    lambda h: h.subscribe(5, ["t"]),
    lambda h: h.crash(5),
    lambda h: h.poll(5, {}, type_="info"),  # an indeterminate op retires the process (Jepsen)
])
def test_poll_order_restarts_after_assign_subscribe_crash_info(reset):
    assert skip_history(reset)["anomalies"] == {}


def test_failed_assign_or_poll_restarts_nothing():
    assert skip_history(lambda h: h.assign(5, [K], type_="fail"))["anomalies"] == {"poll-skip": 1}
    assert skip_history(lambda h: h.poll(5, {}, type_="fail"))["anomalies"] == {"poll-skip": 1}


def test_poll_skip_while_subscribed_is_informational():
    r = skip_history(mode="subscribe")
    assert r["anomalies"] == {"poll-skip-subscribed": 1} and r["valid"] is True


def test_nonmonotonic_poll():
    h = History()
    three_writes(h)
    h.assign(5, [K])
    h.poll(5, {K: [(0, 10), (1, 11), (2, 12)]})
    h.poll(5, {K: [(1, 11)]})
    h.poll(6, {K: [(0, 10)]})  # another process: its own order
    final(h, {K: [(0, 10), (1, 11), (2, 12)]})
    r = check(h.meta, h.ops)
    assert r["anomalies"] == {"nonmonotonic-poll": 1}
    assert r["examples"]["nonmonotonic-poll"][0]["delta"] == -1


def test_poll_of_other_key_does_not_break_order():
    h = History()
    three_writes(h)
    three_writes(h, K2, start=3)
    h.poll(5, {K: [(0, 10)]})
    h.poll(5, {K2: [(3, 13), (4, 14), (5, 15)]})
    h.poll(5, {K: [(1, 11), (2, 12)]})
    final(h, {K: [(0, 10), (1, 11), (2, 12)], K2: [(3, 13), (4, 14), (5, 15)]})
    assert check(h.meta, h.ops)["valid"] is True


def test_int_poll_skip_and_nonmonotonic():
    h = History()
    three_writes(h)
    h.poll(5, {K: [(0, 10), (2, 12)]})
    h.poll(6, {K: [(2, 12), (1, 11)]})
    h.poll(7, {K: [(1, 11), (1, 11)]})
    final(h, {K: [(0, 10), (1, 11), (2, 12)]})
    r = check(h.meta, h.ops)
    assert r["anomalies"] == {"int-poll-skip": 1, "int-nonmonotonic-poll": 2}
    assert r["examples"]["int-poll-skip"][0]["skipped"] == [11]
    assert [c["delta"] for c in r["examples"]["int-nonmonotonic-poll"]] == [-1, 0]


def test_gap_in_offsets_is_not_a_skip():
    h = History()
    h.send(0, K, 10, 0)
    h.send(0, K, 11, 5)  # offsets need not be dense
    final(h, {K: [(0, 10), (5, 11)]})
    assert check(h.meta, h.ops)["valid"] is True


def test_nonmonotonic_send():
    h = History()
    h.send(0, K, 10, 5)
    h.send(1, K, 11, 4)
    h.send(0, K, 12, 3)  # process 0 went back from offset 5 to 3
    h.send(0, K2, 13, 0)
    final(h, {K: [(3, 12), (4, 11), (5, 10)], K2: [(0, 13)]})
    r = check(h.meta, h.ops)
    assert r["anomalies"] == {"nonmonotonic-send": 1}
    assert r["examples"]["nonmonotonic-send"][0]["offsets"] == [5, 3]


def test_send_order_resets():
    def run(middle):
        h = History()
        h.send(0, K, 10, 5)
        middle(h)
        h.send(0, K, 12, 3)
        final(h, {K: [(3, 12), (5, 10)]})
        return anomalies(h)
    assert run(lambda h: None) == {"nonmonotonic-send": 1}
    assert run(lambda h: h.send(0, K2, 11, type_="info")) == {}  # info retires the process
    assert run(lambda h: h.crash(0)) == {}
    assert run(lambda h: h.send(0, K, 11, type_="fail")) == {"nonmonotonic-send": 1}
    # assign/subscribe keep the send order of the keys they name (Jepsen's rule)
    assert run(lambda h: h.assign(0, [K])) == {"nonmonotonic-send": 1}
    assert run(lambda h: h.assign(0, [K2])) == {}
    assert run(lambda h: h.subscribe(0, ["t"])) == {"nonmonotonic-send": 1}
    assert run(lambda h: h.subscribe(0, ["u"])) == {}


def test_int_send_skip_and_nonmonotonic():
    h = History()
    h.send(0, K, 10, 0, more=[(K, 11, 1), (K2, 20, 0)])  # contiguous: fine
    h.send(1, K, 12, 2)
    h.send(0, K, 13, 3, more=[(K, 14, 5)])  # skips offset 4
    h.send(1, K, 15, 4)
    h.send(2, K, 16, 7, more=[(K, 17, 6)])  # goes backwards
    final(h, {K: [(n, v) for n, v in enumerate([10, 11, 12, 13, 15, 14, 17, 16])], K2: [(0, 20)]})
    r = check(h.meta, h.ops)
    assert r["anomalies"] == {"int-send-skip": 1, "int-nonmonotonic-send": 1}
    assert r["examples"]["int-send-skip"][0]["skipped"] == [15]


def test_client_duplicate_does_not_reappear_as_ordering_anomaly():
    h = History()
    h.assign(5, [K])
    h.send(0, K, 10, 0, resent=True)
    h.send(0, K, 11, 1)
    h.poll(5, {K: [(0, 10), (1, 11), (2, 10)]})
    h.send(0, K, 12, 3)
    h.poll(5, {K: [(3, 12)]})
    final(h, {K: [(0, 10), (1, 11), (2, 10), (3, 12)]})
    assert anomalies(h) == {"duplicate-client": 1}


def test_unknown_value():
    h = History()
    h.send(0, K, 10, 0)
    final(h, {K: [(0, 10), (1, 99)]})
    r = check(h.meta, h.ops)
    assert r["anomalies"] == {"unknown-value": 1} and r["valid"] is False


def test_unfinished_send_is_indeterminate():
    h = History()
    h.send(0, K, 10, 0)
    h._op(0, "invoke", "send", [["send", K, 11]])  # the run was killed before it completed
    final(h, {K: [(0, 10), (1, 11)]})
    assert check(h.meta, h.ops)["valid"] is True


def test_torn_last_line_and_command_line(tmp_path, capsys):
    h = History()
    three_writes(h)
    final(h, {K: [(0, 10), (1, 11), (2, 12)]})
    path = h.write(tmp_path / "history.jsonl", torn='{"index": 99, "time": 1.0, "proc')
    meta, ops = read_history(path)
    assert meta["seed"] == 1 and len(ops) == len(h.ops)
    assert main([str(path)]) == 0
    assert capsys.readouterr().out.startswith("VALID: 3 sends")
    assert main([str(path), "--json"]) == 0
    out = capsys.readouterr().out
    assert json.loads(out.split("\n", 1)[1])["valid"] is True
    bad = History()
    three_writes(bad)
    final(bad, {K: [(0, 10), (2, 12)]})
    assert main([str(bad.write(tmp_path / "bad.jsonl"))]) == 1
    assert main([str(tmp_path / "missing.jsonl")]) == 2
    short = History()
    short.send(0, K, 10, 0)
    p = subprocess.run([sys.executable, "-m", "jepsen.checker", str(short.write(tmp_path / "s.jsonl"))],
                       capture_output=True, text=True, cwd=ROOT)
    assert p.returncode == 2 and p.stdout.startswith("UNKNOWN")


def runner_shaped(truncate_after=None):
    """A history shaped as the runner writes it: batches of 1-3 values per send, a consumer that
    crashes and assigns again from offset 0, partial-error polls, and a final read per partition
    (a new process each) with empty and failed polls. ``truncate_after``: the final read of t/0
    stops there (acked values lost at the tail, and one below a read offset)."""
    h = History()
    keys = ["t/0", "t/1"]
    logs = {k: [] for k in keys}
    v = 1
    for n in range(30):
        k = keys[n % 2]
        vals = list(range(v, v + 1 + n % 3))
        v += len(vals)
        base = len(logs[k])
        h.send(n % 3, k, vals[0], base, more=[(k, x, base + i + 1) for i, x in enumerate(vals[1:])], resent=False)
        logs[k].extend((base + i, x) for i, x in enumerate(vals))
        if n % 10 == 9:
            h.assign(7, keys)
            h.poll(7, {k2: logs[k2][:4] for k2 in keys})
            h.poll(7, {"t/0": logs["t/0"][4:6]}).update(error="1: NOT_LEADER_OR_FOLLOWER")
            h.crash(7)
    h.send(0, "t/1", v, type_="info", resent=False)
    for pid, k in ((50, "t/0"), (51, "t/1")):
        h.assign(pid, [k])
        h.poll(pid, {}, type_="info", final=True)
        recs = logs[k]
        if k == "t/0" and truncate_after is not None:
            recs = recs[:truncate_after] + recs[truncate_after + 1:truncate_after + 2]
        for i in range(0, len(recs), 7):
            h.poll(pid, {k: recs[i:i + 7]}, final=True)
        h.poll(pid, {}, final=True)
    return h


def test_runner_shaped_history():
    h = runner_shaped()
    r = check(h.meta, h.ops)
    assert r["valid"] is True and r["anomalies"] == {}, r["anomalies"]
    assert r["errors"][0]["error"] == "1: NOT_LEADER_OR_FOLLOWER"
    bad = runner_shaped(truncate_after=20)
    r = check(bad.meta, bad.ops)
    assert r["failures"] == ["lost-write", "unseen", "int-poll-skip"], r["anomalies"]
    assert r["anomalies"]["lost-write"] == 1 and r["examples"]["lost-write"][0]["offset"] == 20
