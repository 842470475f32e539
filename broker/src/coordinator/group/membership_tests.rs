//! JoinGroup and the join phase against spec protocol-and-groups §2.4 and §2.8: handling order,
//! MEMBER_ID_REQUIRED, group.max.size, protocol checks, the initial delayed join, DelayedJoin
//! completion, and whole rebalances driven through the public functions (static membership:
//! `static_membership_tests.rs`).

use super::super::session::{expire, leave};
use super::test_support::*;
use super::*;

#[test]
fn v4_dynamic_member_must_learn_its_id_first() {
    let c = cfg();
    let mut g = GroupMetadata::new("g", 0);
    let mut r = req("");
    r.require_known_member_id = true;
    let prefix = std::cell::RefCell::new(String::new());
    let (o, store) = join(&mut g, &c, r, 1_000, |p| {
        *prefix.borrow_mut() = p.to_string();
        format!("{p}-uuid")
    });
    let res = reply(o);
    assert!(store.is_none());
    assert_eq!(res.error, Some(ResponseError::MemberIdRequired));
    assert_eq!(
        res.member_id, "client-uuid",
        "the reply carries the generated id"
    );
    assert_eq!(
        prefix.into_inner(),
        "client",
        "dynamic ids are prefixed with the client id"
    );
    assert_eq!(
        (res.generation_id, res.leader_id.as_str(), res.members.len()),
        (-1, "", 0)
    );
    assert!(
        g.is(GroupState::Empty) && g.members.is_empty(),
        "no member yet"
    );
    assert_eq!(
        g.pending_members.get("client-uuid"),
        Some(&(1_000 + SESSION as i64)),
        "pending expiry = session timeout"
    );

    // The client comes back with its id and is added.
    let mut r = req("client-uuid");
    r.require_known_member_id = true;
    let (o, _) = join_as(&mut g, &c, r, 2_000, "unused");
    let mut rx = parked(o);
    still_parked(&mut rx);
    assert!(g.pending_members.is_empty());
    assert!(g.is(GroupState::PreparingRebalance));
    let m = &g.members["client-uuid"];
    assert!(m.is_new);
    assert_eq!(
        m.heartbeat_deadline,
        2_000 + NEW_MEMBER_JOIN_TIMEOUT_MS,
        "new members get the 5 minute join timeout"
    );
    assert_eq!(NEW_MEMBER_JOIN_TIMEOUT_MS, 300_000);
}

#[test]
fn pre_v4_and_static_new_members_are_added_directly() {
    let c = cfg();
    let mut g = GroupMetadata::new("g", 0);
    let _rx = parked(join_as(&mut g, &c, req(""), 0, "dyn-1").0);
    assert!(g.has("dyn-1"));
    // A static member never gets MEMBER_ID_REQUIRED, and its id is prefixed with the instance id.
    let mut r = static_req("", "inst");
    r.require_known_member_id = false;
    let prefix = std::cell::RefCell::new(String::new());
    let (o, _) = join(&mut g, &c, r, 0, |p| {
        *prefix.borrow_mut() = p.to_string();
        format!("{p}-uuid")
    });
    let _rx2 = parked(o);
    assert_eq!(prefix.into_inner(), "inst");
    assert_eq!(
        g.static_member_id(Some("inst")).map(String::as_str),
        Some("inst-uuid")
    );
    assert!(g.pending_members.is_empty());
}

#[test]
fn first_join_starts_the_initial_delayed_join() {
    let c = cfg();
    let mut g = GroupMetadata::new("g", 0);
    let mut rx = parked(join_as(&mut g, &c, req(""), 500, "a").0);
    assert!(g.is(GroupState::PreparingRebalance));
    assert_eq!(g.current_state_timestamp, Some(500));
    assert_eq!(
        g.join_timer,
        Some(JoinTimer::Initial {
            deadline: 500 + DELAY,
            delay: DELAY,
            remaining: REBALANCE as i64 - DELAY
        })
    );
    assert!(
        !g.new_member_added,
        "the member that starts the rebalance is not a 'new member added'"
    );
    assert!(g.is_leader("a"));
    assert_eq!(g.protocol_type.as_deref(), Some("consumer"));
    // Every member has joined, but the initial delay never completes early.
    still_parked(&mut rx);
    let _rx_b = parked(join_as(&mut g, &c, req(""), 600, "b").0);
    assert!(g.new_member_added);
    still_parked(&mut rx);
    assert!(g.is(GroupState::PreparingRebalance));
}

