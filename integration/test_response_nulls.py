"""Every API's responses, in success and error cases, decoded with a strict decoder (strictwire.py).

The decoder fails on any malformed field and on leftover bytes, and each test asserts that no
field Kafka 2.8 always fills is null — the class of bug where a Fetch partition in error carried
null records and librdkafka dropped the whole response. One test per API, at the newest version
served; the error cases are the ones clients meet (unknown topics and groups, bad configs,
partitions in error).
"""

import itertools
import time

import pytest

import kwire
import strictwire as sw
from strict_layouts import API, NOT_FLEXIBLE

UNKNOWN_TOPIC_OR_PARTITION, OFFSET_OUT_OF_RANGE = 3, 1
_ids = itertools.count(1)


class Strict:
    """One raw connection; ``call`` sends a request and returns the strictly decoded response."""

    def __init__(self, cluster):
        host, port = cluster.bootstrap.split(",")[0].split(":")
        self.conn = kwire.RawConn(host, int(port))

    def call(self, key, value, version=None):
        default_version, req_layout, resp_layout = API[key]
        version = default_version if version is None else version
        flexible = key not in NOT_FLEXIBLE
        cid = next(_ids)
        self.conn.send(sw.request(key, version, cid, req_layout, value, flexible))
        body = sw.response_body(self.conn.recv_frame(), cid, flexible_header=flexible and key != 18)
        resp, nulls = sw.decode(resp_layout, body, flexible)
        assert nulls == [], f"api {key} v{version}: null where Kafka never sends null: {nulls}"
        return resp


@pytest.fixture(scope="module")
def strict(cluster):
    cluster.wait_for_metadata()
    cluster.create_topic("nulls", partitions=2)
    s = Strict(cluster)
    yield s
    s.conn.close()


def only(resp, *path):
    """The single element down a path of list fields, e.g. only(r, "topics", "partitions")."""
    x = resp
    for p in path:
        assert len(x[p]) == 1, (p, x[p])
        x = x[p][0]
    return x


def produce(strict, topic, partition, records):
    r = strict.call(0, {"acks": -1, "timeout_ms": 10000, "topics": [
        {"name": topic, "partitions": [{"index": partition, "records": kwire.record_batch(records)}]}]})
    return only(r, "responses", "partitions")


def fetch_partition(strict, topic, partition, offset, isolation=0):
    r = strict.call(1, {"replica_id": -1, "max_wait_ms": 0, "min_bytes": 0, "max_bytes": 1 << 20,
                        "isolation_level": isolation, "session_epoch": -1, "topics": [
                            {"topic": topic, "partitions": [{"partition": partition, "current_leader_epoch": -1,
                                                             "fetch_offset": offset, "last_fetched_epoch": -1,
                                                             "log_start_offset": -1, "partition_max_bytes": 1 << 20}]}]})
    return only(r, "responses", "partitions")


def test_produce(strict):
    assert produce(strict, "nulls", 0, [(None, b"a"), (b"k", b"b")])["error_code"] == 0
    assert produce(strict, "no-such-topic-nulls", 0, [(None, b"a")])["error_code"] == UNKNOWN_TOPIC_OR_PARTITION


def test_fetch(strict):
    produce(strict, "nulls", 1, [(None, b"x")])
    for isolation in (0, 1):
        p = fetch_partition(strict, "nulls", 1, 0, isolation)
        assert p["error_code"] == 0 and kwire.parse_batches(p["records"])
        # Partitions in error carry empty records, never null.
        p = fetch_partition(strict, "nulls", 1, 10_000, isolation)
        assert (p["error_code"], p["records"]) == (OFFSET_OUT_OF_RANGE, b"")
        p = fetch_partition(strict, "no-such-topic-nulls", 0, 0, isolation)
        assert (p["error_code"], p["records"]) == (UNKNOWN_TOPIC_OR_PARTITION, b"")


