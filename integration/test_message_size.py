"""Topic max.message.bytes, changed at run time through kafka-topics --alter (a /config/changes
notification the broker must pick up): a 100 KB record is rejected with MESSAGE_TOO_LARGE, and
accepted again after --deleteConfig."""

import os

from confluent_kafka import KafkaError

from clients import consume_partitions, producer, watermarks
from harness import wait_until

TOPIC = "sizes"
BIG = os.urandom(100 * 1024)
MEDIUM = os.urandom(50 * 1024)


def _send(bootstrap, value):
    """Produces one record; returns None on success or the KafkaError."""
    p = producer(bootstrap, **{"message.max.bytes": 2_000_000, "compression.type": "none",
                               "message.timeout.ms": 30000})
    result = []
    p.produce(TOPIC, value=value, partition=0, on_delivery=lambda err, msg: result.append((err, msg)))
    assert p.flush(60) == 0
    err, msg = result[0]
    return err


def test_max_message_bytes_alter_and_delete(cluster):
    cluster.create_topic(TOPIC, partitions=1)
    b = cluster.brokers[1]
    assert _send(b.bootstrap, BIG) is None, "100 KB is below the default max.message.bytes (1048588)"

    p = cluster.topics("--topic", TOPIC, "--alter", "--config", "max.message.bytes=64000")
    assert p.returncode == 0, p.stderr

    # the broker applies the change when it sees the config_change_ notification; poll for it
    err = wait_until(lambda: _send(b.bootstrap, BIG), 60, "max.message.bytes=64000 to take effect", interval=0.5)
    assert err.code() == KafkaError.MSG_SIZE_TOO_LARGE, err
    assert _send(b.bootstrap, BIG).code() == KafkaError.MSG_SIZE_TOO_LARGE
    assert _send(b.bootstrap, MEDIUM) is None, "50 KB is below 64000 and must still be accepted"

    p = cluster.topics("--topic", TOPIC, "--alter", "--deleteConfig", "max.message.bytes")
    assert p.returncode == 0, p.stderr
    wait_until(lambda: _send(b.bootstrap, BIG) is None, 60, "the default max.message.bytes to be back",
               interval=0.5)

    # what was accepted is stored intact, the rejected records are not there
    low, high = watermarks(b.bootstrap, TOPIC, 0)
    assert low == 0 and high >= 3
    stored = [v for _, _, v in consume_partitions(b.bootstrap, TOPIC, [0], high)[0]]
    assert stored[0] == BIG and stored[-1] == BIG
    assert MEDIUM in stored
    assert all(v in (BIG, MEDIUM) for v in stored)
