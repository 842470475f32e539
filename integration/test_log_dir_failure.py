"""Issue 8, "a full log dir": Kafka's log-dir failure handling with a real full file system.

One broker's log dir is a small tmpfs (32 MiB) that the test fills while an acks=all producer runs
(RF 3, min.insync.replicas=2). The broker logs one clear ERROR line naming the dir and the cause,
writes /log_dir_event_notification/log_dir_event_N, the controller moves leadership away, the
producer keeps going and nothing acknowledged is lost. With its only dir gone the broker halts
with exit code 1; after the space is freed it restarts, recovers (every segment parses, no torn
tail), re-replicates and rejoins every ISR. A broker with two dirs where only the tmpfs fails stays
up, and its partitions in the good dir keep working. A dir already full at startup (meta.properties
cannot be written) is offline from the start; with no other dir the broker exits 1 with one line.

Needs root (mount); skipped with the reason otherwise. The tmpfs is always unmounted.
"""

import errno
import os
import re
import subprocess
import time

import pytest
from confluent_kafka import KafkaError

import harness
import kwire
import multibroker as mb
from harness import wait_until

TOPIC = "seq"
TMPFS_SIZE = "32m"
OVERRIDES = dict(mb.DEFAULT_OVERRIDES, **{"replica.lag.time.max.ms": "6000"})


def _mount_tmpfs(path):
    os.makedirs(path, exist_ok=True)
    if os.geteuid() != 0:
        pytest.skip("mounting a tmpfs needs root")
    p = subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={TMPFS_SIZE}", "tmpfs", path],
                       capture_output=True, text=True)
    if p.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here: {p.stderr.strip() or p.returncode}")


def _umount(path):
    if subprocess.run(["umount", path], capture_output=True).returncode != 0:
        subprocess.run(["umount", "-l", path], capture_output=True)


def _fill(path):
    """Writes a file into `path` until the file system is full; returns its path."""
    filler = os.path.join(path, "filler")
    chunk = b"\0" * (1 << 20)
    with open(filler, "wb", buffering=0) as f:
        while True:
            try:
                f.write(chunk)
            except OSError as e:
                if e.errno != errno.ENOSPC:
                    raise
                break
        # Whatever a 1 MiB write left over, in small pieces.
        while True:
            try:
                f.write(b"\0" * 512)
            except OSError as e:
                if e.errno != errno.ENOSPC:
                    raise
                break
    return filler


class TmpfsCluster:
    """ZooKeeper + brokers 1..3; broker 3's first log dir is a tmpfs (optionally plus a normal dir)."""

    def __init__(self, request, two_dirs=False):
        self.request = request
        self.c = harness.Cluster(request.node.name[:30])
        self.tmpfs = os.path.join(self.c.workdir, "tmpfs-3")
        self.mounted = False
        self.two_dirs = two_dirs

    def __enter__(self):
        try:
            _mount_tmpfs(self.tmpfs)
            self.mounted = True
            self.c.start_zk()
            dirs = self.tmpfs
            if self.two_dirs:
                self.good = os.path.join(self.c.workdir, "good-3")
                dirs = f"{self.tmpfs},{self.good}"
            for i in (1, 2, 3):
                ov = dict(OVERRIDES)
                if i == 3:
                    ov["log.dirs"] = dirs
                self.c.add_broker(i, overrides=ov, start=False)
            # The harness reads broker 3's partitions from this dir (the tmpfs, or the good one).
            self.c.brokers[3].log_dir = self.good if self.two_dirs else self.tmpfs
            # Broker 1 first, so it is the controller: a halting broker 3 must not be the one to
            # process its own notification.
            self.c.brokers[1].start()
            for i in (2, 3):
                self.c.brokers[i].start(wait=False)
            for b in self.c.brokers.values():
                b.wait_ready()
            self.c.wait_for_metadata()
        except BaseException:
            self.__exit__(None, None, None)
            raise
        return self

    def __exit__(self, *exc):
        rep = getattr(self.request.node, "rep_call", None)
        if exc[0] is not None or (rep is not None and rep.failed):
            self.c.failed = True
            print(self.c.dump_logs())
        for b in self.c.brokers.values():
            b.kill9()
        if self.mounted:
            _umount(self.tmpfs)
        self.c.close()


