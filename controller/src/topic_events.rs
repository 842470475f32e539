//! Topic creation and partition addition (spec §2.9): `TopicChange`, `PartitionModifications` and
//! `onNewPartitionCreation`, plus the `TopicDeletion` trigger that feeds the deletion manager.

use std::collections::BTreeSet;

use zk_schema::client::ZkOp;
use zk_schema::model::TopicZNode;
use zk_schema::paths;

use crate::context::TopicPartition;
use crate::controller_core::ControllerCore;
use crate::election::PartitionLeaderElectionStrategy;
use crate::error::Result;
use crate::partition_state_machine::PartitionState;
use crate::replica_state_machine::ReplicaState;
use crate::zk_backend::{ControllerZk, WatchTarget};
use crate::zk_executor;

const OFFLINE: PartitionLeaderElectionStrategy = PartitionLeaderElectionStrategy::OfflinePartition { allow_unclean: false };

impl<Z: ControllerZk> ControllerCore<Z> {
    /// Children of `/brokers/topics` changed: initialize new topics, forget vanished ones.
    pub(crate) async fn process_topic_change(&mut self) -> Result<()> {
        if !self.is_active() {
            return Ok(());
        }
        self.zk.watch(WatchTarget::Topics).await?;
        let topics: BTreeSet<String> = self.zk.get_children(paths::BROKER_TOPICS).await?.into_iter().collect();
        let new_topics: Vec<String> = topics.difference(self.ctx.all_topics()).cloned().collect();
        let deleted_topics: Vec<String> = self.ctx.all_topics().difference(&topics).cloned().collect();
        self.ctx.set_all_topics(topics);
        self.watch_all(new_topics.iter().map(|t| WatchTarget::Topic(t.clone()))).await?;
        for t in &deleted_topics {
            self.zk.unwatch(&WatchTarget::Topic(t.clone()));
            self.ctx.remove_topic(t);
        }
        let new_partitions = self.load_topic_assignments(&new_topics).await?;
        if !new_topics.is_empty() || !deleted_topics.is_empty() {
            tracing::info!("New topics: {new_topics:?}, deleted topics: {deleted_topics:?}, new partitions: {}", new_partitions.len());
        }
        if !new_partitions.is_empty() {
            self.on_new_partition_creation(&new_partitions).await?;
        }
        Ok(())
    }

    /// New partitions: New → Online with their replicas New → Online.
    pub(crate) async fn on_new_partition_creation(&mut self, partitions: &[TopicPartition]) -> Result<()> {
        if partitions.len() <= 100 {
            tracing::info!("New partition creation callback for {}", partitions.iter().map(|p| p.to_string()).collect::<Vec<_>>().join(","));
        } else {
            tracing::info!("New partition creation callback for {} partitions", partitions.len());
        }
        let start = std::time::Instant::now();
        self.handle_partition_state_changes(partitions, PartitionState::New, OFFLINE).await?;
        let replicas = self.ctx.replicas_for_partitions(partitions);
        self.handle_replica_state_changes(&replicas, ReplicaState::New).await?;
        self.handle_partition_state_changes(partitions, PartitionState::Online, OFFLINE).await?;
        let replicas = self.ctx.replicas_for_partitions(partitions);
        self.handle_replica_state_changes(&replicas, ReplicaState::Online).await?;
        tracing::info!("New partition creation of {} partitions took {} ms", partitions.len(), start.elapsed().as_millis());
        Ok(())
    }

