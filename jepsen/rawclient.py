"""A minimal Kafka client for exact accounting: each batch is sent exactly once, never retried.

Metadata v1 finds the leaders; Produce v3 (acks=-1, one RecordBatch v2 per request, built by the
integration suite's ``kwire``) writes; Fetch v4 reads. The client never resends: a produce either
gets an answer, which classifies the op, or it does not (timeout, connection lost), which makes it
indeterminate. So a duplicate of a value sent by this client can only have been made by the broker.

How a produce answer is classified (Kafka 2.8 semantics, ``ReplicaManager.appendToLocalLog`` and
``DelayedProduce``): ``fail`` only for errors answered before anything is appended
(NOT_ENOUGH_REPLICAS: the ISR is below ``min.insync.replicas`` when the batch arrives; invalid or
oversized records; UNKNOWN_TOPIC_OR_PARTITION, which a delayed produce returns only if the topic is
deleted, never done here). Everything else is ``info``. In particular NOT_LEADER_OR_FOLLOWER is
``info``: a delayed acks=all produce whose broker loses leadership after appending answers it
(``checkEnoughReplicasReachOffset`` has no local leader log any more), and the appended batch may
already be on the follower that became leader. KAFKA_STORAGE_ERROR is ``info`` for the same reason
(a delayed produce on a partition whose log dir went offline); NOT_ENOUGH_REPLICAS_AFTER_APPEND and
REQUEST_TIMED_OUT are appended by definition.
"""

import os
import socket
import struct
import sys

_INTEGRATION = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "integration")
if _INTEGRATION not in sys.path:
    sys.path.insert(0, _INTEGRATION)
import kwire  # noqa: E402

ERRORS = {
    -1: "UNKNOWN_SERVER_ERROR", 1: "OFFSET_OUT_OF_RANGE", 2: "CORRUPT_MESSAGE", 3: "UNKNOWN_TOPIC_OR_PARTITION",
    5: "LEADER_NOT_AVAILABLE", 6: "NOT_LEADER_OR_FOLLOWER", 7: "REQUEST_TIMED_OUT", 8: "BROKER_NOT_AVAILABLE",
    9: "REPLICA_NOT_AVAILABLE", 10: "MESSAGE_TOO_LARGE", 17: "INVALID_TOPIC_EXCEPTION",
    18: "RECORD_LIST_TOO_LARGE", 19: "NOT_ENOUGH_REPLICAS", 20: "NOT_ENOUGH_REPLICAS_AFTER_APPEND",
    21: "INVALID_REQUIRED_ACKS", 29: "TOPIC_AUTHORIZATION_FAILED", 32: "INVALID_TIMESTAMP",
    35: "UNSUPPORTED_VERSION", 56: "KAFKA_STORAGE_ERROR", 74: "FENCED_LEADER_EPOCH",
    75: "UNKNOWN_LEADER_EPOCH", 87: "INVALID_RECORD",
}
# Produce errors that mean "nothing was appended" (see the module docstring).
NOT_APPENDED = {2, 3, 5, 10, 17, 18, 19, 21, 29, 32, 35, 87}
# Errors after which the leader map is stale.
STALE_METADATA = {3, 5, 6, 56, 74, 75}
CONNECT_TIMEOUT = 3.0


def error_name(code):
    """Kafka's name of an error code."""
    return ERRORS.get(code, "ERROR_%d" % code)


class RawClientError(Exception):
    """No broker answered, or an answer could not be parsed."""


class _Reader:
    def __init__(self, buf, pos=0):
        self.buf = buf
        self.pos = pos

    def unpack(self, fmt):
        vals = struct.unpack_from(fmt, self.buf, self.pos)
        self.pos += struct.calcsize(fmt)
        return vals if len(vals) > 1 else vals[0]

    def string(self):
        n = self.unpack(">h")
        if n < 0:
            return None
        s = self.buf[self.pos:self.pos + n].decode()
        self.pos += n
        return s

    def bytes32(self):
        n = self.unpack(">i")
        if n < 0:
            return None
        b = self.buf[self.pos:self.pos + n]
        self.pos += n
        return b


