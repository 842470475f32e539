"""Hand-built Kafka wire bytes for tests that must send what no well-behaved client sends.

Independent of the project's Rust code on purpose: RecordBatch v2 encoding with a pure-Python
CRC-32C, request framing, a Produce v3 request, an ApiVersions request of any version, and a reader
for the batches of a segment (.log) file.
"""

import socket
import struct
import time

# --- CRC-32C (Castagnoli), reflected polynomial 0x82F63B78 ------------------------------------
_CRC32C_TABLE = []
for _i in range(256):
    _c = _i
    for _ in range(8):
        _c = (_c >> 1) ^ 0x82F63B78 if _c & 1 else _c >> 1
    _CRC32C_TABLE.append(_c)


def crc32c(data, crc=0):
    crc ^= 0xFFFFFFFF
    table = _CRC32C_TABLE
    for b in data:
        crc = table[(crc ^ b) & 0xFF] ^ (crc >> 8)
    return crc ^ 0xFFFFFFFF


assert crc32c(b"123456789") == 0xE3069283  # the standard check value


# --- varints ----------------------------------------------------------------------------------
def uvarint(n):
    out = bytearray()
    while True:
        b = n & 0x7F
        n >>= 7
        if n:
            out.append(b | 0x80)
        else:
            out.append(b)
            return bytes(out)


def varint(n):  # zig-zag
    return uvarint((n << 1) ^ (n >> 63))


def read_uvarint(buf, pos):
    shift = 0
    result = 0
    while True:
        b = buf[pos]
        pos += 1
        result |= (b & 0x7F) << shift
        if not b & 0x80:
            return result, pos
        shift += 7


def read_varint(buf, pos):
    shift = 0
    result = 0
    while True:
        b = buf[pos]
        pos += 1
        result |= (b & 0x7F) << shift
        if not b & 0x80:
            break
        shift += 7
    return (result >> 1) ^ -(result & 1), pos


# --- RecordBatch v2 ---------------------------------------------------------------------------
BATCH_HEADER = struct.Struct(">qiibIhiqqqhii")  # 61 bytes
assert BATCH_HEADER.size == 61


def record_batch(records, base_offset=0, timestamp_ms=None):
    """records: list of (key bytes|None, value bytes|None). Uncompressed, CreateTime, no producer id."""
    ts = int(time.time() * 1000) if timestamp_ms is None else timestamp_ms
    body = b""
    for i, (key, value) in enumerate(records):
        rec = b"\x00" + varint(0) + varint(i)
        rec += varint(-1) if key is None else varint(len(key)) + key
        rec += varint(-1) if value is None else varint(len(value)) + value
        rec += varint(0)  # headers
        body += varint(len(rec)) + rec
    # attributes .. end, the part the CRC covers
    after_crc = struct.pack(">hiqqqhii", 0, len(records) - 1, ts, ts, -1, -1, -1, len(records)) + body
    crc = crc32c(after_crc)
    batch_length = 4 + 1 + 4 + len(after_crc)  # leader epoch + magic + crc + rest
    return struct.pack(">qiibI", base_offset, batch_length, -1, 2, crc) + after_crc


def parse_batches(data):
    """Yields dicts describing each complete batch in a segment file (stops at a partial tail)."""
    pos = 0
    while pos + 12 <= len(data):
        base_offset, length = struct.unpack_from(">qi", data, pos)
        if length < 49 or pos + 12 + length > len(data):
            break
        (_, _, leader_epoch, magic, crc, attrs, last_delta, first_ts, max_ts, pid, pepoch, bseq,
         count) = BATCH_HEADER.unpack_from(data, pos)
        end = pos + 12 + length
        valid = crc32c(data[pos + 21:end]) == crc
        batch = dict(base_offset=base_offset, last_offset=base_offset + last_delta, length=length,
                     position=pos, magic=magic, crc_valid=valid, codec=attrs & 7,
                     timestamp_type=(attrs >> 3) & 1, count=count, leader_epoch=leader_epoch,
                     max_timestamp=max_ts)
        if magic == 2 and attrs & 7 == 0:
            batch["records"] = _parse_records(data[pos + 61:end], count, base_offset)
        yield batch
        pos = end


def _parse_records(buf, count, base_offset):
    out = []
    pos = 0
    for _ in range(count):
        length, pos = read_varint(buf, pos)
        end = pos + length
        pos += 1  # attributes
        _, pos = read_varint(buf, pos)  # timestamp delta
        delta, pos = read_varint(buf, pos)
        klen, pos = read_varint(buf, pos)
        key = None if klen < 0 else bytes(buf[pos:pos + klen])
        pos += max(klen, 0)
        vlen, pos = read_varint(buf, pos)
        value = None if vlen < 0 else bytes(buf[pos:pos + vlen])
        out.append((base_offset + delta, key, value))
        pos = end
    return out


