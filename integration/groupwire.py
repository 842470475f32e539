"""Raw group-coordinator requests (issue #4) for protocol-level tests, built by hand on purpose.

Independent of the project's Rust code: FindCoordinator, JoinGroup, SyncGroup, Heartbeat,
LeaveGroup, OffsetCommit, OffsetFetch, DescribeGroups, ListGroups, DeleteGroups and OffsetDelete at
fixed (mostly non-flexible) versions, with small decoders returning dicts. Field layouts follow the
Kafka 2.8 message schemas (clients/src/main/resources/common/message/*.json). Also Java's
String.hashCode, which places a group on a `__consumer_offsets` partition.
"""

import struct

import kwire

# Error codes the tests look for (Kafka's Errors.java).
NONE = 0
UNKNOWN_TOPIC_OR_PARTITION = 3
OFFSET_METADATA_TOO_LARGE = 12
COORDINATOR_LOAD_IN_PROGRESS = 14
COORDINATOR_NOT_AVAILABLE = 15
NOT_COORDINATOR = 16
ILLEGAL_GENERATION = 22
INCONSISTENT_GROUP_PROTOCOL = 23
INVALID_GROUP_ID = 24
UNKNOWN_MEMBER_ID = 25
INVALID_SESSION_TIMEOUT = 26
REBALANCE_IN_PROGRESS = 27
NON_EMPTY_GROUP = 68
GROUP_ID_NOT_FOUND = 69
MEMBER_ID_REQUIRED = 79
FENCED_INSTANCE_ID = 82
GROUP_SUBSCRIBED_TO_TOPIC = 86


def java_string_hash(s):
    """Java's String.hashCode: s[0]*31^(n-1) + ... over UTF-16 code units, in 32-bit two's complement."""
    h = 0
    data = s.encode("utf-16-be")
    for i in range(0, len(data), 2):
        h = (31 * h + ((data[i] << 8) | data[i + 1])) & 0xFFFFFFFF
    return h - (1 << 32) if h & 0x80000000 else h


def offsets_partition(group, partitions=50):
    """Kafka's Utils.abs(group.hashCode) % offsets.topic.num.partitions (abs(MIN_VALUE) is 0)."""
    h = java_string_hash(group)
    return (0 if h == -(1 << 31) else abs(h)) % partitions


assert java_string_hash("") == 0 and java_string_hash("hello") == 99162322
assert java_string_hash("polygenelubricants") == -(1 << 31)  # the famous MIN_VALUE string


# --- encoding ---------------------------------------------------------------------------------
def i8(v):
    return struct.pack(">b", v)


def i16(v):
    return struct.pack(">h", v)


def i32(v):
    return struct.pack(">i", v)


def i64(v):
    return struct.pack(">q", v)


def string(s):
    """STRING / NULLABLE_STRING (None → length -1)."""
    return kwire._str(s)


def bytes_(b):
    return i32(-1) if b is None else i32(len(b)) + b


def array(items, enc):
    return i32(len(items)) + b"".join(enc(x) for x in items)


def compact_string(s):
    b = s.encode()
    return kwire.uvarint(len(b) + 1) + b


def compact_array(items, enc):
    return kwire.uvarint(len(items) + 1) + b"".join(enc(x) for x in items)


# --- decoding ---------------------------------------------------------------------------------
class Reader:
    """Sequential reader over a response frame's body."""

    def __init__(self, buf, pos=0):
        self.buf = buf
        self.pos = pos

    def _unpack(self, fmt, size):
        (v,) = struct.unpack_from(fmt, self.buf, self.pos)
        self.pos += size
        return v

    def i8(self):
        return self._unpack(">b", 1)

    def i16(self):
        return self._unpack(">h", 2)

    def i32(self):
        return self._unpack(">i", 4)

    def i64(self):
        return self._unpack(">q", 8)

    def string(self):
        n = self.i16()
        if n < 0:
            return None
        s = self.buf[self.pos:self.pos + n].decode()
        self.pos += n
        return s

    def bytes_(self):
        n = self.i32()
        if n < 0:
            return None
        b = bytes(self.buf[self.pos:self.pos + n])
        self.pos += n
        return b

    def array(self, dec):
        n = self.i32()
        return None if n < 0 else [dec(self) for _ in range(n)]

    def uvarint(self):
        v, self.pos = kwire.read_uvarint(self.buf, self.pos)
        return v

    def compact_string(self):
        n = self.uvarint() - 1
        if n < 0:
            return None
        s = self.buf[self.pos:self.pos + n].decode()
        self.pos += n
        return s

    def compact_array(self, dec):
        n = self.uvarint() - 1
        return None if n < 0 else [dec(self) for _ in range(n)]

    def tagged_fields(self):
        for _ in range(self.uvarint()):
            self.uvarint()
            self.pos += self.uvarint()


