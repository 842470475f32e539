//! SyncGroup, Heartbeat, LeaveGroup and the timers that expire members, pending members, join
//! phases and pending syncs (spec protocol-and-groups §2.5-2.9). Pure transitions on a locked
//! group, like [`super::membership`].

use bytes::Bytes;
use tokio::sync::oneshot;
use wire::ResponseError;

use super::membership::{
    complete_join, maybe_prepare_rebalance, prepare_rebalance, remove_member_and_update_group,
    reset_and_propagate_assignment_error, try_complete_join, GroupConfig, Outcome, StoreGroup,
};
use super::metadata::{GroupMetadata, GroupState, JoinTimer, SyncGroupResult};

/// A SyncGroup as the coordinator sees it.
#[derive(Debug, Clone)]
pub struct SyncRequest {
    /// Generation the member believes in.
    pub generation_id: i32,
    /// Member id.
    pub member_id: String,
    /// Static membership id.
    pub group_instance_id: Option<String>,
    /// v5+: must match the group's if given.
    pub protocol_type: Option<String>,
    /// v5+: must match the group's if given.
    pub protocol_name: Option<String>,
    /// The leader's assignment (empty from followers).
    pub assignments: Vec<(String, Bytes)>,
}

/// Checks shared by SyncGroup, Heartbeat and OffsetCommit: Dead, fenced, unknown member, generation.
fn check_member(g: &GroupMetadata, member_id: &str, instance_id: Option<&str>, generation_id: i32) -> Result<(), ResponseError> {
    if g.is(GroupState::Dead) {
        Err(ResponseError::CoordinatorNotAvailable)
    } else if g.is_static_member_fenced(member_id, instance_id) {
        Err(ResponseError::FencedInstanceId)
    } else if !g.has(member_id) {
        Err(ResponseError::UnknownMemberId)
    } else if generation_id != g.generation_id {
        Err(ResponseError::IllegalGeneration)
    } else {
        Ok(())
    }
}

fn reset_heartbeat(g: &mut GroupMetadata, member_id: &str, now: i64) {
    if let Some(m) = g.members.get_mut(member_id) {
        m.heartbeat_deadline = now + m.session_timeout_ms as i64;
    }
}

fn member_synced(g: &mut GroupMetadata, member_id: &str) {
    g.pending_sync_members.remove(member_id);
    if g.pending_sync_members.is_empty() {
        g.sync_deadline = None;
    }
}

/// SyncGroup (spec §2.5). A leader's sync in CompletingRebalance returns the group write to do;
/// the caller then calls [`complete_sync`] with its result.
pub fn sync(g: &mut GroupMetadata, req: SyncRequest, now: i64) -> (Outcome<SyncGroupResult>, Option<StoreGroup>) {
    let reply = |e| (Outcome::Reply(SyncGroupResult::error(e)), None);
    if let Err(e) = check_member(g, &req.member_id, req.group_instance_id.as_deref(), req.generation_id) {
        return reply(e);
    }
    if req.protocol_type.as_ref().is_some_and(|t| Some(t) != g.protocol_type.as_ref())
        || req.protocol_name.as_ref().is_some_and(|n| Some(n) != g.protocol_name.as_ref())
    {
        return reply(ResponseError::InconsistentGroupProtocol);
    }
    match g.state {
        GroupState::Empty | GroupState::Dead => reply(ResponseError::UnknownMemberId),
        GroupState::PreparingRebalance => reply(ResponseError::RebalanceInProgress),
        GroupState::CompletingRebalance => {
            let (tx, rx) = oneshot::channel();
            if let Some(m) = g.members.get_mut(&req.member_id) {
                if let Some(old) = m.awaiting_sync.replace(tx) {
                    let _ = old.send(SyncGroupResult::error(ResponseError::RebalanceInProgress));
                }
            }
            member_synced(g, &req.member_id);
            let store = g.is_leader(&req.member_id).then(|| {
                // Members the leader left out get an empty assignment; unknown ids are ignored.
                let assignments = g
                    .members
                    .keys()
                    .map(|id| {
                        let a = req.assignments.iter().find(|(m, _)| m == id).map(|(_, a)| a.clone()).unwrap_or_default();
                        (id.clone(), a)
                    })
                    .collect();
                StoreGroup { generation_id: g.generation_id, assignments: Some(assignments) }
            });
            (Outcome::Parked(rx), store)
        }
        GroupState::Stable => {
            member_synced(g, &req.member_id);
            reset_heartbeat(g, &req.member_id, now);
            let assignment = g.members.get(&req.member_id).map(|m| m.assignment.clone()).unwrap_or_default();
            (
                Outcome::Reply(SyncGroupResult {
                    error: None,
                    protocol_type: g.protocol_type.clone(),
                    protocol_name: g.protocol_name.clone(),
                    assignment,
                }),
                None,
            )
        }
    }
}