# --- requests ---------------------------------------------------------------------------------
def _str(s):
    if s is None:
        return struct.pack(">h", -1)
    b = s.encode()
    return struct.pack(">h", len(b)) + b


def frame(payload):
    return struct.pack(">i", len(payload)) + payload


def header_v1(api_key, api_version, correlation_id, client_id="it-raw"):
    return struct.pack(">hhi", api_key, api_version, correlation_id) + _str(client_id)


def header_v2(api_key, api_version, correlation_id, client_id="it-raw"):
    return header_v1(api_key, api_version, correlation_id, client_id) + b"\x00"


def produce_v3(topic, partition, batch, correlation_id=1, acks=1, timeout_ms=30000):
    body = _str(None) + struct.pack(">hi", acks, timeout_ms)
    body += struct.pack(">i", 1) + _str(topic)
    body += struct.pack(">i", 1) + struct.pack(">i", partition) + struct.pack(">i", len(batch)) + batch
    return frame(header_v1(0, 3, correlation_id) + body)


def parse_produce_v3_response(payload):
    """payload: the frame contents (correlation id first). Returns (correlation_id, {(t,p): (err, base_offset)})."""
    pos = 0
    (corr,) = struct.unpack_from(">i", payload, pos)
    pos += 4
    (ntopics,) = struct.unpack_from(">i", payload, pos)
    pos += 4
    out = {}
    for _ in range(ntopics):
        (tlen,) = struct.unpack_from(">h", payload, pos)
        pos += 2
        topic = payload[pos:pos + tlen].decode()
        pos += tlen
        (nparts,) = struct.unpack_from(">i", payload, pos)
        pos += 4
        for _ in range(nparts):
            part, err, base, _append_time = struct.unpack_from(">ihqq", payload, pos)
            pos += 22
            out[(topic, part)] = (err, base)
    return corr, out


def api_versions(version, correlation_id):
    if version >= 3:
        body = uvarint(len("it-raw") + 1) + b"it-raw" + uvarint(len("1.0") + 1) + b"1.0" + b"\x00"
        return frame(header_v2(18, version, correlation_id) + body)
    return frame(header_v1(18, version, correlation_id))


def parse_api_versions_v3(payload):
    """ApiVersions v3 response frame contents (header v0) -> {api_key: (min, max)}; asserts error 0."""
    corr, err = struct.unpack_from(">ih", payload, 0)
    if err != 0:
        raise ValueError(f"ApiVersions error {err}")
    n, pos = read_uvarint(payload, 6)
    out = {}
    for _ in range(n - 1):
        key, vmin, vmax = struct.unpack_from(">hhh", payload, pos)
        pos += 6
        ntags, pos = read_uvarint(payload, pos)
        for _ in range(ntags):
            _, pos = read_uvarint(payload, pos)
            size, pos = read_uvarint(payload, pos)
            pos += size
        out[key] = (vmin, vmax)
    return out


def metadata_v1(topics, correlation_id):
    body = struct.pack(">i", len(topics)) + b"".join(_str(t) for t in topics)
    return frame(header_v1(3, 1, correlation_id) + body)


def parse_metadata_v1_brokers(payload):
    """Metadata v1 response frame contents -> ({node_id: (host, port)}, controller_id)."""
    pos = 4  # correlation id
    (n,) = struct.unpack_from(">i", payload, pos)
    pos += 4
    brokers = {}
    for _ in range(n):
        (node,) = struct.unpack_from(">i", payload, pos)
        pos += 4
        (hlen,) = struct.unpack_from(">h", payload, pos)
        host = payload[pos + 2:pos + 2 + hlen].decode()
        pos += 2 + hlen
        (port, rlen) = struct.unpack_from(">ih", payload, pos)
        pos += 6 + max(rlen, 0)
        brokers[node] = (host, port)
    (controller,) = struct.unpack_from(">i", payload, pos)
    return brokers, controller


# --- a raw connection -------------------------------------------------------------------------
class RawConn:
    def __init__(self, host, port, timeout=30.0):
        self.sock = socket.create_connection((host, port), timeout=timeout)
        self.sock.settimeout(timeout)

    def send(self, data):
        self.sock.sendall(data)

    def recv_exact(self, n):
        out = b""
        while len(out) < n:
            chunk = self.sock.recv(n - len(out))
            if not chunk:
                raise ConnectionError(f"closed after {len(out)} of {n} bytes")
            out += chunk
        return out

    def recv_frame(self):
        (n,) = struct.unpack(">i", self.recv_exact(4))
        return self.recv_exact(n)

    def closed_by_peer(self, timeout=30.0):
        """True if the broker closes the connection (EOF or reset) within timeout without sending a frame."""
        self.sock.settimeout(timeout)
        try:
            data = self.sock.recv(65536)
        except ConnectionResetError:
            return True
        except socket.timeout:
            return False
        return data == b""

    def close(self):
        self.sock.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()
