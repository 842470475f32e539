"""ZooKeeper and the brokers as processes inside the test hosts, and what the runner reads from
ZooKeeper (registrations, the controller, partition state).

ZooKeeper is started with ``scripts/zookeeper-server-start.sh`` (Debian's ZooKeeper on Java), one
node per host: standalone with one node, an ensemble (``server.N`` lines, ``myid``) with three.
Brokers are started with ``scripts/kafka-server-start.sh config/server.properties --override ...``
inside their host (``ip netns exec``), listening and advertised on the host's address, with a
multi-node ``zookeeper.connect`` and the ``/kafka`` chroot, as on a real multi-host cluster. The
runner owns every process (no ``-daemon``): ``ip netns exec`` and both scripts exec, so the pid of
the Popen is the server's own pid, which the nemeses signal.
"""

import json
import os
import signal
import socket
import subprocess
import sys
import time

from jepsen.netns import TMPFS_SOURCE_PREFIX, sh

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(REPO, "integration"))
import zkproto  # noqa: E402  (the integration suite's tiny ZooKeeper client)

CHROOT = "/kafka"
ZK_PORT = 2181
BROKER_PORT = 9092


class ClusterError(Exception):
    """A server could not be started or did not become ready (the run fails with exit code 2)."""


def wait_for(predicate, timeout, what, interval=0.2):
    """Poll ``predicate`` until it returns a truthy value (returned); ClusterError on timeout."""
    deadline = time.monotonic() + timeout
    last = None
    while True:
        try:
            v = predicate()
            if v:
                return v
        except ClusterError:
            raise
        except Exception as e:  # noqa: BLE001 - keep polling; the last error is reported
            last = e
        if time.monotonic() > deadline:
            raise ClusterError("timed out after %.0f s waiting for %s%s" % (
                timeout, what, " (last error: %r)" % last if last else ""))
        time.sleep(interval)


def port_open(host, port, timeout=1.0):
    """True if a TCP connection to host:port succeeds from the root namespace."""
    try:
        with socket.create_connection((host, port), timeout=timeout):
            return True
    except OSError:
        return False


def tail(path, n=30):
    """The last ``n`` lines of a file (for error messages)."""
    try:
        with open(path, "rb") as f:
            return "\n".join(f.read().decode(errors="replace").splitlines()[-n:])
    except OSError:
        return "<%s missing>" % path


class Server:
    """A process inside a host: start/signal/wait, output appended to ``<dir>/<name>.out``."""

    name = "server"

    def __init__(self, host, workdir):
        self.host = host
        self.dir = workdir
        os.makedirs(self.dir, exist_ok=True)
        self.out = os.path.join(self.dir, self.name + ".out")
        self.proc = None
        self.starts = 0
        self.paused = False

    def command(self):
        """The command run inside the host (after ``ip netns exec``)."""
        raise NotImplementedError

    def env(self):
        """Environment of the server process."""
        return dict(os.environ, LOG_DIR=self.dir)

    def start(self):
        """Start the process (does not wait until it is ready)."""
        self.starts += 1
        cmd = self.host.exec_prefix() + self.command()
        with open(self.out, "ab") as out:
            out.write(("\n===== jepsen runner: start #%d at %s: %s\n" % (
                self.starts, time.strftime("%H:%M:%S"), " ".join(cmd))).encode())
            out.flush()
            self.proc = subprocess.Popen(cmd, stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                                         cwd=REPO, start_new_session=True, env=self.env())
        self.paused = False

    @property
    def pid(self):
        """The server's pid (None if never started)."""
        return self.proc.pid if self.proc else None

    def alive(self):
        """True while the process has not exited."""
        return self.proc is not None and self.proc.poll() is None

    def returncode(self):
        """The exit status (negative: killed by that signal), None while alive or never started."""
        return None if self.proc is None else self.proc.poll()

    def signal(self, sig):
        """Send ``sig`` to the server (no-op if it is not running)."""
        if self.alive():
            try:
                os.kill(self.proc.pid, sig)
            except ProcessLookupError:
                pass
            if sig == signal.SIGSTOP:
                self.paused = True
            elif sig in (signal.SIGCONT, signal.SIGKILL):
                self.paused = False

    def wait_exit(self, timeout):
        """Wait until the process exits; True if it did within ``timeout``."""
        if self.proc is None:
            return True
        try:
            self.proc.wait(timeout)
            return True
        except subprocess.TimeoutExpired:
            return False

    def kill(self):
        """SIGCONT (if paused) then SIGKILL, and reap."""
        if self.alive():
            self.signal(signal.SIGCONT)
            self.signal(signal.SIGKILL)
            self.wait_exit(30)