/// The leader's assignment write finished: on success the group becomes Stable and every parked
/// SyncGroup gets its assignment; on failure they get `error` and a rebalance starts. Ignored if the
/// group moved on meanwhile.
pub fn complete_sync(
    g: &mut GroupMetadata,
    cfg: &GroupConfig,
    store: &StoreGroup,
    result: Result<(), ResponseError>,
    now: i64,
) {
    if !g.is(GroupState::CompletingRebalance) || g.generation_id != store.generation_id {
        return;
    }
    match result {
        Ok(()) => {
            if let Some(assignments) = &store.assignments {
                for (id, a) in assignments {
                    if let Some(m) = g.members.get_mut(id) {
                        m.assignment = a.clone();
                    }
                }
            }
            let (ptype, pname) = (g.protocol_type.clone(), g.protocol_name.clone());
            for m in g.members.values_mut() {
                if let Some(tx) = m.awaiting_sync.take() {
                    let _ = tx.send(SyncGroupResult {
                        error: None,
                        protocol_type: ptype.clone(),
                        protocol_name: pname.clone(),
                        assignment: m.assignment.clone(),
                    });
                    m.heartbeat_deadline = now + m.session_timeout_ms as i64;
                }
            }
            g.transition_to(GroupState::Stable, now);
        }
        Err(e) => {
            reset_and_propagate_assignment_error(g, e, now);
            maybe_prepare_rebalance(g, cfg, now);
        }
    }
}

/// Heartbeat (spec §2.7 table, after validateGroupStatus).
pub fn heartbeat(g: &mut GroupMetadata, member_id: &str, instance_id: Option<&str>, generation_id: i32, now: i64) -> Option<ResponseError> {
    if let Err(e) = check_member(g, member_id, instance_id, generation_id) {
        return Some(e);
    }
    match g.state {
        GroupState::Empty | GroupState::Dead => Some(ResponseError::UnknownMemberId),
        GroupState::CompletingRebalance | GroupState::Stable => {
            reset_heartbeat(g, member_id, now);
            None
        }
        GroupState::PreparingRebalance => {
            reset_heartbeat(g, member_id, now);
            Some(ResponseError::RebalanceInProgress)
        }
    }
}

/// OffsetCommit's member checks (spec §2.10 step 3) for a known group; resets the heartbeat when
/// the commit is allowed from an active member.
pub fn check_commit(
    g: &mut GroupMetadata,
    member_id: &str,
    instance_id: Option<&str>,
    generation_id: i32,
    now: i64,
) -> Result<(), ResponseError> {
    if g.is(GroupState::Dead) {
        return Err(ResponseError::CoordinatorNotAvailable);
    }
    if g.is_static_member_fenced(member_id, instance_id) {
        return Err(ResponseError::FencedInstanceId);
    }
    if generation_id < 0 && g.is(GroupState::Empty) {
        return Ok(());
    }
    check_member(g, member_id, instance_id, generation_id)?;
    match g.state {
        GroupState::CompletingRebalance => Err(ResponseError::RebalanceInProgress),
        _ => {
            reset_heartbeat(g, member_id, now);
            Ok(())
        }
    }
}

