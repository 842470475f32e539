//! Static membership (KIP-345) in JoinGroup against spec protocol-and-groups §2.8: fencing,
//! unknown instance ids, and a restarted instance taking over its old identity in each state.

use super::super::session::complete_sync;
use super::test_support::*;
use super::*;

#[test]
fn static_member_fencing_and_unknown_instance_ids() {
    let c = cfg();
    let mut g = GroupMetadata::new("g", 0);
    let _s = parked(join_as(&mut g, &c, static_req("", "inst"), 0, "s1").0);
    let _d = parked(join_as(&mut g, &c, req(""), 0, "d").0);
    let t = settle(&mut g, &c);
    // A known instance id with a different member id is fenced.
    let r = reply(join_as(&mut g, &c, static_req("d", "inst"), t + 1, "x").0);
    assert_eq!(r.error, Some(ResponseError::FencedInstanceId));
    // A known member id with an instance id the group doesn't know.
    let r = reply(join_as(&mut g, &c, static_req("d", "other"), t + 1, "x").0);
    assert_eq!(r.error, Some(ResponseError::UnknownMemberId));
    assert!(g.is(GroupState::CompletingRebalance));
}

/// A Stable group with static leader `s1` (instance `inst`) and dynamic follower `d`.
fn stable_static_group() -> GroupMetadata {
    let c = cfg();
    let mut g = GroupMetadata::new("g", 0);
    let _s = parked(join_as(&mut g, &c, static_req("", "inst"), 0, "s1").0);
    let _d = parked(join_as(&mut g, &c, req(""), 0, "d").0);
    let t = settle(&mut g, &c);
    let (o, store) = sync_as(&mut g, "s1", &[("s1", "A"), ("d", "B")], t);
    let _sync = parked(o);
    complete_sync(&mut g, &c, &store.expect("leader write"), Ok(()), t);
    let (o, _) = sync_as(&mut g, "d", &[], t);
    let _ = reply(o);
    assert!(g.is(GroupState::Stable) && g.is_leader("s1"));
    g
}

#[test]
fn restarted_static_member_in_stable_takes_over_without_rebalance() {
    let c = cfg();
    let mut g = stable_static_group();
    let (o, store) = join_as(&mut g, &c, static_req("", "inst"), 20_000, "s2");
    let r = reply(o);
    assert_eq!(r.error, None);
    assert_eq!(r.member_id, "s2");
    assert_eq!(
        r.leader_id, "s1",
        "the old leader id, so the restarted leader does not reassign"
    );
    assert_eq!(r.generation_id, 1);
    assert!(r.members.is_empty());
    assert_eq!(
        store.map(|s| s.generation_id),
        Some(1),
        "the replacement is persisted"
    );
    assert!(g.is(GroupState::Stable), "no rebalance");
    assert!(!g.has("s1") && g.has("s2"));
    assert!(g.is_leader("s2"), "leadership moves to the new id");
    assert_eq!(
        g.static_member_id(Some("inst")).map(String::as_str),
        Some("s2")
    );
    assert_eq!(
        g.members["s2"].assignment,
        Bytes::from_static(b"A"),
        "the previous assignment is kept"
    );
    // The old id is now fenced.
    let r = reply(join_as(&mut g, &c, static_req("s1", "inst"), 20_001, "x").0);
    assert_eq!(r.error, Some(ResponseError::FencedInstanceId));
}

#[test]
fn restarted_static_member_changing_the_selected_protocol_rebalances() {
    let c = cfg();
    let mut g = stable_static_group();
    // "d" prefers roundrobin; once the static member does too, roundrobin wins the vote.
    if let Some(m) = g.members.get_mut("d") {
        m.protocols = vec![
            ("roundrobin".into(), Bytes::new()),
            ("range".into(), Bytes::new()),
        ];
    }
    let mut r = static_req("", "inst");
    r.protocols = vec![
        ("roundrobin".into(), Bytes::new()),
        ("range".into(), Bytes::new()),
    ];
    let (o, store) = join_as(&mut g, &c, r, 20_000, "s2");
    let mut rx = parked(o);
    assert!(store.is_none());
    assert!(g.is(GroupState::PreparingRebalance));
    still_parked(&mut rx);
}

