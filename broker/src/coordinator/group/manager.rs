//! `GroupMetadataManager`: which `__consumer_offsets` partitions this broker coordinates, the
//! cache of their groups, loading a partition when this broker becomes its leader, unloading it
//! when it stops being one, and writing group and offset records (Kafka's
//! `GroupMetadataManager.scala`).

use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex, RwLock};
use std::time::Duration;

use bytes::Bytes;
use storage::memory_records::{build_batch, decode_all, SimpleRecord};
use wire::ResponseError;

use super::membership::StoreGroup;
use super::metadata::{GroupMetadata, GroupState, JoinGroupResult, MemberMetadata, SyncGroupResult};
use super::records::{
    encode_group_metadata_key, encode_group_metadata_value, encode_offset_commit_key, encode_offset_commit_value,
    partition_for, GroupMetadataKey, GroupMetadataValue, LoadedGroups, MemberMetadataValue, OffsetCommitKey,
    OffsetCommitValue,
};
use crate::replica_manager::{now_ms, ReplicaManager};

/// The internal topic holding groups and offsets.
pub const GROUP_METADATA_TOPIC: &str = "__consumer_offsets";

/// A shared, lockable group. The lock is never held across an `.await`.
pub type GroupRef = Arc<Mutex<GroupMetadata>>;

/// How far loading of an owned partition has got.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Ownership {
    /// Leader; the partition is being read. The number tells loads apart.
    Loading(u64),
    /// Leader; every group of the partition is in the cache.
    Loaded,
}

/// Settings of the manager (broker `offsets.*` configs).
#[derive(Debug, Clone, Copy)]
pub struct ManagerConfig {
    /// `offsets.topic.num.partitions`.
    pub num_partitions: i32,
    /// `offsets.commit.timeout.ms`.
    pub commit_timeout_ms: i32,
    /// `offsets.commit.required.acks`.
    pub required_acks: i16,
    /// `offsets.load.buffer.size`.
    pub load_buffer_size: i32,
}

/// The group cache and its persistence.
pub struct GroupMetadataManager {
    config: ManagerConfig,
    replica_manager: Arc<ReplicaManager>,
    owned: Mutex<HashMap<i32, Ownership>>,
    groups: RwLock<HashMap<String, GroupRef>>,
    next_load: std::sync::atomic::AtomicU64,
}

fn lock(g: &GroupRef) -> std::sync::MutexGuard<'_, GroupMetadata> {
    g.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}

impl GroupMetadataManager {
    /// A manager owning nothing yet.
    pub fn new(config: ManagerConfig, replica_manager: Arc<ReplicaManager>) -> Self {
        GroupMetadataManager {
            config,
            replica_manager,
            owned: Mutex::new(HashMap::new()),
            groups: RwLock::new(HashMap::new()),
            next_load: std::sync::atomic::AtomicU64::new(1),
        }
    }

    /// `offsets.topic.num.partitions`.
    pub fn num_partitions(&self) -> i32 {
        self.config.num_partitions
    }

