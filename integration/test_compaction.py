"""Log compaction (cleanup.policy=compact) on one real broker: 100,000 updates over 1,000 keys
with tombstones; after the cleaner ran, a consumer reading from the beginning sees exactly the
last value of every live key, at the offset it was produced at; tombstones stay while within
delete.retention.ms and are gone once it has passed (Kafka 2.8's delete horizon: the last clean
segment's mtime minus delete.retention.ms). Also: keyless records are refused on a
compacted topic, and the cleaner-offset-checkpoint file has Kafka's format."""

import os
import random
import re
import struct
import time

import pytest
from confluent_kafka import OFFSET_BEGINNING, KafkaError, TopicPartition

import harness
from clients import assign_consumer, consume_partitions, producer, watermarks
from harness import wait_until

TOPIC = "compacted"
KEYS = 1000
UPDATES = 100_000
SEGMENT_BYTES = 65536
SEGMENT_MS = 2000
DELETE_RETENTION_MS = 3000
VALUE_PAD = b"x" * 180


@pytest.fixture(scope="module")
def ccluster():
    c = harness.Cluster("compaction")
    with harness.managed(c):
        c.start_zk()
        c.add_broker(1, overrides={"log.cleaner.backoff.ms": "200", "log.retention.check.interval.ms": "1000"})
        yield c


def _produce(bootstrap, records):
    """records: [(key, value)]; returns the delivery offset of each, in order."""
    p = producer(bootstrap, **{"linger.ms": 5, "batch.size": 16384, "compression.type": "none"})
    offsets = [None] * len(records)
    errors = []

    def cb(err, msg, i):
        if err is not None:
            errors.append((i, err))
        else:
            offsets[i] = msg.offset()

    for i, (k, v) in enumerate(records):
        while True:
            try:
                p.produce(TOPIC, key=k, value=v, partition=0, on_delivery=lambda e, m, i=i: cb(e, m, i))
                break
            except BufferError:
                p.poll(0.1)
        p.poll(0)
    assert p.flush(120) == 0
    assert not errors, errors[:3]
    return offsets


def _checkpoint(b):
    """(text, {(topic, partition): offset}) of the broker's cleaner-offset-checkpoint."""
    path = os.path.join(b.log_dir, "cleaner-offset-checkpoint")
    with open(path) as f:
        text = f.read()
    lines = text.split("\n")
    entries = {}
    for line in lines[2:]:
        if line:
            t, p, o = line.split(" ")
            entries[(t, int(p))] = int(o)
    return text, entries


def _cleaned_up_to(b):
    try:
        return _checkpoint(b)[1].get((TOPIC, 0), -1)
    except FileNotFoundError:
        return -1


def _consume_all(b):
    _, high = watermarks(b.bootstrap, TOPIC, 0)
    # A compacted log has gaps: read until the last offset below the high watermark arrives.
    c = assign_consumer(b.bootstrap)
    out = []
    try:
        c.assign([TopicPartition(TOPIC, 0, OFFSET_BEGINNING)])
        deadline = time.monotonic() + 120
        while not out or out[-1][0] < high - 1:
            assert time.monotonic() < deadline, f"consumed up to {out[-1][0] if out else None} of {high}"
            for m in c.consume(num_messages=10000, timeout=1.0):
                if m.error() is not None:
                    assert m.error().code() == KafkaError._PARTITION_EOF, m.error()
                    continue
                out.append((m.offset(), m.key(), m.value()))
    finally:
        c.close()
    return out


def _filler(b, round_no, n=300):
    """Unique-key records (one segment's worth) so segments roll and the cleaner runs again."""
    time.sleep(SEGMENT_MS / 1000 + 0.2)
    recs = [(f"filler-{round_no}-{i}".encode(), f"f{round_no}-{i}".encode() + VALUE_PAD) for i in range(n)]
    return list(zip(_produce(b.bootstrap, recs), recs))


