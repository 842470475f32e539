//! Tests of `GroupMetadata`/`MemberMetadata` against spec protocol-and-groups §2.2-2.3:
//! the transition table, leader and static-member bookkeeping, the protocol compatibility check,
//! protocol selection and the consumer-subscription parser.

use super::super::membership::test_support::consumer_subscription;
use super::*;

fn member(id: &str, protocols: &[(&str, &[u8])]) -> MemberMetadata {
    MemberMetadata {
        member_id: id.to_string(),
        group_instance_id: None,
        client_id: "client".to_string(),
        client_host: "/127.0.0.1".to_string(),
        rebalance_timeout_ms: 10_000,
        session_timeout_ms: 10_000,
        protocol_type: "consumer".to_string(),
        protocols: protocols
            .iter()
            .map(|(n, m)| (n.to_string(), Bytes::copy_from_slice(m)))
            .collect(),
        assignment: Bytes::new(),
        awaiting_join: None,
        awaiting_sync: None,
        is_new: false,
        heartbeat_deadline: 0,
    }
}

const ALL: [GroupState; 5] = [
    GroupState::Empty,
    GroupState::PreparingRebalance,
    GroupState::CompletingRebalance,
    GroupState::Stable,
    GroupState::Dead,
];

#[test]
fn state_names_are_kafkas() {
    let names: Vec<&str> = ALL.iter().map(|s| s.name()).collect();
    assert_eq!(
        names,
        [
            "Empty",
            "PreparingRebalance",
            "CompletingRebalance",
            "Stable",
            "Dead"
        ]
    );
}

#[test]
fn transitions_follow_the_spec_table() {
    use GroupState::*;
    let allowed = |from: GroupState, to: GroupState| match to {
        PreparingRebalance => matches!(from, Stable | CompletingRebalance | Empty),
        CompletingRebalance => from == PreparingRebalance,
        Stable => from == CompletingRebalance,
        Empty => from == PreparingRebalance,
        Dead => true,
    };
    for from in ALL {
        for to in ALL {
            let mut g = GroupMetadata::new("g", 100);
            g.state = from;
            let ok = g.transition_to(to, 200);
            assert_eq!(ok, allowed(from, to), "{from:?} -> {to:?}");
            if ok {
                assert_eq!(g.state, to);
                assert_eq!(
                    g.current_state_timestamp,
                    Some(200),
                    "every transition stamps the time"
                );
            } else {
                assert_eq!(g.state, from, "a refused transition leaves the state alone");
                assert_eq!(g.current_state_timestamp, Some(100));
            }
        }
    }
}

#[test]
fn new_group_is_empty_generation_zero() {
    let g = GroupMetadata::new("g", 42);
    assert!(g.is(GroupState::Empty));
    assert_eq!(g.generation_id, 0);
    assert_eq!(g.current_state_timestamp, Some(42));
    assert!(g.leader_id.is_none() && g.protocol_type.is_none() && g.protocol_name.is_none());
}

#[test]
fn first_member_sets_protocol_type_and_leader() {
    let mut g = GroupMetadata::new("g", 0);
    g.pending_members.insert("a".into(), 99);
    g.add(member("a", &[("range", b"x")]));
    let mut b = member("b", &[("range", b"y")]);
    b.protocol_type = "other".into();
    g.add(b);
    assert_eq!(
        g.protocol_type.as_deref(),
        Some("consumer"),
        "only the first member sets the type"
    );
    assert!(g.is_leader("a") && !g.is_leader("b"));
    assert!(
        g.pending_members.is_empty(),
        "joining removes the id from pending members"
    );
    assert!(g.has("a") && g.has("b") && !g.has("c"));
}

#[test]
fn removing_the_leader_elects_a_remaining_member() {
    let mut g = GroupMetadata::new("g", 0);
    for id in ["a", "b", "c"] {
        g.add(member(id, &[("range", b"")]));
    }
    g.pending_sync_members
        .extend(["a".to_string(), "b".to_string()]);
    assert!(g.remove("a").is_some());
    assert!(g.leader_id.as_deref().is_some_and(|l| l == "b" || l == "c"));
    assert!(
        !g.pending_sync_members.contains("a"),
        "a removed member no longer has a pending sync"
    );
    assert!(g.remove("a").is_none());
    g.remove("b");
    g.remove("c");
    assert!(g.leader_id.is_none(), "no members, no leader");
}

#[test]
fn removing_a_follower_keeps_the_leader() {
    let mut g = GroupMetadata::new("g", 0);
    g.add(member("a", &[("range", b"")]));
    g.add(member("b", &[("range", b"")]));
    g.remove("b");
    assert_eq!(g.leader_id.as_deref(), Some("a"));
}

