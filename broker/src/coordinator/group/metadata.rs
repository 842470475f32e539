//! `GroupMetadata` and `MemberMetadata`: one consumer group's state as the coordinator holds it in
//! memory (Kafka's `GroupMetadata.scala` / `MemberMetadata.scala`, spec protocol-and-groups §2.2-2.3).
//!
//! Everything here is synchronous and pure apart from the parked reply channels: the coordinator
//! takes the group's lock, calls these methods, and releases the lock before any I/O.

use std::collections::{BTreeMap, HashMap, HashSet};

use bytes::Bytes;
use indexmap::IndexMap;
use tokio::sync::oneshot;
use wire::ResponseError;

use super::records::CommittedOffset;

/// The five group states, with the names DescribeGroups and ListGroups report.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum GroupState {
    /// No members; offsets may still exist.
    Empty,
    /// Waiting for members to (re)join.
    PreparingRebalance,
    /// Join phase done; waiting for the leader's assignment.
    CompletingRebalance,
    /// Assignment persisted; members heartbeat.
    Stable,
    /// Removed (unloaded, deleted, or expired); about to leave the cache.
    Dead,
}

impl GroupState {
    /// Kafka's state name.
    pub fn name(self) -> &'static str {
        match self {
            GroupState::Empty => "Empty",
            GroupState::PreparingRebalance => "PreparingRebalance",
            GroupState::CompletingRebalance => "CompletingRebalance",
            GroupState::Stable => "Stable",
            GroupState::Dead => "Dead",
        }
    }

    /// The states a transition into `self` may start from (spec §2.2).
    fn valid_previous(self) -> &'static [GroupState] {
        use GroupState::*;
        match self {
            PreparingRebalance => &[Stable, CompletingRebalance, Empty],
            CompletingRebalance => &[PreparingRebalance],
            Stable => &[CompletingRebalance],
            Empty => &[PreparingRebalance],
            Dead => &[Stable, PreparingRebalance, CompletingRebalance, Empty, Dead],
        }
    }
}

/// What a parked or immediate JoinGroup gets back.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JoinGroupResult {
    /// Error, `None` on success.
    pub error: Option<ResponseError>,
    /// Generation, -1 on error.
    pub generation_id: i32,
    /// The group's protocol type.
    pub protocol_type: Option<String>,
    /// The selected protocol.
    pub protocol_name: Option<String>,
    /// Leader member id, `""` on error.
    pub leader_id: String,
    /// This member's id.
    pub member_id: String,
    /// Every member's (id, instance id, metadata) — only for the leader.
    pub members: Vec<(String, Option<String>, Bytes)>,
}

impl JoinGroupResult {
    /// An error reply: generation -1, no leader, no members.
    pub fn error(member_id: &str, error: ResponseError) -> Self {
        JoinGroupResult {
            error: Some(error),
            generation_id: -1,
            protocol_type: None,
            protocol_name: None,
            leader_id: String::new(),
            member_id: member_id.to_string(),
            members: Vec::new(),
        }
    }
}

/// What a parked or immediate SyncGroup gets back.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SyncGroupResult {
    /// Error, `None` on success.
    pub error: Option<ResponseError>,
    /// The group's protocol type.
    pub protocol_type: Option<String>,
    /// The selected protocol.
    pub protocol_name: Option<String>,
    /// This member's assignment.
    pub assignment: Bytes,
}

impl SyncGroupResult {
    /// An error reply with an empty assignment.
    pub fn error(error: ResponseError) -> Self {
        SyncGroupResult { error: Some(error), protocol_type: None, protocol_name: None, assignment: Bytes::new() }
    }
}

/// One member of a group.
#[derive(Debug)]
pub struct MemberMetadata {
    /// Coordinator-assigned id.
    pub member_id: String,
    /// Static membership id (KIP-345).
    pub group_instance_id: Option<String>,
    /// Client id from the request header.
    pub client_id: String,
    /// Client address as Java renders it (`/10.0.0.1`).
    pub client_host: String,
    /// Max time the member may take to rejoin.
    pub rebalance_timeout_ms: i32,
    /// Heartbeat session timeout.
    pub session_timeout_ms: i32,
    /// e.g. `consumer`.
    pub protocol_type: String,
    /// Ordered (protocol name, metadata).
    pub protocols: Vec<(String, Bytes)>,
    /// Assignment from the last completed sync.
    pub assignment: Bytes,
    /// A JoinGroup waiting for the join phase to complete.
    pub awaiting_join: Option<oneshot::Sender<JoinGroupResult>>,
    /// A SyncGroup waiting for the leader's assignment to be persisted.
    pub awaiting_sync: Option<oneshot::Sender<SyncGroupResult>>,
    /// Joined in the current rebalance and not yet through a join completion.
    pub is_new: bool,
    /// Wall-clock ms after which the member is expired unless it heartbeats.
    pub heartbeat_deadline: i64,
}

impl MemberMetadata {
    /// The metadata this member sent for `protocol`.
    pub fn metadata(&self, protocol: &str) -> Option<&Bytes> {
        self.protocols.iter().find(|(n, _)| n == protocol).map(|(_, m)| m)
    }

