"""The failure-script runner: ``scripts/kafka-jepsen.sh [flags]`` (``python3 -m jepsen.run``).

Builds the test hosts (network namespaces), starts ZooKeeper and the brokers in them, creates the
test topic, runs the queue workload while the seeded fault schedule runs, heals everything, does the
final read, checks the history and writes the report. Prints the one-line verdict last.

Exit codes: 0 the checker found no anomaly (and the runner saw no crash, stuck ISR or deadlock);
1 it found one; 2 the run itself failed (bad flags, setup failed, a server did not start, the
history was too thin to judge, interrupted).
"""

import argparse
import json
import os
import shutil
import signal
import sys
import threading
import time
import traceback

from jepsen import netns, schedule, segments, workload
from jepsen.cluster import (BROKER_PORT, CHROOT, REPO, Broker, ClusterError, ZkNode, create_topic, port_open,
                            tail, wait_for)
from jepsen.history import HistoryWriter, read_history
from jepsen.nemesis import NemesisError, Rolling, make
from jepsen.world import ControllerSampler, ExitMonitor, World

TOPIC = "jepsen"
FULL_ISR_TIMEOUT = 60.0


class Interrupted(Exception):
    """SIGINT or SIGTERM arrived: clean up and exit 2."""


class UsageError(Exception):
    """Bad flags (exit 2)."""


class _Parser(argparse.ArgumentParser):
    def error(self, message):
        raise UsageError(message)


def parser():
    """The command line (every flag is documented in jepsen/README.md)."""
    p = _Parser(prog="scripts/kafka-jepsen.sh", formatter_class=argparse.RawDescriptionHelpFormatter,
                description="Jepsen-style failure runs against this Kafka: brokers and ZooKeeper in network "
                            "namespaces, a queue workload, seeded faults, a checker and a report.",
                epilog="Exit status: 0 no anomaly, 1 an anomaly (or a broker crash, stuck ISR, deadlock), "
                       "2 the run itself failed (including bad flags). Needs root and `ip netns`.")
    p.add_argument("--nemesis", default="all",
                   help="comma list of fault families: %s, or all (default all)" % ",".join(schedule.ALL))
    p.add_argument("--time-limit", type=float, default=120.0, help="seconds of fault schedule (default 120)")
    p.add_argument("--seed", type=int, default=None, help="schedule seed (default: from the clock)")
    p.add_argument("--brokers", type=int, default=3, help="number of brokers, one host each (default 3)")
    p.add_argument("--zk-nodes", type=int, choices=(1, 3), default=None,
                   help="ZooKeeper nodes (default 3 if zk is among the nemeses, else 1)")
    p.add_argument("--rate", type=float, default=100.0, help="target sends per second, all producers (default 100)")
    p.add_argument("--partitions", type=int, default=6, help="partitions of the test topic (default 6)")
    p.add_argument("--replication-factor", type=int, default=3, help="of the test topic (default 3)")
    p.add_argument("--clients", type=int, default=8,
                   help="producer processes: two librdkafka ones (when >= 3), the rest raw, each raw one on "
                        "its own partition when there are at least as many as partitions (default 8); "
                        "plus two raw consumers and one librdkafka consumer")
    p.add_argument("--session-timeout-ms", type=int, default=6000, help="brokers' zookeeper.session.timeout.ms")
    p.add_argument("--disk-mb", type=int, default=128, help="size of each broker's log-dir tmpfs with disk (default 128)")
    p.add_argument("--out", default=None, help="run directory (default jepsen/runs/<time>-seed<N>/)")
    p.add_argument("--keep", action="store_true", help="keep the brokers' and ZooKeeper's data dirs")
    p.add_argument("--cleanup", action="store_true", help="remove leftovers of earlier runs (namespaces, links, "
                                                          "mounts, their processes) and exit")
    return p


