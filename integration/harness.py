"""Process harness for the integration tests: a real ZooKeeper and real broker processes.

Everything runs on 127.0.0.1 with free ports and a private temp directory per cluster. ZooKeeper is
started with the project's scripts/zookeeper-server-start.sh (or, with KAFKA_IT_ZK=java or when that
script is missing, with the same java command it runs); brokers with scripts/kafka-server-start.sh
config/server.properties --override ... as separate processes. Every process gets its own process
group and is killed at teardown, and so is any process whose command line mentions the cluster's
private temp dir (which catches -daemon launches).
"""

import contextlib
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time

import zkproto

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SCRIPTS = os.path.join(REPO, "scripts")
CONFIG = os.path.join(REPO, "config")
BROKER_BIN = os.path.join(REPO, "target", "release", "kafka-server")
ZK_CLI = "/usr/share/zookeeper/bin/zkCli.sh"
ZK_CLASSPATH = "/etc/zookeeper/conf:/usr/share/java/zookeeper.jar"

# Generous: CI runs on 2 shared cores.
START_TIMEOUT = float(os.environ.get("KAFKA_IT_START_TIMEOUT", "90"))
CLI_TIMEOUT = float(os.environ.get("KAFKA_IT_CLI_TIMEOUT", "120"))

ALL_CLUSTERS = []  # live clusters, for log dumps on failure


class HarnessError(Exception):
    pass


def free_port():
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def port_open(port, host="127.0.0.1"):
    try:
        with socket.create_connection((host, port), timeout=1.0):
            return True
    except OSError:
        return False


def wait_until(predicate, timeout, what, interval=0.2):
    """Polls predicate until it returns a truthy value; returns it. Raises with `what` on timeout."""
    deadline = time.monotonic() + timeout
    last_exc = None
    while True:
        try:
            value = predicate()
            if value:
                return value
        except Exception as e:  # noqa: BLE001 - keep polling, report the last error
            last_exc = e
        if time.monotonic() > deadline:
            extra = f" (last error: {last_exc!r})" if last_exc else ""
            raise TimeoutError(f"timed out after {timeout:.0f}s waiting for {what}{extra}")
        time.sleep(interval)


def tail(path, lines=150):
    try:
        with open(path, "rb") as f:
            data = f.read()
    except OSError:
        return f"<{path}: missing>"
    text = data.decode(errors="replace").splitlines()
    return "\n".join(text[-lines:])


def require_script(name):
    path = os.path.join(SCRIPTS, name)
    if not os.path.exists(path):
        raise HarnessError(f"{path} does not exist (the project's launcher scripts are not written yet?)")
    return path


def pids_mentioning(text):
    """Pids of processes whose command line contains `text` (our unique temp dir)."""
    out = []
    me = os.getpid()
    for entry in os.listdir("/proc"):
        if not entry.isdigit() or int(entry) == me:
            continue
        try:
            with open(f"/proc/{entry}/cmdline", "rb") as f:
                cmd = f.read().replace(b"\0", b" ").decode(errors="replace")
        except OSError:
            continue
        if text in cmd:
            out.append(int(entry))
    return out


def run(cmd, input=None, timeout=CLI_TIMEOUT, env=None, check=False):
    """Runs a command, returns CompletedProcess with text stdout/stderr."""
    full_env = dict(os.environ)
    if env:
        full_env.update(env)
    p = subprocess.run(cmd, input=input, capture_output=True, text=True, timeout=timeout,
                       env=full_env, cwd=REPO, stdin=None if input is not None else subprocess.DEVNULL)
    if check and p.returncode != 0:
        raise HarnessError(f"{cmd!r} exited {p.returncode}\nstdout:\n{p.stdout}\nstderr:\n{p.stderr}")
    return p


def kcat(*args, input=None, timeout=CLI_TIMEOUT, check=True):
    return run(["kcat", *args], input=input, timeout=timeout, check=check)


def _kill_group(proc, sig):
    try:
        os.killpg(proc.pid, sig)
    except ProcessLookupError:
        pass


