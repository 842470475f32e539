"""The znodes as Kafka 2.8 writes them (spec classic-architecture.md §1.3/§1.4), read raw with
ZooKeeper's own CLI (zkCli.sh): field names, versions, and JSON types (strings vs numbers)."""

import json
import re
import time

import pytest

from harness import TOPIC_ID_RE, wait_until

TOPIC = "zkfmt"


def zk_get(cluster, path):
    """Raw data of a znode via zkCli.sh `get`; returns the text (None for a null znode)."""
    rc, lines, err = cluster.zk.cli("get", path)
    assert rc == 0, f"zkCli get {path} failed: {err}"
    if not lines:  # zero-length data prints an empty line
        return None
    assert len(lines) == 1, f"unexpected zkCli output for {path}: {lines}"
    return None if lines[0] == "null" else lines[0]


def zk_json(cluster, path):
    text = zk_get(cluster, path)
    assert text is not None, f"{path} has no data"
    # Jackson writes compact JSON: no whitespace between tokens
    value = json.loads(text)
    assert text == json.dumps(value, separators=(",", ":"), ensure_ascii=False), f"{path} is not compact: {text}"
    return value


def zk_stat(cluster, path):
    rc, lines, err = cluster.zk.cli("stat", path)
    assert rc == 0, f"zkCli stat {path} failed: {err}"
    return dict(ln.split(" = ", 1) for ln in lines if " = " in ln)


def assert_ms_string(value, what):
    assert isinstance(value, str) and value.isdigit(), f"{what} must be a string of digits, got {value!r}"
    now = time.time() * 1000
    assert now - 3_600_000 < int(value) <= now + 60_000, f"{what} {value} is not a recent epoch-ms time"


def assert_types(obj, types, what):
    assert set(obj) == set(types), f"{what}: keys {sorted(obj)} != {sorted(types)}"
    for k, t in types.items():
        v = obj[k]
        if t is int:  # bool is an int in Python; JSON true/false would be wrong
            assert type(v) is int, f"{what}.{k} must be a JSON number, got {v!r}"
        else:
            assert isinstance(v, t), f"{what}.{k} must be {t.__name__}, got {v!r}"


@pytest.fixture(scope="module")
def topic(cluster):
    cluster.create_topic(TOPIC, partitions=2)
    p = cluster.topics("--topic", TOPIC, "--alter", "--config", "retention.ms=3600000",
                       "--config", "max.message.bytes=64000")
    assert p.returncode == 0, p.stderr
    return TOPIC


def test_top_level_paths(cluster):
    for path in ("/consumers", "/brokers/ids", "/brokers/topics", "/brokers/seqid", "/config/changes",
                 "/admin/delete_topics", "/isr_change_notification", "/latest_producer_id_block",
                 "/log_dir_event_notification", "/config/topics", "/config/clients", "/config/users",
                 "/config/brokers", "/config/ips"):
        assert cluster.zk.exists(path) is not None, f"{path} missing"


def test_broker_registration(cluster):
    b = cluster.brokers[1]
    reg = zk_json(cluster, "/brokers/ids/1")
    assert_types(reg, {"features": dict, "listener_security_protocol_map": dict, "endpoints": list,
                       "jmx_port": int, "host": str, "timestamp": str, "port": int, "version": int},
                 "/brokers/ids/1")
    assert reg["version"] == 5
    assert reg["host"] == "127.0.0.1"
    assert reg["port"] == b.port
    assert reg["endpoints"] == [f"PLAINTEXT://127.0.0.1:{b.port}"]
    assert reg["listener_security_protocol_map"] == {"PLAINTEXT": "PLAINTEXT"}
    assert reg["jmx_port"] == -1
    assert reg["features"] == {}
    assert_ms_string(reg["timestamp"], "timestamp")
    stat = zk_stat(cluster, "/brokers/ids/1")
    assert int(stat["ephemeralOwner"], 16) != 0, "/brokers/ids/1 must be ephemeral"
    rc, lines, _ = cluster.zk.cli("ls", "/brokers/ids")
    assert rc == 0 and lines == ["[1]"], lines


def test_controller(cluster):
    ctl = zk_json(cluster, "/controller")
    assert_types(ctl, {"version": int, "brokerid": int, "timestamp": str}, "/controller")
    assert ctl["version"] == 1 and ctl["brokerid"] == 1
    assert_ms_string(ctl["timestamp"], "/controller timestamp")
    assert int(zk_stat(cluster, "/controller")["ephemeralOwner"], 16) != 0, "/controller must be ephemeral"

    epoch = zk_get(cluster, "/controller_epoch")
    assert re.fullmatch(r"[0-9]+", epoch), f"/controller_epoch must be a plain decimal: {epoch!r}"
    assert int(epoch) >= 1  # created as 0, the first elected controller bumps it
    assert int(zk_stat(cluster, "/controller_epoch")["ephemeralOwner"], 16) == 0


