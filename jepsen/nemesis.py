"""The faults. Each fault has a history name (the ``fault`` of its nemesis ``start``/``stop`` ops,
so the report's figures are per fault type), picks its targets by role when it starts (the *current*
leader of a random partition of the test topic and the *current* controller, read from ZooKeeper),
and undoes itself in ``stop``.

=========================  =====================================================================
``kill``                   kill -9 a broker (the leader of a random partition, the controller or
                           any broker); stop: start it again once its registration expired
``pause``                  SIGSTOP a broker for longer than the ZooKeeper session timeout; stop:
                           SIGCONT
``rolling``                SIGTERM each broker in turn, wait for its exit, start it, wait until it
                           is back in every ISR (runs to its end; no other fault with it)
``partition-leader``       the leader of a partition cut from the other brokers, not ZooKeeper
``partition-leader-zk``    the leader cut from the other brokers and ZooKeeper (clients still
                           reach it)
``partition-controller-zk`` the controller cut from ZooKeeper only
``partition-halves``       a minority (brokers and, with 3 nodes, one ZooKeeper node) cut from
                           the majority
``partition-bridge``       two brokers cut from each other, both still seeing the rest
``zk-kill-one``            kill -9 one ZooKeeper node (the ensemble's leader half of the time);
                           stop: start it again
``zk-quorum-loss``         kill -9 a majority of the ZooKeeper nodes; stop: start them again
``disk-full``              fill the tmpfs holding a broker's log dir (fallocate); stop: delete the
                           file, start the broker again if it exited
=========================  =====================================================================
"""

import os
import signal
import socket

from jepsen.cluster import ZK_PORT
from jepsen.netns import NetError, sh

FAMILIES = {
    "kill": ["kill"],
    "pause": ["pause"],
    "rolling": ["rolling"],
    "partition": ["partition-leader", "partition-leader-zk", "partition-controller-zk", "partition-halves",
                  "partition-bridge"],
    "zk": ["zk-kill-one", "zk-quorum-loss"],
    "disk": ["disk-full"],
}
FILL_FILE = "kj-disk-fill"


class NemesisError(Exception):
    """A fault could not be applied (e.g. no target left); the period is skipped."""


class Fault:
    """One fault instance in one period. ``brokers`` are the broker ids it acts on (kept disjoint
    between faults of one period)."""

    name = "?"
    exclusive = False  # runs alone

    def __init__(self, world, rng, busy):
        self.w = world
        self.rng = rng
        self.busy = set(busy)
        self.brokers = set()

    def start(self):
        """Apply the fault; returns the ``start`` op value (``targets`` and ``detail``)."""
        raise NotImplementedError

    def stop(self):
        """Undo it; returns a detail string for the ``stop`` op."""
        raise NotImplementedError

    # -- targets --------------------------------------------------------------------------
    def free_brokers(self):
        """Broker ids not used by another fault of this period, running and not paused."""
        return sorted(b for b, s in self.w.brokers.items() if b not in self.busy and s.alive() and not s.paused)

    def pick_broker(self, roles=("leader", "controller", "any")):
        """(broker id, why) by a random role; falls back to any free broker."""
        free = self.free_brokers()
        if not free:
            raise NemesisError("no broker left to target")
        role = self.rng.choice(roles)
        try:
            if role == "leader":
                p = self.rng.choice(self.w.partitions)
                b = self.w.leader_of(p)
                if b in free:
                    return b, "leader of %s-%d" % (self.w.topic, p)
            elif role == "controller":
                b = self.w.controller()
                if b in free:
                    return b, "controller"
        except Exception:  # noqa: BLE001 - ZooKeeper unavailable: any broker will do
            pass
        return self.rng.choice(free), "random broker"


class Kill(Fault):
    """kill -9 a broker; started again at stop."""

    name = "kill"

    def start(self):
        b, why = self.pick_broker()
        self.brokers = {b}
        s = self.w.brokers[b]
        self.w.down_on_purpose(s)
        s.signal(signal.SIGKILL)
        s.wait_exit(30)
        return {"targets": [b], "detail": "kill -9 broker %d (%s)" % (b, why)}

    def stop(self):
        (b,) = self.brokers
        ok = self.w.start_broker(self.w.brokers[b])
        return "broker %d started again" % b if ok else "broker %d did not start again" % b