class ZooKeeper:
    def __init__(self, workdir, tick_time=2000):
        self.workdir = workdir
        self.port = free_port()
        self.data_dir = os.path.join(workdir, "zookeeper-data")
        os.makedirs(self.data_dir, exist_ok=True)
        self.props = os.path.join(workdir, "zookeeper.properties")
        with open(self.props, "w") as f:
            f.write(f"dataDir={self.data_dir}\nclientPort={self.port}\nclientPortAddress=127.0.0.1\n"
                    f"maxClientCnxns=0\nadmin.enableServer=false\ntickTime={tick_time}\n")
        self.log = os.path.join(workdir, "zookeeper.log")
        self.proc = None

    @property
    def connect(self):
        return f"127.0.0.1:{self.port}"

    def start(self, daemon=False):
        script = os.path.join(SCRIPTS, "zookeeper-server-start.sh")
        if daemon:
            # The way users run it: the script detaches and returns; output goes to $LOG_DIR.
            p = run(["bash", require_script("zookeeper-server-start.sh"), "-daemon", self.props],
                    env={"LOG_DIR": self.workdir}, timeout=60)
            if p.returncode != 0:
                raise HarnessError(f"zookeeper-server-start.sh -daemon exited {p.returncode}:\n{p.stdout}{p.stderr}")
            self.wait_ready()
            return self
        if os.environ.get("KAFKA_IT_ZK") == "java" or not os.path.exists(script):
            cmd = ["java", f"-Dzookeeper.log.dir={self.workdir}", "-cp", ZK_CLASSPATH,
                   "org.apache.zookeeper.server.quorum.QuorumPeerMain", self.props]
        else:
            cmd = ["bash", script, self.props]
        out = open(self.log, "ab")
        self.proc = subprocess.Popen(cmd, stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                                     cwd=REPO, start_new_session=True,
                                     env={**os.environ, "LOG_DIR": self.workdir})
        out.close()
        self.wait_ready()
        return self

    def wait_ready(self, timeout=START_TIMEOUT):
        def ready():
            if self.proc is not None and self.proc.poll() is not None:
                raise HarnessError(f"ZooKeeper exited with {self.proc.returncode}:\n{tail(self.log)}")
            with self.client(timeout=2.0) as z:
                return z.children("/") is not None
        wait_until(ready, timeout, f"ZooKeeper on port {self.port}")

    def client(self, timeout=10.0):
        return zkproto.ZkClient(self.connect, timeout=timeout)

    def get(self, path):
        with self.client() as z:
            return z.get(path)

    def get_json(self, path):
        data, _ = self.get(path)
        return json.loads(data)

    def children(self, path):
        with self.client() as z:
            return z.children(path)

    def exists(self, path):
        with self.client() as z:
            return z.exists(path)

    def cli(self, *args, timeout=CLI_TIMEOUT):
        """ZooKeeper's own CLI; returns (rc, stdout lines minus the connection chatter, stderr)."""
        p = run([ZK_CLI, "-server", self.connect, *args], timeout=timeout)
        lines = [ln for ln in p.stdout.splitlines()
                 if ln.strip() and not ln.startswith("Connecting to ") and ln.strip() != "WATCHER::"
                 and not ln.startswith("WatchedEvent state:")]
        return p.returncode, lines, p.stderr

    def stop(self):
        if self.proc is not None and self.proc.poll() is None:
            _kill_group(self.proc, signal.SIGTERM)
            try:
                self.proc.wait(20)
            except subprocess.TimeoutExpired:
                _kill_group(self.proc, signal.SIGKILL)
                self.proc.wait(20)


