//! The key and value schemas of `__consumer_offsets` records (Kafka's `GroupMetadataManager`
//! serializers). Pure: bytes in, structs out.
//!
//! Every key and value is `version:int16` followed by the fields of that version (Kafka's
//! `MessageUtil.toVersionPrefixedBytes` over the generated `OffsetCommitKey`, `OffsetCommitValue`,
//! `GroupMetadataKey` and `GroupMetadataValue` messages, none of which is a flexible version):
//! strings are `int16 length + UTF-8` (-1 = null where nullable), bytes `int32 length`, arrays
//! `int32 count`, all big-endian.
//!
//! * Offset commit key, versions 0 and 1 (identical layout; 1 is written):
//!   `group, topic, partition:int32`.
//! * Offset commit value v0–v3: `offset:int64, [leaderEpoch:int32 v3], metadata,
//!   commitTimestamp:int64, [expireTimestamp:int64 v1 only]`.
//! * Group metadata key, version 2: `group`.
//! * Group metadata value v0–v3: `protocolType, generation:int32, protocol:nullable,
//!   leader:nullable, [currentStateTimestamp:int64 v2+], members:[memberId,
//!   [groupInstanceId:nullable v3+], clientId, clientHost, [rebalanceTimeout:int32 v1+],
//!   sessionTimeout:int32, subscription:bytes, assignment:bytes]`.
//!
//! Like Kafka's generated readers, decoding ignores trailing bytes and turns invalid UTF-8 into
//! U+FFFD (Java's `new String(bytes, UTF_8)`); unlike them it never throws: every malformed input
//! is a [`RecordError`]. [`LoadedGroups`] replays a partition of the topic into per-group state.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use bytes::{BufMut, Bytes, BytesMut};

/// Key version written for offset commits (`OffsetCommitKey.HIGHEST_SUPPORTED_VERSION`).
pub const OFFSET_COMMIT_KEY_VERSION: i16 = 1;
/// Key version of group metadata records (`GroupMetadataKey`'s only version).
pub const GROUP_METADATA_KEY_VERSION: i16 = 2;
/// Highest offset commit value version; the one written with IBP 2.8 unless an expire timestamp is set.
pub const OFFSET_COMMIT_VALUE_VERSION: i16 = 3;
/// Offset commit value version that carries an explicit expire timestamp (OffsetCommit v1 requests).
pub const OFFSET_COMMIT_VALUE_VERSION_WITH_EXPIRE: i16 = 1;
/// Highest group metadata value version; the one written with IBP ≥ 2.3-IV0.
pub const GROUP_METADATA_VALUE_VERSION: i16 = 3;

/// Why bytes could not be decoded as (or a struct encoded into) a `__consumer_offsets` record.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RecordError {
    /// The input ended in the middle of a field.
    #[error("truncated record: field {field} needs {needed} bytes but only {remaining} remain")]
    Truncated { field: &'static str, needed: usize, remaining: usize },
    /// The value's version prefix is not one Kafka 2.8 defines for that schema.
    #[error("unknown {schema} version {version}")]
    UnknownVersion { schema: &'static str, version: i16 },
    /// A non-nullable string, bytes or array field was encoded with a negative length.
    #[error("non-nullable field {field} was serialized as null")]
    NullField { field: &'static str },
    /// A field is too long for its length prefix (strings: 32767 bytes), so it cannot be written.
    #[error("field {field} is too long to be serialized ({len} bytes)")]
    TooLong { field: &'static str, len: usize },
}

/// Result alias of this module.
pub type Result<T, E = RecordError> = std::result::Result<T, E>;

/// Key of a committed offset: which group committed which partition.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct OffsetCommitKey {
    /// Group id.
    pub group: String,
    /// Topic of the committed partition.
    pub topic: String,
    /// Partition index.
    pub partition: i32,
}

/// A committed offset (Kafka's `OffsetAndMetadata` as stored).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OffsetCommitValue {
    /// The committed offset.
    pub offset: i64,
    /// Leader epoch of the committed offset (v3); `None` is stored as -1.
    pub leader_epoch: Option<i32>,
    /// Client-supplied metadata string.
    pub metadata: String,
    /// When the commit was made (ms).
    pub commit_timestamp: i64,
    /// Explicit expiry (ms) from OffsetCommit v1 requests' retention; `None` is stored as -1.
    /// Only value version 1 carries it, so setting it makes the encoder write v1.
    pub expire_timestamp: Option<i64>,
}

/// Key of a group's metadata record.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct GroupMetadataKey {
    /// Group id.
    pub group: String,
}