# --- a connection that sends one request and reads its response --------------------------------
class GroupConn(kwire.RawConn):
    """A raw connection with a request/response helper; `client_id` goes in every header."""

    def __init__(self, host, port, timeout=30.0, client_id="it-groups"):
        super().__init__(host, port, timeout=timeout)
        self.client_id = client_id
        self.correlation = 0

    def call(self, api_key, version, body, flexible=False):
        """Sends one request; returns a Reader positioned after the response header."""
        self.correlation += 1
        header = (kwire.header_v2 if flexible else kwire.header_v1)(api_key, version, self.correlation,
                                                                    self.client_id)
        self.send(kwire.frame(header + body))
        r = Reader(self.recv_frame())
        corr = r.i32()
        if corr != self.correlation:
            raise ValueError(f"correlation id {corr}, expected {self.correlation}")
        if flexible:
            r.tagged_fields()
        return r

    # FindCoordinator v2: Key, KeyType → ThrottleTimeMs, ErrorCode, ErrorMessage, NodeId, Host, Port
    def find_coordinator(self, key, key_type=0):
        r = self.call(10, 2, string(key) + i8(key_type))
        return dict(throttle=r.i32(), error=r.i16(), message=r.string(), node_id=r.i32(), host=r.string(),
                    port=r.i32())

    # JoinGroup v5
    def join_group(self, group, member_id="", session_timeout=10000, rebalance_timeout=10000,
                   instance_id=None, protocol_type="consumer", protocols=(("range", b""),)):
        body = (string(group) + i32(session_timeout) + i32(rebalance_timeout) + string(member_id)
                + string(instance_id) + string(protocol_type)
                + array(list(protocols), lambda p: string(p[0]) + bytes_(p[1])))
        r = self.call(11, 5, body)
        out = dict(throttle=r.i32(), error=r.i16(), generation=r.i32(), protocol=r.string(), leader=r.string(),
                   member_id=r.string())
        out["members"] = r.array(lambda r: dict(member_id=r.string(), instance_id=r.string(), metadata=r.bytes_()))
        return out

    # SyncGroup v3
    def sync_group(self, group, generation, member_id, assignments=(), instance_id=None):
        body = (string(group) + i32(generation) + string(member_id) + string(instance_id)
                + array(list(assignments), lambda a: string(a[0]) + bytes_(a[1])))
        r = self.call(14, 3, body)
        return dict(throttle=r.i32(), error=r.i16(), assignment=r.bytes_())

    # Heartbeat v3
    def heartbeat(self, group, generation, member_id, instance_id=None):
        r = self.call(12, 3, string(group) + i32(generation) + string(member_id) + string(instance_id))
        return dict(throttle=r.i32(), error=r.i16())

    # LeaveGroup v3: Members [MemberId, GroupInstanceId]
    def leave_group(self, group, members):
        body = string(group) + array(list(members), lambda m: string(m[0]) + string(m[1]))
        r = self.call(13, 3, body)
        out = dict(throttle=r.i32(), error=r.i16())
        out["members"] = r.array(lambda r: dict(member_id=r.string(), instance_id=r.string(), error=r.i16()))
        return out

    # OffsetCommit v7: offsets = {(topic, partition): offset}; returns {(topic, partition): error}
    def offset_commit(self, group, offsets, generation=-1, member_id="", instance_id=None, metadata=""):
        by_topic = {}
        for (t, p), o in sorted(offsets.items()):
            by_topic.setdefault(t, []).append((p, o))
        body = (string(group) + i32(generation) + string(member_id) + string(instance_id)
                + array(list(by_topic.items()), lambda tp: string(tp[0]) + array(
                    tp[1], lambda po: i32(po[0]) + i64(po[1]) + i32(-1) + string(metadata))))
        r = self.call(8, 7, body)
        r.i32()
        out = {}
        for name, parts in r.array(lambda r: (r.string(), r.array(lambda r: (r.i32(), r.i16())))):
            for p, err in parts:
                out[(name, p)] = err
        return out

    # OffsetCommit v0 (stored in ZooKeeper by the broker, no coordinator): {(t, p): offset} → {(t, p): error}
    def offset_commit_v0(self, group, offsets, metadata=""):
        by_topic = {}
        for (t, p), o in sorted(offsets.items()):
            by_topic.setdefault(t, []).append((p, o))
        body = string(group) + array(list(by_topic.items()), lambda tp: string(tp[0]) + array(
            tp[1], lambda po: i32(po[0]) + i64(po[1]) + string(metadata)))
        r = self.call(8, 0, body)
        return {(name, p): err for name, parts in r.array(lambda r: (r.string(), r.array(
            lambda r: (r.i32(), r.i16())))) for p, err in parts}

    # OffsetFetch v0 (read from ZooKeeper): {topic: [partition]} → {(t, p): (offset, error)}
    def offset_fetch_v0(self, group, partitions):
        body = string(group) + array(list(partitions.items()), lambda tp: string(tp[0]) + array(list(tp[1]), i32))
        r = self.call(9, 0, body)
        return {(name, p): (offset, err) for name, parts in r.array(lambda r: (r.string(), r.array(
            lambda r: (r.i32(), r.i64(), r.string(), r.i16())))) for p, offset, _meta, err in parts}

    # OffsetFetch v5: partitions = {topic: [partition]} or None (all); returns (top error, {(t, p): (offset, error)})
    def offset_fetch(self, group, partitions):
        if partitions is None:
            topics = i32(-1)
        else:
            topics = array(list(partitions.items()), lambda tp: string(tp[0]) + array(list(tp[1]), i32))
        r = self.call(9, 5, string(group) + topics)
        r.i32()
        out = {}
        for name, parts in r.array(lambda r: (r.string(), r.array(
                lambda r: (r.i32(), r.i64(), r.i32(), r.string(), r.i16())))):
            for p, offset, _epoch, _meta, err in parts:
                out[(name, p)] = (offset, err)
        return r.i16(), out

    # DescribeGroups v4
    def describe_groups(self, groups):
        r = self.call(15, 4, array(list(groups), string) + i8(0))
        r.i32()

        def member(r):
            return dict(member_id=r.string(), instance_id=r.string(), client_id=r.string(), client_host=r.string(),
                        metadata=r.bytes_(), assignment=r.bytes_())

        def group(r):
            g = dict(error=r.i16(), group_id=r.string(), state=r.string(), protocol_type=r.string(),
                     protocol=r.string(), members=r.array(member))
            r.i32()  # authorized operations
            return g
        return {g["group_id"]: g for g in r.array(group)}

    # ListGroups v4 (flexible; StatesFilter) → (error, {group: (protocol_type, state)})
    def list_groups(self, states=()):
        r = self.call(16, 4, compact_array(list(states), compact_string) + b"\x00", flexible=True)
        r.i32()
        err = r.i16()

        def group(r):
            g = (r.compact_string(), r.compact_string(), r.compact_string())
            r.tagged_fields()
            return g
        return err, {g: (ptype, state) for g, ptype, state in r.compact_array(group)}

    # DeleteGroups v1 → {group: error}
    def delete_groups(self, groups):
        r = self.call(42, 1, array(list(groups), string))
        r.i32()
        return dict(r.array(lambda r: (r.string(), r.i16())))

    # OffsetDelete v0: partitions = {topic: [partition]} → (top error, {(t, p): error})
    def offset_delete(self, group, partitions):
        body = string(group) + array(list(partitions.items()), lambda tp: string(tp[0]) + array(list(tp[1]), i32))
        r = self.call(47, 0, body)
        err = r.i16()
        r.i32()
        out = {}
        for name, parts in r.array(lambda r: (r.string(), r.array(lambda r: (r.i32(), r.i16())))):
            for p, e in parts:
                out[(name, p)] = e
        return err, out