class Broker:
    """One broker process. `tag` names its log dir and log file (default: the broker id);
    `expect_id` is the id it should register as (differs with broker.id=-1); `chroot` is the
    ZooKeeper chroot in its zookeeper.connect, if any."""

    def __init__(self, cluster, broker_id, overrides=None, wrapper=None, config=None, tag=None,
                 expect_id=None, chroot=""):
        self.cluster = cluster
        self.broker_id = broker_id
        self.tag = broker_id if tag is None else tag
        self.port = free_port()
        self.log_dir = os.path.join(cluster.workdir, f"kafka-logs-{self.tag}")
        self.log = os.path.join(cluster.workdir, f"broker-{self.tag}.log")
        self.config = config or os.path.join(CONFIG, "server.properties")
        self.chroot = chroot
        self.overrides = {
            "broker.id": str(broker_id),
            "listeners": f"PLAINTEXT://127.0.0.1:{self.port}",
            "log.dirs": self.log_dir,
            "zookeeper.connect": cluster.zk.connect + chroot,
        }
        self.overrides.update(overrides or {})
        self.expect_id = broker_id if expect_id is None else expect_id
        self.wrapper = wrapper or []
        self.proc = None
        self.daemon = False
        self.starts = 0

    @property
    def bootstrap(self):
        return f"127.0.0.1:{self.port}"

    @property
    def registration_path(self):
        return f"{self.chroot}/brokers/ids/{self.expect_id}"

    def command(self):
        cmd = [*self.wrapper, "bash", require_script("kafka-server-start.sh"), self.config]
        for k, v in self.overrides.items():
            cmd += ["--override", f"{k}={v}"]
        return cmd

    def start(self, wait=True, daemon=False):
        if not os.path.exists(self.config):
            raise HarnessError(f"{self.config} does not exist")
        self.starts += 1
        if daemon:
            # kafka-server-start.sh -daemon: returns at once, output in $LOG_DIR; found again by
            # its command line (which holds our private log dir).
            self.proc = None
            cmd = self.command()
            cmd.insert(cmd.index(self.config), "-daemon")
            p = run(cmd, env={"LOG_DIR": self.cluster.workdir}, timeout=60)
            if p.returncode != 0:
                raise HarnessError(f"kafka-server-start.sh -daemon exited {p.returncode}:\n{p.stdout}{p.stderr}")
            self.daemon = True
            if wait:
                self.wait_ready()
            return self
        self.daemon = False
        with open(self.log, "ab") as out:
            out.write(f"\n===== harness: start #{self.starts} of broker {self.broker_id}: "
                      f"{' '.join(self.command())}\n".encode())
            out.flush()
            self.proc = subprocess.Popen(self.command(), stdout=out, stderr=subprocess.STDOUT,
                                         stdin=subprocess.DEVNULL, cwd=REPO, start_new_session=True,
                                         env={**os.environ, "LOG_DIR": self.cluster.workdir})
        if wait:
            self.wait_ready()
        return self

    def daemon_pids(self):
        return pids_mentioning(self.log_dir)

    def alive(self):
        if self.daemon:
            return bool(self.daemon_pids())
        return self.proc is not None and self.proc.poll() is None

    def wait_ready(self, timeout=START_TIMEOUT):
        def ready():
            if not self.alive():
                rc = "?" if self.proc is None else self.proc.returncode
                raise HarnessError(f"broker {self.broker_id} exited with {rc}:\n"
                                   f"{self.cluster.dump_logs()}")
            return port_open(self.port) and self.cluster.zk.exists(self.registration_path)
        try:
            wait_until(ready, timeout, f"broker {self.broker_id} on port {self.port} registered in ZooKeeper")
        except HarnessError:
            raise
        except TimeoutError as e:
            raise HarnessError(f"{e}\nbroker log:\n{tail(self.log)}") from None

    def _signal(self, sig):
        if self.daemon:
            for pid in self.daemon_pids():
                try:
                    os.kill(pid, sig)
                except ProcessLookupError:
                    pass
        elif self.proc is not None:
            _kill_group(self.proc, sig)

    def _wait_exit(self, timeout):
        if self.daemon:
            wait_until(lambda: not self.daemon_pids(), timeout, f"broker {self.broker_id} to exit")
        else:
            self.proc.wait(timeout)

    def stop(self, timeout=60):
        """SIGTERM (controlled shutdown), then SIGKILL if it does not exit."""
        if not self.alive():
            return
        self._signal(signal.SIGTERM)
        try:
            self._wait_exit(timeout)
        except (subprocess.TimeoutExpired, TimeoutError):
            self._signal(signal.SIGKILL)
            self._wait_exit(30)
            raise HarnessError(f"broker {self.broker_id} ignored SIGTERM for {timeout}s")

    def kill9(self):
        if self.alive():
            self._signal(signal.SIGKILL)
            self._wait_exit(30)

    def wait_deregistered(self, timeout=START_TIMEOUT):
        """After a kill -9 the ephemeral /brokers/ids/N lives until the ZooKeeper session expires."""
        wait_until(lambda: not self.cluster.zk.exists(self.registration_path), timeout,
                   f"{self.registration_path} to disappear")

    def restart(self):
        self.stop()
        self.wait_deregistered()
        return self.start()

    def partition_dir(self, topic, partition):
        return os.path.join(self.log_dir, f"{topic}-{partition}")

    def log_text(self):
        with open(self.log, "rb") as f:
            return f.read().decode(errors="replace")

    def log_size(self):
        try:
            return os.path.getsize(self.log)
        except OSError:
            return 0

    def log_since(self, offset):
        with open(self.log, "rb") as f:
            f.seek(offset)
            return f.read().decode(errors="replace")


