"""A group consumer run as its own process by test_groups.py, so that kill -9 is a real crash.

A confluent-kafka consumer subscribes to one topic in a group and writes what happens to a JSON-lines
log (flushed before every commit): `assign`/`revoke`/`lost` with the partitions, one `msg` per
record (partition, offset, value), and one `commit` per synchronous commit with the offsets it
committed and whether the broker accepted them. It commits the next offset of every partition it
consumed from after each batch ("process, then commit"), unless --commit-limit says to stop
committing once that many records were consumed (used to leave uncommitted records behind before a
kill). SIGTERM closes the consumer (LeaveGroup for a dynamic member) and exits.

    python3 group_worker.py --bootstrap B --topic T --group G --log FILE [--instance-id I]
"""

import argparse
import json
import signal
import sys
import time

from confluent_kafka import Consumer, KafkaError, KafkaException, TopicPartition


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--bootstrap", required=True)
    ap.add_argument("--topic", required=True)
    ap.add_argument("--group", required=True)
    ap.add_argument("--log", required=True)
    ap.add_argument("--instance-id")
    ap.add_argument("--client-id", default="it-group-worker")
    ap.add_argument("--commit-limit", type=int, default=-1)
    ap.add_argument("--session-ms", type=int, default=6000)
    ap.add_argument("--max-poll-ms", type=int, default=10000)
    ap.add_argument("--batch", type=int, default=20)
    args = ap.parse_args()

    log = open(args.log, "a", buffering=1)

    def emit(ev, **kw):
        log.write(json.dumps({"ev": ev, "t": time.time(), **kw}) + "\n")

    conf = {"bootstrap.servers": args.bootstrap, "broker.address.family": "v4", "group.id": args.group,
            "client.id": args.client_id, "enable.auto.commit": False, "auto.offset.reset": "earliest",
            "session.timeout.ms": args.session_ms, "heartbeat.interval.ms": 1000,
            "max.poll.interval.ms": args.max_poll_ms, "fetch.wait.max.ms": 100,
            "topic.metadata.refresh.interval.ms": 2000, "enable.partition.eof": False}
    if args.instance_id:
        conf["group.instance.id"] = args.instance_id
    consumer = Consumer(conf)
    stopping = []
    signal.signal(signal.SIGTERM, lambda *_: stopping.append(1))

    consumed = [0]
    pending = {}  # partition -> next offset, consumed but not yet committed

    def commit(parts):
        """Synchronously commits the pending offsets of `parts` and logs the broker's answer."""
        todo = {p: pending.pop(p) for p in sorted(parts) if p in pending}
        if not todo or 0 <= args.commit_limit < consumed[0]:
            return
        offsets = [TopicPartition(args.topic, p, o) for p, o in todo.items()]
        try:
            result = consumer.commit(offsets=offsets, asynchronous=False)
            bad = {str(tp.partition): str(tp.error) for tp in result or [] if tp.error is not None}
            ok = {str(tp.partition): tp.offset for tp in result or [] if tp.error is None}
            emit("commit", ok=ok, failed=bad)
        except KafkaException as e:
            emit("commit", ok={}, failed={str(p): str(e) for p in todo})

    def on_revoke(c, parts):
        commit([p.partition for p in parts])  # eager protocol: still this generation
        emit("revoke", parts=sorted(p.partition for p in parts))

    def on_lost(c, parts):
        for p in parts:
            pending.pop(p.partition, None)
        emit("lost", parts=sorted(p.partition for p in parts))

    consumer.subscribe([args.topic], on_revoke=on_revoke, on_lost=on_lost,
                       on_assign=lambda c, parts: emit("assign", parts=sorted(p.partition for p in parts)))
    emit("start")
    since_commit = 0
    while not stopping:
        m = consumer.poll(0.2)
        if m is not None:
            if m.error() is not None:
                if m.error().code() != KafkaError._PARTITION_EOF:
                    emit("error", err=str(m.error()))
                continue
            emit("msg", p=m.partition(), o=m.offset(), v=int(m.value()))
            pending[m.partition()] = m.offset() + 1
            consumed[0] += 1
            since_commit += 1
            if since_commit < args.batch:
                continue
        if pending:
            commit(list(pending))
        since_commit = 0
    emit("closing")
    consumer.close()
    emit("closed")
    log.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
