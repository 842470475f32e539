//! Committed offsets: OffsetCommit, OffsetFetch, OffsetDelete and retention-based expiry
//! (spec protocol-and-groups §2.10-2.12, classic-architecture §7.1).

use wire::ResponseError;

use super::coordinator::GroupCoordinator;
use super::manager::GroupMetadataManager;
use super::metadata::{GroupMetadata, GroupState};
use super::records::{CommittedOffset, OffsetCommitValue};
use super::session;
use crate::replica_manager::now_ms;

/// One partition of an OffsetCommit, after the API layer's checks.
#[derive(Debug, Clone)]
pub struct OffsetCommit {
    /// Topic.
    pub topic: String,
    /// Partition.
    pub partition: i32,
    /// The value to store.
    pub value: OffsetCommitValue,
}

/// One partition of an OffsetFetch answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FetchedOffset {
    /// Topic.
    pub topic: String,
    /// Partition.
    pub partition: i32,
    /// Committed offset, -1 if none.
    pub offset: i64,
    /// Leader epoch of the commit, -1 if unknown.
    pub leader_epoch: i32,
    /// Metadata, `""` if none.
    pub metadata: String,
    /// Per-partition error.
    pub error: Option<ResponseError>,
}

/// Settings of offset handling.
#[derive(Debug, Clone, Copy)]
pub struct OffsetConfig {
    /// `offset.metadata.max.bytes`.
    pub max_metadata_size: usize,
    /// `offsets.retention.minutes` in ms.
    pub retention_ms: i64,
}

/// Offsets whose retention ran out (Kafka 2.8's `removeExpiredOffsets`, classic-architecture
/// §7.1). Which offsets are candidates depends on the group:
/// * Empty with a protocol type: all, measured from when it became Empty (or from the commit if
///   that time is unknown);
/// * Stable `consumer` group with known subscriptions: topics it no longer subscribes to,
///   measured from the commit;
/// * no protocol type (a standalone consumer that only stores offsets): all, from the commit;
/// * otherwise (rebalancing, other protocols): none.
///
/// A candidate with an explicit expire timestamp (OffsetCommit v1-v4 retention) expires at that
/// time instead. Offsets with a commit in flight are kept.
pub fn expired_offsets(g: &GroupMetadata, retention_ms: i64, now: i64) -> Vec<(String, i32)> {
    enum Base {
        StateChange(Option<i64>),
        Commit,
    }
    let (base, subscribed) = match g.protocol_type.as_deref() {
        Some(_) if g.is(GroupState::Empty) => (Base::StateChange(g.current_state_timestamp), None),
        Some("consumer") if g.is(GroupState::Stable) => match g.subscribed_topics() {
            Some(topics) => (Base::Commit, Some(topics)),
            None => return Vec::new(),
        },
        None => (Base::Commit, None),
        Some(_) => return Vec::new(),
    };
    g.offsets
        .iter()
        .filter(|((topic, _), _)| !subscribed.as_ref().is_some_and(|s| s.contains(topic)))
        .filter(|(tp, _)| !g.pending_offset_commits.contains_key(*tp))
        .filter(|(_, c)| match c.value.expire_timestamp {
            Some(expire) => now >= expire,
            None => {
                let b = match base {
                    Base::StateChange(t) => t.unwrap_or(c.value.commit_timestamp),
                    Base::Commit => c.value.commit_timestamp,
                };
                now.saturating_sub(b) >= retention_ms
            }
        })
        .map(|(tp, _)| tp.clone())
        .collect()
}

impl GroupCoordinator {
    /// OffsetCommit for the partitions that passed the API layer (spec §2.10); one error per
    /// partition, in order.
    pub async fn commit_offsets(
        &self,
        group_id: &str,
        member_id: &str,
        instance_id: Option<&str>,
        generation_id: i32,
        commits: Vec<OffsetCommit>,
        max_metadata_size: usize,
    ) -> Vec<Option<ResponseError>> {
        let all = |e: ResponseError| vec![Some(e); commits.len()];
        if let Err(e) = self.validate(group_id, true) {
            return all(e);
        }
        let g = match self.manager.get(group_id) {
            Some(g) => g,
            None if generation_id < 0 => self.manager.get_or_create(group_id),
            None => return all(ResponseError::IllegalGeneration),
        };
        {
            let mut guard = GroupMetadataManager::lock(&g);
            if let Err(e) = session::check_commit(&mut guard, member_id, instance_id, generation_id, now_ms()) {
                return all(e);
            }
            if commits.iter().any(|c| c.value.metadata.len() > max_metadata_size) {
                return all(ResponseError::OffsetMetadataTooLarge);
            }
            for c in &commits {
                *guard.pending_offset_commits.entry((c.topic.clone(), c.partition)).or_default() += 1;
            }
        }
        let values: Vec<((String, i32), OffsetCommitValue)> =
            commits.iter().map(|c| ((c.topic.clone(), c.partition), c.value.clone())).collect();
        let result = self.manager.store_offsets(group_id, &values).await;
        let mut guard = GroupMetadataManager::lock(&g);
        for (tp, value) in values {
            if let Some(n) = guard.pending_offset_commits.get_mut(&tp) {
                *n -= 1;
                if *n == 0 {
                    guard.pending_offset_commits.remove(&tp);
                }
            }
            if let Ok(base) = result {
                if !guard.is(GroupState::Dead) {
                    guard.offsets.insert(tp, CommittedOffset { value, append_offset: base });
                }
            }
        }
        match result {
            Ok(_) => vec![None; commits.len()],
            Err(e) => all(e),
        }
    }