def parse_metadata_v1(payload):
    """Metadata v1 response (frame contents) -> (brokers {id: (host, port)}, controller,
    {topic: (error, {partition: (error, leader, replicas, isr)})})."""
    r = _Reader(payload, 4)
    brokers = {}
    for _ in range(r.unpack(">i")):
        node = r.unpack(">i")
        host = r.string()
        port = r.unpack(">i")
        r.string()  # rack
        brokers[node] = (host, port)
    controller = r.unpack(">i")
    topics = {}
    for _ in range(r.unpack(">i")):
        terr = r.unpack(">h")
        name = r.string()
        r.unpack(">b")  # is_internal
        parts = {}
        for _ in range(r.unpack(">i")):
            perr, pid, leader = r.unpack(">hii")
            replicas = [r.unpack(">i") for _ in range(r.unpack(">i"))]
            isr = [r.unpack(">i") for _ in range(r.unpack(">i"))]
            parts[pid] = (perr, leader, replicas, isr)
        topics[name] = (terr, parts)
    return brokers, controller, topics


def fetch_v4(topic, positions, correlation_id, max_wait_ms=200, partition_max_bytes=262144):
    """A Fetch v4 request frame for ``positions`` {partition: offset} of one topic."""
    body = struct.pack(">iiiib", -1, max_wait_ms, 1, 4 * 1024 * 1024, 0)
    body += struct.pack(">i", 1) + kwire._str(topic) + struct.pack(">i", len(positions))
    for p, off in sorted(positions.items()):
        body += struct.pack(">iqi", p, off, partition_max_bytes)
    return kwire.frame(kwire.header_v1(1, 4, correlation_id, "jepsen-raw") + body)


def parse_fetch_v4(payload):
    """Fetch v4 response -> (correlation id, {(topic, partition): (error, high watermark, records
    bytes)})."""
    r = _Reader(payload)
    corr = r.unpack(">i")
    r.unpack(">i")  # throttle
    out = {}
    for _ in range(r.unpack(">i")):
        topic = r.string()
        for _ in range(r.unpack(">i")):
            p, err, hw, _lso = r.unpack(">ihqq")
            n = r.unpack(">i")
            for _ in range(max(n, 0)):
                r.unpack(">qq")  # aborted transactions
            out[(topic, p)] = (err, hw, r.bytes32() or b"")
    return corr, out


def records_of(data, from_offset):
    """[(offset, int value)] of the complete batches in ``data`` at or after ``from_offset``.
    Raises RawClientError on a batch with a bad CRC or one it cannot read (compressed)."""
    out = []
    for b in kwire.parse_batches(data):
        if not b["crc_valid"]:
            raise RawClientError("batch at offset %d has a bad CRC" % b["base_offset"])
        if "records" not in b:
            raise RawClientError("batch at offset %d is compressed or not magic 2" % b["base_offset"])
        for off, _key, value in b["records"]:
            if off >= from_offset:
                out.append((off, int(value)))
    return out


