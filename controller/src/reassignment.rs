//! Partition reassignment (spec §2.11, Kafka's `onPartitionReassignment`): through
//! `/admin/reassign_partitions` or AlterPartitionReassignments, with RS/AR/RR kept in
//! `/brokers/topics/<T>` so that a new controller resumes it.

use std::collections::{BTreeMap, BTreeSet};

use zk_schema::client::ZkOp;
use zk_schema::model::{ReassignPartitionsZNode, ReassignmentEntry, TopicZNode};
use zk_schema::{paths, ZkError};

use crate::context::{LeaderIsrAndControllerEpoch, PartitionAndReplica, ReplicaAssignment, TopicPartition};
use crate::controller_core::ControllerCore;
use crate::election::PartitionLeaderElectionStrategy;
use crate::error::{ControllerError, Result};
use crate::partition_state_machine::{PartitionState, STATE_CHANGE_LOG};
use crate::replica_state_machine::ReplicaState;
use crate::requests_api::{codes, ApiError, PartitionResults};
use crate::zk_backend::{ControllerZk, WatchTarget};
use crate::zk_executor;

/// Kafka's `validateReplicas` for an API reassignment target (pure).
pub fn validate_replicas(current: &ReplicaAssignment, replicas: &[i32], live: &BTreeSet<i32>) -> Option<ApiError> {
    let set: BTreeSet<i32> = replicas.iter().copied().collect();
    if replicas.is_empty() {
        return Some(ApiError::with_message(codes::INVALID_REPLICA_ASSIGNMENT, "Empty replica list specified in partition reassignment."));
    }
    if set.len() != replicas.len() {
        return Some(ApiError::with_message(
            codes::INVALID_REPLICA_ASSIGNMENT,
            format!("Duplicate replica ids in partition reassignment replica list: {replicas:?}"),
        ));
    }
    if replicas.iter().any(|r| *r < 0) {
        return Some(ApiError::with_message(codes::INVALID_REPLICA_ASSIGNMENT, format!("Invalid broker id in replica list: {replicas:?}")));
    }
    let adding = current.reassign_to(replicas).adding_replicas;
    if !adding.iter().all(|r| live.contains(r)) {
        return Some(ApiError::with_message(
            codes::INVALID_REPLICA_ASSIGNMENT,
            format!("Replica assignment has brokers that are not alive. Replica list: {adding:?}, live broker list: {live:?}"),
        ));
    }
    None
}

/// Kafka's `maybeBuildReassignment`: a partition being reassigned goes to `target` (or back to its
/// origin replicas when cancelled); others only when a target is given.
pub fn build_reassignment(current: &ReplicaAssignment, target: Option<&[i32]>) -> Option<ReplicaAssignment> {
    if current.is_being_reassigned() {
        let origin = current.origin_replicas();
        Some(current.reassign_to(target.unwrap_or(&origin)))
    } else {
        target.map(|t| current.reassign_to(t))
    }
}

/// Whether every target replica is in `isr`.
pub fn targets_in_isr(assignment: &ReplicaAssignment, isr: &[i32]) -> bool {
    assignment.target_replicas().iter().all(|r| isr.contains(r))
}

fn topic_znode(ctx: &crate::context::ControllerContext, topic: &str) -> TopicZNode {
    let known = ctx.partition_full_replica_assignment_for_topic(topic);
    let mut node = TopicZNode::new(
        known.iter().map(|(p, a)| (*p, a.replicas.clone())).collect(),
        ctx.topic_id(topic).map(str::to_string),
    );
    node.adding_replicas =
        known.iter().filter(|(_, a)| !a.adding_replicas.is_empty()).map(|(p, a)| (*p, a.adding_replicas.clone())).collect();
    node.removing_replicas =
        known.iter().filter(|(_, a)| !a.removing_replicas.is_empty()).map(|(p, a)| (*p, a.removing_replicas.clone())).collect();
    node
}