    /// OffsetFetch (spec §2.11): `partitions` = None means every committed partition. A group-level
    /// error is returned as `Err`.
    pub fn fetch_offsets(
        &self,
        group_id: &str,
        partitions: Option<&[(String, i32)]>,
        require_stable: bool,
    ) -> Result<Vec<FetchedOffset>, ResponseError> {
        self.validate(group_id, true)?;
        let none = |topic: &str, partition: i32, error: Option<ResponseError>| FetchedOffset {
            topic: topic.to_string(),
            partition,
            offset: -1,
            leader_epoch: -1,
            metadata: String::new(),
            error,
        };
        let Some(g) = self.manager.get(group_id) else {
            return Ok(partitions.unwrap_or(&[]).iter().map(|(t, p)| none(t, *p, None)).collect());
        };
        let g = GroupMetadataManager::lock(&g);
        if g.is(GroupState::Dead) {
            return Ok(partitions.unwrap_or(&[]).iter().map(|(t, p)| none(t, *p, None)).collect());
        }
        let wanted: Vec<(String, i32)> = match partitions {
            Some(p) => p.to_vec(),
            None => g.offsets.keys().cloned().collect(),
        };
        Ok(wanted
            .into_iter()
            .map(|(topic, partition)| {
                let key = (topic.clone(), partition);
                if require_stable && g.pending_offset_commits.contains_key(&key) {
                    return none(&topic, partition, Some(ResponseError::UnstableOffsetCommit));
                }
                match g.offsets.get(&key) {
                    Some(c) => FetchedOffset {
                        topic,
                        partition,
                        offset: c.value.offset,
                        leader_epoch: c.value.leader_epoch.unwrap_or(-1),
                        metadata: c.value.metadata.clone(),
                        error: None,
                    },
                    None => none(&topic, partition, None),
                }
            })
            .collect())
    }

    /// OffsetDelete (spec §2.12): top-level error, or one error per requested partition.
    pub async fn delete_offsets(&self, group_id: &str, partitions: &[(String, i32)]) -> Result<Vec<Option<ResponseError>>, ResponseError> {
        if group_id.is_empty() {
            return Err(ResponseError::InvalidGroupId);
        }
        self.validate(group_id, false)?;
        let Some(g) = self.manager.get(group_id) else {
            return Err(ResponseError::GroupIdNotFound);
        };
        let (errors, removed) = {
            let mut guard = GroupMetadataManager::lock(&g);
            let subscribed = match guard.state {
                GroupState::Dead => return Err(ResponseError::GroupIdNotFound),
                GroupState::Empty => None,
                _ if guard.protocol_type.as_deref() == Some("consumer") => Some(guard.subscribed_topics()),
                _ => return Err(ResponseError::NonEmptyGroup),
            };
            let mut errors = Vec::with_capacity(partitions.len());
            let mut removed = Vec::new();
            for (topic, partition) in partitions {
                let is_subscribed = match &subscribed {
                    None => false,
                    Some(None) => true,
                    Some(Some(topics)) => topics.contains(topic),
                };
                if is_subscribed {
                    errors.push(Some(ResponseError::GroupSubscribedToTopic));
                } else {
                    if guard.offsets.remove(&(topic.clone(), *partition)).is_some() {
                        removed.push((topic.clone(), *partition));
                    }
                    errors.push(None);
                }
            }
            (errors, removed)
        };
        if let Err(e) = self.manager.store_tombstones(group_id, &removed, false).await {
            tracing::warn!("could not write offset tombstones for group {group_id}: {e:?}");
        }
        Ok(errors)
    }

    /// Remove expired offsets of every cached group, and groups left Empty with no offsets
    /// (Kafka's `cleanupGroupMetadata`); tombstones are written for both.
    pub async fn expire_offsets(&self, retention_ms: i64) {
        let now = now_ms();
        for g in self.manager.all_groups() {
            let (group_id, expired, group_dead, generation) = {
                let mut guard = GroupMetadataManager::lock(&g);
                let expired = expired_offsets(&guard, retention_ms, now);
                for tp in &expired {
                    guard.offsets.remove(tp);
                }
                let dead = guard.is(GroupState::Empty) && guard.offsets.is_empty() && guard.pending_offset_commits.is_empty();
                if dead {
                    guard.transition_to(GroupState::Dead, now);
                }
                (guard.group_id.clone(), expired, dead, guard.generation_id)
            };
            if group_dead {
                self.manager.remove_if_dead(&group_id);
            }
            if !expired.is_empty() || (group_dead && generation > 0) {
                tracing::info!("Removed {} expired offsets of group {group_id}", expired.len());
                if let Err(e) = self.manager.store_tombstones(&group_id, &expired, group_dead && generation > 0).await {
                    tracing::warn!("could not write tombstones for group {group_id}: {e:?}");
                }
            }
        }
    }
}

#[cfg(test)]
#[path = "offsets_tests.rs"]
mod tests;
