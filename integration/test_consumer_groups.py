"""Issue #4, command-line side: kafka-consumer-groups.sh and kafka-console-consumer.sh --group
against three broker processes on a private ZooKeeper (`__consumer_offsets` with RF 3).

Groups are made by real clients (confluent-kafka consumers, the console consumer); the tool's
output is checked against Kafka 2.8's layouts (ConsumerGroupCommand): column headers, `-` for
missing values, the notes on stderr, `Error: ...` lines on stdout (exit status 0, as Kafka).
Tests share one cluster and run in file order; each uses its own topic and groups.
"""

import os
import re
import signal
import subprocess
import time

import pytest
from confluent_kafka import Consumer, TopicPartition

import clients
import harness
import multibroker as mb
from harness import wait_until

TIMEOUT = 60
SCRIPT = os.path.join(harness.SCRIPTS, "kafka-consumer-groups.sh")
CONSOLE = os.path.join(harness.SCRIPTS, "kafka-console-consumer.sh")
OFFSETS_HEADER = ["GROUP", "TOPIC", "PARTITION", "CURRENT-OFFSET", "LOG-END-OFFSET", "LAG", "CONSUMER-ID", "HOST",
                  "CLIENT-ID"]


@pytest.fixture(scope="module")
def cluster():
    c = mb.start_cluster("cgtool", overrides={"offsets.topic.replication.factor": "3",
                                              "group.initial.rebalance.delay.ms": "0"})
    yield c
    c.close()


def cg(c, *args, timeout=harness.CLI_TIMEOUT):
    return c.tool("kafka-consumer-groups.sh", "--bootstrap-server", c.bootstrap, *args, timeout=timeout)


def table(stdout):
    """The rows of the first table in `stdout` (header included), split on whitespace."""
    lines = [line for line in stdout.splitlines() if line.strip()]
    return [line.split() for line in lines]


def produce_per_partition(c, topic, partitions, n, tag="m"):
    msgs = []
    for p in range(partitions):
        clients.produce_sync(c.bootstrap, topic, [(None, f"{tag}-{p}-{i}") for i in range(n)], partition=p)
        msgs += [f"{tag}-{p}-{i}" for i in range(n)]
    return msgs


def group_consumer(c, group, **extra):
    conf = {"bootstrap.servers": c.bootstrap, "broker.address.family": "v4", "group.id": group,
            "enable.auto.commit": False, "auto.offset.reset": "earliest", "client.id": f"it-{group}",
            "session.timeout.ms": 6000, "heartbeat.interval.ms": 500}
    conf.update(extra)
    return Consumer(conf)


def consume_n(consumer, n, timeout=TIMEOUT, settle=0.0):
    """Polls until n messages arrived; with settle > 0 keeps polling that long for extras."""
    got = []
    deadline = time.monotonic() + timeout
    while len(got) < n:
        assert time.monotonic() < deadline, f"only {len(got)} of {n} messages in {timeout}s"
        for m in consumer.consume(num_messages=1000, timeout=0.5):
            if m.error() is None:
                got.append((m.partition(), m.offset(), m.value().decode()))
    end = time.monotonic() + settle
    while time.monotonic() < end:
        for m in consumer.consume(num_messages=1000, timeout=0.2):
            if m.error() is None:
                got.append((m.partition(), m.offset(), m.value().decode()))
    return got


def wait_state(c, group, state, timeout=TIMEOUT):
    def ready():
        p = cg(c, "--describe", "--group", group, "--state")
        rows = table(p.stdout)
        return len(rows) >= 2 and rows[1][0] == group and state in rows[1] and p
    return wait_until(ready, timeout, f"group {group} in state {state}", interval=0.5)


def offsets_rows(p):
    rows = table(p.stdout)
    assert rows[0] == OFFSETS_HEADER, p.stdout
    return sorted((r[1], int(r[2]), r[3], r[4], r[5], r[6]) for r in rows[1:])


