//! The rebalance protocol on one group: JoinGroup, SyncGroup, Heartbeat, LeaveGroup and the
//! timers (spec protocol-and-groups §2.4-2.9). Pure state transitions on a locked
//! [`GroupMetadata`]: replies to parked requests go through their oneshot channels, and the one
//! thing needing I/O — persisting the group — is returned to the caller as a [`StoreGroup`].

use bytes::Bytes;
use tokio::sync::oneshot;
use wire::ResponseError;

use super::metadata::{GroupMetadata, GroupState, JoinGroupResult, JoinTimer, MemberMetadata, SyncGroupResult};

/// Coordinator settings that shape the protocol (`group.*` broker configs).
#[derive(Debug, Clone, Copy)]
pub struct GroupConfig {
    /// `group.min.session.timeout.ms`.
    pub min_session_timeout_ms: i32,
    /// `group.max.session.timeout.ms`.
    pub max_session_timeout_ms: i32,
    /// `group.initial.rebalance.delay.ms`.
    pub initial_rebalance_delay_ms: i32,
    /// `group.max.size`.
    pub max_size: i32,
}

/// How long a newly joined member may stay parked without heartbeating (Kafka's hard-coded 5 min).
pub const NEW_MEMBER_JOIN_TIMEOUT_MS: i64 = 300_000;

/// A JoinGroup as the coordinator sees it.
#[derive(Debug, Clone)]
pub struct JoinRequest {
    /// The member id sent (`""` for a new member).
    pub member_id: String,
    /// Static membership id.
    pub group_instance_id: Option<String>,
    /// KIP-394: v4+ dynamic members must learn their id first.
    pub require_known_member_id: bool,
    /// From the request header.
    pub client_id: String,
    /// Java-style `/host`.
    pub client_host: String,
    /// Rebalance timeout (v0: the session timeout).
    pub rebalance_timeout_ms: i32,
    /// Session timeout.
    pub session_timeout_ms: i32,
    /// e.g. `consumer`.
    pub protocol_type: String,
    /// Ordered (name, metadata).
    pub protocols: Vec<(String, Bytes)>,
}

/// An answer now, or a receiver for an answer when the phase completes.
#[derive(Debug)]
pub enum Outcome<T> {
    /// Reply at once.
    Reply(T),
    /// Wait for the phase to complete.
    Parked(oneshot::Receiver<T>),
}

/// A request to persist the group record; `assignments` is set for a leader's SyncGroup.
#[derive(Debug, Clone)]
pub struct StoreGroup {
    /// The generation the write belongs to (completion is ignored if the group moved on).
    pub generation_id: i32,
    /// member id → assignment, for the leader's SyncGroup.
    pub assignments: Option<Vec<(String, Bytes)>>,
}

fn reply_join(member: &mut MemberMetadata, result: JoinGroupResult) {
    if let Some(tx) = member.awaiting_join.take() {
        let _ = tx.send(result);
    }
}

fn reply_sync(member: &mut MemberMetadata, result: SyncGroupResult) {
    if let Some(tx) = member.awaiting_sync.take() {
        let _ = tx.send(result);
    }
}

