"""The cluster under test as the nemeses and the runner see it: servers, who is down on purpose,
lookups in ZooKeeper (leaders, the controller, ISRs), and the two watchers that run all along:
the controller sampler and the broker-exit monitor.

A server a nemesis stops (kill -9, SIGTERM, quorum loss) is put in ``expected_down`` before the
signal and taken out once it runs again, so the monitor can tell such exits from crashes. A broker
whose log dir a nemesis filled is in ``disk_full``: its exit is recorded as one Kafka also makes
(Kafka halts a broker whose log dirs have all failed), unless it died of a signal or a panic.
"""

import signal
import threading
import time

from jepsen.cluster import BROKER_PORT, ClusterError, ZkView, port_open, tail, wait_for

RUST_PANIC_EXIT = 101


class World:
    """Servers, network, history and the runner's settings, shared by nemeses and watchers."""

    def __init__(self, net, zk_nodes, brokers, history, topic, partitions, min_isr, session_timeout_s, log):
        self.net = net
        self.zk_nodes = zk_nodes  # [ZkNode]
        self.brokers = brokers  # {id: Broker}
        self.history = history
        self.topic = topic
        self.partitions = list(partitions)
        self.min_isr = min_isr
        self.session_timeout_s = session_timeout_s
        self.log = log
        self.lock = threading.Lock()
        self.expected_down = set()  # server names ("b2", "zk1")
        self.disk_full = set()  # broker ids
        self.findings = []  # {"kind", "time", "text", ...}: what makes the run invalid besides the checker
        self.notes = []  # exits Kafka also makes, and other facts for the report
        self._local = threading.local()
        self.monitor = None  # the ExitMonitor, once started

    @property
    def view(self):
        """This thread's ZooKeeper reader (sessions are not shared between threads)."""
        v = getattr(self._local, "view", None)
        if v is None:
            v = self._local.view = ZkView(self.net.zk_hosts)
        return v

    # -- lookups --------------------------------------------------------------------------
    def finding(self, kind, text, **extra):
        """Record a runner finding (exit code 1) and log it."""
        f = dict(kind=kind, time=round(self.history.now(), 3), text=text, **extra)
        with self.lock:
            self.findings.append(f)
        self.log("FINDING: %s" % text)

    def note(self, text, **extra):
        """Record a fact for the report that is not a finding."""
        with self.lock:
            self.notes.append(dict(time=round(self.history.now(), 3), text=text, **extra))
        self.log("note: %s" % text)

    def leader_of(self, partition):
        """The leader of a test-topic partition in ZooKeeper (-1: none)."""
        st = self.view.get_json("/brokers/topics/%s/partitions/%d/state" % (self.topic, partition))
        return st["leader"]

    def replicas(self):
        """{partition: [replicas]} of the test topic."""
        return self.view.assignment(self.topic)

    def controller(self):
        """The controller's broker id, or None."""
        return self.view.controller()[0]

    # -- servers --------------------------------------------------------------------------
    def down_on_purpose(self, server):
        """Mark a server as stopped by a nemesis (before signalling it)."""
        with self.lock:
            self.expected_down.add(server.host.name)

    def up_again(self, server):
        """Unmark a server (after it was started again)."""
        with self.lock:
            self.expected_down.discard(server.host.name)

    def registered(self, broker):
        """True if /brokers/ids/N exists."""
        return self.view.exists("/brokers/ids/%d" % broker.id) is not None

    def start_broker(self, broker, timeout=90):
        """Start a broker that is down and wait until it listens and is registered. Returns True,
        or False after recording a finding if it did not come up."""
        try:
            wait_for(lambda: not self.registered(broker), 3 * self.session_timeout_s + 10,
                     "the old registration of broker %d to expire" % broker.id, interval=0.3)
        except ClusterError as e:
            self.finding("stale-registration", str(e), broker=broker.id)
        broker.start()
        try:
            wait_for(lambda: self._broker_ready(broker), timeout, "broker %d to register" % broker.id, interval=0.3)
        except ClusterError as e:
            self.finding("restart-failed", "broker %d did not come back: %s\n%s" % (broker.id, e, tail(broker.out, 15)),
                         broker=broker.id)
            return False
        finally:
            self.up_again(broker)
        return True

    def _broker_ready(self, broker):
        if not broker.alive():
            raise ClusterError("broker %d exited with %s" % (broker.id, broker.returncode()))
        return port_open(broker.host.ip, BROKER_PORT) and self.registered(broker)

    def start_zk(self, node, timeout=90):
        """Start a ZooKeeper node that is down (readiness is checked by the caller)."""
        node.start()
        self.up_again(node)

    def revive(self):
        """Start again every server that is down although no active fault holds it down (it exited
        on its own, or its restart failed): ZooKeeper first, then brokers. Returns their names."""
        done = []
        for z in self.zk_nodes:
            if not z.alive() and z.host.name not in self.expected_down:
                if self.monitor is not None:
                    self.monitor.report_if_new(z)
                self.down_on_purpose(z)
                self.start_zk(z)
                done.append(z.host.name)
        if done:
            self.zk_serving()
        for b in self.brokers.values():
            if not b.alive() and b.host.name not in self.expected_down and b.id not in self.disk_full:
                if self.monitor is not None:
                    self.monitor.report_if_new(b)
                self.down_on_purpose(b)
                self.start_broker(b)
                done.append(b.host.name)
        return done

    def zk_serving(self, nodes=None, timeout=90):
        """Wait until the ZooKeeper ``nodes`` (default all) answer; True if they did."""
        nodes = self.zk_nodes if nodes is None else nodes
        try:
            wait_for(lambda: all(z.serving() for z in nodes), timeout,
                     "ZooKeeper %s to serve" % ", ".join(z.host.name for z in nodes), interval=0.5)
            return True
        except ClusterError as e:
            self.finding("zk-not-serving", str(e))
            return False

    def in_every_isr(self, broker_id, timeout=60):
        """Wait until ``broker_id`` is in the ISR of every partition (all topics) it replicates.
        Returns seconds waited, or None on timeout."""
        t0 = time.monotonic()

        def ok():
            for topic in self.view.children("/brokers/topics"):
                asg = self.view.assignment(topic)
                st = self.view.states(topic)
                for p, replicas in asg.items():
                    if broker_id in replicas and broker_id not in st.get(p, {}).get("isr", []):
                        return False
            return True
        try:
            wait_for(ok, timeout, "broker %d in every ISR" % broker_id, interval=0.5)
            return round(time.monotonic() - t0, 3)
        except ClusterError:
            return None

    def wait_full_isr(self, timeout=60):
        """Wait until every partition of every topic has a leader and its full replica list as ISR.
        Returns (seconds waited or None, the partitions still short)."""
        t0 = time.monotonic()
        short = ["?"]

        def ok():
            short[:] = self.view.not_full()
            return not short
        try:
            wait_for(ok, timeout, "full ISR everywhere", interval=0.5)
            return round(time.monotonic() - t0, 3), []
        except ClusterError:
            return None, list(short)

    # -- what can hold during a fault -----------------------------------------------------
    def impossible(self):
        """Sentences on what cannot hold in the current state: ZooKeeper without quorum, and
        partitions with fewer than min.insync.replicas replicas up on ZooKeeper's quorum side."""
        zk_up = [z for z in self.zk_nodes if z.alive() and not z.paused]
        need = len(self.zk_nodes) // 2 + 1
        groups = self._components([z.host.name for z in zk_up] +
                                  [b.host.name for b in self.brokers.values() if self._usable(b)])
        quorum = next((g for g in groups if sum(1 for z in zk_up if z.host.name in g) >= need), None)
        if quorum is None:
            return ["ZooKeeper has no quorum (%d of %d nodes up and connected): no controller can be elected and "
                    "no leader or ISR change can be written; partitions whose ISR must shrink stop taking acks=all "
                    "writes, and existing leaders keep serving" % (max((sum(1 for z in zk_up if z.host.name in g)
                                                                        for g in groups), default=0),
                                                                       len(self.zk_nodes))]
        out = []
        try:
            asg = self.replicas()
        except Exception:  # noqa: BLE001 - ZooKeeper busy: nothing can be said
            return out
        short, dead = [], []
        for p, replicas in sorted(asg.items()):
            able = [r for r in replicas if r in self.brokers and self.brokers[r].host.name in quorum
                    and self._usable(self.brokers[r])]
            if not able:
                dead.append("%s-%d" % (self.topic, p))
            elif len(able) < self.min_isr:
                short.append("%s-%d" % (self.topic, p))
        if dead:
            out.append("no replica of %s is up and on ZooKeeper's quorum side: these partitions can take no write "
                       "and elect no leader until healed (unclean election is off)" % ", ".join(dead))
        if short:
            out.append("fewer than min.insync.replicas=%d replicas of %s are up and on ZooKeeper's quorum side: "
                       "acks=all writes to them cannot be acknowledged" % (self.min_isr, ", ".join(short)))
        return out

    def _usable(self, b):
        return b.alive() and not b.paused and b.id not in self.disk_full

    def _components(self, names):
        left = set(names)
        groups = []
        while left:
            seed = left.pop()
            group, todo = {seed}, [seed]
            while todo:
                a = todo.pop()
                for b in list(left):
                    if self.net.connected(a, b):
                        left.discard(b)
                        group.add(b)
                        todo.append(b)
            groups.append(group)
        return groups


