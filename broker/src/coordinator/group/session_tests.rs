//! SyncGroup, the assignment write callback, Heartbeat, OffsetCommit's member checks, LeaveGroup
//! and the timers, against spec protocol-and-groups §2.5-2.10, plus whole-group scenarios.

use super::super::membership::test_support::*;
use super::super::membership::{join, JoinRequest, NEW_MEMBER_JOIN_TIMEOUT_MS};
use super::super::metadata::JoinGroupResult;
use super::*;

/// JoinGroup with the standard config; the generated member id (if any) is `new_id`.
fn join_as(
    g: &mut GroupMetadata,
    r: JoinRequest,
    now: i64,
    new_id: &str,
) -> Outcome<JoinGroupResult> {
    join(g, &cfg(), r, now, |_| new_id.to_string()).0
}

/// Fire the join timers (standard config) until the join phase ends; returns when it ended.
fn settle(g: &mut GroupMetadata) -> i64 {
    super::super::membership::test_support::settle(g, &cfg())
}

/// Members `ids` join (first = leader) and the join phase completes: CompletingRebalance.
fn completing(ids: &[&str]) -> (GroupMetadata, i64) {
    let mut g = GroupMetadata::new("g", 0);
    let mut rxs: Vec<_> = ids
        .iter()
        .map(|id| parked(join_as(&mut g, req(""), 0, id)))
        .collect();
    let t = settle(&mut g);
    assert!(g.is(GroupState::CompletingRebalance));
    for rx in &mut rxs {
        assert_eq!(answered(rx).error, None);
    }
    (g, t)
}

/// Members `ids` reach Stable; each is assigned its own id as bytes. Returns the group and the time.
fn stable(ids: &[&str]) -> (GroupMetadata, i64) {
    let (mut g, t) = completing(ids);
    let assignments: Vec<(&str, &str)> = ids.iter().map(|id| (*id, *id)).collect();
    let (o, store) = sync_as(&mut g, ids[0], &assignments, t);
    let mut rx = parked(o);
    complete_sync(&mut g, &cfg(), &store.expect("leader write"), Ok(()), t);
    assert_eq!(answered(&mut rx).error, None);
    for id in &ids[1..] {
        assert_eq!(reply(sync_as(&mut g, id, &[], t).0).error, None);
    }
    assert!(g.is(GroupState::Stable));
    (g, t)
}

// ---- SyncGroup -------------------------------------------------------------------------------

#[test]
fn sync_checks_dead_fenced_unknown_generation_protocol_in_order() {
    let mut g = GroupMetadata::new("g", 0);
    let _s = parked(join_as(&mut g, static_req("", "inst"), 0, "s"));
    let _d = parked(join_as(&mut g, req(""), 0, "d"));
    let t = settle(&mut g);
    let err = |g: &mut GroupMetadata, r: SyncRequest| reply(sync(g, r, t).0).error;

    let mut r = sync_req(&g, "d", &[]);
    r.group_instance_id = Some("inst".into());
    assert_eq!(
        err(&mut g, r),
        Some(ResponseError::FencedInstanceId),
        "instance id mapped to another member"
    );
    let r = sync_req(&g, "ghost", &[]);
    assert_eq!(err(&mut g, r), Some(ResponseError::UnknownMemberId));
    let mut r = sync_req(&g, "d", &[]);
    r.generation_id = 0;
    assert_eq!(err(&mut g, r), Some(ResponseError::IllegalGeneration));
    let mut r = sync_req(&g, "d", &[]);
    r.protocol_type = Some("connect".into());
    assert_eq!(
        err(&mut g, r),
        Some(ResponseError::InconsistentGroupProtocol)
    );
    let mut r = sync_req(&g, "d", &[]);
    r.protocol_name = Some("roundrobin".into());
    assert_eq!(
        err(&mut g, r),
        Some(ResponseError::InconsistentGroupProtocol)
    );
    // Matching protocol type and name are fine.
    let mut r = sync_req(&g, "d", &[]);
    r.protocol_type = Some("consumer".into());
    r.protocol_name = Some("range".into());
    let mut rx = parked(sync(&mut g, r, t).0);
    still_parked(&mut rx);

    g.transition_to(GroupState::Dead, t);
    let r = sync_req(&g, "ghost", &[]);
    assert_eq!(
        err(&mut g, r),
        Some(ResponseError::CoordinatorNotAvailable),
        "Dead is checked first"
    );
}