# -- tests -------------------------------------------------------------------------------------------
def test_describe_lag_members_state_list(cluster):
    c = cluster
    topic, group = "cg-lag", "g-lag"
    c.create_topic(topic, partitions=3, replication_factor=2)
    produce_per_partition(c, topic, 3, 10)
    consumer = group_consumer(c, group)
    try:
        consumer.subscribe([topic])
        consume_n(consumer, 30)
        consumer.commit(offsets=[TopicPartition(topic, 0, 4), TopicPartition(topic, 1, 7),
                                 TopicPartition(topic, 2, 10)], asynchronous=False)
        wait_state(c, group, "Stable")

        p = cg(c, "--describe", "--group", group)
        assert p.returncode == 0, p.stderr
        lines = p.stdout.splitlines()
        assert lines[0] == "" and lines[1].startswith("GROUP           TOPIC           PARTITION  CURRENT-OFFSET  "
                                                      "LOG-END-OFFSET  LAG             CONSUMER-ID"), p.stdout
        rows = offsets_rows(p)
        assert [(r[0], r[1], r[2], r[3], r[4]) for r in rows] == [
            (topic, 0, "4", "10", "6"), (topic, 1, "7", "10", "3"), (topic, 2, "10", "10", "0")]
        member_ids = {r[5] for r in rows}
        assert len(member_ids) == 1 and next(iter(member_ids)).startswith(f"it-{group}-"), rows
        assert all(r.split()[7] == "/127.0.0.1" and r.split()[8] == f"it-{group}" for r in lines[2:] if r), p.stdout

        p = cg(c, "--describe", "--group", group, "--members", "--verbose")
        rows = table(p.stdout)
        assert rows[0] == ["GROUP", "CONSUMER-ID", "HOST", "CLIENT-ID", "#PARTITIONS", "ASSIGNMENT"], p.stdout
        assert rows[1][0] == group and rows[1][2:] == ["/127.0.0.1", f"it-{group}", "3", f"{topic}(0,1,2)"], p.stdout

        p = wait_state(c, group, "Stable")
        rows = table(p.stdout)
        assert rows[0] == ["GROUP", "COORDINATOR", "(ID)", "ASSIGNMENT-STRATEGY", "STATE", "#MEMBERS"], p.stdout
        assert re.fullmatch(r"127\.0\.0\.1:\d+", rows[1][1]) and re.fullmatch(r"\(\d\)", rows[1][2]), p.stdout
        assert rows[1][3:] == ["range", "Stable", "1"], p.stdout

        p = cg(c, "--list")
        assert group in p.stdout.split(), p.stdout
        p = cg(c, "--list", "--state")
        assert table(p.stdout)[0] == ["GROUP", "STATE"] and [group, "Stable"] in table(p.stdout), p.stdout
        p = cg(c, "--list", "--state", "empty")
        assert group not in p.stdout, p.stdout

        # An active group cannot be deleted (NON_EMPTY_GROUP), and the tool still exits 0.
        p = cg(c, "--delete", "--group", group)
        assert p.returncode == 0
        assert p.stdout == ("\nError: Deletion of some consumer groups failed:\n"
                            f"* Group '{group}' could not be deleted due to: "
                            "org.apache.kafka.common.errors.GroupNotEmptyException: The group is not empty.\n"), p.stdout
    finally:
        consumer.close()

    wait_state(c, group, "Empty")
    p = cg(c, "--describe", "--group", group)
    assert f"Consumer group '{group}' has no active members." in p.stderr, p.stderr
    rows = offsets_rows(p)
    assert [r[:5] for r in rows] == [(topic, 0, "4", "10", "6"), (topic, 1, "7", "10", "3"), (topic, 2, "10", "10", "0")]
    assert all(r[5] == "-" for r in rows)

    p = cg(c, "--delete", "--group", group)
    assert p.stdout.strip() == f"Deletion of requested consumer groups ('{group}') was successful.", p.stdout
    p = cg(c, "--describe", "--group", group)
    assert p.returncode == 0 and p.stdout == f"\nError: Consumer group '{group}' does not exist.\n", p.stdout