    /// Data of `/brokers/topics/<T>` changed: initialize partitions that were added. A topic queued
    /// for deletion gets its old assignment written back instead.
    pub(crate) async fn process_partition_modifications(&mut self, topic: &str) -> Result<()> {
        if !self.is_active() || !self.ctx.all_topics().contains(topic) {
            return Ok(());
        }
        self.zk.watch(WatchTarget::Topic(topic.to_string())).await?;
        let Some(read) = zk_executor::read_topic_assignments(&self.zk, &[topic.to_string()]).await?.pop() else {
            return Ok(());
        };
        let to_add: Vec<(TopicPartition, _)> = read
            .partitions
            .into_iter()
            .map(|(p, a)| (TopicPartition::new(topic, p), a))
            .filter(|(tp, _)| self.ctx.partition_replica_assignment(tp).is_empty())
            .collect();
        if to_add.is_empty() {
            return Ok(());
        }
        if self.ctx.is_topic_queued_up_for_deletion(topic) {
            tracing::warn!("Restoring the assignment of topic {topic}: partitions cannot be added while it is being deleted");
            let known = self.ctx.partition_full_replica_assignment_for_topic(topic);
            let mut node = TopicZNode::new(
                known.iter().map(|(p, a)| (*p, a.replicas.clone())).collect(),
                self.ctx.topic_id(topic).map(str::to_string),
            );
            node.adding_replicas =
                known.iter().filter(|(_, a)| !a.adding_replicas.is_empty()).map(|(p, a)| (*p, a.adding_replicas.clone())).collect();
            node.removing_replicas =
                known.iter().filter(|(_, a)| !a.removing_replicas.is_empty()).map(|(p, a)| (*p, a.removing_replicas.clone())).collect();
            let op = ZkOp::SetData { path: paths::topic(topic), data: node.encode(), version: None };
            self.zk.fenced_multi(self.ctx.epoch_zk_version, &[op]).await?;
            return Ok(());
        }
        tracing::info!("New partitions to be added {:?}", to_add.iter().map(|(tp, a)| (tp.to_string(), a.replicas.clone())).collect::<Vec<_>>());
        let partitions: Vec<TopicPartition> = to_add.iter().map(|(tp, _)| tp.clone()).collect();
        for (tp, a) in to_add {
            self.ctx.update_partition_full_replica_assignment(&tp, a);
        }
        self.on_new_partition_creation(&partitions).await
    }

    /// Children of `/admin/delete_topics` changed: queue existing topics for deletion (or just drop
    /// the requests when deletion is disabled).
    pub(crate) async fn process_topic_deletion(&mut self) -> Result<()> {
        if !self.is_active() {
            return Ok(());
        }
        self.zk.watch(WatchTarget::TopicDeletions).await?;
        let mut to_delete: BTreeSet<String> = self.zk.get_children(paths::DELETE_TOPICS).await?.into_iter().collect();
        let non_existent: Vec<String> = to_delete.difference(self.ctx.all_topics()).cloned().collect();
        if !non_existent.is_empty() {
            tracing::warn!("Ignoring request to delete non-existing topics {non_existent:?}");
            let nodes: Vec<String> = non_existent.iter().map(|t| paths::delete_topic(t)).collect();
            zk_executor::delete_fenced(&self.zk, self.ctx.epoch_zk_version, &nodes).await?;
            for t in &non_existent {
                to_delete.remove(t);
            }
        }
        if to_delete.is_empty() {
            return Ok(());
        }
        if !self.config.delete_topic_enable {
            tracing::info!("Removing {to_delete:?} since delete topic is disabled");
            let nodes: Vec<String> = to_delete.iter().map(|t| paths::delete_topic(t)).collect();
            return zk_executor::delete_fenced(&self.zk, self.ctx.epoch_zk_version, &nodes).await;
        }
        tracing::info!("Starting topic deletion for topics {to_delete:?}");
        let reassigning: BTreeSet<String> =
            self.ctx.partitions_being_reassigned.iter().map(|tp| tp.topic.clone()).collect();
        let halted: BTreeSet<String> = to_delete.intersection(&reassigning).cloned().collect();
        if !halted.is_empty() {
            tracing::info!("Halted deletion of topics {halted:?}: topic reassignment in progress");
            self.ctx.topics_ineligible_for_deletion.extend(halted);
        }
        self.enqueue_topics_for_deletion(&to_delete).await
    }

    /// StopReplica(delete) answered: failed replicas become ineligible, the others successful.
    pub(crate) async fn process_topic_deletion_stop_replica_response(
        &mut self,
        broker_id: i32,
        error_code: i16,
        partition_errors: Vec<(TopicPartition, i16)>,
    ) -> Result<()> {
        if !self.is_active() {
            return Ok(());
        }
        let relevant: Vec<(TopicPartition, i16)> =
            partition_errors.into_iter().filter(|(tp, _)| self.ctx.is_topic_deletion_in_progress(&tp.topic)).collect();
        if relevant.is_empty() {
            return Ok(());
        }
        tracing::debug!("Delete topic callback invoked on StopReplica response from broker {broker_id}: {relevant:?}");
        let (failed, deleted): (Vec<_>, Vec<_>) =
            relevant.into_iter().partition(|(_, code)| error_code != 0 || *code != 0);
        let as_replicas = |v: Vec<(TopicPartition, i16)>| {
            v.into_iter().map(|(tp, _)| crate::context::PartitionAndReplica::new(tp, broker_id)).collect::<Vec<_>>()
        };
        self.fail_replica_deletion(&as_replicas(failed)).await?;
        self.complete_replica_deletion(&as_replicas(deleted)).await
    }
}