#[test]
fn static_members_are_mapped_and_fenced() {
    let mut g = GroupMetadata::new("g", 0);
    let mut s = member("inst-1", &[("range", b"")]);
    s.group_instance_id = Some("inst".into());
    g.add(s);
    assert_eq!(
        g.static_member_id(Some("inst")).map(String::as_str),
        Some("inst-1")
    );
    assert_eq!(g.static_member_id(None), None);
    assert!(
        g.is_static_member_fenced("other-id", Some("inst")),
        "known instance, different member id"
    );
    assert!(!g.is_static_member_fenced("inst-1", Some("inst")));
    assert!(
        !g.is_static_member_fenced("x", Some("unknown-instance")),
        "unknown instance ids are not fenced"
    );
    assert!(!g.is_static_member_fenced("x", None));
    g.remove("inst-1");
    assert!(
        g.static_members.is_empty(),
        "removing a static member drops its instance mapping"
    );
}

#[test]
fn empty_group_accepts_any_non_empty_protocol_type_and_list() {
    let g = GroupMetadata::new("g", 0);
    let p = vec![("range".to_string(), Bytes::new())];
    assert!(g.supports_protocols("consumer", &p));
    assert!(g.supports_protocols("connect", &p));
    assert!(!g.supports_protocols("", &p), "empty protocol type");
    assert!(
        !g.supports_protocols("consumer", &[]),
        "empty protocol list"
    );
}

#[test]
fn non_empty_group_needs_same_type_and_a_protocol_every_member_supports() {
    let mut g = GroupMetadata::new("g", 0);
    g.add(member("a", &[("range", b""), ("roundrobin", b"")]));
    g.add(member("b", &[("roundrobin", b""), ("sticky", b"")]));
    g.state = GroupState::Stable;
    let p = |names: &[&str]| {
        names
            .iter()
            .map(|n| (n.to_string(), Bytes::new()))
            .collect::<Vec<_>>()
    };
    assert!(g.supports_protocols("consumer", &p(&["roundrobin"])));
    assert!(
        g.supports_protocols("consumer", &p(&["range", "roundrobin"])),
        "one common protocol is enough"
    );
    assert!(
        !g.supports_protocols("consumer", &p(&["range"])),
        "range is not supported by b"
    );
    assert!(!g.supports_protocols("consumer", &p(&["sticky", "cooperative"])));
    assert!(
        !g.supports_protocols("connect", &p(&["roundrobin"])),
        "protocol type must match"
    );
}

#[test]
fn protocol_selection_is_a_vote_over_common_protocols() {
    let mut g = GroupMetadata::new("g", 0);
    g.add(member("a", &[("range", b""), ("roundrobin", b"")]));
    g.add(member("b", &[("range", b""), ("roundrobin", b"")]));
    g.add(member("c", &[("roundrobin", b""), ("range", b"")]));
    assert_eq!(
        g.select_protocol().as_deref(),
        Some("range"),
        "two votes for range, one for roundrobin"
    );

    // A protocol not every member lists is never a candidate, even if it is first everywhere else.
    let mut g = GroupMetadata::new("g", 0);
    g.add(member("a", &[("sticky", b""), ("range", b"")]));
    g.add(member("b", &[("sticky", b""), ("range", b"")]));
    g.add(member("c", &[("range", b"")]));
    assert_eq!(g.select_protocol().as_deref(), Some("range"));

    // Each member votes for its own first candidate.
    let mut g = GroupMetadata::new("g", 0);
    g.add(member("a", &[("range", b""), ("roundrobin", b"")]));
    g.add(member("b", &[("roundrobin", b""), ("range", b"")]));
    g.add(member(
        "c",
        &[("cooperative", b""), ("roundrobin", b""), ("range", b"")],
    ));
    assert_eq!(g.select_protocol().as_deref(), Some("roundrobin"));

    assert_eq!(
        GroupMetadata::new("g", 0).select_protocol(),
        None,
        "no members, no protocol"
    );
}

#[test]
fn rebalance_timeout_is_the_members_maximum() {
    let mut g = GroupMetadata::new("g", 0);
    assert_eq!(g.rebalance_timeout_ms(), 0);
    let mut a = member("a", &[("range", b"")]);
    a.rebalance_timeout_ms = 30_000;
    let mut b = member("b", &[("range", b"")]);
    b.rebalance_timeout_ms = 45_000;
    g.add(a);
    g.add(b);
    assert_eq!(g.rebalance_timeout_ms(), 45_000);
}

#[test]
fn all_members_joined_needs_every_join_parked_and_no_pending_ids() {
    let mut g = GroupMetadata::new("g", 0);
    g.add(member("a", &[("range", b"")]));
    g.add(member("b", &[("range", b"")]));
    let (tx_a, _rx_a) = oneshot::channel();
    g.members[0].awaiting_join = Some(tx_a);
    assert_eq!(g.num_awaiting_join(), 1);
    assert!(!g.has_all_members_joined());
    let (tx_b, _rx_b) = oneshot::channel();
    g.members[1].awaiting_join = Some(tx_b);
    assert!(g.has_all_members_joined());
    g.pending_members.insert("pending".into(), 1_000);
    assert!(
        !g.has_all_members_joined(),
        "an outstanding MEMBER_ID_REQUIRED id blocks completion"
    );
}

