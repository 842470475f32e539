//! `GroupCoordinator`: the entry point the group APIs call (Kafka's `GroupCoordinator.scala`).
//! Validates, finds the group, runs the pure transition under the group's lock, then does the I/O
//! (persisting the group) and waits for parked replies outside the lock.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use tokio::sync::oneshot;
use wire::ResponseError;

use super::manager::{GroupMetadataManager, GroupRef, GROUP_METADATA_TOPIC};
use super::membership::{self, GroupConfig, JoinRequest, Outcome, StoreGroup};
use super::metadata::{GroupState, JoinGroupResult, SyncGroupResult};
use super::session::{self, SyncRequest};
use crate::replica_manager::{now_ms, ReplicaManager};

/// How often member sessions, join phases and pending syncs are checked.
const TICK: Duration = Duration::from_millis(100);

/// One member as DescribeGroups shows it.
#[derive(Debug, Clone)]
pub struct MemberSummary {
    /// Member id.
    pub member_id: String,
    /// Static id.
    pub group_instance_id: Option<String>,
    /// Client id.
    pub client_id: String,
    /// Client host.
    pub client_host: String,
    /// Metadata for the selected protocol (Stable only).
    pub metadata: bytes::Bytes,
    /// Assignment (Stable only).
    pub assignment: bytes::Bytes,
}

/// A group as DescribeGroups shows it.
#[derive(Debug, Clone)]
pub struct GroupSummary {
    /// State name.
    pub state: String,
    /// Protocol type.
    pub protocol_type: String,
    /// Selected protocol (Stable only).
    pub protocol: String,
    /// Members.
    pub members: Vec<MemberSummary>,
}

/// The coordinator hosted by this broker.
pub struct GroupCoordinator {
    /// Protocol settings.
    pub config: GroupConfig,
    /// Cache and persistence.
    pub manager: Arc<GroupMetadataManager>,
    active: AtomicBool,
}

/// A parked reply; a dropped sender (the member was replaced or the group unloaded without an
/// answer) gets `on_drop`.
async fn await_reply<T>(rx: oneshot::Receiver<T>, on_drop: T) -> T {
    rx.await.unwrap_or(on_drop)
}

/// ListGroups' answer: whether a partition is still loading, and (group id, protocol type, state).
pub type GroupListing = (bool, Vec<(String, String, GroupState)>);

impl GroupCoordinator {
    /// A coordinator over `manager`; [`GroupCoordinator::startup`] starts its timers.
    pub fn new(config: GroupConfig, manager: Arc<GroupMetadataManager>) -> Arc<Self> {
        Arc::new(GroupCoordinator { config, manager, active: AtomicBool::new(false) })
    }

    /// Start the timer task (member sessions, join and sync phases).
    pub fn startup(self: &Arc<Self>) {
        self.active.store(true, Ordering::SeqCst);
        let me = Arc::downgrade(self);
        tokio::spawn(async move {
            let mut interval = tokio::time::interval(TICK);
            interval.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            loop {
                interval.tick().await;
                let Some(me) = me.upgrade() else { return };
                if !me.active.load(Ordering::SeqCst) {
                    return;
                }
                me.expire_all().await;
            }
        });
    }

    /// Reconcile the offsets partitions this coordinator owns with the ones this broker leads
    /// (after every LeaderAndIsr and StopReplica): load new ones, unload lost ones.
    pub fn on_leadership_change(&self, replica_manager: &ReplicaManager) {
        let owned = self.manager.owned_partitions();
        for partition in 0..self.manager.num_partitions() {
            let leader = replica_manager
                .get_partition(GROUP_METADATA_TOPIC, partition)
                .is_some_and(|p| p.is_leader());
            match (leader, owned.contains(&partition)) {
                (true, false) => self.manager.on_election(partition),
                (false, true) => self.manager.on_resignation(partition),
                _ => {}
            }
        }
    }

    /// Stop serving (requests get COORDINATOR_NOT_AVAILABLE) and stop the timers.
    pub fn shutdown(&self) {
        self.active.store(false, Ordering::SeqCst);
    }

    async fn expire_all(&self) {
        let now = now_ms();
        for g in self.manager.all_groups() {
            let (store, id) = {
                let mut guard = GroupMetadataManager::lock(&g);
                (session::expire(&mut guard, &self.config, now), guard.group_id.clone())
            };
            if let Some(store) = store {
                self.persist(&g, &id, store).await;
            }
        }
    }

