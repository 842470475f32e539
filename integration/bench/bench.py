#!/usr/bin/env python3
"""Throughput benchmark (not a test: it asserts nothing about timings).

Starts a private ZooKeeper and one broker (integration/harness.py), then measures with a real
librdkafka client (confluent-kafka):
  * produce: Producer, acks=1, linger.ms=10, batch.size=1 MiB, no compression, one partition; and
    the same with kcat (librdkafka driven from C) reading the records from a file;
  * consume: Consumer assign() from the beginning (no group), batched consume(); and the same read
    with kcat, which has no per-message Python cost;
for 100-byte and 1 KiB records, plus the raw loopback TCP bandwidth measured in the same run
(a Python sender/receiver pair pushing --loopback-mib MiB through 127.0.0.1), and prints a table.
MB means MiB (1048576 bytes) of record values, as in kafka-producer-perf-test.
"""

import argparse
import os
import socket
import sys
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from confluent_kafka import OFFSET_BEGINNING, Consumer, Producer, TopicPartition  # noqa: E402

import harness  # noqa: E402

MiB = 1024 * 1024


def loopback_bandwidth(total_bytes, chunk=4 * MiB):
    srv = socket.socket()
    srv.bind(("127.0.0.1", 0))
    srv.listen(1)
    port = srv.getsockname()[1]
    received = [0]

    def receiver():
        conn, _ = srv.accept()
        buf = bytearray(chunk)
        view = memoryview(buf)
        while True:
            n = conn.recv_into(view)
            if not n:
                break
            received[0] += n
        conn.close()

    t = threading.Thread(target=receiver)
    t.start()
    payload = os.urandom(chunk)
    s = socket.create_connection(("127.0.0.1", port))
    start = time.perf_counter()
    sent = 0
    while sent < total_bytes:
        s.sendall(payload)
        sent += len(payload)
    s.shutdown(socket.SHUT_WR)
    t.join()
    elapsed = time.perf_counter() - start
    s.close()
    srv.close()
    assert received[0] == sent
    return sent, elapsed


def produce(bootstrap, topic, count, size):
    p = Producer({"bootstrap.servers": bootstrap, "broker.address.family": "v4", "acks": "1",
                  "linger.ms": 10, "batch.size": MiB, "batch.num.messages": 100000,
                  "queue.buffering.max.messages": 1000000, "queue.buffering.max.kbytes": 1048576,
                  "compression.type": "none", "enable.idempotence": False})
    value = os.urandom(size)
    failures = [0]

    def cb(err, _msg):
        if err is not None:
            failures[0] += 1

    start = time.perf_counter()
    for _ in range(count):
        while True:
            try:
                p.produce(topic, value=value, partition=0, on_delivery=cb)
                break
            except BufferError:
                p.poll(0.01)
    p.flush(600)
    elapsed = time.perf_counter() - start
    if failures[0]:
        raise RuntimeError(f"{failures[0]} produce failures")
    return elapsed


def consume(bootstrap, topic, count):
    c = Consumer({"bootstrap.servers": bootstrap, "broker.address.family": "v4", "group.id": "bench-unused",
                  "enable.auto.commit": False, "fetch.max.bytes": 50 * MiB,
                  "max.partition.fetch.bytes": 10 * MiB, "queued.max.messages.kbytes": 1048576})
    c.assign([TopicPartition(topic, 0, OFFSET_BEGINNING)])
    got = 0
    start = time.perf_counter()
    deadline = time.monotonic() + 600
    while got < count and time.monotonic() < deadline:
        for m in c.consume(num_messages=100000, timeout=1.0):
            if m.error() is None:
                got += 1
    elapsed = time.perf_counter() - start
    c.close()
    if got < count:
        raise RuntimeError(f"consumed {got} of {count}")
    return elapsed