    /// Same protocol names, same order, byte-equal metadata.
    pub fn matches(&self, protocols: &[(String, Bytes)]) -> bool {
        self.protocols == protocols
    }

    /// The first of this member's protocols that is among `candidates` (its vote).
    fn vote<'a>(&'a self, candidates: &HashSet<&str>) -> Option<&'a str> {
        self.protocols.iter().map(|(n, _)| n.as_str()).find(|n| candidates.contains(n))
    }
}

/// A join phase in progress: when it ends, and whether it is the initial delayed join.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum JoinTimer {
    /// Completes at `deadline` or as soon as every member has rejoined.
    Delayed {
        /// Wall-clock ms.
        deadline: i64,
    },
    /// A new group's first rebalance: never completes early; may extend itself (spec §2.4).
    Initial {
        /// Wall-clock ms.
        deadline: i64,
        /// The configured `group.initial.rebalance.delay.ms`.
        delay: i64,
        /// What is left of the rebalance timeout after this delay.
        remaining: i64,
    },
}

/// One group.
#[derive(Debug)]
pub struct GroupMetadata {
    /// Group id.
    pub group_id: String,
    /// Current generation (0 for a group that never completed a join).
    pub generation_id: i32,
    /// Current state.
    pub state: GroupState,
    /// When the state last changed (wall-clock ms).
    pub current_state_timestamp: Option<i64>,
    /// Set by the first member of an Empty group.
    pub protocol_type: Option<String>,
    /// Selected at each new generation.
    pub protocol_name: Option<String>,
    /// Leader member id.
    pub leader_id: Option<String>,
    /// Members in join order (the first is leader-elect if the leader leaves).
    pub members: IndexMap<String, MemberMetadata>,
    /// group.instance.id → member id.
    pub static_members: HashMap<String, String>,
    /// Member ids handed out by MEMBER_ID_REQUIRED, with their expiry (wall-clock ms).
    pub pending_members: HashMap<String, i64>,
    /// Members that got a join reply but have not yet sent SyncGroup.
    pub pending_sync_members: HashSet<String>,
    /// A new member joined during the initial delay.
    pub new_member_added: bool,
    /// The running join phase, if PreparingRebalance.
    pub join_timer: Option<JoinTimer>,
    /// When the pending-sync wait ends (CompletingRebalance/Stable after a join).
    pub sync_deadline: Option<i64>,
    /// Committed offsets.
    pub offsets: BTreeMap<(String, i32), CommittedOffset>,
    /// Offset commits written but not yet acknowledged, per partition (RequireStable).
    pub pending_offset_commits: HashMap<(String, i32), usize>,
}

impl GroupMetadata {
    /// A new, Empty group.
    pub fn new(group_id: &str, now: i64) -> Self {
        GroupMetadata {
            group_id: group_id.to_string(),
            generation_id: 0,
            state: GroupState::Empty,
            current_state_timestamp: Some(now),
            protocol_type: None,
            protocol_name: None,
            leader_id: None,
            members: IndexMap::new(),
            static_members: HashMap::new(),
            pending_members: HashMap::new(),
            pending_sync_members: HashSet::new(),
            new_member_added: false,
            join_timer: None,
            sync_deadline: None,
            offsets: BTreeMap::new(),
            pending_offset_commits: HashMap::new(),
        }
    }

    /// Whether the group is in `state`.
    pub fn is(&self, state: GroupState) -> bool {
        self.state == state
    }

    /// Change state, checking Kafka's allowed transitions. An invalid one is a bug: logged and refused.
    pub fn transition_to(&mut self, target: GroupState, now: i64) -> bool {
        if !target.valid_previous().contains(&self.state) {
            tracing::error!(
                "group {} should be in one of {:?} before moving to {:?}, but is {:?}",
                self.group_id,
                target.valid_previous(),
                target,
                self.state
            );
            return false;
        }
        self.state = target;
        self.current_state_timestamp = Some(now);
        true
    }

    /// Whether `member_id` is a current member.
    pub fn has(&self, member_id: &str) -> bool {
        self.members.contains_key(member_id)
    }

    /// Whether `member_id` is the leader.
    pub fn is_leader(&self, member_id: &str) -> bool {
        self.leader_id.as_deref() == Some(member_id)
    }

    /// Add a member; the first becomes leader; an Empty group takes its protocol type.
    pub fn add(&mut self, member: MemberMetadata) {
        if self.members.is_empty() {
            self.protocol_type = Some(member.protocol_type.clone());
        }
        if self.leader_id.is_none() {
            self.leader_id = Some(member.member_id.clone());
        }
        if let Some(instance) = &member.group_instance_id {
            self.static_members.insert(instance.clone(), member.member_id.clone());
        }
        self.pending_members.remove(&member.member_id);
        self.members.insert(member.member_id.clone(), member);
    }