def test_compaction_keeps_last_value_per_key(ccluster):
    c = ccluster
    c.create_topic(TOPIC, partitions=1, configs={
        "cleanup.policy": "compact", "segment.bytes": SEGMENT_BYTES, "segment.ms": SEGMENT_MS,
        "min.cleanable.dirty.ratio": "0.01", "delete.retention.ms": 3600000,
        "file.delete.delay.ms": 1000})
    b = c.brokers[1]

    # Keyless records are refused on a compacted topic (Kafka: INVALID_RECORD).
    p = producer(b.bootstrap, **{"retries": 0})
    errs = []
    p.produce(TOPIC, value=b"no key", partition=0, on_delivery=lambda e, m: errs.append(e))
    p.flush(30)
    assert len(errs) == 1 and errs[0] is not None and errs[0].code() == KafkaError.INVALID_RECORD, errs

    log_mark = b.log_size()
    rnd = random.Random(42)
    records = []
    for i in range(UPDATES):
        k = rnd.randrange(KEYS)
        value = None if rnd.random() < 0.05 else f"v{i}-k{k}-".encode() + VALUE_PAD
        records.append((f"key-{k:04d}".encode(), value))
    t0 = time.monotonic()
    offsets = _produce(b.bootstrap, records)
    produce_secs = time.monotonic() - t0
    assert offsets == list(range(UPDATES)), "a fresh topic gets offsets 0..n-1"
    last = {}  # key -> (offset, value)
    for o, (k, v) in zip(offsets, records):
        last[k] = (o, v)
    live = {k: ov for k, ov in last.items() if ov[1] is not None}
    dead = {k: ov for k, ov in last.items() if ov[1] is None}
    assert len(dead) > 10 and len(live) > 900
    # (The cleaner already runs while the updates arrive: segments roll every 64 KB.)
    produced_bytes = sum(len(k) + len(v or b"") for k, v in records)

    # Roll the active segment (segment.ms) so every update is cleanable, then wait for the cleaner.
    fillers = _filler(b, 0)
    t_clean = time.monotonic()
    wait_until(lambda: _cleaned_up_to(b) >= UPDATES, 120, "the cleaner to checkpoint past the updates", interval=0.2)
    clean_wait = time.monotonic() - t_clean

    text, entries = _checkpoint(b)
    assert re.fullmatch(r"0\n(\d+)\n(\S+ \d+ \d+\n)*", text), repr(text)
    lines = text.split("\n")
    assert int(lines[1]) == len(entries) == len([x for x in lines[2:] if x])
    assert entries[(TOPIC, 0)] >= UPDATES

    def check(consumed, tombstones_expected):
        by_key = {}
        for o, k, v in consumed:
            assert k is not None
            assert k not in by_key, f"key {k} appears twice (offsets {by_key[k][0]} and {o})"
            by_key[k] = (o, v)
        for k, (o, v) in live.items():
            assert by_key.get(k) == (o, v), f"{k}: got {by_key.get(k)}, want offset {o}"
        for k, (o, _) in dead.items():
            if tombstones_expected:
                assert by_key.get(k) == (o, None), f"tombstone of {k}: got {by_key.get(k)}, want offset {o}"
            else:
                assert k not in by_key, f"tombstone of {k} still there after delete.retention.ms"
        for o, (k, v) in fillers:
            assert by_key.get(k) == (o, v)
        return by_key

    consumed = _consume_all(b)
    # delete.retention.ms is one hour so far: every latest tombstone is kept (the cleaner ran
    # many times while the updates arrived).
    check(consumed, tombstones_expected=True)
    assert len(consumed) == len(last) + len(fillers)
    cleaned_bytes = sum(os.path.getsize(os.path.join(b.partition_dir(TOPIC, 0), n))
                        for n in os.listdir(b.partition_dir(TOPIC, 0)) if n.endswith(".log"))
    assert cleaned_bytes < produced_bytes / 20, (cleaned_bytes, produced_bytes)

    # Now delete.retention.ms = 3 s (a dynamic topic config change). Keep rolling and cleaning
    # until the segments holding the tombstones are older than the last clean segment by
    # delete.retention.ms (Kafka 2.8's delete horizon): the tombstones then go.
    p = c.configs("--alter", "--entity-type", "topics", "--entity-name", TOPIC,
                  "--add-config", f"delete.retention.ms={DELETE_RETENTION_MS}")
    assert p.returncode == 0, p.stdout + p.stderr
    deadline = time.monotonic() + 120
    round_no = 1
    while True:
        fillers += _filler(b, round_no)
        round_no += 1
        target = fillers[-301][0] + 1  # the previous round's records are in non-active segments
        wait_until(lambda: _cleaned_up_to(b) >= target, 60, "the cleaner to catch up", interval=0.2)
        consumed = _consume_all(b)
        if not any(v is None for _, _, v in consumed):
            break
        assert time.monotonic() < deadline, f"tombstones still present after {round_no} filler rounds"
    check(consumed, tombstones_expected=False)

    # The compacted log and the checkpoint survive a restart unchanged.
    ckpt_before = _checkpoint(b)[1][(TOPIC, 0)]
    b.restart()
    c.wait_for_leaders(TOPIC, 1)
    assert _checkpoint(b)[1][(TOPIC, 0)] >= ckpt_before
    assert _consume_all(b) == consumed

    stats = re.findall(r"Log cleaner cleaned log compacted-0 .*?\n\s*([\d.]+) MB of log processed in ([\d.]+) seconds",
                       b.log_since(log_mark))
    assert stats, "the cleaner logs its stats"
    total_mb = sum(float(mb) for mb, _ in stats)
    total_secs = sum(float(secs) for _, secs in stats)
    print(f"\nproduced {UPDATES} records ({produced_bytes / 1e6:.1f} MB of keys+values) in {produce_secs:.1f} s; "
          f"{len(stats)} cleanings processed {total_mb:.1f} MB in {total_secs:.2f} s "
          f"({total_mb / max(total_secs, 1e-9):.1f} MB/s); checkpoint reached {clean_wait:.1f} s after the "
          f"roll; {cleaned_bytes} bytes of log left; tombstones gone after {round_no - 1} filler rounds")


