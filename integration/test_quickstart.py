"""The issue's quickstart, run the way a Kafka user runs it: the launcher scripts with -daemon, then
kafka-topics / console producer / console consumer / kafka-configs, then the stop scripts.

The tests in this module form one sequence (module-scoped cluster, file order)."""

import os
import re

import pytest

import harness
from harness import TOPIC_ID_RE, describe_lines, wait_until

TOPIC = "NEWS"


@pytest.fixture(scope="module")
def qs():
    c = harness.Cluster("quickstart")
    with harness.managed(c):
        c.zk.start(daemon=True)
        # deleted partition dirs go after log.segment.delete.delay.ms (60 s by default); shorten it
        c.add_broker(1, overrides={"log.segment.delete.delay.ms": "2000"}, start=False).start(daemon=True)
        yield c


def broker(qs):
    return qs.brokers[1]


def test_daemon_launch_writes_logs_to_log_dir(qs):
    # kafka-run-class.sh -daemon sends output to $LOG_DIR/<name>.out: zookeeper.out, kafkaServer.out
    assert os.path.exists(os.path.join(qs.workdir, "zookeeper.out")), os.listdir(qs.workdir)
    assert os.path.exists(os.path.join(qs.workdir, "kafkaServer.out")), os.listdir(qs.workdir)
    assert broker(qs).alive()


def test_create(qs):
    p = qs.topics("--create", "--topic", TOPIC, "--partitions", "2", "--replication-factor", "1")
    assert p.returncode == 0, p.stderr
    assert "Created topic NEWS." in p.stdout.splitlines(), p.stdout
    # creating it again is an error (exit 1) unless --if-not-exists
    again = qs.topics("--create", "--topic", TOPIC, "--partitions", "2", "--replication-factor", "1")
    assert again.returncode == 1, (again.stdout, again.stderr)
    assert "Error while executing topic command" in again.stdout + again.stderr
    ok = qs.topics("--create", "--if-not-exists", "--topic", TOPIC, "--partitions", "2",
                   "--replication-factor", "1")
    assert ok.returncode == 0, ok.stderr


def _describe(qs):
    p = qs.topics("--describe", "--topic", TOPIC)
    assert p.returncode == 0, p.stderr
    return describe_lines(p.stdout)


def test_describe_format(qs):
    bid = broker(qs).broker_id

    def leaders_elected():
        lines = _describe(qs)
        return lines if len(lines) == 3 and all("\tLeader: none" not in ln for ln in lines) else None
    lines = wait_until(leaders_elected, 60, "both NEWS partitions to have a leader in --describe")

    header = re.fullmatch(rf"Topic: NEWS\tTopicId: ({TOPIC_ID_RE})\tPartitionCount: 2\tReplicationFactor: 1"
                          rf"\tConfigs: ", lines[0])
    assert header, f"header line not in Kafka's format: {lines[0]!r}"
    assert lines[1:] == [
        f"\tTopic: NEWS\tPartition: 0\tLeader: {bid}\tReplicas: {bid}\tIsr: {bid}",
        f"\tTopic: NEWS\tPartition: 1\tLeader: {bid}\tReplicas: {bid}\tIsr: {bid}",
    ]
    # the TopicId printed is the one stored in ZooKeeper
    assert qs.zk.get_json("/brokers/topics/NEWS")["topic_id"] == header.group(1)


def test_list(qs):
    other = qs.topics("--create", "--topic", "ALPHA", "--partitions", "1", "--replication-factor", "1")
    assert other.returncode == 0, other.stderr
    p = qs.topics("--list")
    assert p.returncode == 0, p.stderr
    names = [ln for ln in p.stdout.splitlines() if ln.strip()]
    assert names == ["ALPHA", "NEWS"], names  # sorted, one per line


MESSAGES = [f"user{i % 5}:event-{i}" for i in range(50)]


def test_console_producer_and_consumer(qs):
    b = broker(qs)
    p = qs.tool("kafka-console-producer.sh", "--broker-list", b.bootstrap, "--topic", TOPIC,
                "--property", "parse.key=true", "--property", "key.separator=:",
                input="\n".join(MESSAGES) + "\n")
    assert p.returncode == 0, (p.stdout, p.stderr)

    c = qs.tool("kafka-console-consumer.sh", "--bootstrap-server", b.bootstrap, "--topic", TOPIC,
                "--from-beginning", "--property", "print.key=true",
                "--max-messages", str(len(MESSAGES)), "--timeout-ms", "60000")
    assert c.returncode == 0, (c.stdout, c.stderr)
    got = [ln for ln in c.stdout.splitlines() if ln]
    # default print format with print.key=true: key TAB value
    assert sorted(got) == sorted(m.replace(":", "\t", 1) for m in MESSAGES)
    # one key always lands in one partition, so each key's values keep the produced order
    for key in {m.split(":")[0] for m in MESSAGES}:
        sent = [m.split(":")[1] for m in MESSAGES if m.startswith(key + ":")]
        seen = [ln.split("\t")[1] for ln in got if ln.startswith(key + "\t")]
        assert seen == sent, key
    assert f"Processed a total of {len(MESSAGES)} messages" in c.stderr


