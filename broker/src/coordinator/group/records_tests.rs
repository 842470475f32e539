//! Golden-byte, round-trip and malformed-input tests of the `__consumer_offsets` record schemas.
//! Expected bytes are built field by field from Kafka 2.8's JSON schemas, never from the encoder.

use super::*;

/// Builds expected bytes one schema field at a time.
#[derive(Default)]
struct Golden(Vec<u8>);

impl Golden {
    fn version(v: i16) -> Self {
        let mut g = Golden::default();
        g.0.extend_from_slice(&v.to_be_bytes());
        g
    }
    fn i32(mut self, v: i32) -> Self {
        self.0.extend_from_slice(&v.to_be_bytes());
        self
    }
    fn i64(mut self, v: i64) -> Self {
        self.0.extend_from_slice(&v.to_be_bytes());
        self
    }
    fn str(mut self, s: &str) -> Self {
        self.0.extend_from_slice(&(s.len() as i16).to_be_bytes());
        self.0.extend_from_slice(s.as_bytes());
        self
    }
    fn null_str(mut self) -> Self {
        self.0.extend_from_slice(&(-1i16).to_be_bytes());
        self
    }
    fn bytes(mut self, b: &[u8]) -> Self {
        self.0.extend_from_slice(&(b.len() as i32).to_be_bytes());
        self.0.extend_from_slice(b);
        self
    }
}

fn offset_value(leader_epoch: Option<i32>, expire: Option<i64>) -> OffsetCommitValue {
    OffsetCommitValue {
        offset: 42,
        leader_epoch,
        metadata: "meta".into(),
        commit_timestamp: 1_600_000_000_000,
        expire_timestamp: expire,
    }
}

fn member(instance: Option<&str>) -> MemberMetadataValue {
    MemberMetadataValue {
        member_id: "consumer-1-abc".into(),
        group_instance_id: instance.map(str::to_string),
        client_id: "consumer-1".into(),
        client_host: "/127.0.0.1".into(),
        rebalance_timeout: 300_000,
        session_timeout: 10_000,
        subscription: Bytes::from_static(&[0, 1, 0, 0, 0, 1, 0, 1, b't', 0, 0, 0, 0]),
        assignment: Bytes::from_static(&[0, 1, 0, 0, 0, 0, 0, 0, 0, 0]),
    }
}

fn group_value(timestamp: Option<i64>, instance: Option<&str>) -> GroupMetadataValue {
    GroupMetadataValue {
        protocol_type: "consumer".into(),
        generation: 7,
        protocol: Some("range".into()),
        leader: Some("consumer-1-abc".into()),
        current_state_timestamp: timestamp,
        members: vec![member(instance)],
    }
}

/// The golden group value of `version` for `group_value(Some(1234), Some("static-1"))`.
fn golden_group_value(version: i16) -> Vec<u8> {
    let m = member(Some("static-1"));
    let mut g = Golden::version(version).str("consumer").i32(7).str("range").str("consumer-1-abc");
    if version >= 2 {
        g = g.i64(1234);
    }
    g = g.i32(1).str("consumer-1-abc");
    if version >= 3 {
        g = g.str("static-1");
    }
    g = g.str("consumer-1").str("/127.0.0.1");
    if version >= 1 {
        g = g.i32(300_000);
    }
    g.i32(10_000).bytes(&m.subscription).bytes(&m.assignment).0
}

#[test]
fn offset_commit_key_is_version_1_and_reads_versions_0_and_1() {
    let key = OffsetCommitKey { group: "g1".into(), topic: "orders".into(), partition: 3 };
    let golden = Golden::version(1).str("g1").str("orders").i32(3).0;
    assert_eq!(encode_offset_commit_key(&key).unwrap().as_ref(), &golden[..]);
    assert_eq!(decode_key(&golden).unwrap(), RecordKey::OffsetCommit(key.clone()));
    let v0 = Golden::version(0).str("g1").str("orders").i32(3).0;
    assert_eq!(decode_key(&v0).unwrap(), RecordKey::OffsetCommit(key));
}