def test_cluster_id_and_meta_properties(cluster):
    cid = zk_json(cluster, "/cluster/id")
    assert_types(cid, {"version": str, "id": str}, "/cluster/id")
    assert cid["version"] == "1"
    assert re.fullmatch(TOPIC_ID_RE, cid["id"]), cid["id"]
    b = cluster.brokers[1]
    with open(f"{b.log_dir}/meta.properties") as f:
        props = dict(ln.strip().split("=", 1) for ln in f if "=" in ln and not ln.startswith("#"))
    assert props == {"version": "0", "broker.id": "1", "cluster.id": cid["id"]}


def test_topic_assignment(cluster, topic):
    t = zk_json(cluster, f"/brokers/topics/{topic}")
    assert_types(t, {"version": int, "partitions": dict, "adding_replicas": dict, "removing_replicas": dict,
                     "topic_id": str}, f"/brokers/topics/{topic}")
    assert t["version"] == 3
    assert t["partitions"] == {"0": [1], "1": [1]}
    assert t["adding_replicas"] == {} and t["removing_replicas"] == {}
    assert re.fullmatch(TOPIC_ID_RE, t["topic_id"]), t["topic_id"]
    assert zk_get(cluster, f"/brokers/topics/{topic}/partitions") is None
    rc, lines, _ = cluster.zk.cli("ls", f"/brokers/topics/{topic}/partitions")
    assert lines == ["[0, 1]"], lines


def test_partition_state(cluster, topic):
    epoch = int(zk_get(cluster, "/controller_epoch"))
    for p in (0, 1):
        path = f"/brokers/topics/{topic}/partitions/{p}/state"
        wait_until(lambda: cluster.zk.exists(path), 60, path)
        assert zk_get(cluster, f"/brokers/topics/{topic}/partitions/{p}") is None
        st = zk_json(cluster, path)
        assert_types(st, {"controller_epoch": int, "leader": int, "version": int, "leader_epoch": int,
                          "isr": list}, path)
        assert st["version"] == 1
        assert st["leader"] == 1
        assert st["isr"] == [1] and all(type(x) is int for x in st["isr"])
        assert st["leader_epoch"] >= 0
        assert 1 <= st["controller_epoch"] <= epoch


def test_partition_metadata_file(cluster, topic):
    topic_id = zk_json(cluster, f"/brokers/topics/{topic}")["topic_id"]
    b = cluster.brokers[1]
    for p in (0, 1):
        with open(f"{b.partition_dir(topic, p)}/partition.metadata") as f:
            assert f.read().rstrip("\n") == f"version: 0\ntopic_id: {topic_id}"


def test_topic_config(cluster, topic):
    cfg = zk_json(cluster, f"/config/topics/{topic}")
    assert_types(cfg, {"version": int, "config": dict}, f"/config/topics/{topic}")
    assert cfg["version"] == 1
    # config values are always JSON strings
    assert cfg["config"] == {"retention.ms": "3600000", "max.message.bytes": "64000"}


def test_config_change_notification(cluster, topic):
    rc, lines, _ = cluster.zk.cli("ls", "/config/changes")
    assert rc == 0
    children = [c.strip() for c in lines[-1].strip("[]").split(",") if c.strip()]
    assert children, "the --alter should have left a config_change_ notification"
    for c in children:
        assert re.fullmatch(r"config_change_[0-9]{10}", c), c
    note = zk_json(cluster, f"/config/changes/{max(children)}")
    assert_types(note, {"version": int, "entity_path": str}, "config change notification")
    assert note == {"version": 2, "entity_path": f"topics/{topic}"}


def test_feature_node(cluster):
    # IBP 2.8 enables feature versioning: the controller writes /feature with status 1 (enabled)
    feat = zk_json(cluster, "/feature")
    assert_types(feat, {"version": int, "status": int, "features": dict}, "/feature")
    assert feat == {"version": 1, "status": 1, "features": {}}


def test_delete_marker(cluster):
    cluster.create_topic("zkdel", partitions=1)
    p = cluster.topics("--topic", "zkdel", "--delete")
    assert p.returncode == 0, p.stderr
    # the marker is a persistent child of /admin/delete_topics (null data) until the controller is done
    wait_until(lambda: not cluster.zk.exists("/brokers/topics/zkdel"), 90, "zkdel to be deleted")
    assert not cluster.zk.exists("/admin/delete_topics/zkdel")