class Cluster:
    """A private ZooKeeper plus brokers. Use as a context manager or call close()."""

    def __init__(self, name="cluster", tick_time=2000):
        self.workdir = tempfile.mkdtemp(prefix=f"kafka-it-{name}-")
        self.zk = ZooKeeper(self.workdir, tick_time=tick_time)
        self.brokers = {}
        self.failed = False
        ALL_CLUSTERS.append(self)

    def start_zk(self):
        self.zk.start()
        return self

    def add_broker(self, broker_id=1, overrides=None, wrapper=None, start=True, config=None, **kw):
        b = Broker(self, broker_id, overrides=overrides, wrapper=wrapper, config=config, **kw)
        self.brokers[b.tag] = b
        if start:
            b.start()
        return b

    @property
    def bootstrap(self):
        return ",".join(b.bootstrap for b in self.brokers.values())

    # -- the project's CLI tools ------------------------------------------------------------
    def tool(self, script, *args, input=None, timeout=CLI_TIMEOUT):
        return run(["bash", require_script(script), *args], input=input, timeout=timeout,
                   env={"LOG_DIR": self.workdir})

    def topics(self, *args, **kw):
        return self.tool("kafka-topics.sh", "--zookeeper", self.zk.connect, *args, **kw)

    def configs(self, *args, **kw):
        return self.tool("kafka-configs.sh", "--zookeeper", self.zk.connect, *args, **kw)

    def create_topic(self, topic, partitions=1, replication_factor=1, configs=None, wait=True):
        args = ["--create", "--topic", topic, "--partitions", str(partitions),
                "--replication-factor", str(replication_factor)]
        for k, v in (configs or {}).items():
            args += ["--config", f"{k}={v}"]
        p = self.topics(*args)
        if p.returncode != 0 or f"Created topic {topic}." not in p.stdout:
            raise HarnessError(f"kafka-topics --create {topic} failed (rc {p.returncode}):\n"
                               f"{p.stdout}\n{p.stderr}")
        if wait:
            self.wait_for_leaders(topic, partitions)
        return p

    def wait_for_metadata(self, timeout=START_TIMEOUT):
        """Polls Metadata (raw, v1) on every broker until each lists all brokers and a controller."""
        import kwire

        want = {b.expect_id for b in self.brokers.values()}

        def ready():
            for b in self.brokers.values():
                with kwire.RawConn("127.0.0.1", b.port, timeout=5) as conn:
                    conn.send(kwire.metadata_v1([], 1))
                    brokers, controller = kwire.parse_metadata_v1_brokers(conn.recv_frame())
                if set(brokers) != want or controller < 0:
                    return False
            return True
        wait_until(ready, timeout, f"Metadata to list brokers {sorted(want)} and a controller")

    def wait_for_leaders(self, topic, partitions, timeout=START_TIMEOUT):
        """Polls Metadata (via librdkafka) until every partition has a leader."""
        from confluent_kafka.admin import AdminClient

        admin = AdminClient({"bootstrap.servers": self.bootstrap, "broker.address.family": "v4"})

        def ready():
            md = admin.list_topics(topic=topic, timeout=5)
            t = md.topics.get(topic)
            if t is None or t.error is not None or len(t.partitions) != partitions:
                return False
            return all(p.leader >= 0 and p.error is None for p in t.partitions.values())
        wait_until(ready, timeout, f"leaders for all {partitions} partitions of {topic}", interval=0.5)

    # -- teardown ---------------------------------------------------------------------------
    def dump_logs(self, lines=200):
        out = [f"===== logs of cluster {self.workdir} ====="]
        for name in sorted(os.listdir(self.workdir)):
            path = os.path.join(self.workdir, name)
            if os.path.isfile(path) and (name.endswith(".log") or name.endswith(".out")):
                out.append(f"----- {name} (last {lines} lines) -----")
                out.append(tail(path, lines))
        return "\n".join(out)

    def close(self):
        for b in self.brokers.values():
            if b.proc is not None and b.proc.poll() is None:
                _kill_group(b.proc, signal.SIGKILL)
                b.proc.wait(30)
        self.zk.stop()
        for pid in pids_mentioning(self.workdir):  # e.g. -daemon launches
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        if self in ALL_CLUSTERS:
            ALL_CLUSTERS.remove(self)
        if self.failed:
            keep = os.environ.get("KAFKA_IT_FAILED_LOGS", "/tmp/kafka-it-failed")
            dest = os.path.join(keep, os.path.basename(self.workdir))
            os.makedirs(dest, exist_ok=True)
            for name in os.listdir(self.workdir):
                path = os.path.join(self.workdir, name)
                if os.path.isfile(path) and (name.endswith(".log") or name.endswith(".out")):
                    shutil.copy(path, dest)
            print(f"logs kept in {dest}", file=sys.stderr)
        shutil.rmtree(self.workdir, ignore_errors=True)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


def describe_lines(stdout):
    """kafka-topics --describe output, minus blank lines."""
    return [ln for ln in stdout.splitlines() if ln.strip()]


TOPIC_ID_RE = r"[A-Za-z0-9_-]{22}"


def parse_kv_line(line):
    """'Topic: X\\tPartition: 0\\tLeader: 1' -> dict (for diagnostics)."""
    out = {}
    for part in line.strip("\t").split("\t"):
        m = re.match(r"([^:]+): ?(.*)", part)
        if m:
            out[m.group(1)] = m.group(2)
    return out


@contextlib.contextmanager
def managed(cluster):
    """Body of a cluster fixture: on any error while starting or serving the cluster, keep and print
    its logs; always close it."""
    try:
        yield cluster
    except BaseException:
        cluster.failed = True
        print(cluster.dump_logs())
        raise
    finally:
        cluster.close()