/// JoinGroup on an existing group (created by the caller if needed). `new_id` generates a
/// member id from a prefix. Returns the outcome and, rarely, a group write to do.
pub fn join(
    g: &mut GroupMetadata,
    cfg: &GroupConfig,
    req: JoinRequest,
    now: i64,
    new_id: impl FnOnce(&str) -> String,
) -> (Outcome<JoinGroupResult>, Option<StoreGroup>) {
    let known = !req.member_id.is_empty();
    let err = |member_id: &str, e| (Outcome::Reply(JoinGroupResult::error(member_id, e)), None);
    // Group size (spec §2.4 step 4).
    let max = cfg.max_size.max(0) as usize;
    let accept = match g.state {
        GroupState::Empty | GroupState::Dead => true,
        GroupState::PreparingRebalance => {
            (known && g.members.get(&req.member_id).is_some_and(|m| m.awaiting_join.is_some()))
                || g.num_awaiting_join() < max
        }
        _ => (known && g.has(&req.member_id)) || g.members.len() < max,
    };
    if !accept {
        if known && g.has(&req.member_id) {
            remove_member_and_update_group(g, cfg, &req.member_id, now);
        }
        return err("", ResponseError::GroupMaxSizeReached);
    }
    let mut store = None;
    let outcome = if !known {
        if g.is(GroupState::Dead) {
            return err("", ResponseError::CoordinatorNotAvailable);
        }
        if !g.supports_protocols(&req.protocol_type, &req.protocols) {
            return err("", ResponseError::InconsistentGroupProtocol);
        }
        let member_id = new_id(req.group_instance_id.as_deref().unwrap_or(&req.client_id));
        if g.static_member_id(req.group_instance_id.as_deref()).is_some() {
            let (outcome, s) = replace_static_member(g, cfg, req, member_id, now);
            store = s;
            outcome
        } else if req.require_known_member_id && req.group_instance_id.is_none() {
            g.pending_members.insert(member_id.clone(), now + req.session_timeout_ms as i64);
            return err(&member_id, ResponseError::MemberIdRequired);
        } else {
            Outcome::Parked(add_member_and_rebalance(g, cfg, req, member_id, now))
        }
    } else {
        let id = req.member_id.clone();
        if g.is(GroupState::Dead) {
            return err(&id, ResponseError::CoordinatorNotAvailable);
        }
        if !g.supports_protocols(&req.protocol_type, &req.protocols) {
            return err(&id, ResponseError::InconsistentGroupProtocol);
        }
        if g.pending_members.contains_key(&id) {
            Outcome::Parked(add_member_and_rebalance(g, cfg, req, id, now))
        } else if g.is_static_member_fenced(&id, req.group_instance_id.as_deref()) {
            return err(&id, ResponseError::FencedInstanceId);
        } else if !g.has(&id) || (req.group_instance_id.is_some() && g.static_member_id(req.group_instance_id.as_deref()).is_none()) {
            return err(&id, ResponseError::UnknownMemberId);
        } else {
            match g.state {
                GroupState::PreparingRebalance => Outcome::Parked(update_member_and_rebalance(g, cfg, &id, req, now)),
                GroupState::CompletingRebalance => {
                    if g.members.get(&id).is_some_and(|m| m.matches(&req.protocols)) {
                        Outcome::Reply(current_generation_reply(g, &id, g.is_leader(&id)))
                    } else {
                        Outcome::Parked(update_member_and_rebalance(g, cfg, &id, req, now))
                    }
                }
                GroupState::Stable => {
                    let unchanged = g.members.get(&id).is_some_and(|m| m.matches(&req.protocols));
                    if g.is_leader(&id) || !unchanged {
                        Outcome::Parked(update_member_and_rebalance(g, cfg, &id, req, now))
                    } else {
                        Outcome::Reply(current_generation_reply(g, &id, false))
                    }
                }
                GroupState::Empty | GroupState::Dead => return err(&id, ResponseError::UnknownMemberId),
            }
        }
    };
    if g.is(GroupState::PreparingRebalance) {
        if let Some(s) = try_complete_join(g, now) {
            store = Some(s);
        }
    }
    (outcome, store)
}

/// The current generation, as an immediate JoinGroup reply (members only for the leader).
fn current_generation_reply(g: &GroupMetadata, member_id: &str, with_members: bool) -> JoinGroupResult {
    JoinGroupResult {
        error: None,
        generation_id: g.generation_id,
        protocol_type: g.protocol_type.clone(),
        protocol_name: g.protocol_name.clone(),
        leader_id: g.leader_id.clone().unwrap_or_default(),
        member_id: member_id.to_string(),
        members: if with_members { g.current_member_metadata() } else { Vec::new() },
    }
}

fn add_member_and_rebalance(
    g: &mut GroupMetadata,
    cfg: &GroupConfig,
    req: JoinRequest,
    member_id: String,
    now: i64,
) -> oneshot::Receiver<JoinGroupResult> {
    let (tx, rx) = oneshot::channel();
    let member = MemberMetadata {
        member_id,
        group_instance_id: req.group_instance_id,
        client_id: req.client_id,
        client_host: req.client_host,
        rebalance_timeout_ms: req.rebalance_timeout_ms,
        session_timeout_ms: req.session_timeout_ms,
        protocol_type: req.protocol_type,
        protocols: req.protocols,
        assignment: Bytes::new(),
        awaiting_join: Some(tx),
        awaiting_sync: None,
        is_new: true,
        heartbeat_deadline: now + NEW_MEMBER_JOIN_TIMEOUT_MS,
    };
    if g.is(GroupState::PreparingRebalance) && g.generation_id == 0 {
        g.new_member_added = true;
    }
    g.add(member);
    maybe_prepare_rebalance(g, cfg, now);
    rx
}

fn update_member_and_rebalance(
    g: &mut GroupMetadata,
    cfg: &GroupConfig,
    member_id: &str,
    req: JoinRequest,
    now: i64,
) -> oneshot::Receiver<JoinGroupResult> {
    let (tx, rx) = oneshot::channel();
    if let Some(m) = g.members.get_mut(member_id) {
        // Only the protocols change: Kafka 2.8 keeps the timeouts the member first joined with.
        m.protocols = req.protocols;
        // A second JoinGroup replaces the first; the first connection learns to rejoin.
        reply_join(m, JoinGroupResult::error(member_id, ResponseError::RebalanceInProgress));
        m.awaiting_join = Some(tx);
    }
    maybe_prepare_rebalance(g, cfg, now);
    rx
}