#[test]
fn sync_during_preparing_rebalance_and_empty() {
    let (mut g, t) = stable(&["a", "b"]);
    let _a = parked(join_as(&mut g, req("a"), t + 1, "x"));
    assert!(g.is(GroupState::PreparingRebalance));
    assert_eq!(
        reply(sync_as(&mut g, "b", &[], t + 2).0).error,
        Some(ResponseError::RebalanceInProgress)
    );
    // Empty never has members in practice; a member id in an Empty group is unknown.
    g.state = GroupState::Empty;
    assert_eq!(
        reply(sync_as(&mut g, "b", &[], t + 2).0).error,
        Some(ResponseError::UnknownMemberId)
    );
}

#[test]
fn leader_sync_fills_missing_members_and_ignores_unknown_ones() {
    let (mut g, t) = completing(&["a", "b", "c"]);
    assert_eq!(g.pending_sync_members.len(), 3);
    let (o, store) = sync_as(&mut g, "b", &[("b", "ignored")], t + 1);
    let mut b = parked(o);
    assert!(store.is_none(), "only the leader's sync writes the group");
    assert!(!g.pending_sync_members.contains("b"));
    let (o, store) = sync_as(
        &mut g,
        "a",
        &[("a", "A"), ("b", "B"), ("zombie", "Z")],
        t + 2,
    );
    let mut a = parked(o);
    let store = store.expect("leader write");
    assert_eq!(store.generation_id, 1);
    let mut assignments = store.assignments.clone().unwrap_or_default();
    assignments.sort();
    assert_eq!(
        assignments,
        vec![
            ("a".to_string(), Bytes::from_static(b"A")),
            ("b".to_string(), Bytes::from_static(b"B")),
            ("c".to_string(), Bytes::new()),
        ],
        "c gets an empty assignment, zombie is dropped"
    );
    // Until the write completes everybody waits, the leader included.
    still_parked(&mut a);
    still_parked(&mut b);
    assert!(g.is(GroupState::CompletingRebalance));

    complete_sync(&mut g, &cfg(), &store, Ok(()), t + 50);
    assert!(g.is(GroupState::Stable));
    let (ra, rb) = (answered(&mut a), answered(&mut b));
    assert_eq!((ra.error, ra.assignment), (None, Bytes::from_static(b"A")));
    assert_eq!(
        (rb.error, rb.assignment),
        (None, Bytes::from_static(b"B")),
        "b gets the leader's assignment, not its own"
    );
    assert_eq!(ra.protocol_type.as_deref(), Some("consumer"));
    assert_eq!(ra.protocol_name.as_deref(), Some("range"));
    assert_eq!(g.members["c"].assignment, Bytes::new());
    assert_eq!(
        g.members["a"].heartbeat_deadline,
        t + 50 + SESSION as i64,
        "answered members get a new session timer"
    );
    assert_eq!(g.members["b"].heartbeat_deadline, t + 50 + SESSION as i64);

    // c syncs late, in Stable: immediate reply with its (empty) assignment.
    let rc = reply(sync_as(&mut g, "c", &[], t + 60).0);
    assert_eq!((rc.error, rc.assignment), (None, Bytes::new()));
    assert_eq!(g.members["c"].heartbeat_deadline, t + 60 + SESSION as i64);
    assert!(g.pending_sync_members.is_empty() && g.sync_deadline.is_none());
}