def test_reset_offsets_plans_and_shift_by(cluster):
    c = cluster
    topic, group = "cg-reset", "g-reset"
    c.create_topic(topic, partitions=3, replication_factor=3)
    before = int(time.time() * 1000) - 1000
    produce_per_partition(c, topic, 3, 10)
    consumer = group_consumer(c, group)
    try:
        consumer.subscribe([topic])
        consume_n(consumer, 30)
        consumer.commit(asynchronous=False)
        wait_state(c, group, "Stable")
        p = cg(c, "--reset-offsets", "--group", group, "--topic", topic, "--to-earliest", "--execute")
        assert p.returncode == 0
        assert (f"Error: Assignments can only be reset if the group '{group}' is inactive, "
                "but the current state is Stable.") in p.stdout, p.stdout
    finally:
        consumer.close()
    wait_state(c, group, "Empty")

    def plan(*spec, scope=("--topic", topic)):
        p = cg(c, "--reset-offsets", "--group", group, *scope, *spec)
        assert p.returncode == 0, p.stdout + p.stderr
        rows = table(p.stdout)
        assert rows[0] == ["GROUP", "TOPIC", "PARTITION", "NEW-OFFSET"], p.stdout
        return sorted((r[1], int(r[2]), int(r[3])) for r in rows[1:]), p

    everything = [(topic, p, 0) for p in range(3)]
    got, p = plan("--to-earliest")
    assert got == everything
    assert "WARN: No action will be performed as the --execute option is missing." in p.stderr
    assert plan("--to-latest", "--dry-run")[0] == [(topic, p, 10) for p in range(3)]
    assert plan("--to-offset", "3", "--dry-run", scope=("--topic", f"{topic}:0,2"))[0] == [(topic, 0, 3), (topic, 2, 3)]
    assert plan("--to-offset", "99", "--dry-run")[0] == [(topic, p, 10) for p in range(3)]
    assert plan("--to-current", "--dry-run", scope=("--all-topics",))[0] == [(topic, p, 10) for p in range(3)]
    stamp = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(before / 1000)) + ".000"
    assert plan("--to-datetime", stamp, "--dry-run")[0] == everything
    assert plan("--to-datetime", "2999-01-01T00:00:00.000", "--dry-run")[0] == [(topic, p, 10) for p in range(3)]
    assert plan("--by-duration", "P1D", "--dry-run")[0] == everything
    p = cg(c, "--reset-offsets", "--group", group, "--topic", topic, "--to-earliest", "--dry-run", "--export")
    assert p.stdout == "".join(f"{topic},{i},0\n" for i in range(3)) + "\n", p.stdout
    # Dry runs changed nothing.
    assert [r[2] for r in offsets_rows(cg(c, "--describe", "--group", group))] == ["10", "10", "10"]

    # The issue-4 scenario: shift back by two on a stopped group, a consumer re-reads exactly two
    # messages per partition.
    got, _ = plan("--shift-by", "-2", "--execute")
    assert got == [(topic, p, 8) for p in range(3)]
    assert [r[2] for r in offsets_rows(cg(c, "--describe", "--group", group))] == ["8", "8", "8"]
    consumer = group_consumer(c, group)
    try:
        consumer.subscribe([topic])
        again = consume_n(consumer, 6, settle=3.0)
    finally:
        consumer.close()
    assert sorted(again) == sorted((p, o, f"m-{p}-{o}") for p in range(3) for o in (8, 9)), again

    # --from-file applies an exported plan.
    path = os.path.join(c.workdir, "plan.csv")
    with open(path, "w") as f:
        f.write(f"{topic},0,1\n{topic},1,2\n")
    got, _ = plan("--from-file", path, "--execute", scope=())
    assert got == [(topic, 0, 1), (topic, 1, 2)]
    rows = offsets_rows(cg(c, "--describe", "--group", group))
    assert [(r[1], r[2]) for r in rows] == [(0, "1"), (1, "2"), (2, "8")]

    # Bad arguments: usage on stderr, exit 1.
    p = cg(c, "--reset-offsets", "--group", group, "--to-earliest", "--dry-run")
    assert p.returncode == 1 and "One of the reset scopes should be defined: --all-topics, --topic." in p.stderr
    p = cg(c, "--describe")
    assert p.returncode == 1 and "Option [describe] takes one of these options: [group], [all-groups]" in p.stderr


