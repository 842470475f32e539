//! `TopicDeletionManager` (spec §2.10).
//!
//! A queued topic is deleted in rounds: its partitions go Offline → NonExistent, every broker gets
//! an UpdateMetadata with leader -2 so it forgets them, live replicas get StopReplica(delete=false)
//! then StopReplica(delete=true, leader epoch -2). When every replica reports success the topic's
//! znodes are deleted (fenced). Replicas on dead brokers make the topic ineligible until the broker
//! returns; failed deletions are retried.

use std::collections::BTreeSet;

use zk_schema::paths;

use crate::context::{ControllerContext, PartitionAndReplica};
use crate::controller_core::ControllerCore;
use crate::election::PartitionLeaderElectionStrategy;
use crate::error::Result;
use crate::partition_state_machine::PartitionState;
use crate::replica_state_machine::ReplicaState;
use crate::zk_backend::{ControllerZk, WatchTarget};
use crate::zk_executor;

/// What `resumeDeletions` should do for the queued topics.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct ResumePlan {
    /// Every replica deleted: remove the topic.
    pub complete: Vec<String>,
    /// No deletion in flight but some replica failed: retry those replicas.
    pub retry: Vec<String>,
    /// Eligible for (another round of) deletion.
    pub eligible: Vec<String>,
}

/// What `onPartitionDeletion` should do for a set of topics.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct PartitionDeletionPlan {
    /// Replicas on dead brokers: straight to DeletionIneligible.
    pub dead_replicas: Vec<PartitionAndReplica>,
    /// Live replicas not yet deleted: Offline, then DeletionStarted.
    pub replicas_to_delete: Vec<PartitionAndReplica>,
    /// Topics with dead replicas: deletion halted until the brokers return.
    pub ineligible_topics: BTreeSet<String>,
}

/// The pure decisions of topic deletion.
pub struct TopicDeletionManager;

impl TopicDeletionManager {
    /// Queued, no replica in DeletionStarted, and not marked ineligible.
    pub fn is_topic_eligible_for_deletion(ctx: &ControllerContext, topic: &str) -> bool {
        ctx.is_topic_queued_up_for_deletion(topic)
            && !ctx.is_any_replica_in_state(topic, ReplicaState::DeletionStarted)
            && !ctx.topics_ineligible_for_deletion.contains(topic)
    }

    /// Classify the queued topics.
    pub fn plan_resume(ctx: &ControllerContext) -> ResumePlan {
        let mut plan = ResumePlan::default();
        for topic in &ctx.topics_to_be_deleted {
            if ctx.are_all_replicas_in_state(topic, ReplicaState::DeletionSuccessful) {
                plan.complete.push(topic.clone());
                continue;
            }
            if !ctx.is_any_replica_in_state(topic, ReplicaState::DeletionStarted)
                && ctx.is_any_replica_in_state(topic, ReplicaState::DeletionIneligible)
            {
                plan.retry.push(topic.clone());
            }
            if Self::is_topic_eligible_for_deletion(ctx, topic) {
                plan.eligible.push(topic.clone());
            }
        }
        plan
    }

    /// Split the replicas of `topics` into dead ones and live ones still to delete.
    pub fn plan_partition_deletion(ctx: &ControllerContext, topics: &BTreeSet<String>) -> PartitionDeletionPlan {
        let mut plan = PartitionDeletionPlan::default();
        for topic in topics {
            let (alive, dead): (Vec<_>, Vec<_>) =
                ctx.replicas_for_topic(topic).into_iter().partition(|r| ctx.is_replica_online(r.replica, &r.tp, false));
            if !dead.is_empty() {
                plan.ineligible_topics.insert(topic.clone());
            }
            plan.dead_replicas.extend(dead);
            plan.replicas_to_delete.extend(
                alive.into_iter().filter(|r| ctx.replica_state(r) != Some(ReplicaState::DeletionSuccessful)),
            );
        }
        plan
    }
}