#[test]
fn failed_assignment_write_fails_every_parked_sync_and_rebalances() {
    let (mut g, t) = completing(&["a", "b"]);
    let mut b = parked(sync_as(&mut g, "b", &[], t + 1).0);
    let (o, store) = sync_as(&mut g, "a", &[("a", "A"), ("b", "B")], t + 2);
    let mut a = parked(o);
    // The write takes longer than the session timeout: parked members are not expired meanwhile.
    let later = t + 2 + SESSION as i64 + 1;
    expire(&mut g, &cfg(), later);
    assert!(
        g.has("a") && g.has("b"),
        "members awaiting a sync response count as alive"
    );
    complete_sync(
        &mut g,
        &cfg(),
        &store.expect("leader write"),
        Err(ResponseError::NotCoordinator),
        later,
    );
    assert_eq!(answered(&mut a).error, Some(ResponseError::NotCoordinator));
    let rb = answered(&mut b);
    assert_eq!(
        (rb.error, rb.assignment),
        (Some(ResponseError::NotCoordinator), Bytes::new())
    );
    assert!(g.is(GroupState::PreparingRebalance));
    assert!(g.members.values().all(|m| m.assignment.is_empty()));
    // The answered members got a fresh session, so they can rejoin instead of being expired at once.
    expire(&mut g, &cfg(), later + 1);
    assert!(g.has("a") && g.has("b"));
}

#[test]
fn assignment_write_completion_is_ignored_after_the_group_moved_on() {
    let (mut g, t) = completing(&["a", "b"]);
    let (o, store) = sync_as(&mut g, "a", &[("a", "A")], t + 1);
    let mut a = parked(o);
    let store = store.expect("leader write");
    // b rejoins with new metadata: a new rebalance; the parked leader sync is told to rejoin.
    let mut r = req("b");
    r.protocols = vec![("range".into(), Bytes::from_static(b"changed"))];
    let _b = parked(join_as(&mut g, r, t + 2, "x"));
    assert_eq!(
        answered(&mut a).error,
        Some(ResponseError::RebalanceInProgress)
    );
    complete_sync(&mut g, &cfg(), &store, Ok(()), t + 3);
    assert!(
        g.is(GroupState::PreparingRebalance),
        "a late write result does not make the group Stable"
    );
    assert!(g.members["a"].assignment.is_empty());

    // Same state but a newer generation: also ignored.
    let (mut g, t) = completing(&["a"]);
    let (_o, store) = sync_as(&mut g, "a", &[("a", "A")], t);
    let stale = StoreGroup {
        generation_id: g.generation_id - 1,
        ..store.expect("leader write")
    };
    complete_sync(&mut g, &cfg(), &stale, Ok(()), t);
    assert!(g.is(GroupState::CompletingRebalance));
}

#[test]
fn pending_sync_expiry_removes_members_that_never_synced() {
    let (mut g, t) = completing(&["a", "b", "c"]);
    let deadline = t + REBALANCE as i64;
    assert_eq!(g.sync_deadline, Some(deadline));
    let mut b = parked(sync_as(&mut g, "b", &[], t + 1).0);
    // Sessions would not run out before the deadline if they kept heartbeating.
    assert_eq!(heartbeat(&mut g, "a", None, 1, deadline - 1), None);
    assert_eq!(heartbeat(&mut g, "c", None, 1, deadline - 1), None);
    expire(&mut g, &cfg(), deadline - 1);
    assert!(g.is(GroupState::CompletingRebalance));
    expire(&mut g, &cfg(), deadline);
    assert!(!g.has("a") && !g.has("c"), "a and c never sent SyncGroup");
    assert!(g.has("b"));
    assert!(g.is(GroupState::PreparingRebalance));
    assert_eq!(
        answered(&mut b).error,
        Some(ResponseError::RebalanceInProgress)
    );
    assert_eq!(g.sync_deadline, None);
}

#[test]
fn pending_sync_expiry_also_applies_in_stable() {
    let (mut g, t) = completing(&["a", "b"]);
    let (o, store) = sync_as(&mut g, "a", &[("a", "A"), ("b", "B")], t);
    let _a = parked(o);
    complete_sync(&mut g, &cfg(), &store.expect("leader write"), Ok(()), t);
    assert!(g.is(GroupState::Stable));
    assert_eq!(
        heartbeat(&mut g, "a", None, 1, t + REBALANCE as i64 - 1),
        None
    );
    assert_eq!(
        heartbeat(&mut g, "b", None, 1, t + REBALANCE as i64 - 1),
        None
    );
    expire(&mut g, &cfg(), t + REBALANCE as i64);
    assert!(g.has("a"));
    assert!(
        !g.has("b"),
        "b heartbeated but never fetched its assignment"
    );
    assert!(g.is(GroupState::PreparingRebalance));
}