class RawClient:
    """One client (one process of the history): a connection per broker, the topic's leader map."""

    def __init__(self, bootstrap, topic, timeout=15.0, client_id="jepsen-raw"):
        self.bootstrap = list(bootstrap)  # [(host, port)]
        self.topic = topic
        self.timeout = timeout
        self.client_id = client_id
        self.brokers = {}
        self.leaders = {}
        self._conns = {}
        self._corr = 0

    def close(self):
        """Close every connection."""
        for c in self._conns.values():
            try:
                c.close()
            except OSError:
                pass
        self._conns = {}

    def _conn(self, addr):
        c = self._conns.get(addr)
        if c is None:
            c = kwire.RawConn(addr[0], addr[1], timeout=CONNECT_TIMEOUT)
            c.sock.settimeout(self.timeout)
            self._conns[addr] = c
        return c

    def _drop(self, addr):
        c = self._conns.pop(addr, None)
        if c is not None:
            try:
                c.close()
            except OSError:
                pass

    def _roundtrip(self, addr, frame, corr):
        try:
            c = self._conn(addr)
            c.send(frame)
            payload = c.recv_frame()
        except (OSError, ConnectionError, struct.error):
            self._drop(addr)
            raise
        (got,) = struct.unpack_from(">i", payload, 0)
        if got != corr:
            self._drop(addr)
            raise ConnectionError("correlation id %d, expected %d" % (got, corr))
        return payload

    def _next_corr(self):
        self._corr = (self._corr + 1) % 0x7FFFFFFF
        return self._corr

    def refresh(self):
        """Metadata from the first broker that answers; updates ``brokers`` and ``leaders``."""
        last = None
        addrs = list(self.brokers.values()) + [a for a in self.bootstrap if a not in self.brokers.values()]
        for addr in addrs:
            corr = self._next_corr()
            try:
                payload = self._roundtrip(addr, kwire.metadata_v1([self.topic], corr), corr)
                brokers, _ctl, topics = parse_metadata_v1(payload)
            except (OSError, ConnectionError, struct.error, UnicodeDecodeError) as e:
                last = e
                continue
            terr, parts = topics.get(self.topic, (3, {}))
            if terr != 0 or not parts:
                last = RawClientError("metadata of %s: %s" % (self.topic, error_name(terr)))
                continue
            self.brokers = brokers
            self.leaders = {p: v[1] for p, v in parts.items()}
            return self.leaders
        raise RawClientError("no broker answered Metadata: %r" % (last,))

    def leader_addr(self, partition):
        """(host, port) of the partition's leader as last known, refreshing when unknown."""
        leader = self.leaders.get(partition, -1)
        if leader < 0 or leader not in self.brokers:
            self.refresh()
            leader = self.leaders.get(partition, -1)
        if leader < 0 or leader not in self.brokers:
            raise RawClientError("partition %d has no leader" % partition)
        return self.brokers[leader]

    def produce(self, partition, values, timeout_ms=10000):
        """Send ``values`` (ints) as one batch, once. Returns ("ok", base offset, None),
        ("fail", None, error text) or ("info", None, error text)."""
        try:
            addr = self.leader_addr(partition)
        except RawClientError as e:
            return "fail", None, "not sent: %s" % e
        try:
            self._conn(addr)
        except OSError as e:  # no connection, so nothing was sent
            self.leaders.pop(partition, None)
            return "fail", None, "not sent: connect to %s:%d: %s" % (addr[0], addr[1], e)
        batch = kwire.record_batch([(None, str(v).encode()) for v in values])
        corr = self._next_corr()
        frame = kwire.produce_v3(self.topic, partition, batch, correlation_id=corr, acks=-1, timeout_ms=timeout_ms)
        try:
            payload = self._roundtrip(addr, frame, corr)
        except socket.timeout:
            self.leaders.pop(partition, None)
            return "info", None, "no answer from %s:%d within %.0f s" % (addr[0], addr[1], self.timeout)
        except (OSError, ConnectionError, struct.error) as e:
            self.leaders.pop(partition, None)
            return "info", None, "connection to %s:%d: %s" % (addr[0], addr[1], e)
        _, res = kwire.parse_produce_v3_response(payload)
        err, base = res.get((self.topic, partition), (-1, -1))
        if err == 0:
            return "ok", base, None
        if err in STALE_METADATA:
            self.leaders.pop(partition, None)
        kind = "fail" if err in NOT_APPENDED else "info"
        return kind, None, "%s from broker at %s:%d" % (error_name(err), addr[0], addr[1])

    def fetch(self, positions, max_wait_ms=200):
        """Fetch ``positions`` {partition: offset} from their leaders. Returns {partition: (error
        name or None, high watermark or None, [(offset, value)])}; partitions whose leader could
        not be asked have an error and no records."""
        by_leader = {}
        out = {}
        for p, off in positions.items():
            try:
                by_leader.setdefault(self.leader_addr(p), {})[p] = off
            except RawClientError as e:
                out[p] = (str(e), None, [])
        for addr, pos in by_leader.items():
            corr = self._next_corr()
            try:
                payload = self._roundtrip(addr, fetch_v4(self.topic, pos, corr, max_wait_ms), corr)
                _, res = parse_fetch_v4(payload)
            except (OSError, ConnectionError, struct.error) as e:
                for p in pos:
                    out[p] = ("connection to %s:%d: %s" % (addr[0], addr[1], e), None, [])
                    self.leaders.pop(p, None)
                continue
            for p, off in pos.items():
                err, hw, data = res.get((self.topic, p), (-1, None, b""))
                if err != 0:
                    if err in STALE_METADATA:
                        self.leaders.pop(p, None)
                    out[p] = (error_name(err), hw, [])
                    continue
                try:
                    out[p] = (None, hw, records_of(data, off))
                except RawClientError as e:
                    out[p] = ("CORRUPT: %s" % e, hw, [])
        return out
