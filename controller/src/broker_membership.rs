//! Broker membership (spec §2.4): `BrokerChange`, `BrokerModifications`, `onBrokerStartup`,
//! `onBrokerFailure`, `onReplicasBecomeOffline`, and the LeaderAndIsr/UpdateMetadata responses.

use std::collections::{BTreeMap, BTreeSet};

use zk_schema::model::BrokerRegistration;
use zk_schema::paths;

use crate::context::{LiveBroker, PartitionAndReplica, TopicPartition};
use crate::controller_core::ControllerCore;
use crate::election::PartitionLeaderElectionStrategy;
use crate::error::Result;
use crate::partition_state_machine::PartitionState;
use crate::replica_state_machine::ReplicaState;
use crate::zk_backend::{ControllerZk, WatchTarget};

/// Error code KAFKA_STORAGE_ERROR: the replica's log dir is offline.
pub const KAFKA_STORAGE_ERROR: i16 = 56;
/// Error code STALE_BROKER_EPOCH.
pub const STALE_BROKER_EPOCH: i16 = 77;

/// How the registered broker set changed since the controller last looked.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct BrokerChanges {
    /// Registered now, unknown before.
    pub new: Vec<LiveBroker>,
    /// Known before, gone now.
    pub dead: BTreeSet<i32>,
    /// Re-registered with a newer epoch (restarted between two looks).
    pub bounced: Vec<LiveBroker>,
}

/// Classify the current registrations against the known live brokers (pure).
pub fn compute_broker_changes(known: &BTreeMap<i32, i64>, current: Vec<LiveBroker>) -> BrokerChanges {
    let current_ids: BTreeSet<i32> = current.iter().map(|b| b.id).collect();
    let mut changes = BrokerChanges {
        dead: known.keys().copied().filter(|id| !current_ids.contains(id)).collect(),
        ..Default::default()
    };
    for b in current {
        match known.get(&b.id) {
            None => changes.new.push(b),
            Some(epoch) if b.epoch > *epoch => changes.bounced.push(b),
            Some(_) => {}
        }
    }
    changes
}

fn ids(brokers: &[LiveBroker]) -> Vec<i32> {
    brokers.iter().map(|b| b.id).collect()
}

impl<Z: ControllerZk> ControllerCore<Z> {
    /// Children of `/brokers/ids` changed.
    pub(crate) async fn process_broker_change(&mut self) -> Result<()> {
        if !self.is_active() {
            return Ok(());
        }
        self.zk.watch(WatchTarget::BrokerIds).await?;
        let current = self.read_live_brokers().await?;
        let known: BTreeMap<i32, i64> = self
            .ctx
            .live_or_shutting_down_brokers()
            .map(|b| (b.id, b.epoch))
            .collect();
        let all_ids: Vec<i32> = ids(&current);
        let changes = compute_broker_changes(&known, current);
        tracing::info!(
            "Newly added brokers: {:?}, deleted brokers: {:?}, bounced brokers: {:?}, all live brokers: {:?}",
            ids(&changes.new),
            changes.dead,
            ids(&changes.bounced),
            all_ids
        );
        for b in &changes.new {
            self.channel.add_broker(b);
        }
        for b in &changes.bounced {
            self.channel.remove_broker(b.id);
            self.channel.add_broker(b);
        }
        for id in &changes.dead {
            self.channel.remove_broker(*id);
        }
        if !changes.new.is_empty() {
            let new_ids = ids(&changes.new);
            self.ctx.add_live_brokers(changes.new);
            self.on_broker_startup(&new_ids).await?;
        }
        if !changes.bounced.is_empty() {
            let bounced_ids = ids(&changes.bounced);
            self.ctx.remove_live_brokers(&bounced_ids.iter().copied().collect());
            self.on_broker_failure(&bounced_ids).await?;
            self.ctx.add_live_brokers(changes.bounced);
            self.on_broker_startup(&bounced_ids).await?;
        }
        if !changes.dead.is_empty() {
            self.ctx.remove_live_brokers(&changes.dead);
            let dead: Vec<i32> = changes.dead.into_iter().collect();
            self.on_broker_failure(&dead).await?;
        }
        Ok(())
    }