#[test]
fn initial_delay_extends_while_members_trickle_in_up_to_the_rebalance_timeout() {
    let c = cfg();
    let mut g = GroupMetadata::new("g", 0);
    let mut rxs = vec![parked(join_as(&mut g, &c, req(""), 0, "m0").0)];
    // A new member arrives before every firing; the phase still ends at the rebalance timeout.
    let mut now = 0;
    let mut n = 1;
    while let Some(JoinTimer::Initial { deadline, .. }) = g.join_timer {
        rxs.push(parked(
            join_as(&mut g, &c, req(""), deadline - 1, &format!("m{n}")).0,
        ));
        n += 1;
        assert!(expire(&mut g, &c, deadline - 1).is_none());
        assert!(
            g.is(GroupState::PreparingRebalance),
            "nothing fires before the deadline"
        );
        now = deadline;
        expire(&mut g, &c, now);
    }
    assert_eq!(
        now, REBALANCE as i64,
        "delays 3000+3000+3000+... capped at the rebalance timeout"
    );
    assert!(g.is(GroupState::CompletingRebalance));
    assert_eq!(g.generation_id, 1);
    for rx in &mut rxs {
        assert_eq!(answered(rx).generation_id, 1);
    }
}

#[test]
fn initial_delay_steps_follow_the_extension_rule() {
    let c = cfg();
    let mut g = GroupMetadata::new("g", 0);
    let _a = parked(join_as(&mut g, &c, req(""), 0, "a").0);
    let _b = parked(join_as(&mut g, &c, req(""), 10, "b").0);
    expire(&mut g, &c, DELAY);
    assert_eq!(
        g.join_timer,
        Some(JoinTimer::Initial {
            deadline: 2 * DELAY,
            delay: DELAY,
            remaining: REBALANCE as i64 - 2 * DELAY
        })
    );
    assert!(
        !g.new_member_added,
        "the flag is cleared when the delay is extended"
    );
    // Nobody new during the second delay: the join completes.
    expire(&mut g, &c, 2 * DELAY);
    assert!(g.is(GroupState::CompletingRebalance));
}

#[test]
fn initial_delay_without_remaining_time_completes_despite_new_members() {
    let c = cfg();
    let mut g = GroupMetadata::new("g", 0);
    let mut r = req("");
    r.rebalance_timeout_ms = 2_000; // below the 3000 ms delay: remaining = 0
    let mut a = parked(join_as(&mut g, &c, r.clone(), 0, "a").0);
    let _b = parked(join_as(&mut g, &c, r, 1, "b").0);
    assert_eq!(
        g.join_timer,
        Some(JoinTimer::Initial {
            deadline: DELAY,
            delay: DELAY,
            remaining: 0
        })
    );
    expire(&mut g, &c, DELAY);
    assert!(g.is(GroupState::CompletingRebalance));
    assert_eq!(answered(&mut a).generation_id, 1);
}