def test_list_offsets(strict):
    r = strict.call(2, {"replica_id": -1, "topics": [
        {"name": "nulls", "partitions": [{"partition_index": 0, "current_leader_epoch": -1, "timestamp": -1}]},
        {"name": "no-such-topic-nulls", "partitions": [{"partition_index": 0, "current_leader_epoch": -1, "timestamp": -2}]}]})
    codes = {t["name"]: t["partitions"][0]["error_code"] for t in r["topics"]}
    assert codes == {"nulls": 0, "no-such-topic-nulls": UNKNOWN_TOPIC_OR_PARTITION}


def test_metadata(strict):
    r = strict.call(3, {"topics": None, "allow_auto_topic_creation": False})
    assert r["cluster_id"] and any(t["name"] == "nulls" for t in r["topics"])
    r = strict.call(3, {"topics": [{"name": "no-such-topic-nulls"}], "allow_auto_topic_creation": False})
    assert only(r, "topics")["error_code"] == UNKNOWN_TOPIC_OR_PARTITION


def test_offset_commit_and_fetch(strict):
    wait_for_coordinator(strict, "g-nulls-offsets")
    r = strict.call(8, {"group_id": "g-nulls-offsets", "generation_id": -1, "member_id": "", "topics": [
        {"name": "nulls", "partitions": [{"partition_index": 0, "committed_offset": 1, "committed_leader_epoch": -1,
                                          "committed_metadata": None}]}]})
    assert only(r, "topics", "partitions")["error_code"] == 0
    # Null metadata is stored as ""; a partition without a commit answers -1 and "".
    r = strict.call(9, {"group_id": "g-nulls-offsets", "topics": [{"name": "nulls", "partition_indexes": [0, 1]}]})
    parts = {p["partition_index"]: (p["committed_offset"], p["metadata"]) for p in only(r, "topics")["partitions"]}
    assert parts == {0: (1, ""), 1: (-1, "")}
    r = strict.call(9, {"group_id": "g-nulls-offsets", "topics": None})
    assert r["error_code"] == 0 and only(r, "topics")["name"] == "nulls"
    r = strict.call(9, {"group_id": "g-nulls-nothing", "topics": None})
    assert (r["error_code"], r["topics"]) == (0, [])


def test_find_coordinator(strict):
    wait_for_coordinator(strict, "g-nulls-a")
    r = strict.call(10, {"key_type": 0, "coordinator_keys": ["g-nulls-a", "g-nulls-b"]})
    assert [c["error_code"] for c in r["coordinators"]] == [0, 0] and all(c["host"] for c in r["coordinators"])


def _join(strict, member_id):
    return strict.call(11, {"group_id": "g-nulls", "session_timeout_ms": 10000, "rebalance_timeout_ms": 10000,
                            "member_id": member_id, "protocol_type": "consumer",
                            "protocols": [{"name": "range", "metadata": b"\x00\x01"}]})


def test_group_lifecycle(strict):
    """JoinGroup, SyncGroup, Heartbeat, DescribeGroups, ListGroups, LeaveGroup, DeleteGroups."""
    wait_for_coordinator(strict, "g-nulls")
    r = _join(strict, "")
    assert r["error_code"] == 79 and r["member_id"]  # MEMBER_ID_REQUIRED; no protocol chosen yet
    member = r["member_id"]
    r = _join(strict, member)
    assert (r["error_code"], r["protocol_name"], r["leader"]) == (0, "range", member)
    gen = r["generation_id"]
    r = strict.call(14, {"group_id": "g-nulls", "generation_id": gen, "member_id": member, "protocol_type": "consumer",
                         "protocol_name": "range", "assignments": [{"member_id": member, "assignment": b"\x00\x02"}]})
    assert (r["error_code"], r["assignment"]) == (0, b"\x00\x02")
    r = strict.call(14, {"group_id": "g-nulls", "generation_id": gen + 5, "member_id": member,
                         "protocol_type": "consumer", "protocol_name": "range", "assignments": []})
    assert r["error_code"] == 22  # ILLEGAL_GENERATION
    assert strict.call(12, {"group_id": "g-nulls", "generation_id": gen, "member_id": member})["error_code"] == 0
    assert strict.call(12, {"group_id": "g-nulls", "generation_id": gen, "member_id": "nobody"})["error_code"] == 25
    r = strict.call(15, {"groups": ["g-nulls", "g-nulls-missing"]})
    states = {g["group_id"]: g["group_state"] for g in r["groups"]}
    assert states == {"g-nulls": "Stable", "g-nulls-missing": "Dead"}
    r = strict.call(16, {"states_filter": []})
    assert any(g["group_id"] == "g-nulls" for g in r["groups"])
    r = strict.call(13, {"group_id": "g-nulls", "members": [{"member_id": member}, {"member_id": "nobody"}]})
    assert [m["error_code"] for m in r["members"]] == [0, 25]
    r = strict.call(42, {"groups_names": ["g-nulls", "g-nulls-missing"]})
    assert {g["group_id"]: g["error_code"] for g in r["results"]} == {"g-nulls": 0, "g-nulls-missing": 69}