    /// New brokers: metadata to everyone, their replicas online, elections, resume deletions.
    pub(crate) async fn on_broker_startup(&mut self, new_brokers: &[i32]) -> Result<()> {
        tracing::info!("New broker startup callback for {new_brokers:?}");
        let start = std::time::Instant::now();
        for b in new_brokers {
            self.ctx.replicas_on_offline_dirs.remove(b);
        }
        let new_set: BTreeSet<i32> = new_brokers.iter().copied().collect();
        let existing: Vec<i32> = self.ctx.live_or_shutting_down_broker_ids().difference(&new_set).copied().collect();
        self.send_update_metadata_request(&existing, &[]);
        let with_leaders = self.ctx.partitions_with_leaders();
        self.send_update_metadata_request(new_brokers, &with_leaders);
        let replicas = self.ctx.replicas_on_brokers(&new_set);
        self.handle_replica_state_changes(&replicas, ReplicaState::Online).await?;
        self.trigger_online_partition_state_change().await?;
        let topics: BTreeSet<String> = replicas
            .iter()
            .filter(|r| self.ctx.is_topic_queued_up_for_deletion(&r.tp.topic))
            .map(|r| r.tp.topic.clone())
            .collect();
        if !topics.is_empty() {
            tracing::info!("Some replicas {topics:?} for topics scheduled for deletion are on the new brokers; resuming deletion");
            self.resume_deletion_for_topics(&topics).await?;
        }
        // Reassignments waiting for a target replica on one of these brokers can proceed.
        self.maybe_resume_reassignments(|_, a| a.target_replicas().iter().any(|r| new_set.contains(r))).await?;
        self.watch_all(new_brokers.iter().map(|b| WatchTarget::Broker(*b))).await?;
        tracing::info!("Broker startup handling for {new_brokers:?} took {} ms", start.elapsed().as_millis());
        Ok(())
    }

    /// Dead brokers: their replicas go offline (elections, ISR shrink).
    pub(crate) async fn on_broker_failure(&mut self, dead: &[i32]) -> Result<()> {
        tracing::info!("Broker failure callback for {dead:?}");
        let start = std::time::Instant::now();
        for b in dead {
            self.ctx.replicas_on_offline_dirs.remove(b);
            self.ctx.shutting_down_broker_ids.remove(b);
            self.zk.unwatch(&WatchTarget::Broker(*b));
        }
        let replicas = self.ctx.replicas_on_brokers(&dead.iter().copied().collect());
        self.on_replicas_become_offline(&replicas).await?;
        tracing::info!(
            "Broker failure handling for {dead:?} ({} replicas offline) took {} ms",
            replicas.len(),
            start.elapsed().as_millis()
        );
        Ok(())
    }

    /// Replicas that became unusable: partitions they led go Offline and are re-elected, the
    /// replicas go Offline (or fail their deletion), and if nothing changed leadership an
    /// UpdateMetadata still tells everyone about the lost brokers.
    pub(crate) async fn on_replicas_become_offline(&mut self, replicas: &[PartitionAndReplica]) -> Result<()> {
        let (for_deletion, not_for_deletion): (Vec<_>, Vec<_>) =
            replicas.iter().cloned().partition(|r| self.ctx.is_topic_queued_up_for_deletion(&r.tp.topic));
        let offline_leaders = self.ctx.partitions_with_offline_leader();
        self.handle_partition_state_changes(
            &offline_leaders,
            PartitionState::Offline,
            PartitionLeaderElectionStrategy::OfflinePartition { allow_unclean: false },
        )
        .await?;
        let results = self.trigger_online_partition_state_change().await?;
        self.handle_replica_state_changes(&not_for_deletion, ReplicaState::Offline).await?;
        if !for_deletion.is_empty() {
            self.fail_replica_deletion(&for_deletion).await?;
        }
        if not_for_deletion.is_empty() && results.values().all(|r| r.is_err()) {
            let all: Vec<i32> = self.ctx.live_or_shutting_down_broker_ids().into_iter().collect();
            self.send_update_metadata_request(&all, &[]);
        }
        Ok(())
    }