impl<Z: ControllerZk> ControllerCore<Z> {
    /// `/admin/reassign_partitions` was created (or failover): start what it lists. Returns the
    /// partitions whose reassignment started.
    pub(crate) async fn process_zk_partition_reassignment(&mut self) -> Result<BTreeSet<TopicPartition>> {
        if !self.is_active() {
            return Ok(BTreeSet::new());
        }
        self.zk.watch(WatchTarget::ReassignPartitions).await?;
        let Some(requested) = self.read_zk_reassignment().await? else { return Ok(BTreeSet::new()) };
        let mut results: PartitionResults = Vec::new();
        let mut to_reassign = Vec::new();
        for (tp, target) in requested {
            let current = self.ctx.partition_full_replica_assignment(&tp);
            match build_reassignment(&current, Some(&target)) {
                Some(ra) => to_reassign.push((tp, ra)),
                None => results.push((tp, Err(ApiError::new(codes::NO_REASSIGNMENT_IN_PROGRESS)))),
            }
        }
        results.extend(self.maybe_trigger_partition_reassignment(to_reassign).await?);
        let (ok, failed): (Vec<_>, Vec<_>) = results.into_iter().partition(|(_, r)| r.is_ok());
        if !failed.is_empty() {
            tracing::warn!("Failed reassignment through zk with the following errors: {failed:?}");
            let failed: BTreeSet<TopicPartition> = failed.into_iter().map(|(tp, _)| tp).collect();
            self.maybe_remove_from_zk_reassignment(|tp, _| failed.contains(tp)).await?;
        }
        Ok(ok.into_iter().map(|(tp, _)| tp).collect())
    }

    /// The entries of `/admin/reassign_partitions`, `None` if it does not exist.
    async fn read_zk_reassignment(&self) -> Result<Option<Vec<(TopicPartition, Vec<i32>)>>> {
        let path = paths::REASSIGN_PARTITIONS.to_string();
        let Some(Some((bytes, _))) = self.zk.get_data_many(std::slice::from_ref(&path)).await?.pop() else {
            return Ok(None);
        };
        match ReassignPartitionsZNode::decode(&path, &bytes) {
            Ok(node) => Ok(Some(
                node.partitions.into_iter().map(|e| (TopicPartition::new(e.topic, e.partition), e.replicas)).collect(),
            )),
            Err(e) => {
                tracing::error!("Ignoring unreadable {path}: {e}");
                Ok(Some(Vec::new()))
            }
        }
    }

    /// AlterPartitionReassignments: `None` target = cancel.
    pub(crate) async fn process_api_partition_reassignment(
        &mut self,
        reassignments: Vec<(TopicPartition, Option<Vec<i32>>)>,
    ) -> Result<std::result::Result<PartitionResults, ApiError>> {
        if !self.is_active() {
            return Ok(Err(ApiError::new(codes::NOT_CONTROLLER)));
        }
        let live = self.ctx.live_broker_ids();
        let mut results: PartitionResults = Vec::new();
        let mut to_reassign = Vec::new();
        for (tp, target) in reassignments {
            let current = self.ctx.partition_full_replica_assignment(&tp);
            if let Some(err) = target.as_deref().and_then(|t| validate_replicas(&current, t, &live)) {
                results.push((tp, Err(err)));
                continue;
            }
            match build_reassignment(&current, target.as_deref()) {
                Some(ra) => to_reassign.push((tp, ra)),
                None => results.push((tp, Err(ApiError::new(codes::NO_REASSIGNMENT_IN_PROGRESS)))),
            }
        }
        // The latest reassignment wins over one pending in ZooKeeper.
        let taken: BTreeSet<TopicPartition> = to_reassign.iter().map(|(tp, _)| tp.clone()).collect();
        self.maybe_remove_from_zk_reassignment(|tp, _| taken.contains(tp)).await?;
        results.extend(self.maybe_trigger_partition_reassignment(to_reassign).await?);
        Ok(Ok(results))
    }