#[test]
fn restarted_static_member_in_completing_rebalance_fences_the_old_sync_and_rebalances() {
    let c = cfg();
    let mut g = GroupMetadata::new("g", 0);
    let _s = parked(join_as(&mut g, &c, static_req("", "inst"), 0, "s1").0);
    let _d = parked(join_as(&mut g, &c, req(""), 0, "d").0);
    let t = settle(&mut g, &c);
    let mut old_sync = parked(sync_as(&mut g, "s1", &[], t).0);
    let mut new_join = parked(join_as(&mut g, &c, static_req("", "inst"), t + 1, "s2").0);
    assert_eq!(
        answered(&mut old_sync).error,
        Some(ResponseError::FencedInstanceId)
    );
    assert!(
        g.is(GroupState::PreparingRebalance),
        "CompletingRebalance always rebalances"
    );
    assert!(g.is_leader("s2"));
    still_parked(&mut new_join);
}

#[test]
fn restarted_static_member_in_preparing_rebalance_fences_the_old_join() {
    let c = cfg();
    let mut g = stable_static_group();
    let mut old_join = parked(join_as(&mut g, &c, static_req("s1", "inst"), 20_000, "x").0);
    assert!(g.is(GroupState::PreparingRebalance));
    let mut new_join = parked(join_as(&mut g, &c, static_req("", "inst"), 20_001, "s2").0);
    let r = answered(&mut old_join);
    assert_eq!(
        (r.error, r.member_id.as_str()),
        (Some(ResponseError::FencedInstanceId), "s1")
    );
    // The new identity completes the join together with the rest of the group.
    let mut d = parked(join_as(&mut g, &c, req("d"), 20_002, "x").0);
    assert!(g.is(GroupState::CompletingRebalance));
    let r = answered(&mut new_join);
    assert_eq!(
        (r.member_id.as_str(), r.leader_id.as_str(), r.generation_id),
        ("s2", "s2", 2)
    );
    assert_eq!(answered(&mut d).leader_id, "s2");
}

#[test]
fn restarted_static_member_keeps_the_old_instances_client_data_and_timeouts() {
    let c = cfg();
    let mut g = stable_static_group();
    let mut r = static_req("", "inst");
    r.client_id = "client-2".into();
    r.client_host = "/10.0.0.2".into();
    r.session_timeout_ms = 30_000;
    r.rebalance_timeout_ms = 90_000;
    let _ = reply(join_as(&mut g, &c, r, 20_000, "s2").0);
    let m = &g.members["s2"];
    assert_eq!(
        (m.client_id.as_str(), m.client_host.as_str()),
        ("client", "/127.0.0.1")
    );
    assert_eq!(
        (m.session_timeout_ms, m.rebalance_timeout_ms),
        (SESSION, REBALANCE)
    );
    assert_eq!(m.heartbeat_deadline, 20_000 + SESSION as i64);
    assert_eq!(m.group_instance_id.as_deref(), Some("inst"));
}

#[test]
fn an_expired_static_member_loses_its_instance_mapping() {
    let c = cfg();
    let mut g = stable_static_group();
    // d keeps heartbeating, the static leader s1 stops.
    let s1_deadline = g.members["s1"].heartbeat_deadline;
    assert_eq!(
        super::super::session::heartbeat(&mut g, "d", None, 1, s1_deadline - 1),
        None
    );
    super::super::session::expire(&mut g, &c, s1_deadline);
    assert!(!g.has("s1"));
    assert!(g.static_members.is_empty());
    assert!(g.is(GroupState::PreparingRebalance));
    assert!(g.is_leader("d"));
    // The instance comes back: a plain new static member, parked for the running rebalance.
    let mut rx = parked(join_as(&mut g, &c, static_req("", "inst"), s1_deadline + 1, "s2").0);
    still_parked(&mut rx);
    assert_eq!(
        g.static_member_id(Some("inst")).map(String::as_str),
        Some("s2")
    );
    assert!(g.members["s2"].is_new);
}