#[test]
fn pending_sync_timer_stops_once_everyone_synced() {
    let (g, _) = stable(&["a", "b"]);
    assert_eq!(g.sync_deadline, None);
    assert!(g.pending_sync_members.is_empty());
}

#[test]
fn pending_sync_expiry_with_nobody_synced_empties_the_group() {
    let (mut g, t) = completing(&["a"]);
    assert_eq!(
        heartbeat(&mut g, "a", None, 1, t + REBALANCE as i64 - 1),
        None
    );
    let store = expire(&mut g, &cfg(), t + REBALANCE as i64);
    assert!(g.is(GroupState::Empty));
    assert_eq!(g.generation_id, 2);
    assert_eq!(store.map(|s| s.generation_id), Some(2));
}

// ---- Heartbeat and session expiry ------------------------------------------------------------

#[test]
fn heartbeat_table() {
    let mut g = GroupMetadata::new("g", 0);
    let _s = parked(join_as(&mut g, static_req("", "inst"), 0, "s"));
    let _d = parked(join_as(&mut g, req(""), 0, "d"));
    let t = settle(&mut g);
    assert_eq!(
        heartbeat(&mut g, "d", Some("inst"), 1, t),
        Some(ResponseError::FencedInstanceId)
    );
    assert_eq!(
        heartbeat(&mut g, "ghost", None, 1, t),
        Some(ResponseError::UnknownMemberId)
    );
    assert_eq!(
        heartbeat(&mut g, "d", None, 2, t),
        Some(ResponseError::IllegalGeneration)
    );
    // CompletingRebalance: NONE and the timer is reset.
    assert_eq!(heartbeat(&mut g, "d", None, 1, t + 5), None);
    assert_eq!(g.members["d"].heartbeat_deadline, t + 5 + SESSION as i64);
    // PreparingRebalance: REBALANCE_IN_PROGRESS, timer still reset.
    let _j = parked(join_as(&mut g, req(""), t + 6, "n"));
    assert!(g.is(GroupState::PreparingRebalance));
    assert_eq!(
        heartbeat(&mut g, "d", None, 1, t + 7),
        Some(ResponseError::RebalanceInProgress)
    );
    assert_eq!(g.members["d"].heartbeat_deadline, t + 7 + SESSION as i64);
    // Stable: NONE.
    let (mut st, t2) = stable(&["a"]);
    assert_eq!(heartbeat(&mut st, "a", None, 1, t2 + 9), None);
    assert_eq!(st.members["a"].heartbeat_deadline, t2 + 9 + SESSION as i64);
    // Empty (unreachable with members in practice): UNKNOWN_MEMBER_ID.
    st.state = GroupState::Empty;
    assert_eq!(
        heartbeat(&mut st, "a", None, 1, t2 + 10),
        Some(ResponseError::UnknownMemberId)
    );
    // Dead first of all.
    st.state = GroupState::Dead;
    assert_eq!(
        heartbeat(&mut st, "ghost", None, 7, t2 + 10),
        Some(ResponseError::CoordinatorNotAvailable)
    );
}

#[test]
fn session_expires_without_heartbeats_and_heartbeats_keep_members_alive() {
    let (mut g, t) = stable(&["a", "b"]);
    for step in 1..=5 {
        assert_eq!(heartbeat(&mut g, "a", None, 1, t + step * 5_000), None);
    }
    let b_deadline = g.members["b"].heartbeat_deadline;
    expire(&mut g, &cfg(), b_deadline - 1);
    assert!(g.has("b") && g.is(GroupState::Stable));
    expire(&mut g, &cfg(), b_deadline);
    assert!(!g.has("b"), "b stopped heartbeating");
    assert!(g.has("a"));
    assert!(
        g.is(GroupState::PreparingRebalance),
        "an expiry in Stable starts a rebalance"
    );
}