def wait_for_coordinator(strict, group, timeout=60):
    deadline = time.time() + timeout
    while True:
        c = only(strict.call(10, {"key_type": 0, "coordinator_keys": [group]}), "coordinators")
        if c["error_code"] == 0:
            return
        assert time.time() < deadline, f"no coordinator for {group}: {c}"
        time.sleep(0.5)


def test_api_versions(strict):
    r = strict.call(18, {"client_software_name": "strict-it", "client_software_version": "1"})
    assert r["error_code"] == 0 and {k["api_key"] for k in r["api_keys"]} >= set(API)


def _create(strict, name, partitions=1, rf=1, configs=(), validate_only=False):
    r = strict.call(19, {"topics": [{"name": name, "num_partitions": partitions, "replication_factor": rf,
                                     "configs": [{"name": k, "value": v} for k, v in configs]}],
                         "timeout_ms": 30000, "validate_only": validate_only})
    return only(r, "topics")


def test_create_topics(strict):
    t = _create(strict, "nulls-created", 1, 1, [("retention.ms", "1000")])
    assert t["error_code"] == 0 and any(c["name"] == "retention.ms" and c["value"] == "1000" for c in t["configs"])
    # Errors: configs is an empty list (not null), counts -1.
    for t in (_create(strict, "nulls-created"), _create(strict, "nulls-bad-rf", 1, 9),
              _create(strict, "nulls-bad-config", 1, 1, [("no.such.config", "1")])):
        assert t["error_code"] != 0 and (t["configs"], t["num_partitions"]) == ([], -1), t


def test_delete_topics(strict):
    _create(strict, "nulls-doomed")
    r = strict.call(20, {"topics": [{"name": "nulls-doomed"}, {"name": "no-such-topic-nulls"},
                                    {"name": None, "topic_id": b"\x01" * 16}], "timeout_ms": 30000})
    codes = [(t["name"], t["error_code"]) for t in r["responses"]]
    assert codes == [("nulls-doomed", 0), ("no-such-topic-nulls", UNKNOWN_TOPIC_OR_PARTITION), (None, 100)]


def test_describe_configs(strict):
    r = strict.call(32, {"resources": [{"resource_type": 2, "resource_name": "nulls", "configuration_keys": None},
                                       {"resource_type": 4, "resource_name": "1", "configuration_keys": None},
                                       {"resource_type": 2, "resource_name": "no-such-topic-nulls",
                                        "configuration_keys": None}],
                         "include_synonyms": True, "include_documentation": False})
    codes = [(x["resource_name"], x["error_code"], bool(x["configs"])) for x in r["results"]]
    assert codes == [("nulls", 0, True), ("1", 0, True), ("no-such-topic-nulls", UNKNOWN_TOPIC_OR_PARTITION, False)]


def test_alter_configs(strict):
    r = strict.call(33, {"resources": [
        {"resource_type": 2, "resource_name": "nulls", "configs": [{"name": "retention.ms", "value": "86400000"}]},
        {"resource_type": 2, "resource_name": "nulls", "configs": [{"name": "no.such.config", "value": "1"}]}],
        "validate_only": True})
    assert r["responses"][0]["error_code"] == 0 and r["responses"][1]["error_code"] != 0


