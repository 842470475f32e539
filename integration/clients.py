"""Thin helpers around the real client libraries (librdkafka via confluent-kafka, kcat)."""

import time

from confluent_kafka import OFFSET_BEGINNING, Consumer, KafkaError, Producer, TopicPartition

import harness


def producer(bootstrap, **extra):
    conf = {"bootstrap.servers": bootstrap, "broker.address.family": "v4", "acks": "1",
            "linger.ms": 5, "enable.idempotence": False, "message.timeout.ms": 60000}
    conf.update(extra)
    return Producer(conf)


def assign_consumer(bootstrap, **extra):
    """A consumer without group management: assign()/seek() only, nothing committed."""
    conf = {"bootstrap.servers": bootstrap, "broker.address.family": "v4",
            "group.id": "it-unused-group", "enable.auto.commit": False, "enable.auto.offset.store": False,
            "auto.offset.reset": "earliest", "enable.partition.eof": False,
            "fetch.wait.max.ms": 100}
    conf.update(extra)
    return Consumer(conf)


def produce_sync(bootstrap, topic, messages, partition=None, timeout=120, **extra):
    """messages: iterable of (key, value) bytes/str. Returns list of (partition, offset) in order.
    Raises if any delivery fails."""
    p = producer(bootstrap, **extra)
    results = []
    errors = []

    def cb(err, msg, idx):
        if err is not None:
            errors.append((idx, err))
        else:
            results.append((idx, msg.partition(), msg.offset()))

    for i, (k, v) in enumerate(messages):
        kwargs = {} if partition is None else {"partition": partition}
        while True:
            try:
                p.produce(topic, key=k, value=v, on_delivery=lambda e, m, i=i: cb(e, m, i), **kwargs)
                break
            except BufferError:
                p.poll(0.1)
        p.poll(0)
    remaining = p.flush(timeout)
    if remaining:
        raise AssertionError(f"{remaining} messages still undelivered after {timeout}s")
    if errors:
        raise AssertionError(f"{len(errors)} deliveries failed, first: {errors[0]}")
    results.sort()
    return [(part, off) for _, part, off in results]


def consume_partitions(bootstrap, topic, partitions, expected, timeout=120, start=OFFSET_BEGINNING, **extra):
    """Reads from `start` on each partition until `expected` messages in total arrive.
    Returns {partition: [(offset, key, value), ...]}."""
    c = assign_consumer(bootstrap, **extra)
    try:
        c.assign([TopicPartition(topic, p, start) for p in partitions])
        out = {p: [] for p in partitions}
        got = 0
        deadline = time.monotonic() + timeout
        while got < expected:
            if time.monotonic() > deadline:
                raise AssertionError(f"consumed only {got} of {expected} messages from {topic} in {timeout}s")
            for m in c.consume(num_messages=10000, timeout=1.0):
                if m.error() is not None:
                    if m.error().code() == KafkaError._PARTITION_EOF:
                        continue
                    raise AssertionError(f"consumer error: {m.error()}")
                out[m.partition()].append((m.offset(), m.key(), m.value()))
                got += 1
        return out
    finally:
        c.close()


def watermarks(bootstrap, topic, partition, timeout=30):
    """(low, high) via ListOffsets earliest/latest."""
    c = assign_consumer(bootstrap)
    try:
        return c.get_watermark_offsets(TopicPartition(topic, partition), timeout=timeout, cached=False)
    finally:
        c.close()


def kcat_metadata(bootstrap, topic=None, timeout=60, *extra):
    import json

    args = ["-b", bootstrap, "-L", "-J", "-m", "30", *extra]
    if topic:
        args += ["-t", topic]
    p = harness.kcat(*args, timeout=timeout)
    return json.loads(p.stdout)