#[test]
fn join_completion_answers_everyone_and_only_the_leader_gets_members() {
    let c = cfg();
    let mut g = GroupMetadata::new("g", 0);
    let mut a = parked(join_as(&mut g, &c, req(""), 0, "a").0);
    let mut b = parked(join_as(&mut g, &c, req(""), 0, "b").0);
    let t = settle(&mut g, &c);
    let (ra, rb) = (answered(&mut a), answered(&mut b));
    assert_eq!(ra.error, None);
    assert_eq!(
        (
            ra.generation_id,
            ra.leader_id.as_str(),
            ra.member_id.as_str()
        ),
        (1, "a", "a")
    );
    assert_eq!(ra.protocol_type.as_deref(), Some("consumer"));
    assert_eq!(ra.protocol_name.as_deref(), Some("range"));
    assert_eq!(
        ra.members,
        vec![
            ("a".to_string(), None, Bytes::from_static(b"meta")),
            ("b".to_string(), None, Bytes::from_static(b"meta")),
        ],
        "the leader sees every member's metadata"
    );
    assert_eq!(
        (
            rb.generation_id,
            rb.leader_id.as_str(),
            rb.member_id.as_str()
        ),
        (1, "a", "b")
    );
    assert!(rb.members.is_empty(), "followers get no member list");
    // After the reply: session timers, isNew cleared, pending sync, pending-sync deadline.
    for m in g.members.values() {
        assert_eq!(m.heartbeat_deadline, t + SESSION as i64);
        assert!(!m.is_new);
        assert!(m.awaiting_join.is_none());
    }
    assert_eq!(g.pending_sync_members.len(), 2);
    assert_eq!(g.sync_deadline, Some(t + REBALANCE as i64));
    assert!(g.join_timer.is_none());
}

#[test]
fn two_members_one_generation_then_a_third_joins_and_triggers_a_rebalance() {
    let c = cfg();
    let mut g = stable_group(&["a", "b"]);
    assert_eq!(g.generation_id, 1);
    assert_eq!(g.members["b"].assignment, Bytes::from_static(b"b"));
    let now = 10_000;
    let mut c_rx = parked(join_as(&mut g, &c, req(""), now, "c").0);
    assert!(g.is(GroupState::PreparingRebalance));
    assert_eq!(
        g.join_timer,
        Some(JoinTimer::Delayed {
            deadline: now + REBALANCE as i64
        })
    );
    // The old members rejoin; as soon as all three are parked the join completes early.
    let mut a = parked(join_as(&mut g, &c, req("a"), now + 1, "x").0);
    still_parked(&mut c_rx);
    let mut b = parked(join_as(&mut g, &c, req("b"), now + 2, "x").0);
    assert!(g.is(GroupState::CompletingRebalance));
    assert_eq!(g.generation_id, 2);
    assert_eq!(
        answered(&mut a).members.len(),
        3,
        "the leader sees all three"
    );
    assert!(answered(&mut b).members.is_empty());
    assert_eq!(answered(&mut c_rx).generation_id, 2);
}

#[test]
fn stable_leader_rejoin_rebalances_even_with_unchanged_metadata() {
    let c = cfg();
    let mut g = stable_group(&["a", "b"]);
    let mut rx = parked(join_as(&mut g, &c, req("a"), 10_000, "x").0);
    assert!(g.is(GroupState::PreparingRebalance));
    still_parked(&mut rx);
}

#[test]
fn stable_follower_with_same_metadata_gets_the_current_generation() {
    let c = cfg();
    let mut g = stable_group(&["a", "b"]);
    let (o, store) = join_as(&mut g, &c, req("b"), 10_000, "x");
    let r = reply(o);
    assert!(store.is_none());
    assert!(g.is(GroupState::Stable), "no rebalance");
    assert_eq!(
        (
            r.error,
            r.generation_id,
            r.leader_id.as_str(),
            r.member_id.as_str()
        ),
        (None, 1, "a", "b")
    );
    assert!(r.members.is_empty());
}

#[test]
fn stable_follower_with_changed_metadata_rebalances() {
    let c = cfg();
    let mut g = stable_group(&["a", "b"]);
    let _rx = parked(
        join_as(
            &mut g,
            &c,
            with_meta(req("b"), "new-subscription"),
            10_000,
            "x",
        )
        .0,
    );
    assert!(g.is(GroupState::PreparingRebalance));
    assert_eq!(
        g.members["b"].protocols[0].1,
        Bytes::from_static(b"new-subscription")
    );
}

