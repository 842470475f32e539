//! Offset retention (`expired_offsets`) against classic-architecture §7.1 and Kafka 2.8's
//! `GroupMetadata.removeExpiredOffsets`: which offsets are candidates in each kind of group, the
//! base time of the retention period, explicit expire timestamps and in-flight commits.

use bytes::Bytes;

use super::super::metadata::MemberMetadata;
use super::super::membership::test_support::consumer_subscription;
use super::*;

const DAY: i64 = 86_400_000;
const RETENTION: i64 = 7 * DAY;

fn commit(commit_timestamp: i64, expire_timestamp: Option<i64>) -> CommittedOffset {
    CommittedOffset {
        value: OffsetCommitValue {
            offset: 42,
            leader_epoch: None,
            metadata: String::new(),
            commit_timestamp,
            expire_timestamp,
        },
        append_offset: 0,
    }
}

fn member(id: &str, protocol_type: &str, metadata: Bytes) -> MemberMetadata {
    MemberMetadata {
        member_id: id.to_string(),
        group_instance_id: None,
        client_id: "client".to_string(),
        client_host: "/127.0.0.1".to_string(),
        rebalance_timeout_ms: 10_000,
        session_timeout_ms: 10_000,
        protocol_type: protocol_type.to_string(),
        protocols: vec![("range".to_string(), metadata)],
        assignment: Bytes::new(),
        awaiting_join: None,
        awaiting_sync: None,
        is_new: false,
        heartbeat_deadline: i64::MAX,
    }
}

/// A consumer group in `state` whose members subscribe to `topics` (one member per list).
fn consumer_group(state: GroupState, subscriptions: &[&[&str]]) -> GroupMetadata {
    let mut g = GroupMetadata::new("g", 0);
    for (i, topics) in subscriptions.iter().enumerate() {
        g.add(member(&format!("m{i}"), "consumer", consumer_subscription(1, topics)));
    }
    g.protocol_name = Some("range".to_string());
    g.generation_id = 1;
    g.state = state;
    g
}

fn sorted(mut v: Vec<(String, i32)>) -> Vec<(String, i32)> {
    v.sort();
    v
}

fn tp(t: &str, p: i32) -> (String, i32) {
    (t.to_string(), p)
}

#[test]
fn empty_group_offsets_expire_retention_after_the_group_became_empty() {
    let mut g = consumer_group(GroupState::Stable, &[&["t"]]);
    g.remove("m0");
    g.state = GroupState::Empty;
    g.current_state_timestamp = Some(10 * DAY);
    g.offsets.insert(tp("t", 0), commit(DAY, None));
    g.offsets.insert(tp("t", 1), commit(11 * DAY, None)); // committed after the group emptied
    assert!(
        expired_offsets(&g, RETENTION, 17 * DAY - 1).is_empty(),
        "old commits wait for the Empty time + retention"
    );
    assert_eq!(
        sorted(expired_offsets(&g, RETENTION, 17 * DAY)),
        vec![tp("t", 0), tp("t", 1)]
    );
}

#[test]
fn empty_group_without_a_state_timestamp_uses_commit_times() {
    let mut g = consumer_group(GroupState::Empty, &[]);
    g.protocol_type = Some("consumer".into());
    g.current_state_timestamp = None; // loaded from a v0/v1 group record
    g.offsets.insert(tp("t", 0), commit(DAY, None));
    g.offsets.insert(tp("t", 1), commit(3 * DAY, None));
    assert_eq!(expired_offsets(&g, RETENTION, 8 * DAY), vec![tp("t", 0)]);
}

#[test]
fn standalone_consumer_offsets_expire_from_their_own_commit_time() {
    // OffsetCommit with generation -1 creates a group with no protocol type (spec §2.10). Its
    // offsets expire per commit, not relative to when the group was created.
    let mut g = GroupMetadata::new("simple", 0);
    assert!(g.protocol_type.is_none());
    g.offsets.insert(tp("t", 0), commit(5 * DAY, None));
    g.offsets.insert(tp("t", 1), commit(0, None));
    assert_eq!(
        expired_offsets(&g, RETENTION, 8 * DAY),
        vec![tp("t", 1)],
        "t-0 was committed 3 days ago"
    );
    assert_eq!(
        sorted(expired_offsets(&g, RETENTION, 12 * DAY)),
        vec![tp("t", 0), tp("t", 1)]
    );
}

