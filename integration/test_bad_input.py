"""Bad bytes on the wire: the broker answers with an error or closes that one connection, logs a
clear line, keeps serving everybody else, and writes nothing bad to disk.

Requests are built by hand (kwire.py) since no real client sends these."""

import os
import re
import socket
import struct

import pytest

import harness
import kwire
from clients import consume_partitions, kcat_metadata
from harness import wait_until

MAX_REQUEST = 1048576
TOPIC = "bad-input"
GOOD = [[(b"k0", b"good-0"), (b"k1", b"good-1")], [(None, b"good-2")], [(b"k3", b"good-3")]]
CORRUPT_MESSAGE = 2
UNSUPPORTED_VERSION = 35


@pytest.fixture(scope="module")
def bcluster():
    c = harness.Cluster("bad-input")
    with harness.managed(c):
        c.start_zk()
        c.add_broker(1, overrides={"socket.request.max.bytes": str(MAX_REQUEST)})
        c.create_topic(TOPIC, partitions=1)
        yield c


def broker(c):
    return c.brokers[1]


def conn(c):
    return kwire.RawConn("127.0.0.1", broker(c).port)


def still_serving(c):
    """Another client, on other connections, still gets answers."""
    md = kcat_metadata(broker(c).bootstrap, TOPIC, timeout=60)
    assert [x["id"] for x in md["brokers"]] == [1]
    with conn(c) as s:
        s.send(kwire.api_versions(0, 4242))
        resp = s.recv_frame()
        corr, err = struct.unpack_from(">ih", resp, 0)
        assert (corr, err) == (4242, 0)
    assert broker(c).alive()


def logged(c, since, pattern, what):
    """Waits until the broker log written after `since` has a line matching pattern (case-insensitive)."""
    rx = re.compile(pattern, re.IGNORECASE)
    b = broker(c)
    try:
        return wait_until(lambda: [ln for ln in b.log_since(since).splitlines() if rx.search(ln)], 15,
                          f"a log line about {what}")
    except TimeoutError:
        pytest.fail(f"no broker log line matching /{pattern}/ after {what}; log since then:\n"
                    f"{b.log_since(since)[-3000:]}")


ANY_ERROR = r"error|warn|invalid|unknown|corrupt|clos|malformed|too large|larger"


def produce(c, batch, corr):
    with conn(c) as s:
        s.send(kwire.produce_v3(TOPIC, 0, batch, correlation_id=corr))
        try:
            resp = s.recv_frame()
        except (ConnectionError, socket.timeout):
            return None  # connection closed instead of an answer
        rcorr, parts = kwire.parse_produce_v3_response(resp)
        assert rcorr == corr
        return parts[(TOPIC, 0)]


def test_well_formed_raw_produce_is_accepted(bcluster):
    # positive control for the hand-built bytes: the same encoder, uncorrupted, is accepted
    for i, records in enumerate(GOOD[:2]):
        err, base = produce(bcluster, kwire.record_batch(records), corr=100 + i)
        assert err == 0, f"well-formed Produce v3 rejected with error {err}"


def test_corrupt_crc_is_rejected(bcluster):
    since = broker(bcluster).log_size()
    batch = bytearray(kwire.record_batch([(b"evil", b"corrupted-record")]))
    batch[-5] ^= 0x55  # inside the record value: covered by the CRC
    result = produce(bcluster, bytes(batch), corr=200)
    assert result is None or result[0] == CORRUPT_MESSAGE, f"corrupt batch answered with {result}"
    still_serving(bcluster)
    # a good batch after it lands right behind the earlier good ones
    err, base = produce(bcluster, kwire.record_batch(GOOD[2]), corr=201)
    assert (err, base) == (0, 3)
    logged(bcluster, since, r"crc|corrupt|checksum", "a batch with a bad CRC")


def _expect_closed(c, payload, what, log_pattern=ANY_ERROR, half_close=False):
    since = broker(c).log_size()
    with conn(c) as s:
        s.send(payload)
        if half_close:
            s.sock.shutdown(socket.SHUT_WR)
        assert s.closed_by_peer(timeout=30), f"the broker kept the connection open after {what}"
    logged(c, since, log_pattern, what)
    still_serving(c)


def test_garbage_frame(bcluster):
    # a well-sized frame whose header names no API (key 16962)
    _expect_closed(bcluster, kwire.frame(b"BBBB" + os.urandom(28)), "a frame with an unknown API key")