    /// `validateGroupStatus` (spec §2.1): group id, active, loading, owner.
    pub fn validate(&self, group_id: &str, empty_allowed: bool) -> Result<(), ResponseError> {
        if group_id.is_empty() && !empty_allowed {
            return Err(ResponseError::InvalidGroupId);
        }
        if !self.active.load(Ordering::SeqCst) {
            return Err(ResponseError::CoordinatorNotAvailable);
        }
        self.manager.check_owner(group_id)
    }

    /// Write the group record for an Empty group or a static-member replacement; failures are
    /// only logged. (Kafka logs the first; for the second it restores the old member id and
    /// answers the JoinGroup with the error. Here the restarted member keeps its new id and the
    /// next successful group write records it.)
    async fn persist(&self, g: &GroupRef, group_id: &str, store: StoreGroup) {
        let value = {
            let guard = GroupMetadataManager::lock(g);
            GroupMetadataManager::group_value(&guard, &store, now_ms())
        };
        if let Err(e) = self.manager.store_group(group_id, &value).await {
            tracing::warn!("could not persist group {group_id} generation {}: {e:?}", store.generation_id);
        }
    }

    /// JoinGroup (spec §2.4).
    pub async fn join_group(&self, group_id: &str, req: JoinRequest) -> JoinGroupResult {
        if let Err(e) = self.validate(group_id, false) {
            return JoinGroupResult::error(&req.member_id, e);
        }
        if req.session_timeout_ms < self.config.min_session_timeout_ms || req.session_timeout_ms > self.config.max_session_timeout_ms {
            return JoinGroupResult::error(&req.member_id, ResponseError::InvalidSessionTimeout);
        }
        let g = if req.member_id.is_empty() {
            self.manager.get_or_create(group_id)
        } else {
            match self.manager.get(group_id) {
                Some(g) => g,
                None => return JoinGroupResult::error(&req.member_id, ResponseError::UnknownMemberId),
            }
        };
        let member_id = req.member_id.clone();
        let (outcome, store) = {
            let mut guard = GroupMetadataManager::lock(&g);
            membership::join(&mut guard, &self.config, req, now_ms(), |prefix| format!("{prefix}-{}", uuid::Uuid::new_v4()))
        };
        if let Some(store) = store {
            self.persist(&g, group_id, store).await;
        }
        match outcome {
            Outcome::Reply(r) => r,
            Outcome::Parked(rx) => await_reply(rx, JoinGroupResult::error(&member_id, ResponseError::CoordinatorNotAvailable)).await,
        }
    }

    /// SyncGroup (spec §2.5).
    pub async fn sync_group(&self, group_id: &str, req: SyncRequest) -> SyncGroupResult {
        if let Err(e) = self.validate(group_id, false) {
            let e = if e == ResponseError::CoordinatorLoadInProgress { ResponseError::RebalanceInProgress } else { e };
            return SyncGroupResult::error(e);
        }
        let Some(g) = self.manager.get(group_id) else {
            return SyncGroupResult::error(ResponseError::UnknownMemberId);
        };
        let (outcome, store) = {
            let mut guard = GroupMetadataManager::lock(&g);
            session::sync(&mut guard, req, now_ms())
        };
        if let Some(store) = store {
            let value = {
                let guard = GroupMetadataManager::lock(&g);
                GroupMetadataManager::group_value(&guard, &store, now_ms())
            };
            // If the partition moves meanwhile, the unload has already answered parked syncs.
            let result = self.manager.store_group(group_id, &value).await;
            let mut guard = GroupMetadataManager::lock(&g);
            session::complete_sync(&mut guard, &self.config, &store, result, now_ms());
        }
        match outcome {
            Outcome::Reply(r) => r,
            Outcome::Parked(rx) => await_reply(rx, SyncGroupResult::error(ResponseError::RebalanceInProgress)).await,
        }
    }

    /// Heartbeat (spec §2.7).
    pub fn heartbeat(&self, group_id: &str, member_id: &str, instance_id: Option<&str>, generation_id: i32) -> Option<ResponseError> {
        match self.validate(group_id, false) {
            Err(ResponseError::CoordinatorLoadInProgress) => return None,
            Err(e) => return Some(e),
            Ok(()) => {}
        }
        let Some(g) = self.manager.get(group_id) else {
            return Some(ResponseError::UnknownMemberId);
        };
        let mut guard = GroupMetadataManager::lock(&g);
        session::heartbeat(&mut guard, member_id, instance_id, generation_id, now_ms())
    }