/// A group in CompletingRebalance (generation 1) whose members `a` (leader) and `b` got their join replies.
fn completing_group() -> GroupMetadata {
    let c = cfg();
    let mut g = GroupMetadata::new("g", 0);
    let _a = parked(join_as(&mut g, &c, req(""), 0, "a").0);
    let _b = parked(join_as(&mut g, &c, req(""), 0, "b").0);
    settle(&mut g, &c);
    assert!(g.is(GroupState::CompletingRebalance));
    g
}

#[test]
fn completing_rebalance_same_metadata_replies_at_once_members_only_for_the_leader() {
    let c = cfg();
    let mut g = completing_group();
    let leader = reply(join_as(&mut g, &c, req("a"), JOINED + 1, "x").0);
    assert_eq!(
        (
            leader.error,
            leader.generation_id,
            leader.leader_id.as_str()
        ),
        (None, 1, "a")
    );
    assert_eq!(leader.members.len(), 2);
    let follower = reply(join_as(&mut g, &c, req("b"), JOINED + 1, "x").0);
    assert!(follower.members.is_empty());
    assert!(g.is(GroupState::CompletingRebalance));
}

#[test]
fn completing_rebalance_changed_metadata_rebalances_and_fails_parked_syncs() {
    let c = cfg();
    let mut g = completing_group();
    let mut b_sync = parked(sync_as(&mut g, "b", &[], JOINED + 1).0);
    if let Some(m) = g.members.get_mut("b") {
        m.assignment = Bytes::from_static(b"stale");
    }
    let _rx = parked(join_as(&mut g, &c, with_meta(req("a"), "changed"), JOINED + 2, "x").0);
    assert!(g.is(GroupState::PreparingRebalance));
    assert_eq!(
        answered(&mut b_sync).error,
        Some(ResponseError::RebalanceInProgress)
    );
    assert!(
        g.members.values().all(|m| m.assignment.is_empty()),
        "assignments are cleared"
    );
    assert_eq!(g.sync_deadline, None, "the pending-sync timer is cancelled");
}

#[test]
fn new_member_in_completing_rebalance_rebalances() {
    let c = cfg();
    let mut g = completing_group();
    let _rx = parked(join_as(&mut g, &c, req(""), JOINED + 1, "c").0);
    assert!(g.is(GroupState::PreparingRebalance));
    assert_eq!(
        g.join_timer,
        Some(JoinTimer::Delayed {
            deadline: JOINED + 1 + REBALANCE as i64
        })
    );
}

#[test]
fn join_timeout_removes_dynamic_members_that_did_not_rejoin_and_keeps_static_ones() {
    let c = cfg();
    let mut g = GroupMetadata::new("g", 0);
    let _a = parked(join_as(&mut g, &c, long(req("")), 0, "a").0);
    let _b = parked(join_as(&mut g, &c, long(req("")), 0, "b").0);
    let _s = parked(join_as(&mut g, &c, long(static_req("", "inst")), 0, "s").0);
    let t = settle(&mut g, &c);
    // Leader "a" and static "s" do not rejoin; "b" does (with new metadata, forcing a rebalance).
    let now = t + 100;
    let mut b = parked(join_as(&mut g, &c, long(with_meta(req("b"), "changed")), now, "x").0);
    assert!(g.is(GroupState::PreparingRebalance));
    let deadline = now + REBALANCE as i64;
    assert_eq!(g.join_timer, Some(JoinTimer::Delayed { deadline }));
    expire(&mut g, &c, deadline);
    assert!(
        !g.has("a"),
        "a dynamic member that did not rejoin is removed"
    );
    assert!(
        g.has("s"),
        "a static member is kept even though it did not rejoin"
    );
    assert!(g.is(GroupState::CompletingRebalance));
    assert_eq!(g.generation_id, 2);
    let rb = answered(&mut b);
    assert_eq!(rb.leader_id, "b", "a rejoined member takes over leadership");
    assert_eq!(
        rb.members.len(),
        2,
        "the new leader sees b and the static member"
    );
}