class ControllerSampler(threading.Thread):
    """Writes a nemesis ``controller`` op (``/controller`` and ``/controller_epoch``) every
    ``interval`` seconds; ``{"broker": null, "epoch": null}`` when ZooKeeper does not answer."""

    def __init__(self, world, interval=0.5):
        super().__init__(name="controller-sampler", daemon=True)
        self.world = world
        self.interval = interval
        self.stop = threading.Event()
        self.view = ZkView(world.net.zk_hosts, timeout=1.5)

    def run(self):
        while not self.stop.wait(self.interval):
            try:
                broker, epoch = self.view.controller()
            except Exception:  # noqa: BLE001 - no quorum, node down: an unanswered sample
                broker, epoch = None, None
            self.world.history.append("nemesis", "info", "controller", {"broker": broker, "epoch": epoch})
        self.view.close()


class ExitMonitor(threading.Thread):
    """Notices servers that exit although no nemesis stopped them. A broker exit is a finding,
    except under a full log dir with a clean exit status (a note instead). It only reports: the
    nemesis thread starts such servers again when the current fault period ends
    (:meth:`World.revive`), so no two threads ever start the same server."""

    def __init__(self, world, interval=0.5):
        super().__init__(name="exit-monitor", daemon=True)
        self.world = world
        self.interval = interval
        self.stop = threading.Event()
        self.reported = set()  # (name, start number)
        self._lock = threading.Lock()
        world.monitor = self

    def run(self):
        w = self.world
        while not self.stop.wait(self.interval):
            for s in list(w.zk_nodes) + list(w.brokers.values()):
                self.report_if_new(s)

    def report_if_new(self, s):
        """Judge the exit of server ``s`` if it exited, was not stopped on purpose and was not
        judged yet (the monitor's loop, and a nemesis about to restart it, both call this)."""
        w = self.world
        with self._lock:
            if s.proc is None or s.alive() or (s.host.name, s.starts) in self.reported:
                return
            with w.lock:
                if s.host.name in w.expected_down:
                    return
            self.reported.add((s.host.name, s.starts))
        self._exited(s)

    def _exited(self, s):
        w = self.world
        rc = s.returncode()
        how = ("killed by signal %s" % signal.Signals(-rc).name) if rc < 0 else ("exit status %d" % rc)
        last = tail(s.out, 12)
        broker_id = getattr(s, "id", None)
        disk = broker_id is not None and broker_id in w.disk_full
        value = {"server": s.host.name, "broker": broker_id, "returncode": rc, "how": how, "disk_full": disk}
        if disk and rc >= 0 and rc != RUST_PANIC_EXIT:
            why = ("broker %d exited (%s) while its only log dir was full: Kafka also shuts a broker down when all "
                   "its log dirs have failed; its replicas are offline until the disk fault ends" % (broker_id, how))
            w.history.append("nemesis", "info", "impossible", {"fault": "disk-full", "why": why})
            w.history.append("nemesis", "info", "broker-exit", dict(value, expected=True))
            w.note(why, log_tail=last)
            return
        w.history.append("nemesis", "info", "broker-exit", dict(value, expected=False))
        w.finding("server-exit", "%s exited unexpectedly (%s)%s; last lines of %s:\n%s" % (
            s.host.name, how, " under a full log dir" if disk else "", s.out, last), server=s.host.name,
            returncode=rc)
