"""The test hosts: one Linux network namespace per host on a private bridge, and the network faults.

Every host (``zk1..3``, ``b1..N``) is a namespace ``kj-<host>`` with one veth pair: ``eth0`` inside
(the host's address on a private /24), ``kj-<host>-r`` in the root namespace enslaved to the bridge
``kj-br0``, which holds ``.1`` so clients in the root namespace reach every host. Namespaces have no
default route: traffic stays on the bridge. Everything this module creates carries the ``kj-``
prefix, so :func:`cleanup_leftovers` can remove what a run killed with -9 left behind.

Partitions are cuts between two hosts, made inside both namespaces so both directions drop: with
iptables (a ``kj-nemesis`` chain hooked into INPUT and OUTPUT, rules DROP by peer address: packets
vanish, as on a real network) or, without iptables, blackhole routes (sends fail at once). The root
namespace (the clients) is never cut.
"""

import os
import shutil
import subprocess

PREFIX = "kj-"
BRIDGE = "kj-br0"
CHAIN = "kj-nemesis"
TMPFS_SOURCE_PREFIX = "kj-"  # tmpfs mounts are named kj-<host>-logs (the mount's source field)
DEFAULT_SUBNET = "10.240.77"


class NetError(Exception):
    """A namespace, link or rule could not be made (setup fails with exit code 2)."""


def sh(*cmd, check=True, timeout=30):
    """Run a command (no shell); returns CompletedProcess. Raises NetError when ``check`` and it
    fails, with its stderr."""
    p = subprocess.run(list(cmd), capture_output=True, text=True, timeout=timeout,
                       stdin=subprocess.DEVNULL)
    if check and p.returncode != 0:
        raise NetError("%s exited %d: %s" % (" ".join(cmd), p.returncode, (p.stderr or p.stdout).strip()))
    return p


def have_ip_netns():
    """(True, "") if ``ip netns`` can be used here, else (False, why)."""
    if os.geteuid() != 0:
        return False, "needs root (network namespaces, tmpfs mounts)"
    if not shutil.which("ip"):
        return False, "the ip command (iproute2) is missing"
    try:
        p = sh("ip", "netns", "list", check=False)
    except (OSError, subprocess.SubprocessError) as e:
        return False, "ip netns list failed: %s" % e
    if p.returncode != 0:
        return False, "ip netns list failed: %s" % p.stderr.strip()
    return True, ""


def have_iptables():
    """True when iptables is installed (silent-drop partitions); else blackhole routes are used."""
    return shutil.which("iptables") is not None


def namespaces():
    """Names of the existing network namespaces."""
    out = sh("ip", "netns", "list", check=False).stdout
    return [ln.split()[0] for ln in out.splitlines() if ln.strip()]


def ns_pids(ns):
    """Pids of the processes running in namespace ``ns``."""
    p = sh("ip", "netns", "pids", ns, check=False)
    return [int(x) for x in p.stdout.split() if x.isdigit()]


def ours_mounts():
    """Mount points of the tmpfs mounts made by the runner (source ``kj-...``), deepest first."""
    found = []
    with open("/proc/mounts") as f:
        for line in f:
            parts = line.split()
            if len(parts) >= 3 and parts[2] == "tmpfs" and parts[0].startswith(TMPFS_SOURCE_PREFIX):
                found.append(parts[1].replace("\\040", " "))
    return sorted(found, key=len, reverse=True)


def leftovers():
    """What earlier runs left: {"namespaces": [...], "links": [...], "mounts": [...], "pids": [...]}."""
    nss = [n for n in namespaces() if n.startswith(PREFIX)]
    links = []
    for line in sh("ip", "-o", "link", "show", check=False).stdout.splitlines():
        parts = line.split(":")
        if len(parts) > 1:
            name = parts[1].strip().split("@")[0]
            if name.startswith(PREFIX):
                links.append(name)
    pids = sorted({p for n in nss for p in ns_pids(n)})
    return {"namespaces": nss, "links": links, "mounts": ours_mounts(), "pids": pids}


def cleanup_leftovers(log=print):
    """Remove every kj- namespace (killing its processes first), kj- link and kj- tmpfs mount.
    Returns the leftovers found (before removal)."""
    found = leftovers()
    import signal
    import time

    for pid in found["pids"]:
        for sig in (signal.SIGCONT, signal.SIGKILL):
            try:
                os.kill(pid, sig)
            except ProcessLookupError:
                pass
    deadline = time.monotonic() + 20
    for ns in found["namespaces"]:
        while ns_pids(ns) and time.monotonic() < deadline:
            time.sleep(0.1)  # waiting for killed processes to be reaped, bounded
    for m in found["mounts"]:
        p = sh("umount", m, check=False)
        if p.returncode != 0:
            sh("umount", "-l", m, check=False)
    for ns in found["namespaces"]:
        sh("ip", "netns", "del", ns, check=False)
    for link in found["links"]:
        sh("ip", "link", "del", link, check=False)  # deleting one end of a veth removes both
    for kind, items in found.items():
        if items:
            log("removed %d leftover %s: %s" % (len(items), kind, " ".join(map(str, items))))
    return found


class Host:
    """One test host: name (``b1``, ``zk2``), its namespace and address."""

    def __init__(self, name, ip):
        self.name = name
        self.ip = ip
        self.ns = PREFIX + name
        self.veth = PREFIX + name + "-r"

    def exec_prefix(self):
        """The command prefix that runs a program inside this host."""
        return ["ip", "netns", "exec", self.ns]

    def __repr__(self):
        return "Host(%s %s)" % (self.name, self.ip)