def test_create_partitions(strict):
    _create(strict, "nulls-grow")
    r = strict.call(37, {"topics": [{"name": "nulls-grow", "count": 2}, {"name": "no-such-topic-nulls", "count": 2},
                                    {"name": "nulls", "count": 1}], "timeout_ms": 30000, "validate_only": False})
    codes = [x["error_code"] for x in r["results"]]
    assert codes[0] == 0 and codes[1] == UNKNOWN_TOPIC_OR_PARTITION and codes[2] == 37  # INVALID_PARTITIONS


def test_elect_leaders(strict):
    r = strict.call(43, {"election_type": 0, "topic_partitions": [{"topic": "nulls", "partition_id": [0]},
                                                                  {"topic": "no-such-topic-nulls", "partition_id": [0]}],
                         "timeout_ms": 30000})
    codes = {x["topic"]: x["partition_result"][0]["error_code"] for x in r["replica_election_results"]}
    assert codes == {"nulls": 84, "no-such-topic-nulls": UNKNOWN_TOPIC_OR_PARTITION}  # ELECTION_NOT_NEEDED
    strict.call(43, {"election_type": 0, "topic_partitions": None, "timeout_ms": 30000})


def test_partition_reassignments(strict):
    r = strict.call(45, {"timeout_ms": 30000, "topics": [
        {"name": "no-such-topic-nulls", "partitions": [{"partition_index": 0, "replicas": [1]}]},
        {"name": "nulls", "partitions": [{"partition_index": 0, "replicas": None}]}]})
    codes = [only(t, "partitions")["error_code"] for t in r["responses"]]
    assert codes == [UNKNOWN_TOPIC_OR_PARTITION, 85]  # NO_REASSIGNMENT_IN_PROGRESS
    r = strict.call(46, {"timeout_ms": 30000, "topics": None})
    assert (r["error_code"], r["topics"]) == (0, [])


def test_offset_for_leader_epoch(strict):
    r = strict.call(23, {"replica_id": -1, "topics": [
        {"topic": "nulls", "partitions": [{"partition": 0, "current_leader_epoch": -1, "leader_epoch": 0}]},
        {"topic": "no-such-topic-nulls", "partitions": [{"partition": 0, "current_leader_epoch": -1, "leader_epoch": 0}]}]})
    codes = {t["topic"]: t["partitions"][0]["error_code"] for t in r["topics"]}
    assert codes == {"nulls": 0, "no-such-topic-nulls": UNKNOWN_TOPIC_OR_PARTITION}


def test_offset_delete(strict):
    r = strict.call(47, {"group_id": "g-nulls-never", "topics": [{"name": "nulls", "partitions": [{"partition_index": 0}]}]})
    assert r["error_code"] == 69  # GROUP_ID_NOT_FOUND
    r = strict.call(47, {"group_id": "g-nulls-offsets", "topics": [{"name": "nulls", "partitions": [{"partition_index": 0}]}]})
    assert r["error_code"] == 0


def test_the_decoder_is_strict():
    """The checks above mean something: a null Fetch records field is reported, leftover bytes
    and a null in a non-nullable field are errors."""
    layout = API[1][2]
    part = {"partition": 0, "error_code": 6, "high_watermark": -1, "last_stable_offset": -1, "log_start_offset": -1,
            "aborted_transactions": None, "preferred_read_replica": -1, "records": None}
    body = sw.encode(layout, {"responses": [{"topic": "t", "partitions": [part]}]}, True)
    _, nulls = sw.decode(layout, body, True)
    assert nulls == ["responses[0].partitions[0].records"]
    with pytest.raises(sw.StrictDecodeError, match="left after"):
        sw.decode(layout, body + b"\x00", True)
    with pytest.raises(sw.StrictDecodeError, match="not nullable"):
        sw.decode(layout, sw.encode(layout, {"responses": [{"topic": None, "partitions": []}]}, True), True)