#[test]
fn parked_joins_count_as_alive_but_new_members_only_for_five_minutes() {
    let (mut g, t) = stable(&["a", "b"]);
    let mut r = req("");
    r.rebalance_timeout_ms = 1_000_000;
    let mut n = parked(join_as(&mut g, r, t + 1, "n"));
    let mut a = parked(join_as(&mut g, req("a"), t + 1, "x"));
    // b keeps its session by heartbeating (it would rejoin after REBALANCE_IN_PROGRESS).
    let mut now = t + 1;
    while now < t + 1 + NEW_MEMBER_JOIN_TIMEOUT_MS {
        now += 5_000;
        heartbeat(&mut g, "b", None, 1, now);
        expire(&mut g, &cfg(), now.min(t + NEW_MEMBER_JOIN_TIMEOUT_MS));
    }
    assert!(
        g.has("a"),
        "a's session ran out long ago, but it is parked in JoinGroup"
    );
    assert!(g.has("n"));
    still_parked(&mut a);
    expire(&mut g, &cfg(), t + 1 + NEW_MEMBER_JOIN_TIMEOUT_MS);
    assert!(
        !g.has("n"),
        "a new member is not kept alive by its parked join after 5 minutes"
    );
    let rn = answered(&mut n);
    assert_eq!(
        (rn.error, rn.member_id.as_str()),
        (Some(ResponseError::UnknownMemberId), "")
    );
    assert!(g.has("a"));
}

#[test]
fn expired_pending_member_ids_let_the_join_complete() {
    let (mut g, t) = stable(&["a"]);
    // A v4 client got MEMBER_ID_REQUIRED and never came back.
    let mut r = req("");
    r.require_known_member_id = true;
    let res = reply(join_as(&mut g, r, t + 1, "p"));
    assert_eq!(res.error, Some(ResponseError::MemberIdRequired));
    let mut a = parked(join_as(&mut g, req("a"), t + 2, "x"));
    assert!(
        g.is(GroupState::PreparingRebalance),
        "the leader's rejoin starts a rebalance"
    );
    still_parked(&mut a);
    assert!(
        !g.has_all_members_joined(),
        "the pending id blocks early completion"
    );
    expire(&mut g, &cfg(), t + 1 + SESSION as i64);
    assert!(g.pending_members.is_empty());
    assert!(
        g.is(GroupState::CompletingRebalance),
        "dropping the pending id completes the join"
    );
    assert_eq!(answered(&mut a).generation_id, 2);
}

// ---- OffsetCommit member checks ---------------------------------------------------------------

#[test]
fn commit_checks() {
    // An Empty group accepts generation -1 commits without member checks (simple consumers).
    let mut empty = GroupMetadata::new("g", 0);
    assert_eq!(check_commit(&mut empty, "", None, -1, 0), Ok(()));
    assert_eq!(
        check_commit(&mut empty, "m", None, 3, 0),
        Err(ResponseError::UnknownMemberId)
    );

    let (mut g, t) = completing(&["a", "b"]);
    assert_eq!(
        check_commit(&mut g, "a", None, 1, t),
        Err(ResponseError::RebalanceInProgress)
    );
    assert_eq!(
        check_commit(&mut g, "", None, -1, t),
        Err(ResponseError::UnknownMemberId),
        "-1 only bypasses checks when Empty"
    );
    assert_eq!(
        check_commit(&mut g, "a", None, 0, t),
        Err(ResponseError::IllegalGeneration)
    );
    assert_eq!(
        check_commit(&mut g, "ghost", None, 1, t),
        Err(ResponseError::UnknownMemberId)
    );

    let (mut g, t) = stable(&["a", "b"]);
    assert_eq!(check_commit(&mut g, "b", None, 1, t + 100), Ok(()));
    assert_eq!(
        g.members["b"].heartbeat_deadline,
        t + 100 + SESSION as i64,
        "a commit counts as a heartbeat"
    );
    assert_eq!(
        check_commit(&mut g, "b", None, -1, t),
        Err(ResponseError::IllegalGeneration)
    );
    // PreparingRebalance: commits of the current generation are still accepted.
    let _a = parked(join_as(&mut g, req("a"), t + 200, "x"));
    assert!(g.is(GroupState::PreparingRebalance));
    assert_eq!(check_commit(&mut g, "b", None, 1, t + 300), Ok(()));
    assert_eq!(g.members["b"].heartbeat_deadline, t + 300 + SESSION as i64);
    g.transition_to(GroupState::Dead, t);
    assert_eq!(
        check_commit(&mut g, "b", None, 1, t),
        Err(ResponseError::CoordinatorNotAvailable)
    );
}