    /// ListPartitionReassignments.
    pub(crate) fn process_list_partition_reassignments(
        &self,
        partitions: Option<Vec<TopicPartition>>,
    ) -> std::result::Result<Vec<(TopicPartition, ReplicaAssignment)>, ApiError> {
        if !self.is_active() {
            return Err(ApiError::new(codes::NOT_CONTROLLER));
        }
        let partitions = partitions.unwrap_or_else(|| self.ctx.partitions_being_reassigned.iter().cloned().collect());
        Ok(partitions
            .into_iter()
            .map(|tp| {
                let a = self.ctx.partition_full_replica_assignment(&tp);
                (tp, a)
            })
            .filter(|(_, a)| a.is_being_reassigned())
            .collect())
    }

    /// Start (or continue) the given reassignments; one result per partition.
    async fn maybe_trigger_partition_reassignment(
        &mut self,
        reassignments: Vec<(TopicPartition, ReplicaAssignment)>,
    ) -> Result<PartitionResults> {
        // One pipelined read refreshes the ISRs every completion check below uses.
        let known: Vec<TopicPartition> = reassignments
            .iter()
            .map(|(tp, _)| tp.clone())
            .filter(|tp| !self.ctx.partition_replica_assignment(tp).is_empty())
            .collect();
        for (tp, state) in zk_executor::read_partition_states(&self.zk, &known).await? {
            if let Some(state) = state {
                self.ctx.put_partition_leadership_info(tp, state);
            }
        }
        let mut results = Vec::new();
        for (tp, ra) in reassignments {
            let r = if self.ctx.is_topic_queued_up_for_deletion(&tp.topic) {
                tracing::info!("Skipping reassignment of {tp} since the topic is currently being deleted");
                Err(ApiError::with_message(codes::UNKNOWN_TOPIC_OR_PARTITION, "The partition does not exist."))
            } else if self.ctx.partition_replica_assignment(&tp).is_empty() {
                Err(ApiError::with_message(codes::UNKNOWN_TOPIC_OR_PARTITION, "The partition does not exist."))
            } else {
                match self.on_partition_reassignment(&tp, ra).await {
                    Ok(()) => Ok(()),
                    Err(ControllerError::ControllerMoved) => return Err(ControllerError::ControllerMoved),
                    Err(e) => {
                        tracing::error!("Error completing reassignment of partition {tp}: {e}");
                        Err(ApiError::new(codes::UNKNOWN_SERVER_ERROR))
                    }
                }
            };
            results.push((tp, r));
        }
        Ok(results)
    }

    /// Kafka's `onPartitionReassignment` (steps U1-U2, A1-A2, B1-B8 of spec §2.11).
    pub(crate) async fn on_partition_reassignment(&mut self, tp: &TopicPartition, ra: ReplicaAssignment) -> Result<()> {
        self.mark_topic_ineligible_for_deletion(&BTreeSet::from([tp.topic.clone()]), "topic reassignment in progress");
        self.update_current_reassignment(tp, &ra).await?;
        if !self.is_reassignment_complete(tp, &ra) {
            tracing::info!("Reassigning partition {tp}: RS {:?}, AR {:?}, RR {:?}", ra.replicas, ra.adding_replicas, ra.removing_replicas);
            // A1: bump the leader epoch, LeaderAndIsr with RS/AR/RR to every replica in RS.
            self.update_leader_epoch_and_send_request(tp, &ra).await?;
            // A2: adding replicas start as followers.
            let adding: Vec<PartitionAndReplica> =
                ra.adding_replicas.iter().map(|r| PartitionAndReplica::new(tp.clone(), *r)).collect();
            self.handle_replica_state_changes(&adding, ReplicaState::New).await?;
            return Ok(());
        }
        // B1
        let adding: Vec<PartitionAndReplica> =
            ra.adding_replicas.iter().map(|r| PartitionAndReplica::new(tp.clone(), *r)).collect();
        self.handle_replica_state_changes(&adding, ReplicaState::Online).await?;
        // B2
        let completed = ReplicaAssignment::new(ra.target_replicas());
        self.ctx.update_partition_full_replica_assignment(tp, completed.clone());
        // B3
        self.move_reassigned_partition_leader_if_required(tp, &completed).await?;
        // B4, B5
        self.stop_removed_replicas_of_reassigned_partition(tp, &ra.removing_replicas).await?;
        // B6
        self.update_replica_assignment_for_partition(tp).await?;
        // B7
        self.remove_partition_from_reassigning_partitions(tp, &completed).await?;
        // B8
        let all: Vec<i32> = self.ctx.live_or_shutting_down_broker_ids().into_iter().collect();
        self.send_update_metadata_request(&all, std::slice::from_ref(tp));
        tracing::info!("Completed reassignment of partition {tp} to {:?}", completed.replicas);
        self.resume_deletion_for_topics(&BTreeSet::from([tp.topic.clone()])).await
    }