class ZkNode(Server):
    """One ZooKeeper server; ``peers`` are all the ensemble's hosts (one: standalone)."""

    name = "zookeeper"

    def __init__(self, myid, host, workdir, peers, heap="-Xmx192M -Xms64M"):
        super().__init__(host, workdir)
        self.myid = myid
        self.heap = heap
        self.data = os.path.join(self.dir, "data")
        os.makedirs(self.data, exist_ok=True)
        self.cfg = os.path.join(self.dir, "zookeeper.properties")
        lines = ["dataDir=%s" % self.data, "clientPort=%d" % ZK_PORT, "clientPortAddress=%s" % host.ip,
                 "maxClientCnxns=0", "admin.enableServer=false", "tickTime=2000", "initLimit=10",
                 "syncLimit=5", "4lw.commands.whitelist=srvr,ruok,stat"]
        if len(peers) > 1:
            for n, peer in enumerate(peers, 1):
                lines.append("server.%d=%s:2888:3888" % (n, peer.ip))
            with open(os.path.join(self.data, "myid"), "w") as f:
                f.write("%d\n" % myid)
        with open(self.cfg, "w") as f:
            f.write("\n".join(lines) + "\n")

    def command(self):
        """scripts/zookeeper-server-start.sh with this node's properties."""
        return ["bash", os.path.join(REPO, "scripts", "zookeeper-server-start.sh"), self.cfg]

    def env(self):
        """Small heap: three JVMs share a 2-core test machine with the brokers."""
        return dict(super().env(), KAFKA_HEAP_OPTS=self.heap)

    def serving(self):
        """True if this node answers a ZooKeeper session (it is part of a quorum)."""
        with zkproto.ZkClient("%s:%d" % (self.host.ip, ZK_PORT), timeout=2.0) as z:
            return z.children("/") is not None


class Broker(Server):
    """One broker; ``overrides`` are the --override properties of every start."""

    name = "server"

    def __init__(self, broker_id, host, workdir, overrides):
        super().__init__(host, workdir)
        self.id = broker_id
        self.log_dir = os.path.join(self.dir, "data")
        os.makedirs(self.log_dir, exist_ok=True)
        self.overrides = dict(overrides)
        self.overrides.update({
            "broker.id": str(broker_id),
            "listeners": "PLAINTEXT://%s:%d" % (host.ip, BROKER_PORT),
            "advertised.listeners": "PLAINTEXT://%s:%d" % (host.ip, BROKER_PORT),
            "log.dirs": self.log_dir,
        })
        self.tmpfs = None  # mount point when the log dir is on its own tmpfs (disk nemesis)

    @property
    def address(self):
        """host:port clients use."""
        return "%s:%d" % (self.host.ip, BROKER_PORT)

    def command(self):
        """scripts/kafka-server-start.sh config/server.properties --override k=v ..."""
        cmd = ["bash", os.path.join(REPO, "scripts", "kafka-server-start.sh"),
               os.path.join(REPO, "config", "server.properties")]
        for k, v in self.overrides.items():
            cmd += ["--override", "%s=%s" % (k, v)]
        return cmd

    def mount_tmpfs(self, size_mb):
        """Put the log dir on its own tmpfs of ``size_mb`` MB (before the first start)."""
        sh("mount", "-t", "tmpfs", "-o", "size=%dm" % size_mb, "%s%s-logs" % (TMPFS_SOURCE_PREFIX, self.host.name),
           self.log_dir)
        self.tmpfs = self.log_dir

    def unmount_tmpfs(self, keep_copy_to=None):
        """Unmount the tmpfs (copying the log dir to ``keep_copy_to`` first if given)."""
        if not self.tmpfs:
            return
        if keep_copy_to:
            sh("cp", "-a", self.tmpfs, keep_copy_to, check=False, timeout=120)
        if sh("umount", self.tmpfs, check=False).returncode != 0:
            sh("umount", "-l", self.tmpfs, check=False)
        self.tmpfs = None