def test_delete_offsets(cluster):
    c = cluster
    topic, group = "cg-deloff", "g-deloff"
    c.create_topic(topic, partitions=2, replication_factor=2)
    produce_per_partition(c, topic, 2, 3)
    consumer = group_consumer(c, group)
    try:
        consumer.subscribe([topic])
        consume_n(consumer, 6)
        consumer.commit(asynchronous=False)
    finally:
        consumer.close()
    wait_state(c, group, "Empty")
    p = cg(c, "--delete-offsets", "--group", group, "--topic", f"{topic}:0")
    assert p.stdout.splitlines()[0] == f"Request succeed for deleting offsets with topic {topic}:0 group {group}", p.stdout
    rows = table(p.stdout)
    assert rows[1] == ["TOPIC", "PARTITION", "STATUS"] and rows[2] == [topic, "0", "Successful"], p.stdout
    rows = offsets_rows(cg(c, "--describe", "--group", group))
    assert [(r[1], r[2]) for r in rows] == [(1, "3")]


# -- console consumer in group mode --------------------------------------------------------------
def console(c, *args):
    return subprocess.Popen(["bash", CONSOLE, "--bootstrap-server", c.bootstrap, *args], cwd=harness.REPO,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, stdin=subprocess.DEVNULL,
                            env=dict(os.environ, LOG_DIR=c.workdir), start_new_session=True)


def finish(proc, timeout=TIMEOUT):
    try:
        out, err = proc.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        out, err = proc.communicate()
        raise AssertionError(f"console consumer did not finish in {timeout}s\nstdout:\n{out}\nstderr:\n{err}")
    return proc.returncode, out, err


def test_console_consumers_split_partitions_and_resume(cluster):
    c = cluster
    topic, group = "cg-console", "g-console"
    c.create_topic(topic, partitions=4, replication_factor=2)
    common = ["--topic", topic, "--group", group, "--from-beginning", "--property", "print.partition=true",
              "--max-messages", "20", "--timeout-ms", "60000"]
    procs = [console(c, *common), console(c, *common)]
    try:
        def split():
            p = cg(c, "--describe", "--group", group, "--members")
            rows = table(p.stdout)
            return len(rows) == 3 and sorted(r[-1] for r in rows[1:]) == ["2", "2"]
        wait_until(split, TIMEOUT, "two console consumers with two partitions each", interval=0.5)
        sent = produce_per_partition(c, topic, 4, 10)
        results = [finish(p) for p in procs]
    finally:
        for p in procs:
            if p.poll() is None:
                os.killpg(p.pid, signal.SIGKILL)
    seen = []
    partitions = []
    for rc, out, err in results:
        assert rc == 0 and "Processed a total of 20 messages" in err, (rc, out, err)
        lines = [line.split("\t") for line in out.splitlines()]
        partitions.append({int(part.split(":")[1]) for part, _ in lines})
        seen += [value for _, value in lines]
    assert sorted(seen) == sorted(sent)
    assert len(partitions[0]) == 2 and len(partitions[1]) == 2 and not partitions[0] & partitions[1], partitions
    wait_state(c, group, "Empty")
    assert [r[2] for r in offsets_rows(cg(c, "--describe", "--group", group))] == ["10"] * 4

    # A new console consumer of the group continues where the group left off.
    more = produce_per_partition(c, topic, 4, 2, tag="more")
    rc, out, err = finish(console(c, "--topic", topic, "--group", group, "--from-beginning", "--max-messages", "8",
                                  "--timeout-ms", "30000"))
    assert rc == 0, err
    assert sorted(out.split()) == sorted(more), out
    wait_state(c, group, "Empty")
    assert [r[2] for r in offsets_rows(cg(c, "--describe", "--group", group))] == ["12"] * 4