def _check_no_loss(c, prod, partitions):
    consumed = mb.consume_all(c.bootstrap, TOPIC, partitions)
    values = {p: [v for _, v in recs] for p, recs in consumed.items()}
    problems, duplicates = mb.check_sequence(values, prod.acked, prod.sent)
    by_offset = {p: dict(recs) for p, recs in consumed.items()}
    wrong = [(p, s, o) for p in partitions for s, o in prod.acked[p] if by_offset[p].get(o) != str(s).encode()]
    print(f"sent {prod.seq}, acknowledged {prod.n_acked()}, failed {len(prod.failed)}, "
          f"duplicates {duplicates}, consumed {sum(len(v) for v in values.values())}")
    assert not problems, problems
    assert not wrong, f"acknowledged offsets holding other values: {wrong[:10]}"
    unexpected = [e for _, _, e in prod.failed if e.code() != KafkaError._MSG_TIMED_OUT]
    assert not unexpected, f"delivery errors other than timeouts: {unexpected[:5]}"


def _segments_parse(partition_dir):
    """Every .log segment of a partition dir is whole batches with valid CRCs, nothing after."""
    for name in sorted(n for n in os.listdir(partition_dir) if n.endswith(".log")):
        with open(os.path.join(partition_dir, name), "rb") as f:
            data = f.read()
        batches = list(kwire.parse_batches(data))
        assert all(b["crc_valid"] for b in batches), f"{name}: bad CRC"
        end = batches[-1]["position"] + 12 + batches[-1]["length"] if batches else 0
        assert end == len(data), f"{partition_dir}/{name}: {len(data) - end} bytes after the last whole batch"


def _failure_line(b, log_dir):
    m = re.search(rf"ERROR Log dir {re.escape(log_dir)} failed: (.*)", b.log_text())
    return m.group(0) if m else None


def test_full_log_dir_moves_leaders_halts_the_broker_and_it_recovers(request):
    with TmpfsCluster(request) as t:
        c = t.c
        b3 = c.brokers[3]
        mb.create_topic(c, TOPIC, partitions=3, rf=3, configs={"min.insync.replicas": "2"})
        mb.wait_full_isr(c, TOPIC)
        # Broker 3 leads one partition, so a leader has to move away.
        assert 3 in {mb.partition_state(c, TOPIC, p)["leader"] for p in range(3)}
        prod = mb.SeqProducer(c.bootstrap, TOPIC, [0, 1, 2], rate=300).start()
        try:
            prod.wait_acked(300)
            filler = _fill(t.tmpfs)

            # The clear line, the notification, and the halt with exit code 1.
            line = wait_until(lambda: _failure_line(b3, t.tmpfs), 60, "the log dir failure line")
            print(line)
            assert "No space left on device" in line, line
            assert "/log_dir_event_notification/log_dir_event_" in line, line
            assert "No live log dir is left: the broker halts." in line, line
            assert b3.proc.wait(60) == 1
            assert f"Shutdown broker because all log dirs in {t.tmpfs} have failed" in b3.log_text()
            ctrl_logs = "".join(b.log_text() for b in c.brokers.values())
            assert "Handling log directory failure for brokers {3}" in ctrl_logs
            assert not c.zk.children("/log_dir_event_notification"), "the controller deleted the notification"

            # Leaders move away; the producer keeps getting acknowledgements.
            for p in range(3):
                mb.wait_leader(c, TOPIC, p, other_than=3)
            prod.wait_acked(300)

            # Free the space, restart: recovery, re-replication, every ISR rejoined.
            os.remove(filler)
            mark = b3.log_size()
            mb.restart_after_kill(b3)
            mb.wait_full_isr(c, TOPIC)
            prod.wait_acked(300)
            restart_log = b3.log_since(mark)
            # The halt left no clean-shutdown marker: the logs were recovered (a torn tail, if the
            # failed write left one, truncated).
            assert "recovering segment" in restart_log
            print("\n".join(ln for ln in restart_log.splitlines() if "truncating" in ln or "invalid batch" in ln))
        finally:
            remaining = prod.stop()
        assert remaining == 0, f"{remaining} messages never resolved"
        _check_no_loss(c, prod, [0, 1, 2])

        for p in range(3):
            leader = c.brokers[mb.partition_state(c, TOPIC, p)["leader"]]
            wait_until(lambda: mb.log_end_offset(b3, TOPIC, p) == mb.log_end_offset(leader, TOPIC, p), 60,
                       f"broker 3 caught up on {TOPIC}-{p}")
            _segments_parse(b3.partition_dir(TOPIC, p))
            assert mb.log_records(b3, TOPIC, p) == mb.log_records(leader, TOPIC, p)