#[test]
fn group_metadata_key_is_version_2() {
    let key = GroupMetadataKey { group: "g1".into() };
    let golden = Golden::version(2).str("g1").0;
    assert_eq!(encode_group_metadata_key(&key).unwrap().as_ref(), &golden[..]);
    assert_eq!(decode_key(&golden).unwrap(), RecordKey::GroupMetadata(key));
}

#[test]
fn other_key_versions_are_unknown_not_errors() {
    assert_eq!(decode_key(&Golden::version(3).str("x").0).unwrap(), RecordKey::Unknown(3));
    assert_eq!(decode_key(&Golden::version(-1).0).unwrap(), RecordKey::Unknown(-1));
}

#[test]
fn offset_commit_value_golden_bytes_for_every_version() {
    let v = offset_value(Some(5), Some(99));
    let ts = 1_600_000_000_000;
    let goldens = [
        Golden::version(0).i64(42).str("meta").i64(ts).0,
        Golden::version(1).i64(42).str("meta").i64(ts).i64(99).0,
        Golden::version(2).i64(42).str("meta").i64(ts).0,
        Golden::version(3).i64(42).i32(5).str("meta").i64(ts).0,
    ];
    for (version, golden) in goldens.iter().enumerate() {
        let version = version as i16;
        assert_eq!(encode_offset_commit_value_version(&v, version).unwrap().as_ref(), &golden[..], "v{version}");
        let decoded = decode_offset_commit_value(golden).unwrap();
        let expected = OffsetCommitValue {
            leader_epoch: (version >= 3).then_some(5),
            expire_timestamp: (version == 1).then_some(99),
            ..v.clone()
        };
        assert_eq!(decoded, expected, "v{version}");
    }
}

#[test]
fn offset_commit_value_writes_v3_or_v1_with_an_expire_timestamp() {
    let v3 = encode_offset_commit_value(&offset_value(Some(5), None)).unwrap();
    assert_eq!(v3.as_ref(), &Golden::version(3).i64(42).i32(5).str("meta").i64(1_600_000_000_000).0[..]);
    // No leader epoch: -1 on the wire, None back.
    let none = encode_offset_commit_value(&offset_value(None, None)).unwrap();
    assert_eq!(none.as_ref(), &Golden::version(3).i64(42).i32(-1).str("meta").i64(1_600_000_000_000).0[..]);
    assert_eq!(decode_offset_commit_value(&none).unwrap(), offset_value(None, None));
    // An expire timestamp forces v1, which has no leader epoch (Kafka drops it too).
    let v1 = encode_offset_commit_value(&offset_value(Some(5), Some(77))).unwrap();
    assert_eq!(v1.as_ref(), &Golden::version(1).i64(42).str("meta").i64(1_600_000_000_000).i64(77).0[..]);
    assert_eq!(decode_offset_commit_value(&v1).unwrap(), offset_value(None, Some(77)));
}

#[test]
fn group_metadata_value_golden_bytes_for_every_version() {
    let v = group_value(Some(1234), Some("static-1"));
    for version in 0..=3i16 {
        let golden = golden_group_value(version);
        assert_eq!(encode_group_metadata_value_version(&v, version).unwrap().as_ref(), &golden[..], "v{version}");
        let mut expected = group_value((version >= 2).then_some(1234), (version >= 3).then_some("static-1"));
        if version == 0 {
            // v0 has no rebalance timeout; Kafka loads the session timeout in its place.
            expected.members[0].rebalance_timeout = 10_000;
        }
        assert_eq!(decode_group_metadata_value(&golden).unwrap(), expected, "v{version}");
    }
    assert_eq!(encode_group_metadata_value(&v).unwrap().as_ref(), &golden_group_value(3)[..]);
}