    /// Lock a group (poisoning is ignored: group state stays consistent per call).
    pub fn lock(g: &GroupRef) -> std::sync::MutexGuard<'_, GroupMetadata> {
        lock(g)
    }

    /// The offsets partition of a group.
    pub fn partition_for(&self, group_id: &str) -> i32 {
        partition_for(group_id, self.config.num_partitions)
    }

    fn ownership(&self, partition: i32) -> Option<Ownership> {
        self.owned.lock().unwrap_or_else(|p| p.into_inner()).get(&partition).copied()
    }

    /// Steps 3-4 of `validateGroupStatus`: loading, or not the coordinator.
    pub fn check_owner(&self, group_id: &str) -> Result<(), ResponseError> {
        match self.ownership(self.partition_for(group_id)) {
            Some(Ownership::Loaded) => Ok(()),
            Some(Ownership::Loading(_)) => Err(ResponseError::CoordinatorLoadInProgress),
            None => Err(ResponseError::NotCoordinator),
        }
    }

    /// Whether any owned partition is still loading (ListGroups reports it).
    pub fn is_loading(&self) -> bool {
        self.owned.lock().unwrap_or_else(|p| p.into_inner()).values().any(|o| matches!(o, Ownership::Loading(_)))
    }

    /// Whether this broker coordinates `partition` (loaded).
    pub fn owns(&self, partition: i32) -> bool {
        self.ownership(partition) == Some(Ownership::Loaded)
    }

    /// A cached group.
    pub fn get(&self, group_id: &str) -> Option<GroupRef> {
        self.groups.read().unwrap_or_else(|p| p.into_inner()).get(group_id).cloned()
    }

    /// A cached group, created Empty if absent.
    pub fn get_or_create(&self, group_id: &str) -> GroupRef {
        let mut groups = self.groups.write().unwrap_or_else(|p| p.into_inner());
        groups.entry(group_id.to_string()).or_insert_with(|| Arc::new(Mutex::new(GroupMetadata::new(group_id, now_ms())))).clone()
    }

    /// Every cached group.
    pub fn all_groups(&self) -> Vec<GroupRef> {
        self.groups.read().unwrap_or_else(|p| p.into_inner()).values().cloned().collect()
    }

    /// Drop a group from the cache if it is (still) Dead.
    pub fn remove_if_dead(&self, group_id: &str) {
        let mut groups = self.groups.write().unwrap_or_else(|p| p.into_inner());
        if groups.get(group_id).is_some_and(|g| lock(g).is(GroupState::Dead)) {
            groups.remove(group_id);
        }
    }

    /// The group record for `g` (assignments from a leader's SyncGroup override the members').
    pub fn group_value(g: &GroupMetadata, store: &StoreGroup, now: i64) -> GroupMetadataValue {
        let protocol = g.protocol_name.clone();
        GroupMetadataValue {
            protocol_type: g.protocol_type.clone().unwrap_or_default(),
            generation: g.generation_id,
            protocol: protocol.clone(),
            leader: g.leader_id.clone(),
            current_state_timestamp: Some(g.current_state_timestamp.unwrap_or(now)),
            members: g
                .members
                .values()
                .map(|m| MemberMetadataValue {
                    member_id: m.member_id.clone(),
                    group_instance_id: m.group_instance_id.clone(),
                    client_id: m.client_id.clone(),
                    client_host: m.client_host.clone(),
                    rebalance_timeout: m.rebalance_timeout_ms,
                    session_timeout: m.session_timeout_ms,
                    subscription: protocol.as_deref().and_then(|p| m.metadata(p)).cloned().unwrap_or_default(),
                    assignment: store
                        .assignments
                        .as_ref()
                        .and_then(|a| a.iter().find(|(id, _)| *id == m.member_id).map(|(_, a)| a.clone()))
                        .unwrap_or_else(|| m.assignment.clone()),
                })
                .collect(),
        }
    }

    /// Append records to the group's partition with the commit acks and timeout; returns the base
    /// offset or the append error (unmapped).
    async fn append(&self, group_id: &str, records: &[SimpleRecord]) -> Result<i64, ResponseError> {
        let partition = self.partition_for(group_id);
        let batch = Bytes::from(build_batch(records, now_ms()));
        let rm = &self.replica_manager;
        let mut results = vec![rm.append_to_leader(GROUP_METADATA_TOPIC, partition, &batch, self.config.required_acks, true)];
        if results[0].error.is_none() && self.config.required_acks == -1 {
            rm.wait_for_replication(&mut results, Duration::from_millis(self.config.commit_timeout_ms.max(1) as u64)).await;
        }
        match results[0].error {
            None => Ok(results[0].base_offset),
            Some(e) => Err(e),
        }
    }

    /// Persist the group record (SyncGroup mapping of append errors, spec §2.5).
    pub async fn store_group(&self, group_id: &str, value: &GroupMetadataValue) -> Result<(), ResponseError> {
        let record = encode_group_metadata_key(&GroupMetadataKey { group: group_id.to_string() })
            .and_then(|k| Ok((k, encode_group_metadata_value(value)?)));
        let (key, value) = record.map_err(|e| {
            tracing::error!("cannot encode group {group_id}: {e}");
            ResponseError::UnknownServerError
        })?;
        let records = [SimpleRecord { key: Some(key.to_vec()), value: Some(value.to_vec()) }];
        self.append(group_id, &records).await.map(|_| ()).map_err(|e| match e {
            ResponseError::UnknownTopicOrPartition | ResponseError::NotEnoughReplicas | ResponseError::NotEnoughReplicasAfterAppend => {
                ResponseError::CoordinatorNotAvailable
            }
            ResponseError::NotLeaderOrFollower | ResponseError::KafkaStorageError => ResponseError::NotCoordinator,
            ResponseError::RequestTimedOut => ResponseError::RebalanceInProgress,
            ResponseError::MessageTooLarge | ResponseError::RecordListTooLarge | ResponseError::InvalidFetchSize => {
                ResponseError::UnknownServerError
            }
            other => other,
        })
    }

    /// Persist offset commits as one batch; returns the batch's base offset (commit mapping of
    /// append errors, spec §2.10).
    pub async fn store_offsets(&self, group_id: &str, offsets: &[((String, i32), OffsetCommitValue)]) -> Result<i64, ResponseError> {
        let mut records = Vec::with_capacity(offsets.len());
        for ((topic, partition), value) in offsets {
            let key = OffsetCommitKey { group: group_id.to_string(), topic: topic.clone(), partition: *partition };
            let encoded = encode_offset_commit_key(&key).and_then(|k| Ok((k, encode_offset_commit_value(value)?)));
            let (k, v) = encoded.map_err(|_| ResponseError::UnknownServerError)?;
            records.push(SimpleRecord { key: Some(k.to_vec()), value: Some(v.to_vec()) });
        }
        self.append(group_id, &records).await.map_err(|e| match e {
            ResponseError::UnknownTopicOrPartition | ResponseError::NotEnoughReplicas | ResponseError::NotEnoughReplicasAfterAppend => {
                ResponseError::CoordinatorNotAvailable
            }
            ResponseError::NotLeaderOrFollower | ResponseError::KafkaStorageError => ResponseError::NotCoordinator,
            ResponseError::MessageTooLarge | ResponseError::RecordListTooLarge | ResponseError::InvalidFetchSize => {
                ResponseError::InvalidCommitOffsetSize
            }
            other => other,
        })
    }

    /// Write tombstones for offsets and, if `group_too`, the group record.
    pub async fn store_tombstones(&self, group_id: &str, offsets: &[(String, i32)], group_too: bool) -> Result<(), ResponseError> {
        let mut records = Vec::new();
        for (topic, partition) in offsets {
            let key = OffsetCommitKey { group: group_id.to_string(), topic: topic.clone(), partition: *partition };
            if let Ok(k) = encode_offset_commit_key(&key) {
                records.push(SimpleRecord { key: Some(k.to_vec()), value: None });
            }
        }
        if group_too {
            if let Ok(k) = encode_group_metadata_key(&GroupMetadataKey { group: group_id.to_string() }) {
                records.push(SimpleRecord { key: Some(k.to_vec()), value: None });
            }
        }
        if records.is_empty() {
            return Ok(());
        }
        self.append(group_id, &records).await.map(|_| ())
    }

    /// This broker became leader of an offsets partition: load its groups in the background.
    pub fn on_election(self: &Arc<Self>, partition: i32) {
        let token = self.next_load.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        {
            let mut owned = self.owned.lock().unwrap_or_else(|p| p.into_inner());
            if owned.get(&partition) == Some(&Ownership::Loaded) {
                return;
            }
            owned.insert(partition, Ownership::Loading(token));
        }
        let me = self.clone();
        tokio::spawn(async move {
            let started = now_ms();
            let loaded = {
                let me = me.clone();
                tokio::task::spawn_blocking(move || me.read_partition(partition)).await
            };
            let loaded = match loaded {
                Ok(Ok(l)) => l,
                Ok(Err(e)) => {
                    tracing::error!("could not load {GROUP_METADATA_TOPIC}-{partition}: {e}");
                    LoadedGroups::new()
                }
                Err(e) => {
                    tracing::error!("loading {GROUP_METADATA_TOPIC}-{partition} panicked: {e}");
                    return;
                }
            };
            me.install(partition, token, loaded, started);
        });
    }

    /// Read every record of the partition up to its log end (blocking I/O).
    fn read_partition(&self, partition: i32) -> Result<LoadedGroups, String> {
        let mut loaded = LoadedGroups::new();
        let Some(p) = self.replica_manager.get_partition(GROUP_METADATA_TOPIC, partition) else {
            return Ok(loaded);
        };
        let log = p.log().clone();
        let end = log.log_end_offset();
        let mut offset = log.log_start_offset();
        while offset < end {
            let info = log.read(offset, self.config.load_buffer_size.max(1) as u32, end, true).map_err(|e| e.to_string())?;
            let bytes = info.records.read_to_vec().map_err(|e| e.to_string())?;
            if bytes.is_empty() {
                break;
            }
            let mut next = offset;
            for (at, header) in storage::record_batch::BatchIter::new(&bytes) {
                next = header.next_offset();
                if header.is_control() || header.last_offset() < offset {
                    continue;
                }
                match decode_all(&bytes[at..at + header.size_in_bytes()]) {
                    Ok(records) => {
                        for r in records.iter().filter(|r| r.offset >= offset) {
                            loaded.apply(r.key.as_deref(), r.value.as_deref(), header.base_offset);
                        }
                    }
                    Err(e) => tracing::warn!("skipping batch at {} of {GROUP_METADATA_TOPIC}-{partition}: {e}", header.base_offset),
                }
            }
            if next <= offset {
                break;
            }
            offset = next;
        }
        Ok(loaded)
    }

    /// Put loaded groups into the cache if the partition is still ours and this load is current.
    fn install(&self, partition: i32, token: u64, loaded: LoadedGroups, started: i64) {
        let mut owned = self.owned.lock().unwrap_or_else(|p| p.into_inner());
        if owned.get(&partition) != Some(&Ownership::Loading(token)) {
            return;
        }
        let now = now_ms();
        let groups = loaded.into_groups();
        let count = groups.len();
        {
            let mut cache = self.groups.write().unwrap_or_else(|p| p.into_inner());
            for (id, lg) in groups {
                let mut g = GroupMetadata::new(&id, now);
                if let Some(v) = lg.metadata {
                    g.generation_id = v.generation;
                    g.protocol_type = (!v.protocol_type.is_empty()).then_some(v.protocol_type.clone());
                    g.protocol_name = v.protocol.clone();
                    g.leader_id = v.leader;
                    g.current_state_timestamp = v.current_state_timestamp;
                    for m in v.members {
                        g.add(MemberMetadata {
                            member_id: m.member_id,
                            group_instance_id: m.group_instance_id,
                            client_id: m.client_id,
                            client_host: m.client_host,
                            rebalance_timeout_ms: m.rebalance_timeout,
                            session_timeout_ms: m.session_timeout,
                            protocol_type: g.protocol_type.clone().unwrap_or_default(),
                            protocols: vec![(v.protocol.clone().unwrap_or_default(), m.subscription)],
                            assignment: m.assignment,
                            awaiting_join: None,
                            awaiting_sync: None,
                            is_new: false,
                            heartbeat_deadline: now + m.session_timeout as i64,
                        });
                    }
                    // `add` takes the protocol type from the first member; keep the stored one.
                    g.protocol_type = (!v.protocol_type.is_empty()).then_some(v.protocol_type);
                    if !g.members.is_empty() {
                        g.state = GroupState::Stable;
                    }
                }
                g.offsets = lg.offsets;
                cache.insert(id, Arc::new(Mutex::new(g)));
            }
        }
        owned.insert(partition, Ownership::Loaded);
        tracing::info!(
            "Finished loading offsets and group metadata from {GROUP_METADATA_TOPIC}-{partition} in {} milliseconds ({count} groups)",
            now - started
        );
    }

    /// This broker is no longer leader of an offsets partition: every group on it goes Dead, and
    /// parked requests learn the coordinator moved.
    pub fn on_resignation(&self, partition: i32) {
        let was = self.owned.lock().unwrap_or_else(|p| p.into_inner()).remove(&partition);
        if was.is_none() {
            return;
        }
        let mut cache = self.groups.write().unwrap_or_else(|p| p.into_inner());
        let ids: Vec<String> = cache.keys().filter(|id| self.partition_for(id) == partition).cloned().collect();
        let now = now_ms();
        for id in &ids {
            if let Some(g) = cache.remove(id) {
                let mut g = lock(&g);
                for m in g.members.values_mut() {
                    if let Some(tx) = m.awaiting_join.take() {
                        let _ = tx.send(JoinGroupResult::error(&m.member_id, ResponseError::NotCoordinator));
                    }
                    if let Some(tx) = m.awaiting_sync.take() {
                        let _ = tx.send(SyncGroupResult::error(ResponseError::NotCoordinator));
                    }
                }
                g.transition_to(GroupState::Dead, now);
            }
        }
        tracing::info!("Unloaded {} groups of {GROUP_METADATA_TOPIC}-{partition}", ids.len());
    }

    /// Partitions currently owned (loaded or loading).
    pub fn owned_partitions(&self) -> HashSet<i32> {
        self.owned.lock().unwrap_or_else(|p| p.into_inner()).keys().copied().collect()
    }
}