def consumer_subscription(topics, user_data=b""):
    """ConsumerProtocolSubscription v0 (the JoinGroup metadata of protocol type "consumer")."""
    return i16(0) + array(list(topics), string) + bytes_(user_data)


def consumer_assignment(partitions, user_data=b""):
    """ConsumerProtocolAssignment v0: partitions = {topic: [partition]}."""
    return (i16(0) + array(list(partitions.items()), lambda tp: string(tp[0]) + array(list(tp[1]), i32))
            + bytes_(user_data))


def parse_consumer_assignment(data):
    """ConsumerProtocolAssignment v0/v1 bytes → {topic: [partition]}."""
    if not data:
        return {}
    r = Reader(data)
    r.i16()
    return dict(r.array(lambda r: (r.string(), r.array(Reader.i32))))


def parse_offsets_record(key, value):
    """One `__consumer_offsets` record (classic-architecture §7.1) → ("offset", (group, topic, partition),
    dict | None) or ("group", group, dict | None); None is a tombstone."""
    r = Reader(key)
    kv = r.i16()
    if kv in (0, 1):
        k = (r.string(), r.string(), r.i32())
        if value is None:
            return "offset", k, None
        r = Reader(value)
        v = dict(version=r.i16())
        v["offset"] = r.i64()
        if v["version"] >= 3:
            v["leader_epoch"] = r.i32()
        v["metadata"] = r.string()
        v["commit_timestamp"] = r.i64()
        if v["version"] == 1:
            v["expire_timestamp"] = r.i64()
        return "offset", k, v
    if kv != 2:
        raise ValueError(f"unknown key version {kv}")
    group = r.string()
    if value is None:
        return "group", group, None
    r = Reader(value)
    v = dict(version=r.i16())
    v.update(protocol_type=r.string(), generation=r.i32(), protocol=r.string(), leader=r.string())
    if v["version"] >= 2:
        v["current_state_timestamp"] = r.i64()

    def member(r):
        m = dict(member_id=r.string())
        if v["version"] >= 3:
            m["instance_id"] = r.string()
        m.update(client_id=r.string(), client_host=r.string())
        if v["version"] >= 1:
            m["rebalance_timeout"] = r.i32()
        m.update(session_timeout=r.i32(), subscription=r.bytes_(), assignment=r.bytes_())
        return m
    v["members"] = r.array(member)
    return "group", group, v