#[test]
fn empty_group_value_has_null_protocol_and_leader() {
    let empty = GroupMetadataValue {
        protocol_type: "consumer".into(),
        generation: 8,
        protocol: None,
        leader: None,
        current_state_timestamp: None,
        members: vec![],
    };
    let golden = Golden::version(3).str("consumer").i32(8).null_str().null_str().i64(-1).i32(0).0;
    assert_eq!(encode_group_metadata_value(&empty).unwrap().as_ref(), &golden[..]);
    assert_eq!(decode_group_metadata_value(&golden).unwrap(), empty);
}

#[test]
fn round_trips() {
    for v in [offset_value(None, None), offset_value(Some(0), None), offset_value(None, Some(1))] {
        assert_eq!(decode_offset_commit_value(&encode_offset_commit_value(&v).unwrap()).unwrap(), v);
    }
    let mut two = group_value(None, None);
    two.members.push(MemberMetadataValue { member_id: "m2".into(), ..member(Some("i2")) });
    two.members[1].subscription = Bytes::new();
    for v in [group_value(Some(1), None), two] {
        assert_eq!(decode_group_metadata_value(&encode_group_metadata_value(&v).unwrap()).unwrap(), v);
    }
    let key = OffsetCommitKey { group: "gé".into(), topic: "t".into(), partition: -1 };
    assert_eq!(decode_key(&encode_offset_commit_key(&key).unwrap()).unwrap(), RecordKey::OffsetCommit(key));
}

#[test]
fn every_truncation_is_an_error() {
    let key =
        encode_offset_commit_key(&OffsetCommitKey { group: "g".into(), topic: "t".into(), partition: 1 }).unwrap();
    let gkey = encode_group_metadata_key(&GroupMetadataKey { group: "g".into() }).unwrap();
    let offset = encode_offset_commit_value(&offset_value(Some(1), None)).unwrap();
    let group = encode_group_metadata_value(&group_value(Some(1), Some("s"))).unwrap();
    for n in 0..key.len() {
        assert!(matches!(decode_key(&key[..n]), Err(RecordError::Truncated { .. })), "key prefix {n}");
    }
    for n in 0..gkey.len() {
        assert!(matches!(decode_key(&gkey[..n]), Err(RecordError::Truncated { .. })), "group key prefix {n}");
    }
    for n in 0..offset.len() {
        assert!(matches!(decode_offset_commit_value(&offset[..n]), Err(RecordError::Truncated { .. })), "prefix {n}");
    }
    for n in 0..group.len() {
        assert!(matches!(decode_group_metadata_value(&group[..n]), Err(RecordError::Truncated { .. })), "prefix {n}");
    }
    assert_eq!(
        decode_offset_commit_value(&[0, 3, 0, 0]),
        Err(RecordError::Truncated { field: "offset", needed: 8, remaining: 2 })
    );
}

#[test]
fn a_huge_member_count_is_truncation_not_an_allocation() {
    let bad = Golden::version(3).str("consumer").i32(1).null_str().null_str().i64(-1).i32(i32::MAX).0;
    assert!(matches!(decode_group_metadata_value(&bad), Err(RecordError::Truncated { field: "memberId", .. })));
}

#[test]
fn null_in_non_nullable_fields_is_an_error() {
    let meta = Golden::version(3).i64(1).i32(-1).null_str().i64(0).0;
    assert_eq!(decode_offset_commit_value(&meta), Err(RecordError::NullField { field: "metadata" }));
    let members = Golden::version(3).str("consumer").i32(1).null_str().null_str().i64(-1).i32(-1).0;
    assert_eq!(decode_group_metadata_value(&members), Err(RecordError::NullField { field: "members" }));
    let sub = Golden::version(0).str("c").i32(1).str("p").str("m").i32(1).str("m").str("c").str("h").i32(10).i32(-1).0;
    assert_eq!(decode_group_metadata_value(&sub), Err(RecordError::NullField { field: "subscription" }));
    let key = Golden::version(2).null_str().0;
    assert_eq!(decode_key(&key), Err(RecordError::NullField { field: "group" }));
}