def produce_kcat(bootstrap, topic, count, size, workdir):
    """The same produce with kcat reading a file of `count` lines of `size` bytes."""
    import subprocess

    path = os.path.join(workdir, f"records-{size}.txt")
    line = os.urandom(size // 2 + 1).hex()[:size].encode() + b"\n"
    with open(path, "wb") as f:
        for _ in range(count // 10000):
            f.write(line * 10000)
        f.write(line * (count % 10000))
    start = time.perf_counter()
    with open(path, "rb") as f:
        subprocess.run(["kcat", "-P", "-b", bootstrap, "-t", topic, "-p", "0", "-X", "broker.address.family=v4",
                        "-X", "acks=1", "-X", "linger.ms=10", "-X", f"batch.size={MiB}",
                        "-X", "queue.buffering.max.messages=1000000"],
                       stdin=f, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, timeout=600, check=True)
    elapsed = time.perf_counter() - start
    os.remove(path)
    return elapsed


def consume_kcat(bootstrap, topic, count):
    """The same read with kcat (librdkafka from C, no per-message Python cost)."""
    import subprocess

    start = time.perf_counter()
    p = subprocess.run(["kcat", "-C", "-b", bootstrap, "-t", topic, "-p", "0", "-o", "beginning", "-e", "-q",
                        "-c", str(count), "-f", "%o\n", "-X", "broker.address.family=v4",
                        "-X", "fetch.max.bytes=52428800", "-X", "max.partition.fetch.bytes=10485760"],
                       stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=600, check=True)
    elapsed = time.perf_counter() - start
    got = p.stdout.count(b"\n")
    if got < count:
        raise RuntimeError(f"kcat consumed {got} of {count}")
    return elapsed


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--records-100", type=int, default=1_000_000, help="number of 100-byte records")
    ap.add_argument("--records-1k", type=int, default=300_000, help="number of 1 KiB records")
    ap.add_argument("--loopback-mib", type=int, default=1024, help="MiB pushed for the loopback measurement")
    args = ap.parse_args()

    rows = []
    sent, secs = loopback_bandwidth(args.loopback_mib * MiB)
    loop_mbs = sent / MiB / secs
    print(f"loopback TCP: {sent / MiB:.0f} MiB in {secs:.2f} s = {loop_mbs:.1f} MiB/s", flush=True)

    c = harness.Cluster("bench")
    try:
        c.start_zk()
        b = c.add_broker(1)
        for size, count in ((100, args.records_100), (1024, args.records_1k)):
            if count <= 0:
                continue
            topic = f"bench-{size}"
            c.create_topic(topic, partitions=1)
            mib = count * size / MiB
            t = produce(b.bootstrap, topic, count, size)
            rows.append((f"produce {size} B", count, size, t, count / t, mib / t))
            print(f"produce {size} B: {count} records in {t:.2f} s", flush=True)
            t = consume(b.bootstrap, topic, count)
            rows.append((f"consume {size} B", count, size, t, count / t, mib / t))
            print(f"consume {size} B: {count} records in {t:.2f} s", flush=True)
            c.create_topic(topic + "-kcat", partitions=1)
            t = produce_kcat(b.bootstrap, topic + "-kcat", count, size, c.workdir)
            rows.append((f"produce {size} B kcat", count, size, t, count / t, mib / t))
            print(f"produce {size} B with kcat: {count} records in {t:.2f} s", flush=True)
            t = consume_kcat(b.bootstrap, topic, count)
            rows.append((f"consume {size} B kcat", count, size, t, count / t, mib / t))
            print(f"consume {size} B with kcat: {count} records in {t:.2f} s", flush=True)
    except BaseException:
        print(c.dump_logs(), file=sys.stderr)
        raise
    finally:
        c.close()

    print()
    print(f"{'test':<22} {'records':>10} {'seconds':>9} {'records/s':>12} {'MiB/s':>9} {'% of loopback':>14}")
    for name, count, _size, t, rps, mbs in rows:
        print(f"{name:<22} {count:>10} {t:>9.2f} {rps:>12.0f} {mbs:>9.1f} {100 * mbs / loop_mbs:>13.1f}%")
    print(f"{'loopback TCP':<22} {'':>10} {secs:>9.2f} {'':>12} {loop_mbs:>9.1f} {100.0:>13.1f}%")
    print(f"\n(2 shared cores: client, broker and ZooKeeper run on the same machine; "
          f"nproc={os.cpu_count()})")


if __name__ == "__main__":
    main()