#[test]
fn join_phase_with_only_absent_static_members_waits_again() {
    let c = cfg();
    let mut g = GroupMetadata::new("g", 0);
    let _s = parked(join_as(&mut g, &c, long(static_req("", "inst")), 0, "s").0);
    expire(&mut g, &c, DELAY);
    let mut sync_rx = parked(sync_as(&mut g, "s", &[("s", "x")], DELAY).0);
    // A new dynamic member joins and then leaves while the static member never rejoins.
    let _d = parked(join_as(&mut g, &c, req(""), DELAY + 1, "d").0);
    assert_eq!(
        answered(&mut sync_rx).error,
        Some(ResponseError::RebalanceInProgress)
    );
    let (e, _) = leave(&mut g, &c, "d", None, DELAY + 2);
    assert_eq!(e, None);
    let Some(JoinTimer::Delayed { deadline }) = g.join_timer else {
        panic!("expected a DelayedJoin")
    };
    assert!(expire(&mut g, &c, deadline).is_none());
    assert!(
        g.is(GroupState::PreparingRebalance),
        "nobody rejoined: wait for the session timeouts"
    );
    assert_eq!(g.generation_id, 1);
    assert_eq!(
        g.join_timer,
        Some(JoinTimer::Delayed {
            deadline: deadline + REBALANCE as i64
        })
    );
}

#[test]
fn join_phase_ending_with_no_members_makes_the_group_empty_and_persists_it() {
    let c = cfg();
    let mut g = stable_group(&["a"]);
    // A rebalance starts (as after a failed assignment write) and "a" never rejoins.
    prepare_rebalance(&mut g, &c, 5_000);
    let Some(JoinTimer::Delayed { deadline }) = g.join_timer else {
        panic!("expected a DelayedJoin")
    };
    if let Some(m) = g.members.get_mut("a") {
        m.heartbeat_deadline = i64::MAX;
    }
    let store = expire(&mut g, &c, deadline);
    assert!(!g.has("a"));
    assert!(g.is(GroupState::Empty));
    assert_eq!(g.generation_id, 2);
    assert_eq!(g.protocol_name, None);
    assert!(g.pending_sync_members.is_empty() && g.sync_deadline.is_none());
    assert_eq!(
        store.map(|s| (s.generation_id, s.assignments.is_none())),
        Some((2, true))
    );
}

#[test]
fn a_new_member_parked_longer_than_five_minutes_is_expired() {
    let c = cfg();
    let mut g = stable_group(&["a"]);
    if let Some(m) = g.members.get_mut("a") {
        m.heartbeat_deadline = i64::MAX;
    }
    let mut r = req("");
    r.rebalance_timeout_ms = 600_000;
    let mut b = parked(join_as(&mut g, &c, r, 10_000, "b").0);
    assert!(expire(&mut g, &c, 10_000 + NEW_MEMBER_JOIN_TIMEOUT_MS - 1).is_none());
    assert!(
        g.has("b"),
        "a parked new member survives until the join timeout"
    );
    expire(&mut g, &c, 10_000 + NEW_MEMBER_JOIN_TIMEOUT_MS);
    assert!(!g.has("b"));
    let r = answered(&mut b);
    assert_eq!(
        (r.error, r.member_id.as_str()),
        (Some(ResponseError::UnknownMemberId), "")
    );
    assert!(
        g.is(GroupState::PreparingRebalance),
        "a has not rejoined yet"
    );
}