    /// Data of `/brokers/ids/<id>` changed: new endpoints are propagated to every broker.
    pub(crate) async fn process_broker_modifications(&mut self, id: i32) -> Result<()> {
        if !self.is_active() {
            return Ok(());
        }
        let Some(old) = self.ctx.live_or_shutting_down_broker(id).cloned() else { return Ok(()) };
        self.zk.watch(WatchTarget::Broker(id)).await?;
        let path = paths::broker_id(id);
        let Some(Some((bytes, stat))) = self.zk.get_data_many(std::slice::from_ref(&path)).await?.pop() else {
            return Ok(());
        };
        let reg = BrokerRegistration::decode(&path, &bytes)?;
        let updated = LiveBroker { id, epoch: stat.czxid, endpoints: reg.parsed_endpoints(&path)?, rack: reg.rack };
        if updated.epoch != old.epoch || (updated.endpoints == old.endpoints && updated.rack == old.rack) {
            return Ok(());
        }
        tracing::info!("Updated broker {id} endpoints from {:?} to {:?}", old.endpoints, updated.endpoints);
        self.channel.remove_broker(id);
        self.channel.add_broker(&updated);
        self.ctx.add_live_brokers([updated]);
        let all: Vec<i32> = self.ctx.live_or_shutting_down_broker_ids().into_iter().collect();
        self.send_update_metadata_request(&all, &[]);
        Ok(())
    }

    /// LeaderAndIsr response: replicas reported on offline log dirs become offline.
    pub(crate) async fn process_leader_and_isr_response(
        &mut self,
        broker_id: i32,
        error_code: i16,
        partition_errors: Vec<(TopicPartition, i16)>,
    ) -> Result<()> {
        if !self.is_active() {
            return Ok(());
        }
        if error_code != 0 {
            tracing::error!(
                target: crate::partition_state_machine::STATE_CHANGE_LOG,
                "Received error code {error_code} in LeaderAndIsr response from broker {broker_id}"
            );
            return Ok(());
        }
        let previous = self.ctx.replicas_on_offline_dirs.get(&broker_id).cloned().unwrap_or_default();
        let mut current = previous.clone();
        for (tp, code) in &partition_errors {
            match *code {
                0 => {
                    current.remove(tp);
                }
                KAFKA_STORAGE_ERROR => {
                    current.insert(tp.clone());
                }
                _ => {}
            }
        }
        let newly_offline: Vec<PartitionAndReplica> =
            current.difference(&previous).map(|tp| PartitionAndReplica::new(tp.clone(), broker_id)).collect();
        self.ctx.replicas_on_offline_dirs.insert(broker_id, current);
        if !newly_offline.is_empty() {
            tracing::warn!("Broker {broker_id} reported replicas on offline log dirs: {newly_offline:?}");
            self.on_replicas_become_offline(&newly_offline).await?;
        }
        Ok(())
    }

    /// UpdateMetadata response: only logged.
    pub(crate) fn process_update_metadata_response(&mut self, broker_id: i32, error_code: i16) {
        match error_code {
            0 => {}
            STALE_BROKER_EPOCH => tracing::info!("Received STALE_BROKER_EPOCH in UpdateMetadata response from broker {broker_id}"),
            code => tracing::error!("Received error code {code} in UpdateMetadata response from broker {broker_id}"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn b(id: i32, epoch: i64) -> LiveBroker {
        LiveBroker { id, epoch, endpoints: vec![], rack: None }
    }

    #[test]
    fn new_dead_and_bounced_brokers() {
        let known = BTreeMap::from([(1, 10), (2, 20), (3, 30)]);
        let changes = compute_broker_changes(&known, vec![b(1, 10), b(2, 25), b(4, 40)]);
        assert_eq!(ids(&changes.new), vec![4]);
        assert_eq!(changes.dead, BTreeSet::from([3]));
        assert_eq!(ids(&changes.bounced), vec![2]);
    }
}