    /// Remove a member; a removed leader is replaced by the first remaining member.
    pub fn remove(&mut self, member_id: &str) -> Option<MemberMetadata> {
        let member = self.members.shift_remove(member_id)?;
        if let Some(instance) = &member.group_instance_id {
            if self.static_members.get(instance).map(String::as_str) == Some(member_id) {
                self.static_members.remove(instance);
            }
        }
        self.pending_sync_members.remove(member_id);
        if self.is_leader(member_id) {
            self.leader_id = self.members.keys().next().cloned();
        }
        Some(member)
    }

    /// The member id registered for a static instance id.
    pub fn static_member_id(&self, instance_id: Option<&str>) -> Option<&String> {
        instance_id.and_then(|i| self.static_members.get(i))
    }

    /// KIP-345 fencing: the instance id is known but belongs to a different member id.
    pub fn is_static_member_fenced(&self, member_id: &str, instance_id: Option<&str>) -> bool {
        matches!(self.static_member_id(instance_id), Some(known) if known != member_id)
    }

    /// Whether a member with these protocols may join (spec §2.3 `supportsProtocols`).
    pub fn supports_protocols(&self, protocol_type: &str, protocols: &[(String, Bytes)]) -> bool {
        if self.is(GroupState::Empty) {
            return !protocol_type.is_empty() && !protocols.is_empty();
        }
        self.protocol_type.as_deref() == Some(protocol_type)
            && protocols.iter().any(|(name, _)| self.members.values().all(|m| m.metadata(name).is_some()))
    }

    /// Protocols every member supports.
    fn candidate_protocols(&self) -> HashSet<&str> {
        let mut members = self.members.values();
        let Some(first) = members.next() else { return HashSet::new() };
        let mut candidates: HashSet<&str> = first.protocols.iter().map(|(n, _)| n.as_str()).collect();
        for m in members {
            candidates.retain(|c| m.metadata(c).is_some());
        }
        candidates
    }

    /// Each member votes for its first candidate; the most votes wins (ties: the first counted).
    pub fn select_protocol(&self) -> Option<String> {
        let candidates = self.candidate_protocols();
        let mut votes: IndexMap<&str, usize> = IndexMap::new();
        for m in self.members.values() {
            if let Some(v) = m.vote(&candidates) {
                *votes.entry(v).or_default() += 1;
            }
        }
        let mut best: Option<(&str, usize)> = None;
        for (name, count) in votes {
            if best.is_none_or(|(_, c)| count > c) {
                best = Some((name, count));
            }
        }
        best.map(|(n, _)| n.to_string())
    }

    /// The group's rebalance timeout: the largest of its members'.
    pub fn rebalance_timeout_ms(&self) -> i32 {
        self.members.values().map(|m| m.rebalance_timeout_ms).max().unwrap_or(0)
    }

    /// Members with a parked JoinGroup.
    pub fn num_awaiting_join(&self) -> usize {
        self.members.values().filter(|m| m.awaiting_join.is_some()).count()
    }

    /// Every member rejoined and no MEMBER_ID_REQUIRED id is outstanding.
    pub fn has_all_members_joined(&self) -> bool {
        self.members.values().all(|m| m.awaiting_join.is_some()) && self.pending_members.is_empty()
    }

    /// The leader's view for a JoinGroup reply: every member's metadata for the selected protocol.
    pub fn current_member_metadata(&self) -> Vec<(String, Option<String>, Bytes)> {
        let Some(protocol) = &self.protocol_name else { return Vec::new() };
        self.members
            .values()
            .map(|m| (m.member_id.clone(), m.group_instance_id.clone(), m.metadata(protocol).cloned().unwrap_or_default()))
            .collect()
    }

    /// Topics the members subscribe to, when every member speaks the `consumer` protocol and its
    /// metadata parses; `None` means "unknown" (treat every topic as subscribed).
    pub fn subscribed_topics(&self) -> Option<HashSet<String>> {
        if self.protocol_type.as_deref() != Some("consumer") {
            return None;
        }
        let protocol = self.protocol_name.as_deref()?;
        let mut topics = HashSet::new();
        for m in self.members.values() {
            topics.extend(parse_subscription_topics(m.metadata(protocol)?)?);
        }
        Some(topics)
    }
}

/// The topic list of a ConsumerProtocol subscription (any version: `version:int16,
/// topics:[string], ...`); `None` if it does not parse.
pub fn parse_subscription_topics(metadata: &[u8]) -> Option<Vec<String>> {
    let mut pos = 2usize;
    let count = i32::from_be_bytes(metadata.get(pos..pos + 4)?.try_into().ok()?);
    pos += 4;
    if count < 0 {
        return None;
    }
    let mut topics = Vec::with_capacity(count.min(1024) as usize);
    for _ in 0..count {
        let len = i16::from_be_bytes(metadata.get(pos..pos + 2)?.try_into().ok()?);
        pos += 2;
        if len < 0 {
            return None;
        }
        let name = std::str::from_utf8(metadata.get(pos..pos + len as usize)?).ok()?;
        pos += len as usize;
        topics.push(name.to_string());
    }
    Some(topics)
}

#[cfg(test)]
#[path = "metadata_tests.rs"]
mod tests;