#[test]
fn stable_consumer_group_expires_only_topics_it_no_longer_subscribes_to() {
    let mut g = consumer_group(GroupState::Stable, &[&["a"], &["b"]]);
    g.offsets.insert(tp("a", 0), commit(0, None));
    g.offsets.insert(tp("b", 3), commit(0, None));
    g.offsets.insert(tp("old", 0), commit(0, None));
    g.offsets.insert(tp("old", 1), commit(2 * DAY, None));
    assert_eq!(
        expired_offsets(&g, RETENTION, RETENTION),
        vec![tp("old", 0)]
    );
    assert_eq!(
        sorted(expired_offsets(&g, RETENTION, 100 * DAY)),
        vec![tp("old", 0), tp("old", 1)]
    );
}

#[test]
fn stable_consumer_group_with_unknown_subscriptions_keeps_everything() {
    let mut g = consumer_group(GroupState::Stable, &[&["a"]]);
    g.add(member("bad", "consumer", Bytes::from_static(b"\x00")));
    g.offsets.insert(tp("old", 0), commit(0, None));
    assert!(expired_offsets(&g, RETENTION, 100 * DAY).is_empty());
}

#[test]
fn non_consumer_and_rebalancing_groups_expire_nothing() {
    let mut connect = GroupMetadata::new("c", 0);
    connect.add(member("m", "connect", Bytes::new()));
    connect.protocol_name = Some("range".into());
    connect.state = GroupState::Stable;
    connect.offsets.insert(tp("t", 0), commit(0, None));
    connect.offsets.insert(tp("t", 1), commit(0, Some(DAY)));
    assert!(expired_offsets(&connect, RETENTION, 100 * DAY).is_empty());

    for state in [
        GroupState::PreparingRebalance,
        GroupState::CompletingRebalance,
    ] {
        let mut g = consumer_group(state, &[&["a"]]);
        g.offsets.insert(tp("old", 0), commit(0, None));
        g.offsets.insert(tp("old", 1), commit(0, Some(DAY)));
        assert!(
            expired_offsets(&g, RETENTION, 100 * DAY).is_empty(),
            "{state:?}: nothing expires mid-rebalance"
        );
    }
}

#[test]
fn explicit_expire_timestamps_override_the_retention_for_candidates() {
    let mut g = GroupMetadata::new("simple", 0);
    g.offsets.insert(tp("t", 0), commit(0, Some(DAY)));
    g.offsets.insert(tp("t", 1), commit(0, Some(30 * DAY)));
    assert!(expired_offsets(&g, RETENTION, DAY - 1).is_empty());
    assert_eq!(expired_offsets(&g, RETENTION, DAY), vec![tp("t", 0)]);
    assert_eq!(
        expired_offsets(&g, RETENTION, 29 * DAY),
        vec![tp("t", 0)],
        "t-1 outlives the broker retention"
    );

    // A subscribed topic of a Stable consumer group is never a candidate, expire timestamp or not.
    let mut g = consumer_group(GroupState::Stable, &[&["a"]]);
    g.offsets.insert(tp("a", 0), commit(0, Some(DAY)));
    g.offsets.insert(tp("b", 0), commit(0, Some(DAY)));
    assert_eq!(expired_offsets(&g, RETENTION, 2 * DAY), vec![tp("b", 0)]);
}

#[test]
fn offsets_with_a_commit_in_flight_are_kept() {
    let mut g = GroupMetadata::new("simple", 0);
    g.offsets.insert(tp("t", 0), commit(0, None));
    g.offsets.insert(tp("t", 1), commit(0, None));
    g.pending_offset_commits.insert(tp("t", 0), 1);
    assert_eq!(expired_offsets(&g, RETENTION, 100 * DAY), vec![tp("t", 1)]);
}

#[test]
fn dead_groups_with_a_protocol_expire_nothing() {
    let mut g = consumer_group(GroupState::Dead, &[&["a"]]);
    g.offsets.insert(tp("old", 0), commit(0, None));
    assert!(expired_offsets(&g, RETENTION, 100 * DAY).is_empty());
}