#[test]
fn commit_from_a_fenced_static_member() {
    let mut g = GroupMetadata::new("g", 0);
    let _s = parked(join_as(&mut g, static_req("", "inst"), 0, "s"));
    let t = settle(&mut g);
    assert_eq!(
        check_commit(&mut g, "old-s", Some("inst"), 1, t),
        Err(ResponseError::FencedInstanceId)
    );
}

// ---- LeaveGroup ---------------------------------------------------------------------------

#[test]
fn leave_by_member_id_rebalances() {
    let (mut g, t) = stable(&["a", "b"]);
    let (e, store) = leave(&mut g, &cfg(), "b", None, t + 1);
    assert_eq!(e, None);
    assert!(store.is_none());
    assert!(!g.has("b"));
    assert!(g.is(GroupState::PreparingRebalance));
    assert_eq!(
        leave(&mut g, &cfg(), "b", None, t + 2).0,
        Some(ResponseError::UnknownMemberId)
    );
}

#[test]
fn leave_of_the_last_member_empties_the_group() {
    let (mut g, t) = stable(&["a"]);
    let (e, store) = leave(&mut g, &cfg(), "a", None, t + 1);
    assert_eq!(e, None);
    assert!(g.is(GroupState::Empty));
    assert_eq!(g.generation_id, 2);
    assert_eq!(
        g.current_state_timestamp,
        Some(t + 1),
        "offset expiry counts from here"
    );
    assert_eq!(
        store.map(|s| s.generation_id),
        Some(2),
        "the Empty group is written"
    );
}

#[test]
fn leave_of_static_members_by_instance_id_and_fencing() {
    let mut g = GroupMetadata::new("g", 0);
    let _s = parked(join_as(&mut g, static_req("", "inst"), 0, "s"));
    let _d = parked(join_as(&mut g, req(""), 0, "d"));
    let t = settle(&mut g);
    assert_eq!(
        leave(&mut g, &cfg(), "d", Some("inst"), t).0,
        Some(ResponseError::FencedInstanceId)
    );
    assert_eq!(
        leave(&mut g, &cfg(), "", Some("unknown"), t).0,
        Some(ResponseError::UnknownMemberId)
    );
    // Admin removal: member id "" with the instance id.
    assert_eq!(leave(&mut g, &cfg(), "", Some("inst"), t).0, None);
    assert!(!g.has("s"));
    assert!(
        g.static_members.is_empty(),
        "the instance mapping goes with the member"
    );
    assert!(g.is(GroupState::PreparingRebalance));
}

#[test]
fn leave_of_a_pending_member_can_complete_the_join() {
    let (mut g, t) = stable(&["a"]);
    let mut r = req("");
    r.require_known_member_id = true;
    let pending = reply(join_as(&mut g, r, t + 1, "p")).member_id;
    let mut a = parked(join_as(&mut g, req("a"), t + 2, "x"));
    still_parked(&mut a);
    let (e, store) = leave(&mut g, &cfg(), &pending, None, t + 3);
    assert_eq!(e, None, "a pending member may leave");
    assert!(store.is_none());
    assert!(g.pending_members.is_empty());
    assert!(g.is(GroupState::CompletingRebalance));
    assert_eq!(answered(&mut a).generation_id, 2);
}

// ---- Whole-group scenario -------------------------------------------------------------------