def test_alter_config(qs):
    p = qs.topics("--topic", TOPIC, "--alter", "--config", "max.message.bytes=64000")
    assert p.returncode == 0, p.stderr
    assert "Updated config for topic NEWS." in p.stdout, p.stdout
    lines = _describe(qs)
    assert re.fullmatch(rf"Topic: NEWS\tTopicId: {TOPIC_ID_RE}\tPartitionCount: 2\tReplicationFactor: 1"
                        r"\tConfigs: max.message.bytes=64000", lines[0]), lines[0]
    d = qs.configs("--entity-type", "topics", "--entity-name", TOPIC, "--describe")
    assert d.returncode == 0, d.stderr
    assert "Configs for topic 'NEWS' are max.message.bytes=64000" in d.stdout.splitlines(), d.stdout
    wo = qs.topics("--describe", "--topics-with-overrides")
    assert wo.returncode == 0, wo.stderr
    assert [ln.split("\t")[0] for ln in describe_lines(wo.stdout)] == ["Topic: NEWS"], wo.stdout


def test_delete_config(qs):
    p = qs.topics("--topic", TOPIC, "--alter", "--deleteConfig", "max.message.bytes")
    assert p.returncode == 0, p.stderr
    assert "Updated config for topic NEWS." in p.stdout, p.stdout
    lines = _describe(qs)
    assert re.fullmatch(rf"Topic: NEWS\tTopicId: {TOPIC_ID_RE}\tPartitionCount: 2\tReplicationFactor: 1"
                        r"\tConfigs: ", lines[0]), lines[0]
    d = qs.configs("--entity-type", "topics", "--entity-name", TOPIC, "--describe")
    assert d.returncode == 0, d.stderr
    # (Kafka 2.8 also prints a --zookeeper deprecation warning on stdout)
    described = [ln.rstrip() for ln in d.stdout.splitlines() if ln.startswith("Configs for")]
    assert described == ["Configs for topic 'NEWS' are"], d.stdout


def test_delete_topic(qs):
    b = broker(qs)
    dirs = [b.partition_dir(TOPIC, p) for p in (0, 1)]
    assert all(os.path.isdir(d) for d in dirs), os.listdir(b.log_dir)

    p = qs.topics("--topic", TOPIC, "--delete")
    assert p.returncode == 0, p.stderr
    assert "Topic NEWS is marked for deletion." in p.stdout, p.stdout

    def gone_from_list():
        names = qs.topics("--list").stdout.split()
        return "NEWS" not in names and "ALPHA" in names
    wait_until(gone_from_list, 90, "NEWS to disappear from --list", interval=1.0)

    def gone_from_disk():
        return not [n for n in os.listdir(b.log_dir) if n.startswith("NEWS-")]
    wait_until(gone_from_disk, 120, f"NEWS partition dirs to be removed from {b.log_dir}", interval=1.0)
    assert not qs.zk.exists("/brokers/topics/NEWS")
    assert not qs.zk.exists("/admin/delete_topics/NEWS")
    assert not qs.zk.exists("/config/topics/NEWS")
    assert os.path.isdir(b.partition_dir("ALPHA", 0))


def _foreign_kafka_processes(qs):
    mine = set(harness.pids_mentioning(qs.workdir))
    foreign = []
    for pid in harness.pids_mentioning("kafka-server") + harness.pids_mentioning("QuorumPeerMain"):
        if pid not in mine:
            foreign.append(pid)
    return foreign


def test_stop_scripts(qs):
    # kafka-server-stop.sh / zookeeper-server-stop.sh stop EVERY broker / ZooKeeper on the machine,
    # like Kafka's. So they run only in CI (CI=true: a machine of its own) or when asked for with
    # KAFKA_IT_STOP_SCRIPTS=1 on a machine where nothing else of the kind runs.
    if os.environ.get("CI") != "true":
        if os.environ.get("KAFKA_IT_STOP_SCRIPTS") != "1":
            pytest.skip("the stop scripts stop every broker/ZooKeeper on the host; "
                        "runs with CI=true or KAFKA_IT_STOP_SCRIPTS=1")
        foreign = _foreign_kafka_processes(qs)
        if foreign:
            pytest.skip(f"other brokers/ZooKeepers are running here (pids {foreign}); the stop scripts would kill them")
    b = broker(qs)
    p = qs.tool("kafka-server-stop.sh")
    assert p.returncode == 0, (p.stdout, p.stderr)
    wait_until(lambda: not b.alive(), 90, "the broker to stop after kafka-server-stop.sh")
    # SIGTERM means a clean shutdown: Kafka leaves .kafka_cleanshutdown in each log dir
    assert os.path.exists(os.path.join(b.log_dir, ".kafka_cleanshutdown")), os.listdir(b.log_dir)
    again = qs.tool("kafka-server-stop.sh")
    assert again.returncode == 1 and "No kafka server to stop" in again.stdout + again.stderr

    z = qs.tool("zookeeper-server-stop.sh")
    assert z.returncode == 0, (z.stdout, z.stderr)
    wait_until(lambda: not harness.port_open(qs.zk.port), 60, "ZooKeeper to stop")
    again = qs.tool("zookeeper-server-stop.sh")
    assert again.returncode == 1 and "No zookeeper server to stop" in again.stdout + again.stderr
