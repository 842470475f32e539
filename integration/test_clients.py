"""Real clients against the broker: kcat (librdkafka 2.0 from Debian), confluent-kafka (bundled
librdkafka) and kafka-python, with every compression codec. No consumer groups: assign/seek only."""

import os

import pytest
from confluent_kafka import OFFSET_BEGINNING

import harness
import kwire
from clients import consume_partitions, kcat_metadata, produce_sync, producer

N = 10_000
KEYS = 257  # distinct keys; a key always maps to one partition


def _lines(n=N):
    # value carries the sequence number and (redundantly) its key, so keys can be checked
    return [(f"key-{i % KEYS}", f"seq={i};key=key-{i % KEYS};pad={'x' * (i % 37)}") for i in range(n)]


def _check_partitioned(per_partition, produced):
    """per_partition: {p: [(offset, key, value)]} as bytes or str. Checks completeness, per-partition
    order (sequence numbers strictly increase), offsets contiguous from 0, keys intact and sticky."""
    def s(x):
        return x.decode() if isinstance(x, bytes) else x
    seen = {}
    key_partition = {}
    for p, msgs in per_partition.items():
        offsets = [o for o, _, _ in msgs]
        assert offsets == list(range(len(msgs))), f"partition {p}: offsets not contiguous from 0"
        seqs = []
        for _, k, v in msgs:
            k, v = s(k), s(v)
            fields = dict(f.split("=", 1) for f in v.split(";"))
            assert fields["key"] == k, f"key {k!r} does not match value {v!r}"
            assert key_partition.setdefault(k, p) == p, f"key {k} found in two partitions"
            seqs.append(int(fields["seq"]))
            seen[int(fields["seq"])] = (k, v)
        assert seqs == sorted(seqs) and len(set(seqs)) == len(seqs), f"partition {p}: order broken"
    assert len(seen) == len(produced) == sum(len(m) for m in per_partition.values())
    for i, (k, v) in enumerate(produced):
        assert seen[i] == (k, v)
    assert all(per_partition.values()), "keyed messages should spread over both partitions"


def _kcat_produce(bootstrap, topic, lines, codec="none"):
    data = "".join(f"{k}:{v}\n" for k, v in lines)
    harness.kcat("-b", bootstrap, "-P", "-t", topic, "-K", ":", "-z", codec,
                 "-X", "broker.address.family=v4", input=data, timeout=300)


def _kcat_consume(bootstrap, topic, expected):
    p = harness.kcat("-b", bootstrap, "-C", "-t", topic, "-o", "beginning", "-e", "-c", str(expected),
                     "-f", "%p|%o|%k|%s\n", "-X", "broker.address.family=v4", timeout=300)
    out = {}
    for line in p.stdout.splitlines():
        part, off, k, v = line.split("|", 3)
        out.setdefault(int(part), []).append((int(off), k, v))
    return out


def _first_batch_codecs(broker, topic, partition):
    path = os.path.join(broker.partition_dir(topic, partition), "00000000000000000000.log")
    with open(path, "rb") as f:
        data = f.read()
    return {b["codec"] for b in kwire.parse_batches(data)}, list(kwire.parse_batches(data))


CODECS = {"none": 0, "gzip": 1, "snappy": 2, "lz4": 3, "zstd": 4}


@pytest.mark.parametrize("codec", list(CODECS))
def test_kcat_keyed_roundtrip(cluster, codec):
    topic = f"kcat-{codec}"
    cluster.create_topic(topic, partitions=2)
    b = cluster.brokers[1]
    produced = _lines()
    _kcat_produce(b.bootstrap, topic, produced, codec)

    got = _kcat_consume(b.bootstrap, topic, N)
    assert set(got) == {0, 1}
    _check_partitioned(got, produced)

    got = consume_partitions(b.bootstrap, topic, [0, 1], N)
    _check_partitioned(got, produced)

    # batches are stored as the producer compressed them (compression.type=producer), CRCs intact
    for p in (0, 1):
        codecs, batches = _first_batch_codecs(b, topic, p)
        assert codecs == {CODECS[codec]}, f"partition {p}: stored codecs {codecs}"
        assert all(x["crc_valid"] and x["magic"] == 2 for x in batches)
        assert sum(x["count"] for x in batches) == len(got[p])