class Pause(Fault):
    """SIGSTOP a broker (the schedule makes the period longer than the session timeout)."""

    name = "pause"

    def start(self):
        b, why = self.pick_broker()
        self.brokers = {b}
        self.w.brokers[b].signal(signal.SIGSTOP)
        return {"targets": [b], "detail": "SIGSTOP broker %d (%s), beyond the %.0f s session timeout" % (
            b, why, self.w.session_timeout_s)}

    def stop(self):
        (b,) = self.brokers
        self.w.brokers[b].signal(signal.SIGCONT)
        return "SIGCONT broker %d" % b


class Rolling(Fault):
    """A rolling restart with SIGTERM (controlled shutdown), one broker at a time."""

    name = "rolling"
    exclusive = True

    def start(self):
        self.brokers = set(self.w.brokers)
        return {"targets": sorted(self.brokers), "detail": "rolling SIGTERM restart of brokers %s" % sorted(self.brokers)}

    def run(self):
        """The restart itself (between the start and stop ops); returns what happened."""
        steps = []
        for b in sorted(self.w.brokers):
            s = self.w.brokers[b]
            self.w.down_on_purpose(s)
            s.signal(signal.SIGTERM)
            if not s.wait_exit(60):
                self.w.finding("sigterm-ignored", "broker %d did not exit within 60 s of SIGTERM; killed" % b, broker=b)
                s.kill()
            if not self.w.start_broker(s):
                steps.append("%d: did not restart" % b)
                continue
            back = self.w.in_every_isr(b, 60)
            if back is None:
                self.w.finding("isr-not-rejoined", "broker %d not back in every ISR 60 s after its restart" % b,
                               broker=b)
            steps.append("%d: back in every ISR after %s s" % (b, back))
        return "; ".join(steps)

    def stop(self):
        return "rolling restart done"