/// A restarted static member (known instance id, empty member id) takes over its old identity
/// (spec §2.8).
fn replace_static_member(
    g: &mut GroupMetadata,
    cfg: &GroupConfig,
    req: JoinRequest,
    new_member_id: String,
    now: i64,
) -> (Outcome<JoinGroupResult>, Option<StoreGroup>) {
    let Some(old_id) = g.static_member_id(req.group_instance_id.as_deref()).cloned() else {
        return (Outcome::Parked(add_member_and_rebalance(g, cfg, req, new_member_id, now)), None);
    };
    let old_leader = g.leader_id.clone().unwrap_or_default();
    let was_leader = g.is_leader(&old_id);
    let Some(mut old) = g.remove(&old_id) else {
        return (Outcome::Parked(add_member_and_rebalance(g, cfg, req, new_member_id, now)), None);
    };
    reply_join(&mut old, JoinGroupResult::error(&old_id, ResponseError::FencedInstanceId));
    reply_sync(&mut old, SyncGroupResult::error(ResponseError::FencedInstanceId));
    let current_protocol = g.protocol_name.clone();
    let state = g.state;
    let (tx, rx) = oneshot::channel();
    // Kafka's replaceGroupInstance only renames the member: client id/host, timeouts and
    // assignment stay those of the old instance; the protocols are then updated.
    let member = MemberMetadata {
        member_id: new_member_id.clone(),
        protocols: req.protocols,
        awaiting_join: Some(tx),
        awaiting_sync: None,
        heartbeat_deadline: now + old.session_timeout_ms as i64,
        ..old
    };
    g.add(member);
    if was_leader {
        g.leader_id = Some(new_member_id.clone());
    }
    match state {
        GroupState::Stable if g.select_protocol() == current_protocol => {
            // No rebalance: the member gets the current generation and the old leader id, so a
            // restarted leader does not recompute assignments. The group is persisted afterwards.
            if let Some(m) = g.members.get_mut(&new_member_id) {
                m.awaiting_join = None;
            }
            let reply = JoinGroupResult {
                error: None,
                generation_id: g.generation_id,
                protocol_type: g.protocol_type.clone(),
                protocol_name: g.protocol_name.clone(),
                leader_id: old_leader,
                member_id: new_member_id,
                members: Vec::new(),
            };
            (Outcome::Reply(reply), Some(StoreGroup { generation_id: g.generation_id, assignments: None }))
        }
        GroupState::Stable | GroupState::CompletingRebalance => {
            maybe_prepare_rebalance(g, cfg, now);
            (Outcome::Parked(rx), None)
        }
        _ => (Outcome::Parked(rx), None),
    }
}

/// Start a rebalance unless one is already running.
pub fn maybe_prepare_rebalance(g: &mut GroupMetadata, cfg: &GroupConfig, now: i64) {
    if matches!(g.state, GroupState::Stable | GroupState::CompletingRebalance | GroupState::Empty) {
        prepare_rebalance(g, cfg, now);
    }
}

/// Enter PreparingRebalance with the right join timer (spec §2.4 prepareRebalance).
pub fn prepare_rebalance(g: &mut GroupMetadata, cfg: &GroupConfig, now: i64) {
    if g.is(GroupState::CompletingRebalance) {
        reset_and_propagate_assignment_error(g, ResponseError::RebalanceInProgress, now);
    }
    g.sync_deadline = None;
    let rebalance_timeout = g.rebalance_timeout_ms() as i64;
    g.join_timer = Some(if g.is(GroupState::Empty) {
        let delay = cfg.initial_rebalance_delay_ms.max(0) as i64;
        JoinTimer::Initial { deadline: now + delay, delay, remaining: (rebalance_timeout - delay).max(0) }
    } else {
        JoinTimer::Delayed { deadline: now + rebalance_timeout }
    });
    g.transition_to(GroupState::PreparingRebalance, now);
    tracing::info!("Preparing to rebalance group {} in state PreparingRebalance with old generation {}", g.group_id, g.generation_id);
}