/// A group's persisted state: generation, chosen protocol and members with their assignments.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GroupMetadataValue {
    /// Protocol type ("consumer", "connect", ...); "" for a group without one.
    pub protocol_type: String,
    /// Generation id.
    pub generation: i32,
    /// Chosen protocol (assignor) name, `None` when the group has no members.
    pub protocol: Option<String>,
    /// Leader member id, `None` when the group has no members.
    pub leader: Option<String>,
    /// When the group last changed state (ms), v2+; `None` is stored as -1.
    pub current_state_timestamp: Option<i64>,
    /// Members of the current generation.
    pub members: Vec<MemberMetadataValue>,
}

/// One member of a persisted group.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MemberMetadataValue {
    /// Member id assigned by the coordinator.
    pub member_id: String,
    /// Static membership id (KIP-345), v3+.
    pub group_instance_id: Option<String>,
    /// Client id of the member's connection.
    pub client_id: String,
    /// Host the member connected from (Kafka writes `/ip`).
    pub client_host: String,
    /// Rebalance timeout (ms), v1+; a v0 record yields the session timeout, as Kafka loads it.
    pub rebalance_timeout: i32,
    /// Session timeout (ms).
    pub session_timeout: i32,
    /// The member's metadata for the chosen protocol.
    pub subscription: Bytes,
    /// The member's assignment in this generation.
    pub assignment: Bytes,
}

/// A decoded `__consumer_offsets` key: what kind of record this is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RecordKey {
    /// Key versions 0 and 1.
    OffsetCommit(OffsetCommitKey),
    /// Key version 2.
    GroupMetadata(GroupMetadataKey),
    /// Any other key version (Kafka 2.8 throws on these; later versions skip them).
    Unknown(i16),
}

/// Decode a record key. Versions other than 0–2 are [`RecordKey::Unknown`], not an error.
pub fn decode_key(bytes: &[u8]) -> Result<RecordKey> {
    let mut r = Reader::new(bytes);
    let version = r.i16("version")?;
    match version {
        0 | 1 => Ok(RecordKey::OffsetCommit(OffsetCommitKey {
            group: r.string("group")?,
            topic: r.string("topic")?,
            partition: r.i32("partition")?,
        })),
        GROUP_METADATA_KEY_VERSION => Ok(RecordKey::GroupMetadata(GroupMetadataKey { group: r.string("group")? })),
        other => Ok(RecordKey::Unknown(other)),
    }
}

/// Encode an offset commit key (version 1).
pub fn encode_offset_commit_key(key: &OffsetCommitKey) -> Result<Bytes> {
    let mut w = Writer::new(OFFSET_COMMIT_KEY_VERSION);
    w.string("group", &key.group)?;
    w.string("topic", &key.topic)?;
    w.i32(key.partition);
    Ok(w.finish())
}

/// Encode a group metadata key (version 2).
pub fn encode_group_metadata_key(key: &GroupMetadataKey) -> Result<Bytes> {
    let mut w = Writer::new(GROUP_METADATA_KEY_VERSION);
    w.string("group", &key.group)?;
    Ok(w.finish())
}