#[test]
fn group_max_size_rejects_new_members_beyond_the_limit() {
    let mut c = cfg();
    c.max_size = 2;
    let mut g = stable_group(&["a", "b"]);
    let r = reply(join_as(&mut g, &c, req(""), 10_000, "c").0);
    assert_eq!(r.error, Some(ResponseError::GroupMaxSizeReached));
    assert_eq!(r.member_id, "");
    assert!(!g.has("c") && g.is(GroupState::Stable));
    // Existing members are still accepted.
    let _a = parked(join_as(&mut g, &c, req("a"), 10_001, "x").0);
    assert!(g.is(GroupState::PreparingRebalance));
    // PreparingRebalance counts parked joins: one awaiting (< 2), so a new member fits...
    let _c = parked(join_as(&mut g, &c, req(""), 10_002, "c").0);
    assert_eq!(g.num_awaiting_join(), 2);
    // ...and now the existing but not yet rejoined "b" is rejected and removed.
    let r = reply(join_as(&mut g, &c, req("b"), 10_003, "x").0);
    assert_eq!(r.error, Some(ResponseError::GroupMaxSizeReached));
    assert!(!g.has("b"), "a rejected member is removed from the group");
}

#[test]
fn group_max_size_never_rejects_in_empty() {
    let mut c = cfg();
    c.max_size = 0;
    let mut g = GroupMetadata::new("g", 0);
    let _rx = parked(join_as(&mut g, &c, req(""), 0, "a").0);
    assert!(g.has("a"));
}

#[test]
fn inconsistent_protocols_are_rejected() {
    let c = cfg();
    let mut g = stable_group(&["a", "b"]);
    let mut r = req("");
    r.protocol_type = "connect".into();
    let res = reply(join_as(&mut g, &c, r, 10_000, "c").0);
    assert_eq!(
        (res.error, res.member_id.as_str()),
        (Some(ResponseError::InconsistentGroupProtocol), "")
    );
    let mut r = req("b");
    r.protocols = vec![("roundrobin".into(), Bytes::new())];
    let res = reply(join_as(&mut g, &c, r, 10_000, "x").0);
    assert_eq!(
        (res.error, res.member_id.as_str()),
        (Some(ResponseError::InconsistentGroupProtocol), "b")
    );
    assert!(g.is(GroupState::Stable));

    let mut empty = GroupMetadata::new("e", 0);
    let mut r = req("");
    r.protocols.clear();
    assert_eq!(
        reply(join_as(&mut empty, &c, r, 0, "a").0).error,
        Some(ResponseError::InconsistentGroupProtocol)
    );
    let mut r = req("");
    r.protocol_type.clear();
    assert_eq!(
        reply(join_as(&mut empty, &c, r, 0, "a").0).error,
        Some(ResponseError::InconsistentGroupProtocol)
    );
    assert!(empty.members.is_empty());
}

#[test]
fn unknown_member_ids_and_dead_groups() {
    let c = cfg();
    let mut g = stable_group(&["a"]);
    let r = reply(join_as(&mut g, &c, req("ghost"), 10_000, "x").0);
    assert_eq!(
        (r.error, r.member_id.as_str()),
        (Some(ResponseError::UnknownMemberId), "ghost")
    );
    assert_eq!((r.generation_id, r.leader_id.as_str()), (-1, ""));

    let mut empty = GroupMetadata::new("e", 0);
    let r = reply(join_as(&mut empty, &c, req("ghost"), 0, "x").0);
    assert_eq!(
        r.error,
        Some(ResponseError::UnknownMemberId),
        "a known id cannot join an Empty group"
    );

    g.transition_to(GroupState::Dead, 10_000);
    let r = reply(join_as(&mut g, &c, req(""), 10_000, "x").0);
    assert_eq!(
        (r.error, r.member_id.as_str()),
        (Some(ResponseError::CoordinatorNotAvailable), "")
    );
    let r = reply(join_as(&mut g, &c, req("a"), 10_000, "x").0);
    assert_eq!(
        (r.error, r.member_id.as_str()),
        (Some(ResponseError::CoordinatorNotAvailable), "a")
    );
}