#[test]
fn two_members_then_a_third_then_an_expiry() {
    let c = cfg();
    let mut g = GroupMetadata::new("g", 0);
    // Two v4 consumers: MEMBER_ID_REQUIRED, then the real join.
    let mut ids = Vec::new();
    for n in ["c1", "c2"] {
        let mut r = req("");
        r.require_known_member_id = true;
        let res = reply(join_as(&mut g, r, 0, n));
        assert_eq!(res.error, Some(ResponseError::MemberIdRequired));
        ids.push(res.member_id);
    }
    assert!(g.is(GroupState::Empty));
    let mut rxs: Vec<_> = ids
        .iter()
        .map(|id| parked(join_as(&mut g, req(id), 1, "unused")))
        .collect();
    let t = settle(&mut g);
    let (r1, r2) = (answered(&mut rxs[0]), answered(&mut rxs[1]));
    assert_eq!(
        (r1.generation_id, r2.generation_id),
        (1, 1),
        "one generation for both"
    );
    assert_eq!(r1.leader_id, "c1");
    assert_eq!(
        r1.members.len(),
        2,
        "the leader gets both members' metadata"
    );
    assert!(r2.members.is_empty());

    // Leader assigns, follower syncs: Stable.
    let mut f = parked(sync_as(&mut g, "c2", &[], t).0);
    let (o, store) = sync_as(&mut g, "c1", &[("c1", "p0"), ("c2", "p1")], t);
    let mut l = parked(o);
    complete_sync(&mut g, &c, &store.expect("leader write"), Ok(()), t + 1);
    assert!(g.is(GroupState::Stable));
    assert_eq!(answered(&mut l).assignment, Bytes::from_static(b"p0"));
    assert_eq!(answered(&mut f).assignment, Bytes::from_static(b"p1"));

    // A third member joins: rebalance; the others learn it from their heartbeats and rejoin.
    let mut r3 = parked(join_as(&mut g, req(""), t + 100, "c3"));
    assert_eq!(
        heartbeat(&mut g, "c1", None, 1, t + 200),
        Some(ResponseError::RebalanceInProgress)
    );
    assert_eq!(
        heartbeat(&mut g, "c2", None, 1, t + 200),
        Some(ResponseError::RebalanceInProgress)
    );
    let mut j1 = parked(join_as(&mut g, req("c1"), t + 300, "x"));
    let mut j2 = parked(join_as(&mut g, req("c2"), t + 300, "x"));
    assert!(
        g.is(GroupState::CompletingRebalance),
        "everyone rejoined: the join completes early"
    );
    let (a1, a2, a3) = (answered(&mut j1), answered(&mut j2), answered(&mut r3));
    assert_eq!(
        (a1.generation_id, a2.generation_id, a3.generation_id),
        (2, 2, 2)
    );
    assert_eq!(a1.members.len(), 3);
    let t2 = t + 300;
    let (o, store) = sync_as(
        &mut g,
        "c1",
        &[("c1", "p0"), ("c2", "p1"), ("c3", "p2")],
        t2,
    );
    let _l = parked(o);
    complete_sync(&mut g, &c, &store.expect("leader write"), Ok(()), t2);
    for id in ["c2", "c3"] {
        assert_eq!(reply(sync_as(&mut g, id, &[], t2).0).error, None);
    }
    assert!(g.is(GroupState::Stable));

    // c3 dies: the others keep heartbeating; c3's session runs out and a rebalance starts.
    let mut now = t2;
    while g.has("c3") {
        now += 3_000;
        heartbeat(&mut g, "c1", None, 2, now);
        heartbeat(&mut g, "c2", None, 2, now);
        expire(&mut g, &c, now);
        assert!(
            now < t2 + 2 * SESSION as i64,
            "c3 should have expired by now"
        );
    }
    assert!(g.is(GroupState::PreparingRebalance));
    let mut j1 = parked(join_as(&mut g, req("c1"), now + 1, "x"));
    let mut j2 = parked(join_as(&mut g, req("c2"), now + 1, "x"));
    assert!(g.is(GroupState::CompletingRebalance));
    let a1 = answered(&mut j1);
    assert_eq!((a1.generation_id, a1.members.len()), (3, 2));
    assert_eq!(answered(&mut j2).generation_id, 3);
}

#[test]
fn a_stable_group_over_group_max_size_is_made_to_rebalance() {
    let (mut g, t) = stable(&["a", "b", "c"]);
    let small = GroupConfig { max_size: 2, ..cfg() };
    expire(&mut g, &small, t + 1);
    assert!(g.is(GroupState::PreparingRebalance));
    // Within the limit nothing happens.
    let (mut g, t) = stable(&["a", "b"]);
    expire(&mut g, &small, t + 1);
    assert!(g.is(GroupState::Stable));
}