/// Encode an offset commit value as Kafka 2.8 does with IBP 2.8: version 1 when an explicit
/// expire timestamp is set (the leader epoch is then dropped), version 3 otherwise.
pub fn encode_offset_commit_value(value: &OffsetCommitValue) -> Result<Bytes> {
    let version = if value.expire_timestamp.is_some() {
        OFFSET_COMMIT_VALUE_VERSION_WITH_EXPIRE
    } else {
        OFFSET_COMMIT_VALUE_VERSION
    };
    encode_offset_commit_value_version(value, version)
}

/// Encode an offset commit value in a given version (older IBPs write 1 or 2). Fields the version
/// lacks are dropped, as all of them are "ignorable" in Kafka's schema.
pub fn encode_offset_commit_value_version(value: &OffsetCommitValue, version: i16) -> Result<Bytes> {
    if !(0..=OFFSET_COMMIT_VALUE_VERSION).contains(&version) {
        return Err(RecordError::UnknownVersion { schema: "OffsetCommitValue", version });
    }
    let mut w = Writer::new(version);
    w.i64(value.offset);
    if version >= 3 {
        w.i32(value.leader_epoch.unwrap_or(-1));
    }
    w.string("metadata", &value.metadata)?;
    w.i64(value.commit_timestamp);
    if version == 1 {
        w.i64(value.expire_timestamp.unwrap_or(-1));
    }
    Ok(w.finish())
}

/// Decode an offset commit value of any version 0–3 (tombstones are the caller's `None`).
pub fn decode_offset_commit_value(bytes: &[u8]) -> Result<OffsetCommitValue> {
    let mut r = Reader::new(bytes);
    let version = r.i16("version")?;
    if !(0..=OFFSET_COMMIT_VALUE_VERSION).contains(&version) {
        return Err(RecordError::UnknownVersion { schema: "OffsetCommitValue", version });
    }
    let offset = r.i64("offset")?;
    let leader_epoch = if version >= 3 { r.i32("leaderEpoch")? } else { -1 };
    let metadata = r.string("metadata")?;
    let commit_timestamp = r.i64("commitTimestamp")?;
    let expire_timestamp = if version == 1 { r.i64("expireTimestamp")? } else { -1 };
    Ok(OffsetCommitValue {
        offset,
        leader_epoch: (leader_epoch != -1).then_some(leader_epoch),
        metadata,
        commit_timestamp,
        expire_timestamp: (expire_timestamp != -1).then_some(expire_timestamp),
    })
}

/// Encode a group metadata value in version 3 (what Kafka 2.8 writes with IBP ≥ 2.3-IV0).
pub fn encode_group_metadata_value(value: &GroupMetadataValue) -> Result<Bytes> {
    encode_group_metadata_value_version(value, GROUP_METADATA_VALUE_VERSION)
}

/// Encode a group metadata value in a given version 0–3; fields the version lacks are dropped.
pub fn encode_group_metadata_value_version(value: &GroupMetadataValue, version: i16) -> Result<Bytes> {
    if !(0..=GROUP_METADATA_VALUE_VERSION).contains(&version) {
        return Err(RecordError::UnknownVersion { schema: "GroupMetadataValue", version });
    }
    let mut w = Writer::new(version);
    w.string("protocolType", &value.protocol_type)?;
    w.i32(value.generation);
    w.nullable_string("protocol", value.protocol.as_deref())?;
    w.nullable_string("leader", value.leader.as_deref())?;
    if version >= 2 {
        w.i64(value.current_state_timestamp.unwrap_or(-1));
    }
    w.count("members", value.members.len())?;
    for m in &value.members {
        w.string("memberId", &m.member_id)?;
        if version >= 3 {
            w.nullable_string("groupInstanceId", m.group_instance_id.as_deref())?;
        }
        w.string("clientId", &m.client_id)?;
        w.string("clientHost", &m.client_host)?;
        if version >= 1 {
            w.i32(m.rebalance_timeout);
        }
        w.i32(m.session_timeout);
        w.bytes("subscription", &m.subscription)?;
        w.bytes("assignment", &m.assignment)?;
    }
    Ok(w.finish())
}

