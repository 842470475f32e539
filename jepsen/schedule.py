"""The seeded fault schedule: quiet periods and fault periods alternate until the time limit; each
fault period runs one fault, or (sometimes) two compatible ones at once, picked with
``random.Random(seed)`` from the families the user chose. The same seed and flags give the same
schedule (which brokers are hit still depends on who leads when a fault starts).
"""

import random

from jepsen.nemesis import FAMILIES

ALL = ("partition", "kill", "pause", "rolling", "zk", "disk")
COMBINATION_P = 0.3


def parse_nemeses(text):
    """``partition,kill`` or ``all`` -> the family list; ValueError naming an unknown one."""
    names = [n.strip() for n in text.split(",") if n.strip()]
    if names == ["all"]:
        return list(ALL)
    bad = [n for n in names if n not in FAMILIES]
    if bad or not names:
        raise ValueError("unknown nemesis %s (choose from %s, or all)" % (",".join(bad) or "''", ",".join(ALL)))
    return list(dict.fromkeys(names))


def fault_names(families, zk_nodes):
    """Every fault name the families allow with this many ZooKeeper nodes."""
    out = []
    for fam in families:
        for name in FAMILIES[fam]:
            if name == "zk-kill-one" and zk_nodes < 3:
                continue
            out.append(name)
    return out


def compatible(a, b):
    """True if faults ``a`` and ``b`` may run in the same period: not the same family, neither a
    rolling restart, at most one network partition, at most one ZooKeeper fault."""
    fam = {n: f for f, ns in FAMILIES.items() for n in ns}
    if "rolling" in (a, b):
        return False
    return fam[a] != fam[b]


class Period:
    """One step of the schedule: ``quiet`` seconds without fault, then ``faults`` for
    ``duration`` seconds (a rolling restart takes as long as it takes)."""

    def __init__(self, quiet, faults, duration):
        self.quiet = quiet
        self.faults = faults
        self.duration = duration

    def as_dict(self):
        """For result.json and the log."""
        return {"quiet_s": round(self.quiet, 1), "faults": self.faults, "duration_s": round(self.duration, 1)}


def build(seed, families, time_limit, zk_nodes, session_timeout_s, quiet=(5.0, 15.0), fault=(5.0, 15.0)):
    """The periods filling ``time_limit`` seconds (the last one may end a little after it)."""
    rng = random.Random(seed)
    names = fault_names(families, zk_nodes)
    periods = []
    t = 0.0
    while names and t < time_limit:
        q = rng.uniform(*quiet)
        first = rng.choice(names)
        chosen = [first]
        if rng.random() < COMBINATION_P:
            others = [n for n in names if compatible(first, n)]
            if others:
                chosen.append(rng.choice(others))
        d = rng.uniform(*fault)
        if "pause" in chosen:
            d = max(d, session_timeout_s + 4.0)  # past the session timeout, so the broker's session expires
        if "rolling" in chosen:
            d = 0.0
        periods.append(Period(q, chosen, d))
        t += q + (d if d else 30.0)  # a rolling restart of 3 brokers takes about 30 s here
    return periods