def test_console_consumer_legacy_zookeeper_offsets(cluster):
    c = cluster
    topic, group = "cg-legacy", "g-legacy"
    c.create_topic(topic, partitions=2, replication_factor=2)
    sent = produce_per_partition(c, topic, 2, 3)

    def run_zk(n):
        p = subprocess.run(["bash", CONSOLE, "--zookeeper", c.zk.connect, "--topic", topic, "--group", group,
                            "--from-beginning", "--max-messages", str(n), "--timeout-ms", "30000"],
                           cwd=harness.REPO, capture_output=True, text=True, timeout=TIMEOUT,
                           env=dict(os.environ, LOG_DIR=c.workdir), stdin=subprocess.DEVNULL)
        assert p.returncode == 0, p.stderr
        assert "legacy" in p.stderr and "ZooKeeper" in p.stderr, p.stderr
        return p.stdout.split()

    assert sorted(run_zk(6)) == sorted(sent)
    offsets = {p: int(c.zk.get(f"/consumers/{group}/offsets/{topic}/{p}")[0]) for p in range(2)}
    assert offsets == {0: 3, 1: 3}
    more = produce_per_partition(c, topic, 2, 1, tag="more")
    assert sorted(run_zk(2)) == sorted(more)


def test_console_consumer_and_librdkafka_share_a_group(cluster):
    """The console consumer leads (it joined first) and assigns a librdkafka member its share;
    the two read disjoint halves of the topic."""
    c = cluster
    topic, group = "cg-mixed", "g-mixed"
    c.create_topic(topic, partitions=4, replication_factor=2)
    proc = console(c, "--topic", topic, "--group", group, "--from-beginning", "--property", "print.partition=true",
                   "--max-messages", "20", "--timeout-ms", "60000")
    consumer = group_consumer(c, group)
    try:
        def members(n):
            rows = table(cg(c, "--describe", "--group", group, "--members").stdout)
            return len(rows) == n + 1 and rows
        wait_until(lambda: members(1), TIMEOUT, "the console consumer alone in the group", interval=0.5)
        consumer.subscribe([topic])

        def split():
            consumer.consume(num_messages=100, timeout=0.2)
            rows = members(2)
            return rows and sorted(r[-1] for r in rows[1:]) == ["2", "2"] and rows
        rows = wait_until(split, TIMEOUT, "console consumer and librdkafka with two partitions each", interval=0.2)
        assert {r[3] for r in rows[1:]} == {f"it-{group}", f"consumer-{group}-1"}, rows
        sent = produce_per_partition(c, topic, 4, 10)
        got = consume_n(consumer, 20)
        rc, out, err = finish(proc)
    finally:
        consumer.close()
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
    assert rc == 0, err
    lines = [line.split("\t") for line in out.splitlines()]
    console_parts = {int(part.split(":")[1]) for part, _ in lines}
    rdkafka_parts = {p for p, _, _ in got}
    assert len(console_parts) == 2 and console_parts.isdisjoint(rdkafka_parts) and len(rdkafka_parts) == 2
    assert sorted([v for _, v in lines] + [v for _, _, v in got]) == sorted(sent)


def test_console_consumers_rebalance_mid_stream_without_loss_or_duplicates(cluster):
    """A second console consumer joins while records flow: the first commits what it printed
    before giving partitions up, so together they print every record exactly once."""
    import threading

    c = cluster
    topic, group = "cg-stream", "g-stream"
    c.create_topic(topic, partitions=4, replication_factor=2)
    sent = [f"s-{i}" for i in range(300)]
    args = ["--topic", topic, "--group", group, "--from-beginning", "--timeout-ms", "10000",
            "--consumer-property", "heartbeat.interval.ms=500", "--consumer-property", "auto.commit.interval.ms=60000"]
    first = console(c, *args)
    second = None
    try:
        wait_until(lambda: len(table(cg(c, "--describe", "--group", group, "--members").stdout)) == 2,
                   TIMEOUT, "the first console consumer in the group", interval=0.5)
        p = clients.producer(c.bootstrap)

        def produce():
            for v in sent:
                p.produce(topic, value=v)
                p.poll(0)
                time.sleep(0.01)
            p.flush(60)
        t = threading.Thread(target=produce)
        t.start()
        time.sleep(1.0)
        second = console(c, *args)
        t.join(120)
        results = [finish(first, timeout=120), finish(second, timeout=120)]
    finally:
        for proc in (first, second):
            if proc is not None and proc.poll() is None:
                os.killpg(proc.pid, signal.SIGKILL)
    printed = []
    for rc, out, err in results:
        assert rc == 0, err
        printed += out.split()
    assert sorted(printed) == sorted(sent), (len(printed), len(set(printed)))
    assert all(out.split() for _, out, _ in results), "both consumers should have printed records"