class Counting:
    """The history writer plus counts of completions, for progress lines and warm-up."""

    def __init__(self, writer):
        self.w = writer
        self.counts = {}
        self._lock = threading.Lock()

    def now(self):
        """Seconds since the run started."""
        return self.w.now()

    def append(self, process, type_, f, value, **extra):
        """HistoryWriter.append, counted."""
        op = self.w.append(process, type_, f, value, **extra)
        if type_ != "invoke" and process != "nemesis":
            with self._lock:
                self.counts[(f, type_)] = self.counts.get((f, type_), 0) + 1
        return op

    def count(self, f, type_):
        """How many ``f`` ops completed with ``type_`` so far."""
        with self._lock:
            return self.counts.get((f, type_), 0)


class Runner:
    """One run: setup, workload, schedule, healing, final read, verdict, teardown."""

    def __init__(self, args):
        self.args = args
        self.out = args.out
        self.log_file = open(os.path.join(self.out, "run.log"), "a", buffering=1)
        self.net = None
        self.zk_nodes = []
        self.brokers = {}
        self.history = None
        self.world = None
        self.watchers = []
        self.ctx = None
        self.processes = []
        self.rdk = []
        self.active = []  # faults started and not yet stopped
        self.schedule = []
        self.final = None
        self.t0 = time.monotonic()

    def log(self, msg):
        """A progress line on stdout and in run.log."""
        t = time.monotonic() - self.t0
        line = "[%7.1f] %s" % (t, msg)
        print(line, flush=True)
        self.log_file.write(line + "\n")

    # -- setup ----------------------------------------------------------------------------
    def setup(self):
        """Hosts, ZooKeeper, brokers, the test topic. Raises on failure (exit 2)."""
        a = self.args
        self.net = netns.Network(a.zk_nodes, a.brokers)
        self.log("network: bridge %s, %s.0/24, %d ZooKeeper + %d broker hosts, partitions by %s" % (
            netns.BRIDGE, self.net.subnet, a.zk_nodes, a.brokers, "iptables" if self.net.iptables else "blackhole routes"))
        self.net.setup()
        for i, h in enumerate(self.net.zk_hosts, 1):
            self.zk_nodes.append(ZkNode(i, h, os.path.join(self.out, h.name), self.net.zk_hosts))
        for z in self.zk_nodes:
            z.start()
        wait_for(lambda: self._servers_alive(self.zk_nodes) and all(z.serving() for z in self.zk_nodes), 90,
                 "ZooKeeper to serve on %s" % ", ".join(z.host.ip for z in self.zk_nodes), interval=0.5)
        connect = ",".join("%s:2181" % h.ip for h in self.net.zk_hosts) + CHROOT
        overrides = {
            "zookeeper.connect": connect, "zookeeper.session.timeout.ms": str(a.session_timeout_ms),
            "default.replication.factor": str(a.replication_factor), "min.insync.replicas": "2",
            "unclean.leader.election.enable": "false", "offsets.topic.replication.factor": "3",
            "offsets.topic.num.partitions": "3", "replica.lag.time.max.ms": "10000",
            "num.network.threads": "2", "num.io.threads": "2", "log.segment.bytes": "4194304",
            "group.initial.rebalance.delay.ms": "0",
        }
        for i, h in self.net.broker_hosts.items():
            b = Broker(i, h, os.path.join(self.out, h.name), overrides)
            if "disk" in a.nemeses:
                b.mount_tmpfs(a.disk_mb)
            self.brokers[i] = b
        for b in self.brokers.values():
            b.start()
        for b in self.brokers.values():
            self._wait_broker(b)
        create_topic(connect, TOPIC, a.partitions, a.replication_factor,
                     {"min.insync.replicas": "2", "unclean.leader.election.enable": "false"}, self.out)
        from jepsen.cluster import ZkView

        view = ZkView(self.net.zk_hosts)
        try:
            wait_for(lambda: not view.not_full() and len(view.states(TOPIC)) == a.partitions, 60,
                     "leaders and full ISRs for %s" % TOPIC, interval=0.5)
        finally:
            view.close()
        self.log("cluster up: ZooKeeper %s, brokers %s, topic %s (%d partitions, RF %d, min.insync.replicas=2)" % (
            connect, ", ".join(b.address for b in self.brokers.values()), TOPIC, a.partitions, a.replication_factor))

    def _servers_alive(self, servers):
        for s in servers:
            if not s.alive():
                raise ClusterError("%s exited with %s during start-up; last lines of %s:\n%s" % (
                    s.host.name, s.returncode(), s.out, tail(s.out)))
        return True

    def _wait_broker(self, b):
        from jepsen.cluster import ZkView

        view = ZkView(self.net.zk_hosts)
        try:
            wait_for(lambda: self._servers_alive([b]) and port_open(b.host.ip, BROKER_PORT)
                     and view.exists("/brokers/ids/%d" % b.id), 90,
                     "broker %d to listen on %s and register" % (b.id, b.address), interval=0.3)
            reg = view.get_json("/brokers/ids/%d" % b.id)
        finally:
            view.close()
        want = "PLAINTEXT://%s" % b.address
        if reg.get("endpoints") != [want] or reg.get("host") != b.host.ip:
            raise ClusterError("broker %d registered %s, expected endpoints [%s] (advertised.listeners)" % (
                b.id, json.dumps(reg), want))

    # -- workload -------------------------------------------------------------------------
    def start_workload(self):
        """Producers and consumers, each a process of the history."""
        a = self.args
        n_rdk = 2 if a.clients >= 3 else 0
        n_raw = a.clients - n_rdk
        rate = a.rate / max(a.clients, 1)
        self.ctx = workload.Context(self.history, TOPIC, range(a.partitions),
                                    [(b.host.ip, BROKER_PORT) for b in self.brokers.values()], a.seed, rate,
                                    self.log, self.out)
        pid = 0
        for n in range(n_raw):
            own = n % a.partitions if n_raw >= a.partitions else None
            self.processes.append(workload.RawProducer(pid, self.ctx, own))
            pid += 1
        if n_rdk:
            prod = workload.RdkProducer(list(range(pid, pid + n_rdk)), self.ctx, "librdkafka-producer")
            self.rdk.append(prod)
            self.processes.extend(prod.processes)
            pid += n_rdk
        for _ in range(2):
            self.processes.append(workload.RawConsumer(pid, self.ctx))
            pid += 1
        self.processes.append(workload.RdkConsumer(pid, self.ctx))
        for p in self.processes:
            if not isinstance(p, workload._RdkSender):
                p.start()
        for r in self.rdk:
            r.start()
        self.next_pid = pid + 1

    def stop_workload(self):
        """Stop every process; flush librdkafka (bounded)."""
        self.ctx.stop.set()
        deadline = time.monotonic() + 40
        for p in self.processes:
            p.join(max(0.1, deadline - time.monotonic()))
        for r in self.rdk:
            r.finish(30)
        stuck = [p.name for p in self.processes if p.is_alive()]
        if stuck:
            self.log("client processes still running after 40 s (their ops stay incomplete): %s" % ", ".join(stuck))

    # -- schedule -------------------------------------------------------------------------
    def wait(self, seconds):
        """Wait ``seconds`` (signals interrupt it)."""
        deadline = time.monotonic() + seconds
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                return
            time.sleep(min(left, 0.5))

    def run_schedule(self):
        """Quiet and fault periods until the time limit."""
        import random

        rng = random.Random(self.args.seed + 1)
        t_start = time.monotonic()
        for n, period in enumerate(self.schedule):
            if time.monotonic() - t_start >= self.args.time_limit:
                break
            self.log("period %d: quiet %.1f s, then %s for %.1f s" % (n, period.quiet, "+".join(period.faults),
                                                                       period.duration))
            self.wait(period.quiet)
            self.run_period(period, rng)
            acked = self.history.count("send", "ok")
            self.log("%d ok sends, %d ok polls so far" % (acked, self.history.count("poll", "ok")))

    def run_period(self, period, rng):
        """Start the period's faults, hold them, stop them, wait for full ISR."""
        busy = set()
        started = []
        for name in period.faults:
            fault = make(name, self.world, rng, busy)
            try:
                value = fault.start()
            except NemesisError as e:
                self.log("fault %s skipped: %s" % (name, e))
                continue
            busy |= fault.brokers
            value["fault"] = name
            self.history.append("nemesis", "info", "start", value)
            self.log("start %s: %s" % (name, value["detail"]))
            started.append(fault)
            self.active.append(fault)
        if not started:
            return
        names = [f.name for f in started]
        for why in self.world.impossible():
            self.history.append("nemesis", "info", "impossible", {"fault": names[0] if len(names) == 1 else None,
                                                                   "why": why})
            self.log("impossible: %s" % why)
        if any(isinstance(f, Rolling) for f in started):
            for f in started:
                self.log("rolling restart: %s" % f.run())
        else:
            self.wait(period.duration)
        self.stop_faults(started)

    def stop_faults(self, faults):
        """Stop faults (ZooKeeper first, since restarting a broker needs it; then the last started
        first), start again whatever is down for no fault, and record when the ISRs are full again."""
        order = [f for f in reversed(faults) if f.name.startswith("zk-")]
        order += [f for f in reversed(faults) if not f.name.startswith("zk-")]
        for f in order:
            detail = f.stop()
            self.active.remove(f)
            self.history.append("nemesis", "info", "stop", {"fault": f.name, "targets": sorted(f.brokers),
                                                            "detail": detail})
            self.log("stop %s: %s" % (f.name, detail))
        revived = self.world.revive()
        if revived:
            self.log("started again after exiting on their own: %s" % ", ".join(revived))
        took, short = self.world.wait_full_isr(FULL_ISR_TIMEOUT)
        for f in faults:
            self.history.append("nemesis", "info", "healed", {"fault": f.name, "full_isr_after_s": took})
        if took is None:
            self.world.finding("isr-not-full", "ISR not full %.0f s after healing %s: %s" % (
                FULL_ISR_TIMEOUT, "+".join(f.name for f in faults), ", ".join(short[:20])), partitions=short)
        else:
            self.log("full ISR %.1f s after healing" % took)

    # -- the end ----------------------------------------------------------------------------
    def liveness(self):
        """Every broker must answer Metadata within 10 s after healing (else: deadlock?)."""
        from jepsen import rawclient

        for b in self.brokers.values():
            c = rawclient.RawClient([(b.host.ip, BROKER_PORT)], TOPIC, timeout=10.0)
            try:
                c.refresh()
            except Exception as e:  # noqa: BLE001 - the finding says what happened
                self.world.finding("unresponsive", "broker %d did not answer Metadata within 10 s after healing "
                                                   "(deadlock?): %s" % (b.id, e), broker=b.id)
            finally:
                c.close()

    def main(self):
        """The whole run; returns the exit code."""
        a = self.args
        self.schedule = schedule.build(a.seed, a.nemeses, a.time_limit, a.zk_nodes, a.session_timeout_ms / 1000.0)
        self.setup()
        n_rdk = 2 if a.clients >= 3 else 0
        clients = {}
        for pid in range(a.clients + 3 + a.partitions):  # producers, 3 consumers, one final reader per partition
            clients[str(pid)] = "librdkafka" if (a.clients - n_rdk <= pid < a.clients or pid == a.clients + 2) else "raw"
        meta = {"seed": a.seed, "brokers": sorted(self.brokers), "nemeses": a.nemeses, "topic": TOPIC,
                "topics": [TOPIC], "partitions": a.partitions, "replication_factor": a.replication_factor,
                "min_insync_replicas": 2, "time_limit": a.time_limit, "zk_nodes": a.zk_nodes, "rate": a.rate,
                "clients": clients, "final_read_clients": "raw",
                "session_timeout_ms": a.session_timeout_ms, "partition_method": "iptables" if self.net.iptables
                else "blackhole routes", "schedule": [p.as_dict() for p in self.schedule]}
        self.history = Counting(HistoryWriter(os.path.join(self.out, "history.jsonl"), meta))
        self.world = World(self.net, self.zk_nodes, self.brokers, self.history, TOPIC, range(a.partitions), 2,
                           a.session_timeout_ms / 1000.0, self.log)
        self.watchers = [ControllerSampler(self.world), ExitMonitor(self.world)]
        for w in self.watchers:
            w.start()
        self.start_workload()
        wait_for(lambda: self.history.count("send", "ok") > 0 and self.history.count("poll", "ok") > 0, 60,
                 "the first acknowledged send and poll")
        self.log("workload running; schedule: %s" % "; ".join(
            "+".join(p.faults) for p in self.schedule))
        self.run_schedule()
        self.heal_everything()
        took, short = self.world.wait_full_isr(FULL_ISR_TIMEOUT)
        if took is None:
            self.world.finding("isr-not-full", "ISR not full %.0f s after the schedule ended: %s" % (
                FULL_ISR_TIMEOUT, ", ".join(short[:20])), partitions=short)
        self.stop_workload()
        self.log("final read")
        self.final = workload.final_read(self.ctx, self.next_pid)
        self.liveness()
        for w in self.watchers:
            w.stop.set()
        for w in self.watchers:
            w.join(10)
        self.stop_brokers()
        return self.verdict()

    def stop_brokers(self):
        """SIGTERM every broker (controlled shutdown, nothing in flight), then check their segment
        files and summarise their logs."""
        for b in self.brokers.values():
            self.world.down_on_purpose(b)
            b.signal(signal.SIGTERM)
        for b in self.brokers.values():
            if not b.wait_exit(60):
                self.world.finding("sigterm-ignored", "broker %d did not exit within 60 s of the final SIGTERM" % b.id,
                                   broker=b.id)
                b.kill()
        self.logs = {}
        for b in self.brokers.values():
            for problem in segments.check_log_dir(b.log_dir):
                self.world.finding("corrupt-segment", problem, broker=b.id)
            self.logs[b.id] = segments.log_summary(b.out)
            top = self.logs[b.id]["top"][0] if self.logs[b.id]["top"] else (0, "")
            self.log("broker %d log: %d lines, %d WARN, %d ERROR; most repeated (%dx): %s" % (
                b.id, self.logs[b.id]["lines"], self.logs[b.id]["warn"], self.logs[b.id]["error"], top[0], top[1][:150]))

    def heal_everything(self):
        """Stop whatever is still active, heal the network, restart whatever is down."""
        if self.active:
            self.stop_faults(list(self.active))
        self.net.heal()
        for b in self.brokers.values():
            b.signal(signal.SIGCONT)
        revived = self.world.revive()
        if revived:
            self.log("started again after exiting on their own: %s" % ", ".join(revived))

    def verdict(self):
        """Check, report, print the verdict line; the exit code."""
        from jepsen import checker, report

        errors = [e for p in self.processes for e in p.errors]
        for e in errors:
            self.world.finding("runner-error", e)
        meta, ops = read_history(os.path.join(self.out, "history.jsonl"))
        result = checker.check(meta, ops)
        runner = {"findings": self.world.findings, "notes": self.world.notes,
                  "final_read": {str(p): {"high_watermark": hw, "records": n, "complete": done}
                                 for p, (hw, n, done) in (self.final or {}).items()},
                  "schedule": [p.as_dict() for p in self.schedule], "broker_logs": getattr(self, "logs", {})}
        result["runner"] = runner
        line = checker.verdict_line(result)
        findings = [f for f in self.world.findings if f["kind"] != "runner-error"]
        if findings:
            kinds = sorted({f["kind"] for f in findings})
            line = "INVALID (runner: %s): %s" % (", ".join("%s %d" % (k, sum(1 for f in findings if f["kind"] == k))
                                                          for k in kinds), line)
        path = report.write_report(meta, ops, result, self.out)
        with open(os.path.join(self.out, "result.json"), "w") as f:
            json.dump(result, f, indent=1, default=str)
        self.log("history %s" % os.path.join(self.out, "history.jsonl"))
        self.log("report %s" % path)
        print(line, flush=True)
        self.log_file.write(line + "\n")
        if errors:
            return 2
        if result["valid"] is False or findings:
            return 1
        return 0 if result["valid"] is True else 2

    def teardown(self):
        """Kill every process, unmount, remove the namespaces (also after a failed setup)."""
        if self.ctx is not None:
            self.ctx.stop.set()
        for w in self.watchers:
            w.stop.set()
        for s in list(self.brokers.values()) + self.zk_nodes:
            s.kill()
        for b in self.brokers.values():
            keep = os.path.join(b.dir, "data-kept") if self.args.keep else None
            b.unmount_tmpfs(keep)
        if self.net is not None:
            for h in self.net.hosts:
                for pid in netns.ns_pids(h.ns):
                    try:
                        os.kill(pid, signal.SIGKILL)
                    except ProcessLookupError:
                        pass
            self.net.teardown()
        if not self.args.keep:
            for s in list(self.brokers.values()) + self.zk_nodes:
                shutil.rmtree(getattr(s, "log_dir", None) or getattr(s, "data"), ignore_errors=True)
        left = netns.leftovers()
        if any(left.values()):
            print("WARNING: leftovers after teardown: %s (scripts/kafka-jepsen.sh --cleanup)" % left, flush=True)