CODECS = ["gzip", "snappy", "lz4", "zstd"]


def test_compaction_of_compressed_batches(ccluster):
    """Each partition written by a producer with another codec: the cleaner decompresses,
    filters and recompresses, so duplicates go and kept offsets stay."""
    c = ccluster
    topic = "compacted-compressed"
    c.create_topic(topic, partitions=len(CODECS), configs={
        "cleanup.policy": "compact", "segment.bytes": SEGMENT_BYTES, "segment.ms": SEGMENT_MS,
        "min.cleanable.dirty.ratio": "0.01", "file.delete.delay.ms": 1000})
    b = c.brokers[1]
    rnd = random.Random(7)
    last = {}
    for part, codec in enumerate(CODECS):
        p = producer(b.bootstrap, **{"linger.ms": 5, "batch.size": 16384, "compression.type": codec})
        delivered = []
        for i in range(20_000):
            k = f"key-{rnd.randrange(200):03d}".encode()
            v = f"{codec}-{i}-".encode() + VALUE_PAD
            p.produce(topic, key=k, value=v, partition=part,
                      on_delivery=lambda e, m, k=k, v=v: delivered.append((e, m.offset(), k, v)))
            p.poll(0)
        assert p.flush(120) == 0
        assert all(e is None for e, *_ in delivered)
        for _, o, k, v in sorted(delivered, key=lambda d: d[1]):
            last[(part, k)] = (o, v)
    time.sleep(SEGMENT_MS / 1000 + 0.2)
    for part, codec in enumerate(CODECS):  # roll every active segment
        p = producer(b.bootstrap, **{"compression.type": codec})
        p.produce(topic, key=b"roll", value=b"r", partition=part)
        assert p.flush(30) == 0

    def cleaned():
        try:
            entries = _checkpoint(b)[1]
        except FileNotFoundError:
            return False
        return all(entries.get((topic, part), -1) >= 20_000 for part in range(len(CODECS)))
    wait_until(cleaned, 120, "every partition cleaned past its updates", interval=0.5)

    out = consume_partitions(b.bootstrap, topic, list(range(len(CODECS))), len(last) + len(CODECS))
    for part in range(len(CODECS)):
        got = {k: (o, v) for o, k, v in out[part] if k != b"roll"}
        assert len(got) == len([x for x in out[part] if x[1] != b"roll"]), f"duplicate keys in partition {part}"
        want = {k: ov for (p_, k), ov in last.items() if p_ == part}
        assert got == want, f"partition {part} ({CODECS[part]})"
    # The kept (rebuilt) batches are still compressed with the producer's codec.
    for part in range(len(CODECS)):
        pdir = b.partition_dir(topic, part)
        codecs = set()
        for name in sorted(n for n in os.listdir(pdir) if n.endswith(".log")):
            with open(os.path.join(pdir, name), "rb") as f:
                data = f.read()
            pos = 0
            while pos + 61 <= len(data):
                _, length = struct.unpack_from(">qi", data, pos)
                (attributes,) = struct.unpack_from(">h", data, pos + 21)
                codecs.add(attributes & 7)
                pos += 12 + length
        # (librdkafka sends a batch uncompressed when compressing would not make it smaller.)
        assert part + 1 in codecs and codecs <= {0, part + 1}, f"partition {part}: codecs {codecs}"