/// Decode a group metadata value of any version 0–3 (tombstones are the caller's `None`).
pub fn decode_group_metadata_value(bytes: &[u8]) -> Result<GroupMetadataValue> {
    let mut r = Reader::new(bytes);
    let version = r.i16("version")?;
    if !(0..=GROUP_METADATA_VALUE_VERSION).contains(&version) {
        return Err(RecordError::UnknownVersion { schema: "GroupMetadataValue", version });
    }
    let protocol_type = r.string("protocolType")?;
    let generation = r.i32("generation")?;
    let protocol = r.nullable_string("protocol")?;
    let leader = r.nullable_string("leader")?;
    let current_state_timestamp = if version >= 2 { r.i64("currentStateTimestamp")? } else { -1 };
    let count = r.count("members")?;
    // Each member needs at least 18 bytes; never trust the count for the allocation.
    let mut members = Vec::with_capacity(count.min(r.remaining() / 18));
    for _ in 0..count {
        let member_id = r.string("memberId")?;
        let group_instance_id = if version >= 3 { r.nullable_string("groupInstanceId")? } else { None };
        let client_id = r.string("clientId")?;
        let client_host = r.string("clientHost")?;
        let rebalance_timeout = if version >= 1 { Some(r.i32("rebalanceTimeout")?) } else { None };
        let session_timeout = r.i32("sessionTimeout")?;
        members.push(MemberMetadataValue {
            member_id,
            group_instance_id,
            client_id,
            client_host,
            rebalance_timeout: rebalance_timeout.unwrap_or(session_timeout),
            session_timeout,
            subscription: r.bytes("subscription")?,
            assignment: r.bytes("assignment")?,
        });
    }
    Ok(GroupMetadataValue {
        protocol_type,
        generation,
        protocol,
        leader,
        current_state_timestamp: (current_state_timestamp != -1).then_some(current_state_timestamp),
        members,
    })
}

/// The `__consumer_offsets` partition a group lives on: Kafka's
/// `Utils.abs(groupId.hashCode) % offsets.topic.num.partitions`, with Java's UTF-16 `hashCode`
/// and `Utils.abs` (`Math.abs`, except `Integer.MIN_VALUE` → 0). A non-positive partition count
/// (where Java would throw) yields 0.
pub fn partition_for(group_id: &str, num_partitions: i32) -> i32 {
    if num_partitions <= 0 {
        return 0;
    }
    zk_schema::util::kafka_abs(zk_schema::util::java_string_hash(group_id)) % num_partitions
}

/// A committed offset as loaded: the value and the log offset Kafka remembers for it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CommittedOffset {
    /// The decoded value.
    pub value: OffsetCommitValue,
    /// Offset of the commit in `__consumer_offsets` (Kafka keeps the batch's first offset).
    pub append_offset: i64,
}

/// One group's state rebuilt from its partition of `__consumer_offsets`.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct LoadedGroup {
    /// Latest metadata, `None` when the group only has offsets (Kafka loads it as an Empty group).
    pub metadata: Option<GroupMetadataValue>,
    /// Committed offsets by (topic, partition).
    pub offsets: BTreeMap<(String, i32), CommittedOffset>,
}