    /// U1-U2: record the reassignment in ZooKeeper and memory; replicas dropped from an earlier,
    /// unfinished reassignment are stopped.
    async fn update_current_reassignment(&mut self, tp: &TopicPartition, ra: &ReplicaAssignment) -> Result<()> {
        let current = self.ctx.partition_full_replica_assignment(tp);
        if current != *ra {
            tracing::debug!("Updating assignment of partition {tp} from {current:?} to {ra:?}");
            self.ctx.update_partition_full_replica_assignment(tp, ra.clone());
            self.update_replica_assignment_for_partition(tp).await?;
            let unneeded: Vec<i32> = current.replicas.iter().copied().filter(|r| !ra.replicas.contains(r)).collect();
            if !unneeded.is_empty() {
                self.stop_removed_replicas_of_reassigned_partition(tp, &unneeded).await?;
            }
        }
        self.ctx.partitions_being_reassigned.insert(tp.clone());
        Ok(())
    }

    fn is_reassignment_complete(&self, tp: &TopicPartition, ra: &ReplicaAssignment) -> bool {
        if !ra.is_being_reassigned() {
            return true;
        }
        self.ctx.partition_leadership_info(tp).is_some_and(|l| targets_in_isr(ra, &l.leader_and_isr.isr))
    }

    /// Complete the reassignment of `tp` if its target replicas are all in the ISR now.
    pub(crate) async fn maybe_complete_reassignment(&mut self, tp: &TopicPartition) -> Result<()> {
        let ra = self.ctx.partition_full_replica_assignment(tp);
        if self.is_reassignment_complete(tp, &ra) {
            tracing::info!("Target replicas {:?} have all caught up with the leader for reassigning partition {tp}", ra.target_replicas());
            self.on_partition_reassignment(tp, ra).await?;
        }
        Ok(())
    }

    /// Rewrite the state znode with the leader epoch + 1 (same leader and ISR), then LeaderAndIsr
    /// to every replica of `ra`.
    async fn update_leader_epoch_and_send_request(&mut self, tp: &TopicPartition, ra: &ReplicaAssignment) -> Result<()> {
        match self.update_leader_epoch(tp).await? {
            Some(state) => {
                self.new_batch();
                self.batch.add_leader_and_isr_request_for_brokers(&self.ctx, &ra.replicas, tp, &state, ra, false);
                self.send_requests_to_brokers();
                tracing::info!(
                    target: STATE_CHANGE_LOG,
                    "Sent LeaderAndIsr request with leader epoch {} for partition {tp} being reassigned",
                    state.leader_and_isr.leader_epoch
                );
            }
            None => tracing::error!(
                target: STATE_CHANGE_LOG,
                "Failed to send LeaderAndIsr request with new assignment {ra:?} for partition {tp} being reassigned: leader epoch not updated"
            ),
        }
        Ok(())
    }