def test_console_consumer_group_with_whitelist_and_all_groups_views(cluster):
    c = cluster
    group = "g-whitelist"
    for t in ("cg-wl-a", "cg-wl-b"):
        c.create_topic(t, partitions=2, replication_factor=2)
    sent = produce_per_partition(c, "cg-wl-a", 2, 2, tag="a") + produce_per_partition(c, "cg-wl-b", 2, 2, tag="b")
    rc, out, err = finish(console(c, "--whitelist", "cg-wl-.*", "--group", group, "--from-beginning",
                                  "--max-messages", "8", "--timeout-ms", "30000"))
    assert rc == 0, err
    assert sorted(out.split()) == sorted(sent)
    wait_state(c, group, "Empty")
    rows = offsets_rows(cg(c, "--describe", "--group", group))
    assert [(r[0], r[1], r[2]) for r in rows] == [("cg-wl-a", 0, "2"), ("cg-wl-a", 1, "2"), ("cg-wl-b", 0, "2"),
                                                  ("cg-wl-b", 1, "2")]
    p = cg(c, "--describe", "--all-groups", "--state")
    states = {r[0]: r for r in table(p.stdout) if r[0] != "GROUP"}
    assert states[group][-2:] == ["Empty", "0"], p.stdout
    p = cg(c, "--list")
    assert group in p.stdout.split(), p.stdout


def test_console_consumer_follows_coordinator_failover(cluster):
    """Kill -9 the group's coordinator under a running console consumer: it finds the new
    coordinator, keeps its group membership going and prints what is produced afterwards.
    (Last in the file: it kills a broker, restarted at the end.)"""
    import threading

    c = cluster
    topic, group = "cg-failover", "g-failover"
    c.create_topic(topic, partitions=2, replication_factor=3)
    proc = console(c, "--topic", topic, "--group", group, "--from-beginning", "--timeout-ms", "60000",
                   "--consumer-property", "heartbeat.interval.ms=500", "--consumer-property", "session.timeout.ms=6000",
                   "--consumer-property", "auto.commit.interval.ms=1000")
    printed = []
    reader = threading.Thread(target=lambda: printed.extend(line.strip() for line in proc.stdout), daemon=True)
    reader.start()
    victim = None
    try:
        before = produce_per_partition(c, topic, 2, 5, tag="before")
        wait_until(lambda: set(before) <= set(printed), TIMEOUT, "records printed before the failover")
        rows = table(wait_state(c, group, "Stable").stdout)
        victim = int(rows[1][2].strip("()"))
        mb.broker(c, victim).kill9()
        after = produce_per_partition(c, topic, 2, 5, tag="after")
        wait_until(lambda: set(after) <= set(printed), 120, "records printed after the failover")

        def moved():
            r = table(cg(c, "--describe", "--group", group, "--state").stdout)
            return len(r) == 2 and int(r[1][2].strip("()")) != victim and "Stable" in r[1] and r
        wait_until(moved, 120, "the group Stable on a new coordinator", interval=1.0)
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(30)
        finally:
            if proc.poll() is None:
                os.killpg(proc.pid, signal.SIGKILL)
            if victim is not None:
                b = mb.broker(c, victim)
                b.wait_deregistered()
                b.start()
    assert set(printed) == set(before) | set(after)
    assert proc.returncode == 143