class Network:
    """The bridge, the hosts and the current cuts. Create with :meth:`setup`, remove with
    :meth:`teardown` (idempotent, also after a partial setup)."""

    def __init__(self, zk_nodes, brokers, subnet=DEFAULT_SUBNET, use_iptables=None):
        self.subnet = subnet
        self.gateway = subnet + ".1"
        self.zk_hosts = [Host("zk%d" % i, "%s.%d" % (subnet, 10 + i)) for i in range(1, zk_nodes + 1)]
        self.broker_hosts = {i: Host("b%d" % i, "%s.%d" % (subnet, 20 + i)) for i in range(1, brokers + 1)}
        self.iptables = have_iptables() if use_iptables is None else use_iptables
        self.cuts = set()  # frozenset({host name, host name})
        self._routes = []  # (ns, ip) blackhole routes, when iptables is not used
        self.created = []  # what exists, for teardown

    @property
    def hosts(self):
        """Every host, ZooKeeper first."""
        return self.zk_hosts + list(self.broker_hosts.values())

    def host(self, name):
        """The Host called ``name``."""
        for h in self.hosts:
            if h.name == name:
                return h
        raise KeyError(name)

    def check_free(self):
        """Refuse to start over another run's leftovers or on a subnet already routed here."""
        left = leftovers()
        if left["namespaces"] or left["links"] or left["mounts"]:
            raise NetError("leftovers of an earlier run exist (%s); remove them with "
                           "scripts/kafka-jepsen.sh --cleanup" % ", ".join(
                               left["namespaces"] + left["links"] + left["mounts"]))
        routes = sh("ip", "route", "show", check=False).stdout
        if (self.subnet + ".") in routes:
            raise NetError("the subnet %s.0/24 is already routed on this machine:\n%s" % (self.subnet, routes))

    def setup(self):
        """Create the bridge and every host; raises NetError (after which call teardown)."""
        self.check_free()
        sh("ip", "link", "add", BRIDGE, "type", "bridge")
        self.created.append(("link", BRIDGE))
        sh("ip", "addr", "add", self.gateway + "/24", "dev", BRIDGE)
        sh("ip", "link", "set", BRIDGE, "up")
        for h in self.hosts:
            sh("ip", "netns", "add", h.ns)
            self.created.append(("ns", h.ns))
            sh("ip", "link", "add", h.veth, "type", "veth", "peer", "name", "eth0", "netns", h.ns)
            self.created.append(("link", h.veth))
            sh("ip", "link", "set", h.veth, "master", BRIDGE, "up")
            run = h.exec_prefix()
            sh(*run, "ip", "link", "set", "lo", "up")
            sh(*run, "ip", "addr", "add", h.ip + "/24", "dev", "eth0")
            sh(*run, "ip", "link", "set", "eth0", "up")
            if self.iptables:
                sh(*run, "iptables", "-N", CHAIN)
                sh(*run, "iptables", "-I", "INPUT", "-j", CHAIN)
                sh(*run, "iptables", "-I", "OUTPUT", "-j", CHAIN)

    def teardown(self):
        """Remove every namespace and link this Network created (their processes must be gone)."""
        for kind, name in reversed(self.created):
            if kind == "ns":
                sh("ip", "netns", "del", name, check=False)
            else:
                sh("ip", "link", "del", name, check=False)
        self.created = []

    # -- faults -----------------------------------------------------------------------------
    def _rule(self, a, b, add):
        run = a.exec_prefix()
        if self.iptables:
            op = "-A" if add else "-D"
            sh(*run, "iptables", op, CHAIN, "-s", b.ip, "-j", "DROP", check=add)
            sh(*run, "iptables", op, CHAIN, "-d", b.ip, "-j", "DROP", check=add)
        elif add:
            sh(*run, "ip", "route", "add", "blackhole", b.ip + "/32")
            self._routes.append((a, b))
        else:
            sh(*run, "ip", "route", "del", "blackhole", b.ip + "/32", check=False)

    def cut(self, a, b):
        """Drop all traffic between hosts ``a`` and ``b`` (names or Hosts), both directions.
        Returns the cut's key, or None if it existed already."""
        a = a if isinstance(a, Host) else self.host(a)
        b = b if isinstance(b, Host) else self.host(b)
        key = frozenset((a.name, b.name))
        if a.name == b.name or key in self.cuts:
            return None
        self._rule(a, b, True)
        self._rule(b, a, True)
        self.cuts.add(key)
        return key

    def cut_groups(self, left, right):
        """Cut every host of ``left`` from every host of ``right``; returns the new cuts' keys."""
        made = []
        for a in left:
            for b in right:
                k = self.cut(a, b)
                if k:
                    made.append(k)
        return made

    def uncut(self, key):
        """Remove one cut (a key returned by :meth:`cut`)."""
        if key in self.cuts:
            a, b = (self.host(n) for n in sorted(key))
            self._rule(a, b, False)
            self._rule(b, a, False)
            self.cuts.discard(key)

    def heal(self):
        """Remove every cut."""
        for key in list(self.cuts):
            self.uncut(key)
        self._routes = []

    def connected(self, a, b):
        """True unless hosts ``a`` and ``b`` (names) are cut from each other."""
        return a == b or frozenset((a, b)) not in self.cuts