class Partition(Fault):
    """Network partitions by shape (see the module docstring)."""

    def __init__(self, world, rng, busy, shape):
        super().__init__(world, rng, busy)
        self.name = shape
        self.made = []

    def start(self):
        net = self.w.net
        zk = [h.name for h in net.zk_hosts]
        bname = {b: s.host.name for b, s in self.w.brokers.items()}
        if self.name in ("partition-leader", "partition-leader-zk"):
            b, why = self.pick_broker(("leader",))
            self.brokers = {b}
            others = [n for i, n in bname.items() if i != b]
            self.made = net.cut_groups([bname[b]], others + (zk if self.name == "partition-leader-zk" else []))
            what = "broker %d (%s) cut from the other brokers%s" % (
                b, why, " and ZooKeeper; clients still reach it" if self.name == "partition-leader-zk" else ", not ZooKeeper")
        elif self.name == "partition-controller-zk":
            b, why = self.pick_broker(("controller",))
            self.brokers = {b}
            self.made = net.cut_groups([bname[b]], zk)
            what = "broker %d (%s) cut from ZooKeeper only" % (b, why)
        elif self.name == "partition-halves":
            ids = self.free_brokers()
            if len(ids) < 2:
                raise NemesisError("halves need two free brokers")
            minority = self.rng.sample(ids, max(1, (len(self.w.brokers) - 1) // 2))
            self.brokers = set(minority)
            zk_min = self.rng.sample(zk, (len(zk) - 1) // 2) if len(zk) > 1 else []
            left = [bname[b] for b in minority] + zk_min
            right = [bname[b] for b in bname if b not in minority] + [z for z in zk if z not in zk_min]
            self.made = net.cut_groups(left, right)
            what = "minority %s cut from majority %s" % (sorted(left), sorted(right))
        elif self.name == "partition-bridge":
            ids = self.free_brokers()
            if len(ids) < 3:
                raise NemesisError("a bridge needs three free brokers")
            a, why = self.pick_broker(("leader", "any"))
            b = self.rng.choice([i for i in ids if i != a])
            self.brokers = {a, b}
            self.made = net.cut_groups([bname[a]], [bname[b]])
            bridge = [i for i in ids if i not in (a, b)]
            what = "brokers %d (%s) and %d cut from each other; both still see %s and ZooKeeper" % (a, why, b, bridge)
        else:
            raise NemesisError("unknown partition shape %s" % self.name)
        return {"targets": sorted(self.brokers), "detail": what}

    def stop(self):
        for key in self.made:
            self.w.net.uncut(key)
        return "healed %d cuts" % len(self.made)


def zk_mode(node):
    """"leader", "follower", "standalone" or None, from ZooKeeper's ``srvr`` command."""
    try:
        with socket.create_connection((node.host.ip, ZK_PORT), timeout=2) as s:
            s.sendall(b"srvr")
            data = b""
            while True:
                chunk = s.recv(4096)
                if not chunk:
                    break
                data += chunk
    except OSError:
        return None
    for line in data.decode(errors="replace").splitlines():
        if line.startswith("Mode:"):
            return line.split(":", 1)[1].strip()
    return None


class ZkKill(Fault):
    """kill -9 one ZooKeeper node, or a majority of them (quorum loss)."""

    def __init__(self, world, rng, busy, name):
        super().__init__(world, rng, busy)
        self.name = name
        self.killed = []

    def start(self):
        nodes = [z for z in self.w.zk_nodes if z.alive()]
        if self.name == "zk-kill-one":
            if len(self.w.zk_nodes) < 3:
                raise NemesisError("zk-kill-one needs a 3-node ensemble")
            leaders = [z for z in nodes if zk_mode(z) == "leader"]
            pick = leaders[0] if leaders and self.rng.random() < 0.5 else self.rng.choice(nodes)
            self.killed = [pick]
        else:
            self.killed = self.rng.sample(nodes, len(self.w.zk_nodes) // 2 + 1)
        for z in self.killed:
            self.w.down_on_purpose(z)
            z.kill()
        names = sorted(z.host.name for z in self.killed)
        return {"targets": names, "detail": "kill -9 ZooKeeper %s%s" % (
            ", ".join(names), " (quorum lost)" if self.name == "zk-quorum-loss" else "")}

    def stop(self):
        for z in self.killed:
            self.w.start_zk(z)
        # A node a partition keeps from a majority of the ensemble cannot serve until that heals.
        names = [h.name for h in self.w.net.zk_hosts]
        reach = [z for z in self.killed
                 if sum(1 for n in names if self.w.net.connected(z.host.name, n)) > len(names) // 2]
        ok = self.w.zk_serving(reach)
        return "ZooKeeper %s started again%s" % (", ".join(z.host.name for z in self.killed),
                                                 "" if ok else " but not every node serves")


class DiskFull(Fault):
    """Fill the tmpfs of a broker's log dir; stop frees it (and starts the broker if it exited)."""

    name = "disk-full"

    def start(self):
        b, why = self.pick_broker(("leader", "any"))
        s = self.w.brokers[b]
        if not s.tmpfs:
            raise NemesisError("broker %d's log dir is not on its own tmpfs" % b)
        self.brokers = {b}
        st = os.statvfs(s.tmpfs)
        free = st.f_bavail * st.f_frsize
        with self.w.lock:
            self.w.disk_full.add(b)
        try:
            sh("fallocate", "-l", str(free), os.path.join(s.tmpfs, FILL_FILE))
        except NetError as e:
            raise NemesisError(str(e)) from None
        st = os.statvfs(s.tmpfs)
        return {"targets": [b], "detail": "filled broker %d's log dir tmpfs (%s; %d MB taken, %d bytes left)" % (
            b, why, free // (1 << 20), st.f_bavail * st.f_frsize)}

    def stop(self):
        (b,) = self.brokers
        s = self.w.brokers[b]
        if not s.alive() and self.w.monitor is not None:
            self.w.monitor.report_if_new(s)  # its exit is judged while the disk is still full
        if not s.alive():
            self.w.down_on_purpose(s)
        try:
            os.unlink(os.path.join(s.tmpfs, FILL_FILE))
        except OSError:
            pass
        with self.w.lock:
            self.w.disk_full.discard(b)
        if s.alive():
            return "freed broker %d's log dir; it kept running" % b
        ok = self.w.start_broker(s)
        return "freed broker %d's log dir; it had exited (%s) and was started again%s" % (
            b, s.returncode(), "" if ok else " but did not come up")


def make(name, world, rng, busy):
    """A Fault instance for a fault name."""
    if name == "kill":
        return Kill(world, rng, busy)
    if name == "pause":
        return Pause(world, rng, busy)
    if name == "rolling":
        return Rolling(world, rng, busy)
    if name.startswith("partition-"):
        return Partition(world, rng, busy, name)
    if name.startswith("zk-"):
        return ZkKill(world, rng, busy, name)
    if name == "disk-full":
        return DiskFull(world, rng, busy)
    raise ValueError("unknown fault %s" % name)