/// Replays a `__consumer_offsets` partition in log order into per-group state (the
/// non-transactional half of Kafka's `doLoadGroupsAndOffsets`).
///
/// Feed it every record of non-control, non-transactional batches with [`LoadedGroups::apply`].
/// The latest group metadata record wins and a metadata tombstone removes it (the group's offsets
/// stay, as in Kafka); the latest commit per (group, topic, partition) wins and an offset
/// tombstone removes it.
///
/// Records that cannot be decoded (no key, truncated or malformed bytes, unknown key or value
/// versions) are skipped with a warning and counted in [`LoadedGroups::skipped`]. Kafka 2.8 throws
/// instead, which aborts loading the whole partition and leaves every group on it unloaded; one
/// bad record should not cost all the other groups their offsets.
#[derive(Debug, Default)]
pub struct LoadedGroups {
    metadata: HashMap<String, GroupMetadataValue>,
    offsets: HashMap<String, BTreeMap<(String, i32), CommittedOffset>>,
    removed: BTreeSet<String>,
    skipped: usize,
}

impl LoadedGroups {
    /// An empty accumulator.
    pub fn new() -> Self {
        Self::default()
    }

    /// Apply one record: its key (`None` for a keyless record), its value (`None` = tombstone)
    /// and its offset in the partition (for commits Kafka remembers the first offset of the
    /// record's batch; either works for ordering).
    pub fn apply(&mut self, key: Option<&[u8]>, value: Option<&[u8]>, append_offset: i64) {
        if let Err(reason) = self.try_apply(key, value, append_offset) {
            tracing::warn!("skipping undecodable __consumer_offsets record at offset {append_offset}: {reason}");
            self.skipped += 1;
        }
    }

    fn try_apply(&mut self, key: Option<&[u8]>, value: Option<&[u8]>, append_offset: i64) -> Result<(), String> {
        let key = key.ok_or("record has no key")?;
        match decode_key(key).map_err(|e| format!("key: {e}"))? {
            RecordKey::OffsetCommit(k) => match value {
                None => {
                    if let Some(offsets) = self.offsets.get_mut(&k.group) {
                        offsets.remove(&(k.topic, k.partition));
                        if offsets.is_empty() {
                            self.offsets.remove(&k.group);
                        }
                    }
                }
                Some(v) => {
                    let value = decode_offset_commit_value(v).map_err(|e| format!("offset commit value: {e}"))?;
                    self.offsets
                        .entry(k.group)
                        .or_default()
                        .insert((k.topic, k.partition), CommittedOffset { value, append_offset });
                }
            },
            RecordKey::GroupMetadata(k) => match value {
                None => {
                    self.metadata.remove(&k.group);
                    self.removed.insert(k.group);
                }
                Some(v) => {
                    let value = decode_group_metadata_value(v).map_err(|e| format!("group metadata value: {e}"))?;
                    self.removed.remove(&k.group);
                    self.metadata.insert(k.group, value);
                }
            },
            RecordKey::Unknown(version) => return Err(format!("unknown key version {version}")),
        }
        Ok(())
    }

    /// How many records were skipped as undecodable.
    pub fn skipped(&self) -> usize {
        self.skipped
    }

    /// Groups whose last metadata record was a tombstone (Kafka's `removedGroups`): the
    /// coordinator drops them from its cache unless they still have offsets.
    pub fn removed_groups(&self) -> &BTreeSet<String> {
        &self.removed
    }

    /// Every group with metadata or at least one committed offset, by group id.
    pub fn into_groups(self) -> BTreeMap<String, LoadedGroup> {
        let mut groups: BTreeMap<String, LoadedGroup> = BTreeMap::new();
        for (group, metadata) in self.metadata {
            groups.entry(group).or_default().metadata = Some(metadata);
        }
        for (group, offsets) in self.offsets {
            groups.entry(group).or_default().offsets = offsets;
        }
        groups
    }
}

/// Replay records given in log order as `(key, value, offset)`; see [`LoadedGroups`].
pub fn replay<'a, I>(records: I) -> LoadedGroups
where
    I: IntoIterator<Item = (Option<&'a [u8]>, Option<&'a [u8]>, i64)>,
{
    let mut loaded = LoadedGroups::new();
    for (key, value, offset) in records {
        loaded.apply(key, value, offset);
    }
    loaded
}