#[test]
fn unknown_value_versions_are_errors() {
    for version in [-1i16, 4] {
        let bytes = Golden::version(version).i64(1).str("").i64(0).0;
        assert_eq!(
            decode_offset_commit_value(&bytes),
            Err(RecordError::UnknownVersion { schema: "OffsetCommitValue", version })
        );
        assert_eq!(
            decode_group_metadata_value(&bytes),
            Err(RecordError::UnknownVersion { schema: "GroupMetadataValue", version })
        );
    }
    assert!(encode_offset_commit_value_version(&offset_value(None, None), 4).is_err());
    assert!(encode_group_metadata_value_version(&group_value(None, None), -1).is_err());
}

#[test]
fn decoding_is_as_lenient_as_kafka() {
    // Trailing bytes are ignored, invalid UTF-8 becomes U+FFFD.
    let mut bytes = Golden::version(2).i64(9).str("").i64(0).0;
    bytes.extend_from_slice(b"trailing");
    assert_eq!(decode_offset_commit_value(&bytes).unwrap().offset, 9);
    let mut raw = Golden::version(2).i64(9).0;
    raw.extend_from_slice(&2i16.to_be_bytes());
    raw.extend_from_slice(&[0xff, b'a']);
    raw.extend_from_slice(&0i64.to_be_bytes());
    assert_eq!(decode_offset_commit_value(&raw).unwrap().metadata, "\u{fffd}a");
}

#[test]
fn strings_too_long_for_int16_cannot_be_encoded() {
    let key = GroupMetadataKey { group: "x".repeat(32_768) };
    assert_eq!(encode_group_metadata_key(&key), Err(RecordError::TooLong { field: "group", len: 32_768 }));
    let fits = GroupMetadataKey { group: "x".repeat(32_767) };
    assert_eq!(decode_key(&encode_group_metadata_key(&fits).unwrap()).unwrap(), RecordKey::GroupMetadata(fits));
}

#[test]
fn partition_for_matches_java_hash_code_and_kafka_abs() {
    // Values printed by Java 17: s.hashCode(), then Utils.abs(h) % 50.
    assert_eq!(partition_for("", 50), 0);
    assert_eq!(partition_for("a", 50), 47); // 97
    assert_eq!(partition_for("hello", 50), 22); // 99162322
    assert_eq!(partition_for("polygenelubricants", 50), 0); // Integer.MIN_VALUE -> 0
                                                            // Negative hash -1906497762: Math.abs gives 12 (masking with 0x7fffffff would give 36).
    assert_eq!(partition_for("my-group", 50), 12);
    assert_eq!(partition_for("console-consumer-40188", 50), 42); // 161164692
    assert_eq!(partition_for("groupé", 50), 6); // -1237460406
    assert_eq!(partition_for("\u{1F600}g", 50), 22); // surrogate pair: 54959972
    assert_eq!(partition_for("my-group", 1), 0);
    assert_eq!(partition_for("my-group", 0), 0);
}

fn okey(group: &str, topic: &str, partition: i32) -> Bytes {
    encode_offset_commit_key(&OffsetCommitKey { group: group.into(), topic: topic.into(), partition }).unwrap()
}

fn gkey(group: &str) -> Bytes {
    encode_group_metadata_key(&GroupMetadataKey { group: group.into() }).unwrap()
}

fn oval(offset: i64) -> Bytes {
    encode_offset_commit_value(&OffsetCommitValue { offset, ..offset_value(None, None) }).unwrap()
}

fn gval(generation: i32) -> Bytes {
    encode_group_metadata_value(&GroupMetadataValue { generation, ..group_value(None, None) }).unwrap()
}