def test_confluent_kafka_producer_roundtrip(cluster):
    topic = "ck-roundtrip"
    cluster.create_topic(topic, partitions=2)
    b = cluster.brokers[1]
    produced = _lines(3000)
    acks = produce_sync(b.bootstrap, topic, produced, **{"compression.type": "lz4"})
    got = consume_partitions(b.bootstrap, topic, [0, 1], len(produced))
    _check_partitioned(got, produced)
    # delivery reports carried the offsets the messages really got
    per_part = {p: sorted(o for pp, o in acks if pp == p) for p in (0, 1)}
    for p in (0, 1):
        assert per_part[p] == [o for o, _, _ in got[p]]


def test_consumer_seek_to_offset(cluster):
    topic = "ck-seek"
    cluster.create_topic(topic, partitions=1)
    b = cluster.brokers[1]
    produce_sync(b.bootstrap, topic, [(None, f"v{i}") for i in range(100)])
    got = consume_partitions(b.bootstrap, topic, [0], 30, start=70)
    assert [(o, v) for o, _, v in got[0]] == [(70 + i, f"v{70 + i}".encode()) for i in range(30)]
    assert all(k is None for _, k, _ in got[0])


def test_kafka_python_roundtrip(cluster):
    from kafka import KafkaConsumer, KafkaProducer, TopicPartition

    topic = "kafka-python"
    cluster.create_topic(topic, partitions=2)
    b = cluster.brokers[1]
    prod = KafkaProducer(bootstrap_servers=b.bootstrap, acks=1, linger_ms=5)
    produced = [(f"k{i % 11}".encode(), f"seq={i};key=k{i % 11}".encode()) for i in range(2000)]
    futures = [prod.send(topic, key=k, value=v) for k, v in produced]
    prod.flush(timeout=120)
    metas = [f.get(timeout=120) for f in futures]
    prod.close()
    assert {m.partition for m in metas} == {0, 1}

    cons = KafkaConsumer(bootstrap_servers=b.bootstrap, group_id=None, enable_auto_commit=False,
                         consumer_timeout_ms=30000)
    tps = [TopicPartition(topic, 0), TopicPartition(topic, 1)]
    cons.assign(tps)
    cons.seek_to_beginning(*tps)
    got = {0: [], 1: []}
    for m in cons:
        got[m.partition].append((m.offset, m.key, m.value))
        if sum(len(x) for x in got.values()) == len(produced):
            break
    cons.close()
    _check_partitioned(got, [(k.decode(), v.decode()) for k, v in produced])
    for m in metas:
        assert got[m.partition][m.offset][0] == m.offset


def test_kcat_metadata(cluster):
    topic = "kcat-meta"
    cluster.create_topic(topic, partitions=2)
    b = cluster.brokers[1]
    md = kcat_metadata(b.bootstrap, topic)
    assert [(x["id"], x["name"]) for x in md["brokers"]] == [(1, f"127.0.0.1:{b.port}")]
    assert md["controllerid"] == 1
    (t,) = [t for t in md["topics"] if t["topic"] == topic]
    assert "error" not in t or not t["error"]
    parts = sorted(t["partitions"], key=lambda p: p["partition"])
    assert [p["partition"] for p in parts] == [0, 1]
    for p in parts:
        assert p["leader"] == 1
        assert [r["id"] for r in p["replicas"]] == [1]
        assert [r["id"] for r in p["isrs"]] == [1]