/// LeaveGroup for one member identity; returns its error. A removal may complete a join phase,
/// whose Empty result the caller persists.
pub fn leave(
    g: &mut GroupMetadata,
    cfg: &GroupConfig,
    member_id: &str,
    instance_id: Option<&str>,
    now: i64,
) -> (Option<ResponseError>, Option<StoreGroup>) {
    if !member_id.is_empty() && g.is_static_member_fenced(member_id, instance_id) {
        return (Some(ResponseError::FencedInstanceId), None);
    }
    if g.pending_members.remove(member_id).is_some() {
        let store = if g.is(GroupState::PreparingRebalance) { try_complete_join(g, now) } else { None };
        return (None, store);
    }
    let target = match g.static_member_id(instance_id) {
        Some(id) => Some(id.clone()),
        None if g.has(member_id) => Some(member_id.to_string()),
        None => None,
    };
    match target {
        None => (Some(ResponseError::UnknownMemberId), None),
        Some(id) => {
            tracing::info!("Member {id} in group {} has left, removing it from the group", g.group_id);
            (None, remove_member_and_update_group(g, cfg, &id, now))
        }
    }
}

/// Fire every timer that is due (called periodically with the group locked): member sessions,
/// pending member ids, the join phase and the pending-sync wait. Returns a group write if a join
/// phase ended with no members.
pub fn expire(g: &mut GroupMetadata, cfg: &GroupConfig, now: i64) -> Option<StoreGroup> {
    let mut store = None;
    let expired: Vec<String> = g
        .members
        .values()
        .filter(|m| m.heartbeat_deadline <= now && (m.is_new || (m.awaiting_join.is_none() && m.awaiting_sync.is_none())))
        .map(|m| m.member_id.clone())
        .collect();
    for id in expired {
        tracing::info!("Member {id} in group {} has failed, removing it from the group", g.group_id);
        if let Some(s) = remove_member_and_update_group(g, cfg, &id, now) {
            store = Some(s);
        }
    }
    let before = g.pending_members.len();
    g.pending_members.retain(|_, deadline| *deadline > now);
    if g.pending_members.len() != before && g.is(GroupState::PreparingRebalance) {
        if let Some(s) = try_complete_join(g, now) {
            store = Some(s);
        }
    }
    match g.join_timer {
        Some(JoinTimer::Delayed { deadline }) if deadline <= now && g.is(GroupState::PreparingRebalance) => {
            if let Some(s) = complete_join(g, now) {
                store = Some(s);
            }
        }
        Some(JoinTimer::Initial { deadline, delay, remaining }) if deadline <= now && g.is(GroupState::PreparingRebalance) => {
            if g.new_member_added && remaining != 0 {
                g.new_member_added = false;
                let next = delay.min(remaining);
                g.join_timer =
                    Some(JoinTimer::Initial { deadline: now + next, delay, remaining: (remaining - delay).max(0) });
            } else if let Some(s) = complete_join(g, now) {
                store = Some(s);
            }
        }
        _ => {}
    }
    if let Some(deadline) = g.sync_deadline {
        if deadline <= now {
            g.sync_deadline = None;
            if matches!(g.state, GroupState::CompletingRebalance | GroupState::Stable) && !g.pending_sync_members.is_empty() {
                let missing: Vec<String> = g.pending_sync_members.drain().collect();
                tracing::info!("Group {} removing members {missing:?} that did not sync in time", g.group_id);
                for id in &missing {
                    g.remove(id);
                }
                prepare_rebalance(g, cfg, now);
                // As in Kafka's tryCompleteElseWatch: with nobody left the group empties at once.
                if let Some(s) = try_complete_join(g, now) {
                    store = Some(s);
                }
            }
        }
    }
    // A group loaded with more members than `group.max.size` (the limit was lowered, or it came
    // from another broker) is made to rebalance, which admits at most `max` of them (spec §2.1).
    if g.is(GroupState::Stable) && g.members.len() > cfg.max_size.max(0) as usize {
        tracing::info!("Group {} has {} members, more than group.max.size {}: rebalancing", g.group_id, g.members.len(), cfg.max_size);
        prepare_rebalance(g, cfg, now);
    }
    store
}

#[cfg(test)]
#[path = "session_tests.rs"]
mod tests;
