"""Figure tests: a simple fault window (produce gap, worst key, ISR recovery, impossible notes),
window pairing, aggregates per fault, and the controller check (split, epoch decrease, torn reads)."""

from jepsen.checker import check
from jepsen.anomalies import HistoryIndex
from jepsen.figures import controller_check, fault_windows, largest_gap, per_fault, unseen_over_time, window_figures
from jepsen.tests.synth import History

K, K2 = "t/0", "t/1"


def window_history():
    """Acks at 1.0 (K), 1.1 (K2), a kill from 2.0 to 3.0, acks at 3.5 (K2) and 5.0 (K)."""
    h = History()
    h.at(0.98).send(0, K, 1, 0)
    h.at(1.08).send(0, K2, 2, 0)
    h.at(2.0).nemesis("start", fault="kill", targets=[2], detail="kill -9 broker 2")
    h.at(2.5).nemesis("impossible", fault="kill", why="every replica of t/9 was on broker 2")
    h.at(2.6).send(1, K, 3, type_="info")
    h.at(3.0).nemesis("stop", fault="kill", targets=[2])
    h.at(3.48).send(0, K2, 4, 1)
    h.at(4.2).nemesis("healed", fault="kill", full_isr_after_s=1.2)
    h.at(4.98).send(0, K, 5, 1)
    return h


def test_simple_window():
    h = window_history()
    (w,) = window_figures(h.ops)
    assert (w["fault"], w["targets"], w["detail"]) == ("kill", [2], "kill -9 broker 2")
    assert w["start"] == 2.01 and w["stop"] == 3.01 and w["duration"] == 1.0 and not w["open"]
    u = w["unavailability"]
    assert (u["from"], u["to"], u["unbounded"]) == (1.1, 3.5, False)
    assert abs(u["gap_s"] - 2.4) < 1e-9
    k = w["worst_key_unavailability"]
    assert k["key"] == K and (k["from"], k["to"]) == (1.0, 5.0)
    assert w["full_isr_after_s"] == 1.2 and w["healed"]
    assert w["sends"] == {"ok": 0, "info": 1, "fail": 0}
    assert [i["why"] for i in w["impossible"]] == ["every replica of t/9 was on broker 2"]
    agg = per_fault([w])["kill"]
    assert agg["count"] == 1 and agg["max_full_isr_after_s"] == 1.2 and agg["impossible"] == 1
    assert abs(agg["median_unavailability_s"] - 2.4) < 1e-9


def test_largest_gap_inside_window_and_unbounded():
    times = [0.0, 1.0, 1.5, 4.0, 4.1]
    assert largest_gap(times, 1.2, 3.0, 10.0) == {"gap_s": 2.5, "from": 1.5, "to": 4.0, "unbounded": False}
    assert largest_gap(times, 4.5, 5.0, 9.0) == {"gap_s": 4.9, "from": 4.1, "to": 9.0, "unbounded": True}
    assert largest_gap([], 1.0, 2.0, 3.0)["gap_s"] == 2.0


def test_windows_pair_by_fault_and_stay_open():
    h = History()
    h.at(1).nemesis("start", fault="partition", targets=[1])
    h.at(2).nemesis("start", fault="kill", targets=[3])
    h.at(3).nemesis("stop", fault="partition")
    h.at(4).nemesis("healed", fault="partition", full_isr_after_s=None)
    h.at(5).nemesis("start", fault="partition", targets=[2])
    h.at(6).nemesis("stop", fault="partition")
    ws = fault_windows(h.ops)
    assert [(w["fault"], w["start"], w["stop"]) for w in ws] == [
        ("partition", 1.01, 3.01), ("kill", 2.01, None), ("partition", 5.01, 6.01)]
    assert ws[0]["healed"] and ws[0]["full_isr_after_s"] is None
    assert not ws[2]["healed"] and ws[1]["open"]
    agg = per_fault(window_figures(h.ops))
    assert agg["partition"]["count"] == 2
    assert agg["partition"]["not_healed"] == 1 and agg["partition"]["not_reported"] == 1
    assert agg["kill"]["count"] == 1


def controller(samples):
    h = History()
    for b, e in samples:
        h.nemesis("controller", broker=b, epoch=e)
    return h


def test_controller_clean_with_changes_and_unanswered():
    c = controller_check(controller([(1, 5), (1, 5), (None, None), (2, 6), (2, 6), (3, 7)]).ops)
    assert c["cases"] == [] and c["unanswered"] == 1 and c["samples"] == 6
    assert [(e["epoch"], e["broker"], e["samples"]) for e in c["epochs"]] == [(5, 1, 2), (6, 2, 2), (7, 3, 1)]


def test_controller_split_two_brokers_one_epoch():
    h = controller([(1, 5), (1, 5), (2, 5), (2, 5), (2, 6)])
    c = controller_check(h.ops)
    assert [x["kind"] for x in c["cases"]] == ["two-brokers-one-epoch"]
    assert c["cases"][0]["brokers"] == [1, 2]
    h.send(0, K, 1, 0)
    h.poll(9, {K: [(0, 1)]}, final=True)
    r = check(h.meta, h.ops)
    assert r["anomalies"] == {"controller-split": 1} and r["valid"] is False


def test_controller_epoch_decrease():
    c = controller_check(controller([(1, 5), (2, 6), (3, 4)]).ops)
    assert [x["kind"] for x in c["cases"]] == ["epoch-decreased"]
    assert (c["cases"][0]["epoch"], c["cases"][0]["after_epoch"]) == (4, 6)


def test_controller_torn_read_at_a_change_is_ignored():
    # (1, 6): /controller read before the change, /controller_epoch after it
    c = controller_check(controller([(1, 5), (1, 5), (1, 6), (2, 6), (2, 6), (3, 6), (3, 7)]).ops)
    assert c["torn_samples"] == 2 and c["cases"] == []
    # the same pattern without a neighbouring epoch change is a split
    c = controller_check(controller([(1, 6), (1, 6), (2, 6), (1, 6), (1, 6)]).ops)
    assert [x["kind"] for x in c["cases"]] == ["two-brokers-one-epoch"]


def test_unseen_over_time():
    h = History()
    h.at(0.98).send(0, K, 1, 0)  # acked at 1.0
    h.at(1.98).send(0, K, 2, 1)  # acked at 2.0
    h.at(2.98).poll(5, {K: [(0, 1)]})  # returned at 3.0
    h.at(4.0)
    u = unseen_over_time(HistoryIndex(h.ops), 4.0, buckets=8)
    assert u["width"] == 0.5
    # sampled at the end of each 0.5 s bucket: [0, 0.5), [0.5, 1.0), [1.0, 1.5) ...
    assert u["counts"] == [0, 0, 1, 1, 2, 2, 1, 1, 1]
    assert u["max"] == 2 and u["at_end"] == 1