#[test]
fn leader_member_list_carries_each_members_metadata_for_the_selected_protocol() {
    let mut g = GroupMetadata::new("g", 0);
    g.add(member("a", &[("range", b"ra"), ("roundrobin", b"rr-a")]));
    let mut b = member("b", &[("roundrobin", b"rr-b"), ("range", b"rb")]);
    b.group_instance_id = Some("inst-b".into());
    g.add(b);
    assert!(
        g.current_member_metadata().is_empty(),
        "no protocol selected yet"
    );
    g.protocol_name = Some("range".into());
    let list = g.current_member_metadata();
    assert_eq!(
        list,
        vec![
            ("a".to_string(), None, Bytes::from_static(b"ra")),
            (
                "b".to_string(),
                Some("inst-b".to_string()),
                Bytes::from_static(b"rb")
            ),
        ]
    );
}

#[test]
fn member_matches_needs_same_order_and_bytes() {
    let m = member("a", &[("range", b"1"), ("roundrobin", b"2")]);
    let p = |v: &[(&str, &[u8])]| {
        v.iter()
            .map(|(n, b)| (n.to_string(), Bytes::copy_from_slice(b)))
            .collect::<Vec<_>>()
    };
    assert!(m.matches(&p(&[("range", b"1"), ("roundrobin", b"2")])));
    assert!(
        !m.matches(&p(&[("roundrobin", b"2"), ("range", b"1")])),
        "order matters"
    );
    assert!(
        !m.matches(&p(&[("range", b"1"), ("roundrobin", b"3")])),
        "metadata bytes matter"
    );
    assert!(!m.matches(&p(&[("range", b"1")])));
    assert_eq!(
        m.metadata("roundrobin").map(|b| b.as_ref()),
        Some(&b"2"[..])
    );
    assert_eq!(m.metadata("sticky"), None);
}

#[test]
fn subscription_topics_parse_from_any_version_prefix() {
    assert_eq!(
        parse_subscription_topics(&consumer_subscription(0, &["t1", "t2"])),
        Some(vec!["t1".to_string(), "t2".to_string()])
    );
    assert_eq!(parse_subscription_topics(&consumer_subscription(0, &[])), Some(vec![]));
    // v1 appends owned partitions after the user data; the v0 prefix still parses.
    let mut v1 = consumer_subscription(0, &["orders"]).to_vec();
    v1[0..2].copy_from_slice(&1i16.to_be_bytes());
    v1.extend_from_slice(&1i32.to_be_bytes());
    v1.extend_from_slice(&6i16.to_be_bytes());
    v1.extend_from_slice(b"orders");
    v1.extend_from_slice(&1i32.to_be_bytes());
    v1.extend_from_slice(&0i32.to_be_bytes());
    assert_eq!(
        parse_subscription_topics(&v1),
        Some(vec!["orders".to_string()])
    );
}

#[test]
fn malformed_subscriptions_do_not_parse() {
    assert_eq!(parse_subscription_topics(b""), None);
    assert_eq!(
        parse_subscription_topics(&[0, 0, 0]),
        None,
        "truncated topic count"
    );
    let full = consumer_subscription(0, &["topic"]);
    assert_eq!(
        parse_subscription_topics(&full[..full.len() - 6]),
        None,
        "truncated topic name"
    );
    let mut negative = vec![0, 0];
    negative.extend_from_slice(&(-1i32).to_be_bytes());
    assert_eq!(
        parse_subscription_topics(&negative),
        None,
        "negative topic count"
    );
    let mut huge = vec![0, 0];
    huge.extend_from_slice(&i32::MAX.to_be_bytes());
    assert_eq!(
        parse_subscription_topics(&huge),
        None,
        "count larger than the buffer"
    );
    let mut bad_utf8 = vec![0, 0, 0, 0, 0, 1, 0, 2];
    bad_utf8.extend_from_slice(&[0xff, 0xfe]);
    assert_eq!(parse_subscription_topics(&bad_utf8), None);
}

#[test]
fn subscribed_topics_are_the_union_for_consumer_groups_only() {
    let mut g = GroupMetadata::new("g", 0);
    g.add(member("a", &[("range", &consumer_subscription(0, &["t1", "t2"]))]));
    g.add(member("b", &[("range", &consumer_subscription(0, &["t2", "t3"]))]));
    assert_eq!(g.subscribed_topics(), None, "no protocol selected yet");
    g.protocol_name = Some("range".into());
    let topics = g.subscribed_topics().unwrap_or_default();
    let mut topics: Vec<String> = topics.into_iter().collect();
    topics.sort();
    assert_eq!(topics, ["t1", "t2", "t3"]);

    g.add(member("c", &[("range", b"garbage")]));
    assert_eq!(
        g.subscribed_topics(),
        None,
        "one unparsable subscription makes the set unknown"
    );

    let mut connect = GroupMetadata::new("c", 0);
    let mut m = member("a", &[("default", &consumer_subscription(0, &["t1"]))]);
    m.protocol_type = "connect".into();
    connect.add(m);
    connect.protocol_name = Some("default".into());
    assert_eq!(
        connect.subscribed_topics(),
        None,
        "only the consumer protocol is parsed"
    );
}
