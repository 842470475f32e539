"""kill -9 and torn writes: every acknowledged message survives, the torn tail is truncated, indexes
are rebuilt."""

import os
import random
import struct
import time

import pytest

import kwire
from clients import consume_partitions, producer, produce_sync, watermarks

# A short ZooKeeper session, so the dead broker's ephemeral /brokers/ids/1 goes away quickly
# (Kafka refuses to register over a live registration of another session).
FAST_SESSION = {"zookeeper.session.timeout.ms": "6000"}


def _segments(partition_dir):
    return sorted(n for n in os.listdir(partition_dir) if n.endswith(".log"))


def _read(path):
    with open(path, "rb") as f:
        return f.read()


def _restart_after_kill(b):
    b.wait_deregistered()
    b.start()


def test_kill9_during_produce_stream(cluster_factory):
    c = cluster_factory(broker_overrides=FAST_SESSION)
    topic = "rec-stream"
    c.create_topic(topic, partitions=1)
    b = c.brokers[1]

    acked = {}   # value -> offset
    failed = []
    p = producer(b.bootstrap, **{"linger.ms": 2, "batch.num.messages": 200, "message.timeout.ms": 15000,
                                 "queue.buffering.max.messages": 20000})

    def cb(err, msg):
        if err is None:
            acked[msg.value()] = msg.offset()
        else:
            failed.append(msg.value())

    killed_at = None
    i = 0
    deadline = time.monotonic() + 180
    while time.monotonic() < deadline:
        try:
            p.produce(topic, value=f"m-{i:07d}".encode(), on_delivery=cb)
            i += 1
        except BufferError:
            p.poll(0.05)
        p.poll(0)
        if killed_at is None and len(acked) >= 20000:
            b.kill9()  # mid-stream: more messages are queued and in flight
            killed_at = i
        if killed_at is not None and i >= killed_at + 2000:
            break
    assert killed_at is not None, f"only {len(acked)} messages were acknowledged in 180s"
    p.flush(60)
    acked_snapshot = dict(acked)
    assert failed, "messages produced after the kill cannot have been acknowledged"

    _restart_after_kill(b)
    c.wait_for_leaders(topic, 1)
    low, high = watermarks(b.bootstrap, topic, 0)
    assert low == 0
    assert high >= max(acked_snapshot.values()) + 1, (high, max(acked_snapshot.values()))
    got = consume_partitions(b.bootstrap, topic, [0], high)[0]
    stored = {off: v for off, _, v in got}
    assert sorted(stored) == list(range(high))
    missing = [(v, off) for v, off in acked_snapshot.items() if stored.get(off) != v]
    assert not missing, f"{len(missing)} acknowledged messages lost or changed, e.g. {missing[:5]}"

    pdir = b.partition_dir(topic, 0)
    for seg in _segments(pdir):
        base = seg[:-4]
        assert os.path.exists(os.path.join(pdir, base + ".index")), os.listdir(pdir)
        assert os.path.exists(os.path.join(pdir, base + ".timeindex")), os.listdir(pdir)


def _index_entries(path):
    data = _read(path)
    out = []
    for i in range(0, len(data) - 7, 8):
        rel, pos = struct.unpack_from(">ii", data, i)
        if rel == 0 and pos == 0 and i > 0:
            break  # preallocated zero tail
        if rel == 0 and pos == 0 and i == 0:
            continue
        out.append((rel, pos))
    return out


def _timeindex_entries(path):
    data = _read(path)
    out = []
    for i in range(0, len(data) - 11, 12):
        ts, rel = struct.unpack_from(">qi", data, i)
        if ts == 0 and rel == 0:
            break
        out.append((ts, rel))
    return out


def _tear(kind, data):
    batches = list(kwire.parse_batches(data))
    last = batches[-1]
    last_bytes = data[last["position"]:last["position"] + 12 + last["length"]]
    rnd = random.Random(1234)
    if kind == "half_batch":  # a write cut in the middle of a batch
        return last_bytes[:len(last_bytes) // 2]
    if kind == "garbage":  # random bytes
        return bytes(rnd.getrandbits(8) for _ in range(300))
    if kind == "bad_crc_batch":  # a complete batch whose contents do not match its CRC
        torn = bytearray(last_bytes)
        struct.pack_into(">q", torn, 0, last["last_offset"] + 1)
        torn[-3] ^= 0xFF
        return bytes(torn)
    raise ValueError(kind)


@pytest.mark.parametrize("kind", ["half_batch", "garbage", "bad_crc_batch"])
def test_torn_tail_is_truncated_and_indexes_rebuilt(cluster_factory, kind):
    c = cluster_factory(broker_overrides=FAST_SESSION)
    topic = f"torn-{kind.replace('_', '-')}"
    c.create_topic(topic, partitions=1)
    b = c.brokers[1]
    n = 5000
    values = [f"torn-{i:05d}-{'y' * (i % 50)}".encode() for i in range(n)]
    acks = produce_sync(b.bootstrap, topic, [(None, v) for v in values], partition=0,
                        **{"batch.num.messages": 50})
    assert [o for _, o in acks] == list(range(n))

    b.kill9()
    pdir = b.partition_dir(topic, 0)
    active = os.path.join(pdir, _segments(pdir)[-1])
    data = _read(active)
    batches = list(kwire.parse_batches(data))
    valid_size = batches[-1]["position"] + 12 + batches[-1]["length"]
    assert valid_size == len(data), "the log should hold only complete batches before we tear it"
    assert all(x["crc_valid"] for x in batches)
    with open(active, "ab") as f:
        f.write(_tear(kind, data))
    base = active[:-4]
    os.remove(base + ".index")
    os.remove(base + ".timeindex")

    _restart_after_kill(b)
    c.wait_for_leaders(topic, 1)

    assert watermarks(b.bootstrap, topic, 0) == (0, n)
    assert os.path.getsize(active) == valid_size, "the torn tail was not truncated"

    # rebuilt offset index: entries point at batch starts and name that batch's last offset
    seg_base = int(os.path.basename(base))
    by_pos = {x["position"]: x for x in batches}
    entries = _index_entries(base + ".index")
    assert entries, "a 100+ KB segment must have offset index entries (index.interval.bytes=4096)"
    prev = (-1, -1)
    for rel, pos in entries:
        assert rel > prev[0] and pos > prev[1], f"index not increasing at {(rel, pos)}"
        assert pos in by_pos, f"index entry {(rel, pos)} does not point at a batch"
        assert seg_base + rel == by_pos[pos]["last_offset"], f"index entry {(rel, pos)}"
        prev = (rel, pos)
    tentries = _timeindex_entries(base + ".timeindex")
    assert tentries, "the time index was not rebuilt"
    assert all(a[0] < b_[0] for a, b_ in zip(tentries, tentries[1:])), "time index not strictly increasing"
    assert all(0 <= rel < n - seg_base for _, rel in tentries)

    got = consume_partitions(b.bootstrap, topic, [0], n)[0]
    assert [(o, v) for o, _, v in got] == list(enumerate(values))

    more = produce_sync(b.bootstrap, topic, [(None, b"after-recovery")], partition=0)
    assert more == [(0, n)], "the next append must follow the last good offset"