    /// LeaveGroup (spec §2.9): a top-level error, or one error per member identity.
    pub async fn leave_group(
        &self,
        group_id: &str,
        members: &[(String, Option<String>)],
    ) -> Result<Vec<Option<ResponseError>>, ResponseError> {
        self.validate(group_id, false)?;
        let Some(g) = self.manager.get(group_id) else {
            return Ok(vec![Some(ResponseError::UnknownMemberId); members.len()]);
        };
        let mut errors = Vec::with_capacity(members.len());
        let mut stores = Vec::new();
        {
            let mut guard = GroupMetadataManager::lock(&g);
            if guard.is(GroupState::Dead) {
                return Err(ResponseError::CoordinatorNotAvailable);
            }
            let now = now_ms();
            for (member_id, instance_id) in members {
                let (e, store) = session::leave(&mut guard, &self.config, member_id, instance_id.as_deref(), now);
                errors.push(e);
                stores.extend(store);
            }
        }
        for store in stores {
            self.persist(&g, group_id, store).await;
        }
        Ok(errors)
    }

    /// ListGroups (spec §2.12): the loading flag and every cached group's (id, protocol type, state).
    pub fn list_groups(&self) -> Result<GroupListing, ResponseError> {
        if !self.active.load(Ordering::SeqCst) {
            return Err(ResponseError::CoordinatorNotAvailable);
        }
        let groups = self
            .manager
            .all_groups()
            .iter()
            .map(|g| {
                let g = GroupMetadataManager::lock(g);
                (g.group_id.clone(), g.protocol_type.clone().unwrap_or_default(), g.state)
            })
            .filter(|(_, _, s)| *s != GroupState::Dead)
            .collect();
        Ok((self.manager.is_loading(), groups))
    }

    /// DescribeGroups for one group (spec §2.12).
    pub fn describe_group(&self, group_id: &str) -> Result<GroupSummary, ResponseError> {
        self.validate(group_id, true)?;
        let Some(g) = self.manager.get(group_id) else {
            return Ok(GroupSummary { state: "Dead".into(), protocol_type: String::new(), protocol: String::new(), members: Vec::new() });
        };
        let g = GroupMetadataManager::lock(&g);
        let stable = g.is(GroupState::Stable);
        let protocol = if stable { g.protocol_name.clone().unwrap_or_default() } else { String::new() };
        Ok(GroupSummary {
            state: g.state.name().to_string(),
            protocol_type: g.protocol_type.clone().unwrap_or_default(),
            members: g
                .members
                .values()
                .map(|m| MemberSummary {
                    member_id: m.member_id.clone(),
                    group_instance_id: m.group_instance_id.clone(),
                    client_id: m.client_id.clone(),
                    client_host: m.client_host.clone(),
                    metadata: if stable { m.metadata(&protocol).cloned().unwrap_or_default() } else { Default::default() },
                    assignment: if stable { m.assignment.clone() } else { Default::default() },
                })
                .collect(),
            protocol,
        })
    }

    /// DeleteGroups for one group (spec §2.12).
    pub async fn delete_group(&self, group_id: &str) -> Option<ResponseError> {
        if let Err(e) = self.validate(group_id, true) {
            return Some(e);
        }
        let Some(g) = self.manager.get(group_id) else {
            return Some(ResponseError::GroupIdNotFound);
        };
        let (offsets, generation) = {
            let mut guard = GroupMetadataManager::lock(&g);
            match guard.state {
                GroupState::Dead => return Some(ResponseError::GroupIdNotFound),
                GroupState::Empty => {}
                _ => return Some(ResponseError::NonEmptyGroup),
            }
            guard.transition_to(GroupState::Dead, now_ms());
            let offsets: Vec<(String, i32)> = std::mem::take(&mut guard.offsets).into_keys().collect();
            (offsets, guard.generation_id)
        };
        self.manager.remove_if_dead(group_id);
        if let Err(e) = self.manager.store_tombstones(group_id, &offsets, generation > 0).await {
            tracing::warn!("could not write tombstones for deleted group {group_id}: {e:?}");
        }
        tracing::info!("Group {group_id} deleted ({} offsets removed)", offsets.len());
        None
    }
}