/// Big-endian cursor over a record's bytes that reports truncation instead of panicking.
struct Reader<'a> {
    buf: &'a [u8],
}

impl<'a> Reader<'a> {
    fn new(buf: &'a [u8]) -> Self {
        Reader { buf }
    }

    fn remaining(&self) -> usize {
        self.buf.len()
    }

    fn take(&mut self, field: &'static str, n: usize) -> Result<&'a [u8]> {
        if self.buf.len() < n {
            return Err(RecordError::Truncated { field, needed: n, remaining: self.buf.len() });
        }
        let (head, tail) = self.buf.split_at(n);
        self.buf = tail;
        Ok(head)
    }

    fn array<const N: usize>(&mut self, field: &'static str) -> Result<[u8; N]> {
        let mut out = [0u8; N];
        out.copy_from_slice(self.take(field, N)?);
        Ok(out)
    }

    fn i16(&mut self, field: &'static str) -> Result<i16> {
        Ok(i16::from_be_bytes(self.array(field)?))
    }

    fn i32(&mut self, field: &'static str) -> Result<i32> {
        Ok(i32::from_be_bytes(self.array(field)?))
    }

    fn i64(&mut self, field: &'static str) -> Result<i64> {
        Ok(i64::from_be_bytes(self.array(field)?))
    }

    fn nullable_string(&mut self, field: &'static str) -> Result<Option<String>> {
        let len = self.i16(field)?;
        if len < 0 {
            return Ok(None);
        }
        let raw = self.take(field, len as usize)?;
        Ok(Some(String::from_utf8_lossy(raw).into_owned()))
    }

    fn string(&mut self, field: &'static str) -> Result<String> {
        self.nullable_string(field)?.ok_or(RecordError::NullField { field })
    }

    fn bytes(&mut self, field: &'static str) -> Result<Bytes> {
        let len = self.i32(field)?;
        if len < 0 {
            return Err(RecordError::NullField { field });
        }
        Ok(Bytes::copy_from_slice(self.take(field, len as usize)?))
    }

    fn count(&mut self, field: &'static str) -> Result<usize> {
        let n = self.i32(field)?;
        if n < 0 {
            return Err(RecordError::NullField { field });
        }
        Ok(n as usize)
    }
}

/// Big-endian writer that starts with the version prefix.
struct Writer {
    buf: BytesMut,
}

impl Writer {
    fn new(version: i16) -> Self {
        let mut buf = BytesMut::with_capacity(64);
        buf.put_i16(version);
        Writer { buf }
    }

    fn i32(&mut self, v: i32) {
        self.buf.put_i32(v);
    }

    fn i64(&mut self, v: i64) {
        self.buf.put_i64(v);
    }

    fn string(&mut self, field: &'static str, s: &str) -> Result<()> {
        let len = i16::try_from(s.len()).map_err(|_| RecordError::TooLong { field, len: s.len() })?;
        self.buf.put_i16(len);
        self.buf.put_slice(s.as_bytes());
        Ok(())
    }

    fn nullable_string(&mut self, field: &'static str, s: Option<&str>) -> Result<()> {
        match s {
            Some(s) => self.string(field, s),
            None => {
                self.buf.put_i16(-1);
                Ok(())
            }
        }
    }

    fn bytes(&mut self, field: &'static str, b: &[u8]) -> Result<()> {
        let len = i32::try_from(b.len()).map_err(|_| RecordError::TooLong { field, len: b.len() })?;
        self.buf.put_i32(len);
        self.buf.put_slice(b);
        Ok(())
    }

    fn count(&mut self, field: &'static str, n: usize) -> Result<()> {
        let n = i32::try_from(n).map_err(|_| RecordError::TooLong { field, len: n })?;
        self.buf.put_i32(n);
        Ok(())
    }

    fn finish(self) -> Bytes {
        self.buf.freeze()
    }
}

#[cfg(test)]
#[path = "records_tests.rs"]
mod tests;