def main(argv=None):
    """Entry point; returns the exit code (see the module docstring)."""
    try:
        args = parser().parse_args(argv)
        args.nemeses = schedule.parse_nemeses(args.nemesis)
        if args.brokers < 3 and args.replication_factor > args.brokers:
            raise UsageError("--replication-factor %d needs at least as many --brokers" % args.replication_factor)
        if args.partitions < 1 or args.clients < 1 or args.time_limit < 0 or args.rate <= 0:
            raise UsageError("--partitions, --clients and --rate must be positive, --time-limit >= 0")
    except UsageError as e:
        parser().print_usage(sys.stderr)
        print("error: %s" % e, file=sys.stderr)
        return 2
    except ValueError as e:
        print("error: %s" % e, file=sys.stderr)
        return 2
    except SystemExit as e:  # --help
        return 0 if e.code in (0, None) else 2
    ok, why = netns.have_ip_netns()
    if not ok:
        print("error: %s" % why, file=sys.stderr)
        return 2
    if args.cleanup:
        found = netns.cleanup_leftovers()
        if not any(found.values()):
            print("nothing to clean up")
        return 0
    if args.zk_nodes is None:
        args.zk_nodes = 3 if "zk" in args.nemeses else 1
    if args.seed is None:
        args.seed = int(time.time()) % 100000
    if args.out is None:
        args.out = os.path.join(REPO, "jepsen", "runs", "%s-seed%d" % (time.strftime("%Y%m%d-%H%M%S"), args.seed))
    args.out = os.path.abspath(args.out)
    os.makedirs(args.out, exist_ok=True)
    runner = Runner(args)

    def on_signal(signum, _frame):
        if threading.current_thread() is not threading.main_thread():
            return
        signal.signal(signal.SIGINT, signal.SIG_IGN)
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
        raise Interrupted(signal.Signals(signum).name)

    signal.signal(signal.SIGINT, on_signal)
    signal.signal(signal.SIGTERM, on_signal)
    code = 2
    try:
        code = runner.main()
    except Interrupted as e:
        runner.log("ABORTED: interrupted by %s; cleaning up (history so far in %s)" % (e, args.out))
    except (netns.NetError, ClusterError) as e:
        runner.log("RUN FAILED: %s" % e)
    except Exception:  # noqa: BLE001 - a runner bug: say so, clean up, exit 2
        runner.log("RUN FAILED (runner error):\n%s" % traceback.format_exc())
    finally:
        signal.signal(signal.SIGINT, signal.SIG_IGN)
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
        runner.teardown()
    return code


if __name__ == "__main__":
    sys.exit(main())