def test_unknown_topic_metadata(cluster):
    # auto.create.topics.enable=true (Kafka's default): a Metadata request for an unknown topic creates it
    b = cluster.brokers[1]
    topic = "auto-created"
    harness.wait_until(lambda: any(t["topic"] == topic and t["partitions"] for t in
                                   kcat_metadata(b.bootstrap, topic, 60, "-X", "allow.auto.create.topics=true")["topics"]),
                       60, "auto-creation of a topic asked for in Metadata", interval=1.0)
    assert cluster.zk.exists(f"/brokers/topics/{topic}")


def test_consume_from_beginning_with_offset_constant(cluster):
    # OFFSET_BEGINNING resolves through ListOffsets(earliest) and sees everything
    topic = "earliest"
    cluster.create_topic(topic, partitions=1)
    b = cluster.brokers[1]
    produce_sync(b.bootstrap, topic, [(b"k", b"a"), (b"k", b"b")])
    got = consume_partitions(b.bootstrap, topic, [0], 2, start=OFFSET_BEGINNING)
    assert [v for _, _, v in got[0]] == [b"a", b"b"]


def test_long_poll_fetch_wakes_on_produce(cluster):
    # a Fetch parked with max.wait.ms=10 s must be answered as soon as data arrives (delayed fetch)
    import threading
    import time

    from clients import assign_consumer
    from confluent_kafka import TopicPartition

    topic = "long-poll"
    cluster.create_topic(topic, partitions=1)
    b = cluster.brokers[1]
    c = assign_consumer(b.bootstrap, **{"fetch.wait.max.ms": 10000, "fetch.min.bytes": 1})
    try:
        c.assign([TopicPartition(topic, 0, 0)])
        assert c.poll(3.0) is None  # nothing there yet; the consumer is now parked in a long poll
        sent_at = []

        def send():
            sent_at.append(time.monotonic())
            produce_sync(b.bootstrap, topic, [(None, b"wake-up")])
        t = threading.Thread(target=send)
        t.start()
        deadline = time.monotonic() + 30
        m = None
        while m is None and time.monotonic() < deadline:
            m = c.poll(0.5)
        t.join()
        assert m is not None and m.error() is None and m.value() == b"wake-up"
        latency = time.monotonic() - sent_at[0]
        assert latency < 5.0, f"the parked fetch answered {latency:.1f}s after the produce (max.wait.ms=10000)"
    finally:
        c.close()


@pytest.mark.parametrize("acks", ["0", "1", "all"])
def test_acks(cluster, acks):
    topic = f"acks-{acks}"
    cluster.create_topic(topic, partitions=1)
    b = cluster.brokers[1]
    values = [f"{acks}-{i}".encode() for i in range(500)]
    acked = produce_sync(b.bootstrap, topic, [(None, v) for v in values], **{"acks": acks})
    if acks != "0":  # with acks=0 the client never learns the offsets
        assert [o for _, o in acked] == list(range(len(values)))
    got = consume_partitions(b.bootstrap, topic, [0], len(values))[0]
    assert [v for _, _, v in got] == values


def test_list_offsets_by_timestamp(cluster):
    from clients import assign_consumer
    from confluent_kafka import TopicPartition

    topic = "by-time"
    cluster.create_topic(topic, partitions=1)
    b = cluster.brokers[1]
    base = 1_600_000_000_000
    p = producer(b.bootstrap)
    for i in range(10):
        p.produce(topic, value=f"t{i}".encode(), partition=0, timestamp=base + i * 1000)
        p.flush(60)  # one batch per record, so each timestamp is its own batch
    c = assign_consumer(b.bootstrap)
    try:
        for ts, want in ((base - 1, 0), (base, 0), (base + 3500, 4), (base + 9000, 9), (base + 60_000, -1)):
            (tp,) = c.offsets_for_times([TopicPartition(topic, 0, ts)], timeout=30)
            assert tp.error is None
            if want == -1:  # after the last record: Kafka answers offset -1 (librdkafka: OFFSET_END)
                assert tp.offset in (-1, 10), (ts, tp.offset)
            else:
                assert tp.offset == want, (ts, tp.offset)
    finally:
        c.close()