impl<Z: ControllerZk> ControllerCore<Z> {
    /// Failover step 5: queued topics are those under `/admin/delete_topics` that exist; the ones
    /// with offline replicas or a reassignment are ineligible. Returns (queued, ineligible).
    pub(crate) async fn fetch_topic_deletions_in_progress(&mut self) -> Result<(BTreeSet<String>, BTreeSet<String>)> {
        let requested: BTreeSet<String> = self.zk.get_children(paths::DELETE_TOPICS).await?.into_iter().collect();
        let (to_delete, missing): (BTreeSet<String>, BTreeSet<String>) =
            requested.into_iter().partition(|t| self.ctx.all_topics().contains(t));
        if !missing.is_empty() {
            tracing::warn!("Ignoring request to delete non-existing topics {missing:?}");
            let nodes: Vec<String> = missing.iter().map(|t| paths::delete_topic(t)).collect();
            zk_executor::delete_fenced(&self.zk, self.ctx.epoch_zk_version, &nodes).await?;
        }
        let ctx = &self.ctx;
        let ineligible = to_delete
            .iter()
            .filter(|t| {
                ctx.replicas_for_topic(t).iter().any(|r| !ctx.is_replica_online(r.replica, &r.tp, false))
                    || ctx.partitions_being_reassigned.iter().any(|tp| &tp.topic == *t)
            })
            .cloned()
            .collect();
        Ok((to_delete, ineligible))
    }

    /// `TopicDeletionManager.init`.
    pub(crate) async fn topic_deletion_manager_init(
        &mut self,
        to_delete: BTreeSet<String>,
        ineligible: BTreeSet<String>,
    ) -> Result<()> {
        if self.config.delete_topic_enable {
            self.ctx.topics_ineligible_for_deletion = ineligible.intersection(&to_delete).cloned().collect();
            self.ctx.topics_to_be_deleted = to_delete;
            Ok(())
        } else {
            let nodes: Vec<String> = to_delete.iter().map(|t| paths::delete_topic(t)).collect();
            zk_executor::delete_fenced(&self.zk, self.ctx.epoch_zk_version, &nodes).await
        }
    }

    /// Queue topics and start deleting what can be deleted.
    pub(crate) async fn enqueue_topics_for_deletion(&mut self, topics: &BTreeSet<String>) -> Result<()> {
        if self.config.delete_topic_enable {
            self.ctx.topics_to_be_deleted.extend(topics.iter().cloned());
            self.resume_deletions().await?;
        }
        Ok(())
    }

    /// A broker returned (or a reassignment finished): these topics may proceed again.
    pub(crate) async fn resume_deletion_for_topics(&mut self, topics: &BTreeSet<String>) -> Result<()> {
        let resumable: Vec<String> = topics.intersection(&self.ctx.topics_to_be_deleted).cloned().collect();
        if self.config.delete_topic_enable && !resumable.is_empty() {
            for t in &resumable {
                self.ctx.topics_ineligible_for_deletion.remove(t);
            }
            self.resume_deletions().await?;
        }
        Ok(())
    }

    /// Replicas whose deletion failed (or cannot happen now): DeletionIneligible, topic halted.
    pub(crate) async fn fail_replica_deletion(&mut self, replicas: &[PartitionAndReplica]) -> Result<()> {
        if !self.config.delete_topic_enable {
            return Ok(());
        }
        let failed: Vec<PartitionAndReplica> =
            replicas.iter().filter(|r| self.ctx.is_topic_queued_up_for_deletion(&r.tp.topic)).cloned().collect();
        if failed.is_empty() {
            return Ok(());
        }
        let topics: BTreeSet<String> = failed.iter().map(|r| r.tp.topic.clone()).collect();
        tracing::info!("Deletion of topics {topics:?} failed for replicas {failed:?}; halting their deletion");
        self.handle_replica_state_changes(&failed, ReplicaState::DeletionIneligible).await?;
        self.mark_topic_ineligible_for_deletion(&topics, "replica deletion failure");
        self.resume_deletions().await
    }

    /// Replicas the brokers confirmed deleted.
    pub(crate) async fn complete_replica_deletion(&mut self, replicas: &[PartitionAndReplica]) -> Result<()> {
        let deleted: Vec<PartitionAndReplica> =
            replicas.iter().filter(|r| self.ctx.is_topic_queued_up_for_deletion(&r.tp.topic)).cloned().collect();
        if deleted.is_empty() {
            return Ok(());
        }
        tracing::debug!("Deletion successfully completed for replicas {deleted:?}");
        self.handle_replica_state_changes(&deleted, ReplicaState::DeletionSuccessful).await?;
        self.resume_deletions().await
    }

    /// Halt deletion of queued `topics`.
    pub(crate) fn mark_topic_ineligible_for_deletion(&mut self, topics: &BTreeSet<String>, reason: &str) {
        if !self.config.delete_topic_enable {
            return;
        }
        let halted: Vec<String> = topics.intersection(&self.ctx.topics_to_be_deleted).cloned().collect();
        if !halted.is_empty() {
            tracing::info!("Halted deletion of topics {halted:?} due to {reason}");
            self.ctx.topics_ineligible_for_deletion.extend(halted);
        }
    }