class ZkView:
    """Reads Kafka's znodes (under the chroot) from the root namespace, trying every ZooKeeper node
    in turn; one per thread (a session is not shared)."""

    def __init__(self, zk_hosts, chroot=CHROOT, timeout=2.0):
        self.addrs = ["%s:%d" % (h.ip, ZK_PORT) for h in zk_hosts]
        self.chroot = chroot
        self.timeout = timeout
        self._client = None
        self._next = 0

    def _conn(self):
        if self._client is not None:
            return self._client
        last = None
        for n in range(len(self.addrs)):
            addr = self.addrs[(self._next + n) % len(self.addrs)]
            try:
                self._client = zkproto.ZkClient(addr, timeout=self.timeout, session_timeout_ms=6000)
                return self._client
            except (OSError, ConnectionError, ValueError) as e:
                last = e
        self._next += 1
        raise ConnectionError("no ZooKeeper node answered (%s): %r" % (", ".join(self.addrs), last))

    def close(self):
        """End the session, if any."""
        if self._client is not None:
            try:
                self._client.close()
            except OSError:
                pass
            self._client = None

    def _do(self, fn):
        try:
            return fn(self._conn())
        except (OSError, ConnectionError, ValueError, zkproto.ZkError) as e:
            if isinstance(e, zkproto.NoNodeError):
                raise
            self.close()
            self._next += 1
            return fn(self._conn())

    def get(self, path):
        """(data, stat) of a znode under the chroot; NoNodeError if missing."""
        return self._do(lambda z: z.get(self.chroot + path))

    def get_json(self, path):
        """A znode's JSON payload."""
        return json.loads(self.get(path)[0])

    def children(self, path):
        """Children of a znode under the chroot."""
        return self._do(lambda z: z.children(self.chroot + path))

    def exists(self, path):
        """Stat or None."""
        return self._do(lambda z: z.exists(self.chroot + path))

    def controller(self):
        """(broker id or None, epoch or None): ``/controller`` and ``/controller_epoch``."""
        try:
            broker = self.get_json("/controller").get("brokerid")
        except zkproto.NoNodeError:
            broker = None
        try:
            epoch = int(self.get("/controller_epoch")[0])
        except zkproto.NoNodeError:
            epoch = None
        return broker, epoch

    def live_brokers(self):
        """Registered broker ids."""
        return sorted(int(x) for x in self.children("/brokers/ids"))

    def assignment(self, topic):
        """{partition: [replicas]} of a topic."""
        doc = self.get_json("/brokers/topics/%s" % topic)
        return {int(p): r for p, r in doc["partitions"].items()}

    def states(self, topic):
        """{partition: {"leader", "isr", "leader_epoch", ...}} of a topic."""
        out = {}
        for p in self.children("/brokers/topics/%s/partitions" % topic):
            out[int(p)] = json.loads(self.get("/brokers/topics/%s/partitions/%s/state" % (topic, p))[0])
        return out

    def not_full(self):
        """Partitions (``topic-p``) of every topic whose ISR is not its full replica list or which
        have no leader; [] when everything is fully replicated."""
        bad = []
        for topic in self.children("/brokers/topics"):
            asg = self.assignment(topic)
            st = self.states(topic)
            for p, replicas in asg.items():
                s = st.get(p)
                if s is None or s["leader"] < 0 or set(s["isr"]) != set(replicas):
                    bad.append("%s-%d" % (topic, p))
        return bad


def create_topic(zk_connect, topic, partitions, rf, configs, log_dir, timeout=120):
    """Create a topic with ``scripts/kafka-topics.sh --zookeeper`` (run from the root namespace);
    ClusterError with the tool's output if it fails."""
    cmd = ["bash", os.path.join(REPO, "scripts", "kafka-topics.sh"), "--zookeeper", zk_connect, "--create",
           "--topic", topic, "--partitions", str(partitions), "--replication-factor", str(rf)]
    for k, v in configs.items():
        cmd += ["--config", "%s=%s" % (k, v)]
    p = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, cwd=REPO,
                       stdin=subprocess.DEVNULL, env=dict(os.environ, LOG_DIR=log_dir))
    if p.returncode != 0 or ("Created topic %s." % topic) not in p.stdout:
        raise ClusterError("kafka-topics.sh --create %s failed (rc %d):\n%s%s" % (topic, p.returncode, p.stdout,
                                                                              p.stderr))