/// Answer every parked SyncGroup with `error` and forget the assignments. A member that was
/// answered gets a fresh session timer (Kafka's propagateAssignment): while parked it counted as
/// alive, so its old deadline may already have passed.
pub fn reset_and_propagate_assignment_error(g: &mut GroupMetadata, error: ResponseError, now: i64) {
    for m in g.members.values_mut() {
        m.assignment = Bytes::new();
        if m.awaiting_sync.is_some() {
            reply_sync(m, SyncGroupResult::error(error));
            m.heartbeat_deadline = now + m.session_timeout_ms as i64;
        }
    }
}

/// Complete the join phase early if every member is back (never for the initial delayed join).
pub fn try_complete_join(g: &mut GroupMetadata, now: i64) -> Option<StoreGroup> {
    if matches!(g.join_timer, Some(JoinTimer::Delayed { .. })) && g.has_all_members_joined() {
        return complete_join(g, now);
    }
    None
}

/// End the join phase (spec §2.4 onCompleteJoin): drop absent dynamic members, start the next
/// generation, answer every parked JoinGroup. An Empty result must be persisted by the caller.
pub fn complete_join(g: &mut GroupMetadata, now: i64) -> Option<StoreGroup> {
    g.join_timer = None;
    let absent: Vec<String> = g
        .members
        .values()
        .filter(|m| m.awaiting_join.is_none() && m.group_instance_id.is_none())
        .map(|m| m.member_id.clone())
        .collect();
    for id in absent {
        g.remove(&id);
    }
    if g.is(GroupState::Dead) {
        return None;
    }
    let leader_rejoined = g.leader_id.as_ref().and_then(|l| g.members.get(l)).is_some_and(|m| m.awaiting_join.is_some());
    if !leader_rejoined {
        match g.members.values().find(|m| m.awaiting_join.is_some()).map(|m| m.member_id.clone()) {
            Some(new_leader) => g.leader_id = Some(new_leader),
            None if !g.members.is_empty() => {
                // Nobody rejoined (only static members left): wait for their sessions to expire.
                g.join_timer = Some(JoinTimer::Delayed { deadline: now + g.rebalance_timeout_ms() as i64 });
                return None;
            }
            None => {}
        }
    }
    g.generation_id += 1;
    let mut store = None;
    if g.members.is_empty() {
        g.protocol_name = None;
        g.transition_to(GroupState::Empty, now);
        store = Some(StoreGroup { generation_id: g.generation_id, assignments: None });
    } else {
        g.protocol_name = g.select_protocol();
        g.transition_to(GroupState::CompletingRebalance, now);
    }
    tracing::info!(
        "Stabilized group {} generation {} with {} members",
        g.group_id,
        g.generation_id,
        g.members.len()
    );
    let leader_members = g.current_member_metadata();
    let (generation, ptype, pname, leader) =
        (g.generation_id, g.protocol_type.clone(), g.protocol_name.clone(), g.leader_id.clone().unwrap_or_default());
    let mut synced = Vec::new();
    for m in g.members.values_mut() {
        let is_leader = m.member_id == leader;
        let result = JoinGroupResult {
            error: None,
            generation_id: generation,
            protocol_type: ptype.clone(),
            protocol_name: pname.clone(),
            leader_id: leader.clone(),
            member_id: m.member_id.clone(),
            members: if is_leader { leader_members.clone() } else { Vec::new() },
        };
        reply_join(m, result);
        m.heartbeat_deadline = now + m.session_timeout_ms as i64;
        m.is_new = false;
        synced.push(m.member_id.clone());
    }
    g.pending_sync_members = synced.into_iter().collect();
    if !g.members.is_empty() {
        g.sync_deadline = Some(now + g.rebalance_timeout_ms() as i64);
    }
    store
}

/// Remove a member (left or expired) and move the group on (spec §2.7).
pub fn remove_member_and_update_group(g: &mut GroupMetadata, cfg: &GroupConfig, member_id: &str, now: i64) -> Option<StoreGroup> {
    let mut member = g.remove(member_id)?;
    reply_join(&mut member, JoinGroupResult::error("", ResponseError::UnknownMemberId));
    reply_sync(&mut member, SyncGroupResult::error(ResponseError::UnknownMemberId));
    match g.state {
        GroupState::Stable | GroupState::CompletingRebalance => {
            maybe_prepare_rebalance(g, cfg, now);
            // Kafka watches the new DelayedJoin with tryCompleteElseWatch: if nobody is left to
            // wait for (the last member left), the join completes at once and the group is Empty.
            try_complete_join(g, now)
        }
        GroupState::PreparingRebalance => try_complete_join(g, now),
        _ => None,
    }
}

#[cfg(test)]
#[path = "membership_tests.rs"]
mod tests;

#[cfg(test)]
#[path = "static_membership_tests.rs"]
mod static_membership_tests;

#[cfg(test)]
#[path = "test_support.rs"]
pub(super) mod test_support;