def test_http_request(bcluster):
    # 'GET ' read as a size is 1195725856: far above socket.request.max.bytes
    _expect_closed(bcluster, b"GET / HTTP/1.1\r\nHost: localhost\r\n\r\n", "an HTTP request")


def test_truncated_header(bcluster):
    # complete frame, but the request header inside stops in the middle of the correlation id
    _expect_closed(bcluster, kwire.frame(struct.pack(">hh", 3, 1) + b"\x00\x01"), "a truncated request header")


def test_truncated_body(bcluster):
    # Metadata v1 whose topic array claims 3 names but carries 1
    body = struct.pack(">i", 3) + struct.pack(">h", 5) + b"topic"
    _expect_closed(bcluster, kwire.frame(kwire.header_v1(3, 1, 7) + body), "a truncated request body")


def test_frame_cut_short_then_eof(bcluster):
    # a size prefix of 100 followed by 10 bytes, then the client half-closes
    since = broker(bcluster).log_size()
    with conn(bcluster) as s:
        s.send(struct.pack(">i", 100) + b"\x00" * 10)
        s.sock.shutdown(socket.SHUT_WR)
        assert s.closed_by_peer(timeout=30)
    still_serving(bcluster)
    assert broker(bcluster).log_size() >= since


def test_stalled_partial_frame_does_not_block_others(bcluster):
    with conn(bcluster) as s:
        s.send(struct.pack(">i", 1000) + b"\x00" * 10)  # never completed
        still_serving(bcluster)


def test_oversized_frame(bcluster):
    size = 2 * 1024 * 1024
    _expect_closed(bcluster, struct.pack(">i", size), f"a {size}-byte frame", log_pattern=str(size))


def test_negative_size(bcluster):
    _expect_closed(bcluster, struct.pack(">i", -5), "a negative frame size")


def test_unsupported_version_of_other_api_closes(bcluster):
    # Kafka closes the connection for an unsupported version of any API but ApiVersions
    _expect_closed(bcluster, kwire.frame(kwire.header_v1(3, 99, 8) + struct.pack(">i", 0)), "Metadata v99")


def test_api_versions_v99(bcluster):
    with conn(bcluster) as s:
        s.send(kwire.api_versions(99, 31337))
        resp = s.recv_frame()
        # v0 layout under response header v0: correlation id, error code, [api key, min, max], no throttle
        assert len(resp) == 4 + 2 + 4 + 6, resp.hex()
        corr, err, n, key, vmin, vmax = struct.unpack(">ihihhh", resp)
        assert corr == 31337
        assert err == UNSUPPORTED_VERSION
        assert (n, key, vmin, vmax) == (1, 18, 0, 3)
        # the connection stays open: the client retries with a version the broker has
        s.send(kwire.api_versions(3, 31338))
        resp = s.recv_frame()
        corr, err = struct.unpack_from(">ih", resp, 0)
        assert (corr, err) == (31338, 0)
        entries = kwire.parse_api_versions_v3(resp)
        assert entries[18] == (0, 3)
        # the APIs: Produce Fetch ListOffsets Metadata LeaderAndIsr StopReplica UpdateMetadata
        # CreateTopics DeleteTopics DescribeConfigs AlterConfigs CreatePartitions. ControlledShutdown (7)
        # is a broker-to-controller RPC that comes with controlled shutdown (issue #3).
        for api in (0, 1, 2, 3, 4, 5, 6, 19, 20, 32, 33, 37):
            assert api in entries, f"ApiVersions does not list api key {api}"


def test_nothing_bad_on_disk(bcluster):
    b = broker(bcluster)
    want = [r for batch in GOOD for r in batch]
    got = consume_partitions(b.bootstrap, TOPIC, [0], len(want))[0]
    assert [(k, v) for _, k, v in got] == want
    with open(os.path.join(b.partition_dir(TOPIC, 0), "00000000000000000000.log"), "rb") as f:
        data = f.read()
    batches = list(kwire.parse_batches(data))
    assert sum(x["count"] for x in batches) == len(want)
    assert all(x["crc_valid"] for x in batches)
    assert batches[-1]["position"] + 12 + batches[-1]["length"] == len(data)
    assert [(k, v) for x in batches for _, k, v in x["records"]] == want
