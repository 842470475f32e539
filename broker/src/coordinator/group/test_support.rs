//! Helpers shared by the group coordinator's state-machine tests: a standard config and
//! JoinGroup request, and drivers that take a group through join, the join timers and sync.

use bytes::Bytes;
use tokio::sync::oneshot;
use tokio::sync::oneshot::error::TryRecvError;

use super::super::metadata::{
    GroupMetadata, GroupState, JoinGroupResult, JoinTimer, SyncGroupResult,
};
use super::super::session::{complete_sync, expire, sync, SyncRequest};
use super::{join, GroupConfig, JoinRequest, Outcome, StoreGroup};

pub(crate) const SESSION: i32 = 10_000;
pub(crate) const REBALANCE: i32 = 20_000;
pub(crate) const DELAY: i64 = 3_000;
/// When an initial join of several members (all in within the first delay) ends: one extension.
pub(crate) const JOINED: i64 = 2 * DELAY;

pub(crate) fn cfg() -> GroupConfig {
    GroupConfig {
        min_session_timeout_ms: 6_000,
        max_session_timeout_ms: 1_800_000,
        initial_rebalance_delay_ms: DELAY as i32,
        max_size: i32::MAX,
    }
}

pub(crate) fn req(member_id: &str) -> JoinRequest {
    JoinRequest {
        member_id: member_id.to_string(),
        group_instance_id: None,
        require_known_member_id: false,
        client_id: "client".to_string(),
        client_host: "/127.0.0.1".to_string(),
        rebalance_timeout_ms: REBALANCE,
        session_timeout_ms: SESSION,
        protocol_type: "consumer".to_string(),
        protocols: vec![("range".to_string(), Bytes::from_static(b"meta"))],
    }
}

pub(crate) fn with_meta(mut r: JoinRequest, meta: &str) -> JoinRequest {
    r.protocols = vec![("range".to_string(), Bytes::from(meta.to_string()))];
    r
}

/// A request whose session outlives the rebalance timeout, so only the join phase removes it.
pub(crate) fn long(mut r: JoinRequest) -> JoinRequest {
    r.session_timeout_ms = 60_000;
    r
}

pub(crate) fn static_req(member_id: &str, instance: &str) -> JoinRequest {
    let mut r = req(member_id);
    r.group_instance_id = Some(instance.to_string());
    r
}

pub(crate) type JoinOutcome = (Outcome<JoinGroupResult>, Option<StoreGroup>);

/// JoinGroup whose generated member id (if any) is `new_id`.
pub(crate) fn join_as(
    g: &mut GroupMetadata,
    c: &GroupConfig,
    r: JoinRequest,
    now: i64,
    new_id: &str,
) -> JoinOutcome {
    join(g, c, r, now, |_| new_id.to_string())
}

pub(crate) fn parked<T: std::fmt::Debug>(o: Outcome<T>) -> oneshot::Receiver<T> {
    match o {
        Outcome::Parked(rx) => rx,
        Outcome::Reply(r) => panic!("expected a parked request, got {r:?}"),
    }
}

pub(crate) fn reply<T: std::fmt::Debug>(o: Outcome<T>) -> T {
    match o {
        Outcome::Reply(r) => r,
        Outcome::Parked(_) => panic!("expected an immediate reply"),
    }
}

pub(crate) fn answered<T>(rx: &mut oneshot::Receiver<T>) -> T {
    match rx.try_recv() {
        Ok(v) => v,
        Err(e) => panic!("parked request not answered: {e:?}"),
    }
}

pub(crate) fn still_parked<T: std::fmt::Debug>(rx: &mut oneshot::Receiver<T>) {
    assert_eq!(
        rx.try_recv().err(),
        Some(TryRecvError::Empty),
        "request should still be parked"
    );
}

pub(crate) fn sync_req(
    g: &GroupMetadata,
    member_id: &str,
    assignments: &[(&str, &str)],
) -> SyncRequest {
    SyncRequest {
        generation_id: g.generation_id,
        member_id: member_id.to_string(),
        group_instance_id: g
            .members
            .get(member_id)
            .and_then(|m| m.group_instance_id.clone()),
        protocol_type: None,
        protocol_name: None,
        assignments: assignments
            .iter()
            .map(|(m, a)| (m.to_string(), Bytes::from(a.to_string())))
            .collect(),
    }
}

/// Fire the join timers (the initial delay and its extensions) until the join phase ends;
/// returns when it ended.
pub(crate) fn settle(g: &mut GroupMetadata, c: &GroupConfig) -> i64 {
    loop {
        let deadline = match g.join_timer {
            Some(JoinTimer::Initial { deadline, .. }) | Some(JoinTimer::Delayed { deadline }) => {
                deadline
            }
            None => panic!("no join phase running"),
        };
        expire(g, c, deadline);
        if !g.is(GroupState::PreparingRebalance) {
            return deadline;
        }
    }
}

/// SyncGroup from `member_id` in the group's current generation.
pub(crate) fn sync_as(
    g: &mut GroupMetadata,
    member_id: &str,
    assignments: &[(&str, &str)],
    now: i64,
) -> (Outcome<SyncGroupResult>, Option<StoreGroup>) {
    let r = sync_req(g, member_id, assignments);
    sync(g, r, now)
}

/// A Stable generation-1 group built through join, the initial delay, sync and the store callback.
/// Members `ids` are dynamic (v3-style joins); the first is the leader.
pub(crate) fn stable_group(ids: &[&str]) -> GroupMetadata {
    let c = cfg();
    let mut g = GroupMetadata::new("g", 0);
    let mut rxs = Vec::new();
    for id in ids {
        rxs.push(parked(join_as(&mut g, &c, req(""), 0, id).0));
    }
    let t = settle(&mut g, &c);
    assert!(g.is(GroupState::CompletingRebalance));
    for rx in &mut rxs {
        assert_eq!(answered(rx).error, None);
    }
    let assignments: Vec<(&str, &str)> = ids.iter().map(|id| (*id, *id)).collect();
    let mut syncs = Vec::new();
    let mut store = None;
    for id in ids.iter().rev() {
        let (o, s) = sync_as(&mut g, id, &assignments, t + 1);
        syncs.push(parked(o));
        store = store.or(s);
    }
    let store = store.expect("the leader's sync returns the group write");
    complete_sync(&mut g, &c, &store, Ok(()), t + 2);
    assert!(g.is(GroupState::Stable));
    for rx in &mut syncs {
        assert_eq!(answered(rx).error, None);
    }
    g
}

/// A ConsumerProtocol subscription: version, topics, null user data, and (v1+) no owned partitions.
pub(crate) fn consumer_subscription(version: i16, topics: &[&str]) -> Bytes {
    let mut b = Vec::new();
    b.extend_from_slice(&version.to_be_bytes());
    b.extend_from_slice(&(topics.len() as i32).to_be_bytes());
    for t in topics {
        b.extend_from_slice(&(t.len() as i16).to_be_bytes());
        b.extend_from_slice(t.as_bytes());
    }
    b.extend_from_slice(&(-1i32).to_be_bytes());
    if version >= 1 {
        b.extend_from_slice(&0i32.to_be_bytes());
    }
    Bytes::from(b)
}