def test_one_failed_dir_of_two_leaves_the_broker_serving_the_other(request):
    with TmpfsCluster(request, two_dirs=True) as t:
        c = t.c
        b3 = c.brokers[3]
        mb.create_topic(c, TOPIC, partitions=4, rf=3, configs={"min.insync.replicas": "2"})
        mb.wait_full_isr(c, TOPIC)
        on_tmpfs = sorted(int(n.rsplit("-", 1)[1]) for n in os.listdir(t.tmpfs) if n.startswith(f"{TOPIC}-"))
        in_good = sorted(int(n.rsplit("-", 1)[1]) for n in os.listdir(t.good) if n.startswith(f"{TOPIC}-"))
        assert on_tmpfs and in_good, (on_tmpfs, in_good)
        prod = mb.SeqProducer(c.bootstrap, TOPIC, [0, 1, 2, 3], rate=300).start()
        try:
            prod.wait_acked(300)
            _fill(t.tmpfs)
            line = wait_until(lambda: _failure_line(b3, t.tmpfs), 60, "the log dir failure line")
            print(line)
            assert "No space left on device" in line, line
            assert "keeps serving its other log dirs" in line, line
            for p in on_tmpfs:
                assert f"{TOPIC}-{p}" in line, line

            # The controller takes broker 3's replicas in the tmpfs offline: out of their ISRs, no
            # leadership there; the partitions in the good dir keep broker 3 in sync.
            def moved():
                sts = mb.partition_states(c, TOPIC)
                return all(3 not in sts[p]["isr"] and sts[p]["leader"] not in (3, -1) for p in on_tmpfs)
            wait_until(moved, 60, "broker 3's offline replicas out of the ISR", interval=0.5)
            prod.wait_acked(600)
            sts = mb.partition_states(c, TOPIC)
            assert all(3 in sts[p]["isr"] for p in in_good), sts
            assert b3.alive(), "broker 3 stays up with one live dir"
            assert "Shutdown broker" not in b3.log_text()
        finally:
            remaining = prod.stop()
        assert remaining == 0, f"{remaining} messages never resolved"
        _check_no_loss(c, prod, [0, 1, 2, 3])
        for p in in_good:
            leader = c.brokers[mb.partition_state(c, TOPIC, p)["leader"]]
            wait_until(lambda: mb.log_end_offset(b3, TOPIC, p) == mb.log_end_offset(leader, TOPIC, p), 60,
                       f"broker 3 caught up on {TOPIC}-{p}")
            assert mb.log_records(b3, TOPIC, p) == mb.log_records(leader, TOPIC, p)


def test_a_dir_full_at_startup_is_offline_and_with_no_other_the_broker_exits(request):
    c = harness.Cluster(request.node.name[:30])
    tmpfs = os.path.join(c.workdir, "tmpfs-1")
    mounted = False
    try:
        _mount_tmpfs(tmpfs)
        mounted = True
        _fill(tmpfs)
        c.start_zk()
        b = c.add_broker(1, overrides=dict(OVERRIDES, **{"log.dirs": tmpfs}), start=False)
        b.start(wait=False)
        assert b.proc.wait(60) == 1
        text = b.log_text()
        fatal = [ln for ln in text.splitlines() if "Fatal error during KafkaServer startup" in ln]
        assert len(fatal) == 1, text[-3000:]
        assert f"Shutdown broker because all log dirs in {tmpfs} have failed" in fatal[0], fatal[0]
        assert "Error while writing meta.properties" in text and "No space left on device" in text
    except BaseException:
        c.failed = True
        print(c.dump_logs())
        raise
    finally:
        for br in c.brokers.values():
            br.kill9()
        if mounted:
            _umount(tmpfs)
        c.close()