    /// Bump the leader epoch of `tp` in ZooKeeper (conditional, retried on BADVERSION); `None` if
    /// the partition has no state or a newer controller wrote it.
    async fn update_leader_epoch(&mut self, tp: &TopicPartition) -> Result<Option<LeaderIsrAndControllerEpoch>> {
        loop {
            let Some((_, Some(current))) = zk_executor::read_partition_states(&self.zk, std::slice::from_ref(tp)).await?.pop() else {
                return Ok(None);
            };
            if current.controller_epoch > self.ctx.epoch {
                return Ok(None);
            }
            let l = &current.leader_and_isr;
            let new = l.new_leader_and_isr(l.leader, l.isr.clone());
            let outcome = zk_executor::update_leader_and_isr(&self.zk, self.ctx.epoch, self.ctx.epoch_zk_version, &[(tp.clone(), new)]).await?;
            if let Some((_, r)) = outcome.finished.into_iter().next() {
                return match r {
                    Ok(l) => {
                        let state = LeaderIsrAndControllerEpoch::new(l, self.ctx.epoch);
                        self.ctx.put_partition_leadership_info(tp.clone(), state.clone());
                        Ok(Some(state))
                    }
                    Err(e) => {
                        tracing::error!("Failed to bump the leader epoch of {tp}: {e}");
                        Ok(None)
                    }
                };
            }
        }
    }

    /// B3: elect a leader from the targets if the current one is not among them (or offline);
    /// otherwise just bump the epoch so the replicas learn the new assignment.
    async fn move_reassigned_partition_leader_if_required(&mut self, tp: &TopicPartition, ra: &ReplicaAssignment) -> Result<()> {
        let leader = self.ctx.partition_leadership_info(tp).map(|l| l.leader_and_isr.leader).unwrap_or(-1);
        if ra.replicas.contains(&leader) && self.ctx.is_replica_online(leader, tp, false) {
            self.update_leader_epoch_and_send_request(tp, ra).await
        } else {
            tracing::info!("Leader {leader} for partition {tp} being reassigned is not in the new list of replicas {:?} or offline; re-electing", ra.replicas);
            self.handle_partition_state_changes(
                std::slice::from_ref(tp),
                PartitionState::Online,
                PartitionLeaderElectionStrategy::ReassignPartition,
            )
            .await?;
            Ok(())
        }
    }

    /// B4-B5: removed replicas go Offline (out of the ISR), are deleted (StopReplica delete=true)
    /// and forgotten.
    async fn stop_removed_replicas_of_reassigned_partition(&mut self, tp: &TopicPartition, removed: &[i32]) -> Result<()> {
        if removed.is_empty() {
            return Ok(());
        }
        let replicas: Vec<PartitionAndReplica> = removed.iter().map(|r| PartitionAndReplica::new(tp.clone(), *r)).collect();
        self.handle_replica_state_changes(&replicas, ReplicaState::Offline).await?;
        self.handle_replica_state_changes(&replicas, ReplicaState::DeletionStarted).await?;
        self.handle_replica_state_changes(&replicas, ReplicaState::DeletionSuccessful).await?;
        self.handle_replica_state_changes(&replicas, ReplicaState::NonExistent).await
    }

    /// Write the topic's assignment (RS/AR/RR of every partition, as in memory) to
    /// `/brokers/topics/<T>`, fenced.
    async fn update_replica_assignment_for_partition(&mut self, tp: &TopicPartition) -> Result<()> {
        let node = topic_znode(&self.ctx, &tp.topic);
        let op = ZkOp::SetData { path: paths::topic(&tp.topic), data: node.encode(), version: None };
        match self.zk.fenced_multi(self.ctx.epoch_zk_version, &[op]).await {
            Ok(_) => Ok(()),
            Err(ZkError::NoNode(p)) => Err(ControllerError::IllegalState(format!("topic {} does not exist ({p})", tp.topic))),
            Err(e) => Err(e.into()),
        }
    }