#[test]
fn removing_a_parked_member_answers_unknown_member_id_and_rechecks_the_join() {
    let c = cfg();
    let mut g = stable_group(&["a", "b"]);
    let mut a = parked(join_as(&mut g, &c, req("a"), 10_000, "x").0);
    assert!(g.is(GroupState::PreparingRebalance));
    // Removing "b" (not rejoined) lets the join complete at once with "a" alone.
    assert!(remove_member_and_update_group(&mut g, &c, "b", 10_001).is_none());
    assert!(g.is(GroupState::CompletingRebalance));
    assert_eq!(answered(&mut a).members.len(), 1);

    // Removing a member with a parked join answers it with UNKNOWN_MEMBER_ID and member id "".
    let mut c_rx = parked(join_as(&mut g, &c, req(""), 10_002, "c").0);
    remove_member_and_update_group(&mut g, &c, "c", 10_003);
    let r = answered(&mut c_rx);
    assert_eq!(
        (r.error, r.member_id.as_str()),
        (Some(ResponseError::UnknownMemberId), "")
    );
}

#[test]
fn removing_a_member_from_stable_starts_a_rebalance() {
    let c = cfg();
    let mut g = stable_group(&["a", "b", "c"]);
    remove_member_and_update_group(&mut g, &c, "a", 10_000);
    assert!(g.is(GroupState::PreparingRebalance));
    assert!(g.leader_id.is_some() && !g.is_leader("a"));
}

#[test]
fn last_member_leaving_a_stable_group_empties_it_at_once() {
    // Kafka's DelayedJoin is tried immediately when watched: with no members left,
    // hasAllMembersJoined holds and the join phase completes into Empty straight away.
    let c = cfg();
    let mut g = stable_group(&["a"]);
    let store = remove_member_and_update_group(&mut g, &c, "a", 10_000);
    assert!(g.is(GroupState::Empty));
    assert_eq!(g.generation_id, 2);
    assert_eq!(
        store.map(|s| s.generation_id),
        Some(2),
        "the Empty group is persisted"
    );
}

#[test]
fn prepare_rebalance_from_stable_uses_the_group_rebalance_timeout() {
    let c = cfg();
    let mut g = stable_group(&["a", "b"]);
    if let Some(m) = g.members.get_mut("b") {
        m.rebalance_timeout_ms = 60_000;
    }
    prepare_rebalance(&mut g, &c, 50_000);
    assert_eq!(g.join_timer, Some(JoinTimer::Delayed { deadline: 110_000 }));
    assert_eq!(g.current_state_timestamp, Some(50_000));
    // maybe_prepare_rebalance does nothing while already preparing.
    maybe_prepare_rebalance(&mut g, &c, 60_000);
    assert_eq!(g.join_timer, Some(JoinTimer::Delayed { deadline: 110_000 }));
}

#[test]
fn initial_delay_is_not_extended_for_an_empty_group_past_generation_zero() {
    let c = cfg();
    let mut g = stable_group(&["a"]);
    leave(&mut g, &c, "a", None, 10_000);
    assert!(g.is(GroupState::Empty));
    let _b = parked(join_as(&mut g, &c, req(""), 20_000, "b").0);
    let _c = parked(join_as(&mut g, &c, req(""), 20_001, "c").0);
    assert!(
        matches!(g.join_timer, Some(JoinTimer::Initial { .. })),
        "Empty always starts with the initial delay"
    );
    assert!(!g.new_member_added, "only generation 0 tracks new members");
    expire(&mut g, &c, 20_000 + DELAY);
    assert!(g.is(GroupState::CompletingRebalance));
}

#[test]
fn rejoin_updates_protocols_but_keeps_the_original_timeouts() {
    let c = cfg();
    let mut g = stable_group(&["a", "b"]);
    let mut r = with_meta(req("b"), "changed");
    r.session_timeout_ms = 30_000;
    r.rebalance_timeout_ms = 600_000;
    let _rx = parked(join_as(&mut g, &c, r, 10_000, "x").0);
    let m = &g.members["b"];
    assert_eq!(m.protocols[0].1, Bytes::from_static(b"changed"));
    assert_eq!(
        (m.session_timeout_ms, m.rebalance_timeout_ms),
        (SESSION, REBALANCE)
    );
    assert_eq!(
        g.join_timer,
        Some(JoinTimer::Delayed {
            deadline: 10_000 + REBALANCE as i64
        })
    );
}