    /// Drive every queued topic as far as it can go now.
    pub(crate) async fn resume_deletions(&mut self) -> Result<()> {
        let plan = TopicDeletionManager::plan_resume(&self.ctx);
        for topic in &plan.complete {
            self.complete_delete_topic(topic).await?;
        }
        if !plan.retry.is_empty() {
            let topics: BTreeSet<String> = plan.retry.into_iter().collect();
            let failed = self.replicas_in_state_for_topics(&topics, ReplicaState::DeletionIneligible);
            tracing::debug!("Retrying deletion of replicas {failed:?}");
            for t in &topics {
                self.ctx.topics_ineligible_for_deletion.remove(t);
            }
            self.handle_replica_state_changes(&failed, ReplicaState::Offline).await?;
        }
        // Eligibility is decided before the retries above (a retried topic waits for the next
        // trigger, so a broker that keeps failing is not hammered); completed topics are gone.
        let eligible: BTreeSet<String> =
            plan.eligible.into_iter().filter(|t| self.ctx.is_topic_queued_up_for_deletion(t)).collect();
        if !eligible.is_empty() {
            self.on_topic_deletion(&eligible).await?;
        }
        Ok(())
    }

    /// First round only: partitions Offline → NonExistent. Every round: UpdateMetadata (leader -2)
    /// to all brokers, then the replica deletions.
    async fn on_topic_deletion(&mut self, topics: &BTreeSet<String>) -> Result<()> {
        tracing::info!("Topic deletion callback for {topics:?}");
        let unseen: Vec<String> = topics.difference(&self.ctx.topics_with_deletion_started).cloned().collect();
        if !unseen.is_empty() {
            let partitions: Vec<_> = unseen.iter().flat_map(|t| self.ctx.partitions_for_topic(t)).collect();
            let s = PartitionLeaderElectionStrategy::OfflinePartition { allow_unclean: false };
            self.handle_partition_state_changes(&partitions, PartitionState::Offline, s).await?;
            self.handle_partition_state_changes(&partitions, PartitionState::NonExistent, s).await?;
            self.ctx.topics_with_deletion_started.extend(unseen);
        }
        let partitions: Vec<_> = topics.iter().flat_map(|t| self.ctx.partitions_for_topic(t)).collect();
        let all: Vec<i32> = self.ctx.live_or_shutting_down_broker_ids().into_iter().collect();
        self.send_update_metadata_request(&all, &partitions);
        self.on_partition_deletion(topics).await
    }

    async fn on_partition_deletion(&mut self, topics: &BTreeSet<String>) -> Result<()> {
        let plan = TopicDeletionManager::plan_partition_deletion(&self.ctx, topics);
        self.handle_replica_state_changes(&plan.dead_replicas, ReplicaState::DeletionIneligible).await?;
        self.handle_replica_state_changes(&plan.replicas_to_delete, ReplicaState::Offline).await?;
        self.handle_replica_state_changes(&plan.replicas_to_delete, ReplicaState::DeletionStarted).await?;
        if !plan.ineligible_topics.is_empty() {
            self.mark_topic_ineligible_for_deletion(&plan.ineligible_topics, "offline replicas");
        }
        Ok(())
    }

    /// All replicas deleted: forget the topic and delete its znodes (fenced).
    async fn complete_delete_topic(&mut self, topic: &str) -> Result<()> {
        self.zk.unwatch(&WatchTarget::Topic(topic.to_string()));
        let replicas = self.ctx.replicas_in_state(topic, ReplicaState::DeletionSuccessful);
        self.handle_replica_state_changes(&replicas, ReplicaState::NonExistent).await?;
        self.ctx.topics_to_be_deleted.remove(topic);
        self.ctx.topics_with_deletion_started.remove(topic);
        let epoch_zk_version = self.ctx.epoch_zk_version;
        zk_executor::delete_recursive_fenced(&self.zk, epoch_zk_version, &paths::topic(topic)).await?;
        let nodes = [paths::config_entity("topics", topic), paths::delete_topic(topic)];
        zk_executor::delete_fenced(&self.zk, epoch_zk_version, &nodes).await?;
        self.ctx.remove_topic(topic);
        tracing::info!("Deletion of topic {topic} successfully completed");
        Ok(())
    }
}

#[cfg(test)]
#[path = "topic_deletion_manager_tests.rs"]
mod tests;