#[test]
fn replay_keeps_the_latest_record_per_key() {
    let log: Vec<(Bytes, Option<Bytes>)> = vec![
        (gkey("g"), Some(gval(1))),
        (okey("g", "t", 0), Some(oval(10))),
        (okey("g", "t", 1), Some(oval(20))),
        (okey("g", "t", 0), Some(oval(11))),
        (gkey("g"), Some(gval(2))),
        (okey("g", "t", 1), None),
        (okey("other", "t", 0), Some(oval(5))),
    ];
    let loaded = replay(log.iter().enumerate().map(|(i, (k, v))| (Some(k.as_ref()), v.as_deref(), i as i64)));
    assert_eq!(loaded.skipped(), 0);
    assert!(loaded.removed_groups().is_empty());
    let groups = loaded.into_groups();
    assert_eq!(groups.len(), 2);
    let g = &groups["g"];
    assert_eq!(g.metadata.as_ref().map(|m| m.generation), Some(2));
    assert_eq!(g.offsets.len(), 1);
    let committed = &g.offsets[&("t".to_string(), 0)];
    assert_eq!((committed.value.offset, committed.append_offset), (11, 3));
    // Offsets without metadata: loaded as a group with no metadata (Kafka makes it Empty).
    let other = &groups["other"];
    assert_eq!(other.metadata, None);
    assert_eq!(other.offsets[&("t".to_string(), 0)].value.offset, 5);
}

#[test]
fn replay_group_tombstone_removes_metadata_but_not_offsets() {
    let mut loaded = LoadedGroups::new();
    loaded.apply(Some(&gkey("g")), Some(&gval(3)), 0);
    loaded.apply(Some(&okey("g", "t", 0)), Some(&oval(7)), 1);
    loaded.apply(Some(&gkey("g")), None, 2);
    loaded.apply(Some(&gkey("gone")), Some(&gval(1)), 3);
    loaded.apply(Some(&gkey("gone")), None, 4);
    loaded.apply(Some(&gkey("back")), None, 5);
    loaded.apply(Some(&gkey("back")), Some(&gval(9)), 6);
    assert_eq!(loaded.removed_groups().iter().collect::<Vec<_>>(), ["g", "gone"]);
    let groups = loaded.into_groups();
    assert_eq!(groups.keys().collect::<Vec<_>>(), ["back", "g"]);
    assert_eq!(groups["g"].metadata, None);
    assert_eq!(groups["g"].offsets.len(), 1);
    assert_eq!(groups["back"].metadata.as_ref().map(|m| m.generation), Some(9));
}

#[test]
fn replay_skips_undecodable_records_and_keeps_going() {
    let mut loaded = LoadedGroups::new();
    loaded.apply(Some(&okey("g", "t", 0)), Some(&oval(1)), 0);
    loaded.apply(None, Some(&oval(2)), 1); // keyless
    loaded.apply(Some(&[0, 1, 0]), Some(&oval(3)), 2); // truncated key
    loaded.apply(Some(&Golden::version(9).str("x").0), Some(&oval(4)), 3); // unknown key version
    loaded.apply(Some(&okey("g", "t", 0)), Some(&[0, 7, 1]), 4); // unknown value version
    loaded.apply(Some(&gkey("g")), Some(&[0, 3, 0]), 5); // truncated group value
    loaded.apply(Some(&okey("g", "t", 1)), Some(&oval(6)), 6);
    assert_eq!(loaded.skipped(), 5);
    let groups = loaded.into_groups();
    let offsets: Vec<i64> = groups["g"].offsets.values().map(|c| c.value.offset).collect();
    assert_eq!(offsets, [1, 6]);
    assert_eq!(groups["g"].metadata, None);
}

#[test]
fn replay_drops_a_group_whose_offsets_were_all_deleted() {
    let mut loaded = LoadedGroups::new();
    loaded.apply(Some(&okey("g", "t", 0)), Some(&oval(1)), 0);
    loaded.apply(Some(&okey("g", "t", 0)), None, 1);
    loaded.apply(Some(&okey("never", "t", 0)), None, 2);
    assert_eq!(loaded.skipped(), 0);
    assert!(loaded.into_groups().is_empty());
}
