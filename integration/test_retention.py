"""Retention by size and by time deletes whole old segments, moves the log start offset, and
ListOffsets(earliest) follows. Kafka's first retention pass runs 30 s after start-up, then every
log.retention.check.interval.ms (1 s here)."""

import os
import time

import pytest
from confluent_kafka import OFFSET_BEGINNING

import harness
from clients import consume_partitions, producer, watermarks
from harness import wait_until

SEGMENT_BYTES = 8192
RETENTION_BYTES = 20000


@pytest.fixture(scope="module")
def rcluster():
    c = harness.Cluster("retention")
    with harness.managed(c):
        c.start_zk()
        c.add_broker(1, overrides={"log.retention.check.interval.ms": "1000"})
        yield c


def _segment_bases(pdir):
    return sorted(int(n[:-4]) for n in os.listdir(pdir) if n.endswith(".log"))


def _produce(bootstrap, topic, values, timestamp=None):
    p = producer(bootstrap, **{"linger.ms": 0, "batch.size": 1000})
    offsets = []
    errors = []

    def cb(err, msg):
        if err is not None:
            errors.append(err)
        else:
            offsets.append(msg.offset())

    for v in values:
        kw = {} if timestamp is None else {"timestamp": timestamp}
        p.produce(topic, value=v, partition=0, on_delivery=cb, **kw)
        p.poll(0)
    assert p.flush(120) == 0
    assert not errors, errors[:3]
    return sorted(offsets)


def _check_log_start(b, topic, pdir, produced_values):
    """Log start offset == first remaining segment, ListOffsets earliest == that, data intact from there."""
    low, high = watermarks(b.bootstrap, topic, 0)
    bases = _segment_bases(pdir)
    assert bases[0] == low, f"log start {low} but first remaining segment starts at {bases[0]}"
    assert high == len(produced_values)
    got = consume_partitions(b.bootstrap, topic, [0], high - low, start=OFFSET_BEGINNING)[0]
    assert [(o, v) for o, _, v in got] == [(o, produced_values[o]) for o in range(low, high)]
    return low, bases


def test_retention_by_size(rcluster):
    topic = "ret-size"
    rcluster.create_topic(topic, partitions=1, configs={
        "segment.bytes": SEGMENT_BYTES, "retention.bytes": RETENTION_BYTES, "file.delete.delay.ms": 1000})
    b = rcluster.brokers[1]
    values = [f"size-{i:05d}-".encode() + b"s" * 100 for i in range(500)]
    assert _produce(b.bootstrap, topic, values) == list(range(len(values)))
    pdir = b.partition_dir(topic, 0)
    assert len(_segment_bases(pdir)) >= 4 or watermarks(b.bootstrap, topic, 0)[0] > 0, \
        f"~60 KB with segment.bytes={SEGMENT_BYTES} should have rolled several segments: {os.listdir(pdir)}"

    wait_until(lambda: watermarks(b.bootstrap, topic, 0)[0] > 0, 150,
               "size retention to move the log start offset", interval=1.0)

    def settled():
        sizes = [os.path.getsize(os.path.join(pdir, f"{base:020d}.log")) for base in _segment_bases(pdir)]
        # Kafka deletes oldest segments while (total - oldest) >= retention.bytes
        return sum(sizes) - sizes[0] < RETENTION_BYTES and not any(n.endswith(".deleted") for n in os.listdir(pdir))
    wait_until(settled, 90, "size retention to settle and .deleted files to be removed", interval=1.0)
    low, bases = _check_log_start(b, topic, pdir, values)
    assert low > 0 and all(base >= low for base in bases)
    for base in bases:  # every surviving segment still has its indexes
        assert os.path.exists(os.path.join(pdir, f"{base:020d}.index"))
        assert os.path.exists(os.path.join(pdir, f"{base:020d}.timeindex"))


def test_retention_by_time(rcluster):
    topic = "ret-time"
    rcluster.create_topic(topic, partitions=1, configs={
        "segment.bytes": SEGMENT_BYTES, "retention.ms": 600000, "file.delete.delay.ms": 1000})
    b = rcluster.brokers[1]
    now_ms = int(time.time() * 1000)
    old = [f"old-{i:05d}-".encode() + b"o" * 100 for i in range(300)]
    new = [f"new-{i:05d}-".encode() + b"n" * 100 for i in range(50)]
    assert _produce(b.bootstrap, topic, old, timestamp=now_ms - 2 * 3600 * 1000) == list(range(300))
    assert _produce(b.bootstrap, topic, new) == list(range(300, 350))
    pdir = b.partition_dir(topic, 0)

    wait_until(lambda: watermarks(b.bootstrap, topic, 0)[0] > 0, 150,
               "time retention to move the log start offset", interval=1.0)

    def settled():
        bases = _segment_bases(pdir)
        # every segment holding only 2-hour-old records (retention.ms = 10 min) is gone
        return len(bases) and bases[0] <= 300 and (len(bases) == 1 or bases[1] > 300) \
            and not any(n.endswith(".deleted") for n in os.listdir(pdir))
    wait_until(settled, 90, "all segments with only old records to be deleted", interval=1.0)
    low, _ = _check_log_start(b, topic, pdir, old + new)
    assert 0 < low <= 300, low