    /// B7: forget the reassignment and drop it from `/admin/reassign_partitions`.
    async fn remove_partition_from_reassigning_partitions(&mut self, tp: &TopicPartition, ra: &ReplicaAssignment) -> Result<()> {
        if self.ctx.partitions_being_reassigned.contains(tp) {
            let replicas = ra.replicas.clone();
            self.maybe_remove_from_zk_reassignment(|p, r| p == tp && *r == replicas).await?;
            self.ctx.partitions_being_reassigned.remove(tp);
        }
        Ok(())
    }

    /// Remove the entries matching `should_remove` from `/admin/reassign_partitions`; delete the
    /// node when nothing is left (and re-arm its watch).
    async fn maybe_remove_from_zk_reassignment(&mut self, should_remove: impl Fn(&TopicPartition, &Vec<i32>) -> bool) -> Result<()> {
        let Some(entries) = self.read_zk_reassignment().await? else { return Ok(()) };
        let (removing, remaining): (Vec<_>, Vec<_>) = entries.into_iter().partition(|(tp, r)| should_remove(tp, r));
        if removing.is_empty() {
            return Ok(());
        }
        tracing::info!(
            "Removing partitions {:?} from the list of reassigned partitions in zookeeper",
            removing.iter().map(|(tp, _)| tp.to_string()).collect::<Vec<_>>()
        );
        if remaining.is_empty() {
            tracing::info!("No more partitions need to be reassigned. Deleting zk path {}", paths::REASSIGN_PARTITIONS);
            zk_executor::delete_fenced(&self.zk, self.ctx.epoch_zk_version, &[paths::REASSIGN_PARTITIONS.to_string()]).await?;
            // Detect future reassignments.
            self.enqueue(crate::event::ControllerEvent::ZkPartitionReassignment);
            return Ok(());
        }
        let node = ReassignPartitionsZNode {
            version: 1,
            partitions: remaining
                .into_iter()
                .map(|(tp, replicas)| ReassignmentEntry { topic: tp.topic, partition: tp.partition, replicas, log_dirs: None })
                .collect(),
        };
        let op = ZkOp::SetData { path: paths::REASSIGN_PARTITIONS.to_string(), data: node.encode(), version: None };
        match self.zk.fenced_multi(self.ctx.epoch_zk_version, &[op]).await {
            Ok(_) | Err(ZkError::NoNode(_)) => Ok(()),
            Err(e) => Err(e.into()),
        }
    }

    /// Failover: start what `/admin/reassign_partitions` lists, resume the other reassignments
    /// recorded in the topic znodes.
    pub(crate) async fn initialize_partition_reassignments(&mut self) -> Result<()> {
        let resumed = self.process_zk_partition_reassignment().await?;
        self.maybe_resume_reassignments(|tp, _| !resumed.contains(tp)).await
    }

    /// Re-run `onPartitionReassignment` for reassigning partitions matching `should_resume`.
    pub(crate) async fn maybe_resume_reassignments(&mut self, should_resume: impl Fn(&TopicPartition, &ReplicaAssignment) -> bool) -> Result<()> {
        let partitions: Vec<TopicPartition> = self.ctx.partitions_being_reassigned.iter().cloned().collect();
        let to_resume: Vec<(TopicPartition, ReplicaAssignment)> = partitions
            .into_iter()
            .map(|tp| {
                let a = self.ctx.partition_full_replica_assignment(&tp);
                (tp, a)
            })
            .filter(|(tp, a)| should_resume(tp, a))
            .collect();
        if to_resume.is_empty() {
            return Ok(());
        }
        let by_tp: BTreeMap<TopicPartition, ReplicaAssignment> = to_resume.into_iter().collect();
        for (tp, r) in self.maybe_trigger_partition_reassignment(by_tp.into_iter().collect()).await? {
            if let Err(e) = r {
                tracing::error!("Could not resume reassignment of {tp}: {e}");
            }
        }
        Ok(())
    }
}

#[cfg(test)]
#[path = "reassignment_tests.rs"]
mod tests;
