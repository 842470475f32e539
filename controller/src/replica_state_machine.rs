//! `ReplicaStateMachine` (spec §2.6): the lifecycle of each replica of each partition.
//!
//! Transitions and the requests they produce are pure functions of the context
//! ([`ReplicaStateMachine`]); only the ISR shrink of `OfflineReplica` needs ZooKeeper (read the
//! state znode, conditionally rewrite it, retry BADVERSION), which the driver on [`ControllerCore`]
//! does through the executor.

use std::collections::{BTreeMap, BTreeSet};

use crate::context::{ControllerContext, LeaderAndIsr, LeaderIsrAndControllerEpoch, PartitionAndReplica, TopicPartition};
use crate::controller_core::ControllerCore;
use crate::error::Result;
use crate::partition_state_machine::STATE_CHANGE_LOG;
use crate::request_batch::ControllerBrokerRequestBatch;
use crate::zk_backend::ControllerZk;
use crate::zk_executor;

/// Lifecycle state of a replica.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ReplicaState {
    /// Created by partition creation or reassignment; may only be a follower.
    New,
    /// Started and part of the assignment.
    Online,
    /// Its broker died (or it is being removed).
    Offline,
    /// StopReplica(delete=true) sent.
    DeletionStarted,
    /// The broker confirmed the deletion.
    DeletionSuccessful,
    /// The deletion failed or cannot proceed (broker down).
    DeletionIneligible,
    /// Gone.
    NonExistent,
}

impl ReplicaState {
    /// States a replica may move to `self` from.
    pub fn valid_previous_states(self) -> &'static [ReplicaState] {
        use ReplicaState::*;
        match self {
            New => &[NonExistent],
            Online | Offline => &[New, Online, Offline, DeletionIneligible],
            DeletionStarted => &[Offline],
            DeletionSuccessful => &[DeletionStarted],
            DeletionIneligible => &[Offline, DeletionStarted],
            NonExistent => &[DeletionSuccessful],
        }
    }

    /// Whether `from → self` is allowed.
    pub fn is_valid_transition_from(self, from: ReplicaState) -> bool {
        self.valid_previous_states().contains(&from)
    }

    /// Kafka's state name, for logs.
    pub fn kafka_name(self) -> &'static str {
        match self {
            ReplicaState::New => "NewReplica",
            ReplicaState::Online => "OnlineReplica",
            ReplicaState::Offline => "OfflineReplica",
            ReplicaState::DeletionStarted => "ReplicaDeletionStarted",
            ReplicaState::DeletionSuccessful => "ReplicaDeletionSuccessful",
            ReplicaState::DeletionIneligible => "ReplicaDeletionIneligible",
            ReplicaState::NonExistent => "NonExistentReplica",
        }
    }
}

/// The pure decisions of the replica state machine.
pub struct ReplicaStateMachine;

impl ReplicaStateMachine {
    /// Failover: replicas on online brokers start Online, the others DeletionIneligible. Returns
    /// (online, offline) replicas for the follow-up transitions to Online and Offline.
    pub fn initialize_replica_states(ctx: &mut ControllerContext) -> (Vec<PartitionAndReplica>, Vec<PartitionAndReplica>) {
        let mut online = Vec::new();
        let mut offline = Vec::new();
        for tp in ctx.all_partitions() {
            for r in ctx.partition_replica_assignment(&tp) {
                let replica = PartitionAndReplica::new(tp.clone(), r);
                if ctx.is_replica_online(r, &tp, false) {
                    ctx.put_replica_state(replica.clone(), ReplicaState::Online);
                    online.push(replica);
                } else {
                    ctx.put_replica_state(replica.clone(), ReplicaState::DeletionIneligible);
                    offline.push(replica);
                }
            }
        }
        (online, offline)
    }

    /// Replicas never seen become NonExistent; then split into valid and invalid for `target`.
    pub fn split_valid(
        ctx: &mut ControllerContext,
        replicas: &[PartitionAndReplica],
        target: ReplicaState,
    ) -> (Vec<PartitionAndReplica>, Vec<PartitionAndReplica>) {
        for r in replicas {
            if ctx.replica_state(r).is_none() {
                ctx.put_replica_state(r.clone(), ReplicaState::NonExistent);
            }
        }
        replicas.iter().cloned().partition(|r| {
            ctx.replica_state(r).is_some_and(|s| target.is_valid_transition_from(s))
        })
    }

    /// Every transition except the ISR-shrinking part of OfflineReplica: update the state, add the
    /// requests. For `Offline` only the StopReplica(delete=false) and the replicas without leadership
    /// info are handled here; the returned partitions need their ISR shrunk first.
    pub fn apply_transition(
        ctx: &mut ControllerContext,
        batch: &mut ControllerBrokerRequestBatch,
        replica_id: i32,
        valid: &[PartitionAndReplica],
        target: ReplicaState,
    ) -> Vec<TopicPartition> {
        let mut needs_isr_shrink = Vec::new();
        for r in valid {
            let tp = &r.tp;
            let current = ctx.replica_state(r).unwrap_or(ReplicaState::NonExistent);
            match target {
                ReplicaState::New => {
                    if let Some(l) = ctx.partition_leadership_info(tp).cloned() {
                        if l.leader_and_isr.leader == replica_id {
                            tracing::error!(
                                target: STATE_CHANGE_LOG,
                                "Replica {replica_id} for partition {tp} cannot be moved to NewReplica state as it is being requested to become leader"
                            );
                            continue;
                        }
                        let assignment = ctx.partition_full_replica_assignment(tp);
                        batch.add_leader_and_isr_request_for_brokers(ctx, &[replica_id], tp, &l, &assignment, true);
                    }
                }
                ReplicaState::Online => {
                    if current == ReplicaState::New {
                        let mut assignment = ctx.partition_full_replica_assignment(tp);
                        if !assignment.replicas.contains(&replica_id) {
                            assignment.replicas.push(replica_id);
                            ctx.update_partition_full_replica_assignment(tp, assignment);
                        }
                    } else if let Some(l) = ctx.partition_leadership_info(tp).cloned() {
                        let assignment = ctx.partition_full_replica_assignment(tp);
                        batch.add_leader_and_isr_request_for_brokers(ctx, &[replica_id], tp, &l, &assignment, false);
                    }
                }
                ReplicaState::Offline => {
                    batch.add_stop_replica_request_for_brokers(ctx, &[replica_id], tp, false);
                    if ctx.partition_leadership_info(tp).is_some() {
                        needs_isr_shrink.push(tp.clone());
                        continue;
                    }
                    let all: Vec<i32> = ctx.live_or_shutting_down_broker_ids().into_iter().collect();
                    batch.add_update_metadata_request_for_brokers(ctx, &all, std::slice::from_ref(tp));
                }
                ReplicaState::DeletionStarted => {
                    batch.add_stop_replica_request_for_brokers(ctx, &[replica_id], tp, true);
                }
                ReplicaState::DeletionSuccessful | ReplicaState::DeletionIneligible => {}
                ReplicaState::NonExistent => {
                    let mut assignment = ctx.partition_full_replica_assignment(tp);
                    assignment.replicas.retain(|x| *x != replica_id);
                    assignment.adding_replicas.retain(|x| *x != replica_id);
                    assignment.removing_replicas.retain(|x| *x != replica_id);
                    ctx.update_partition_full_replica_assignment(tp, assignment);
                    log_transition(ctx, r, target);
                    ctx.remove_replica_state(r);
                    continue;
                }
            }
            log_transition(ctx, r, target);
            ctx.put_replica_state(r.clone(), target);
        }
        needs_isr_shrink
    }

    /// The ISR shrink when `replica_id` goes offline, from a freshly read state: `None` if the
    /// replica is not in the ISR (nothing to write); otherwise leader -1 if it was the leader, ISR
    /// without it (a single-member ISR is kept as is), leader epoch + 1.
    pub fn remove_replica_from_isr(replica_id: i32, current: &LeaderAndIsr) -> Option<LeaderAndIsr> {
        if !current.isr.contains(&replica_id) {
            return None;
        }
        let leader = if current.leader == replica_id { LeaderAndIsr::NO_LEADER } else { current.leader };
        let isr = if current.isr.len() == 1 {
            current.isr.clone()
        } else {
            current.isr.iter().copied().filter(|r| *r != replica_id).collect()
        };
        Some(current.new_leader_and_isr(leader, isr))
    }

    /// After the ISR shrink of `tp` succeeded: LeaderAndIsr with the new state to the remaining
    /// replicas (not for topics being deleted) and the replica becomes Offline.
    pub fn complete_offline_transition(
        ctx: &mut ControllerContext,
        batch: &mut ControllerBrokerRequestBatch,
        replica_id: i32,
        tp: &TopicPartition,
        state: &LeaderIsrAndControllerEpoch,
    ) {
        if !ctx.is_topic_queued_up_for_deletion(&tp.topic) {
            let recipients: Vec<i32> =
                ctx.partition_replica_assignment(tp).into_iter().filter(|r| *r != replica_id).collect();
            let assignment = ctx.partition_full_replica_assignment(tp);
            batch.add_leader_and_isr_request_for_brokers(ctx, &recipients, tp, state, &assignment, false);
        }
        let r = PartitionAndReplica::new(tp.clone(), replica_id);
        log_transition(ctx, &r, ReplicaState::Offline);
        ctx.put_replica_state(r, ReplicaState::Offline);
    }
}

fn log_transition(ctx: &ControllerContext, r: &PartitionAndReplica, target: ReplicaState) {
    tracing::debug!(
        target: STATE_CHANGE_LOG,
        "Controller epoch {} changed state of replica {} for partition {} from {} to {}",
        ctx.epoch,
        r.replica,
        r.tp,
        ctx.replica_state(r).map(|s| s.kafka_name()).unwrap_or("NonExistentReplica"),
        target.kafka_name()
    );
}

impl<Z: ControllerZk> ControllerCore<Z> {
    /// Move `replicas` to `target` (grouped per broker) and flush the resulting requests.
    pub async fn handle_replica_state_changes(&mut self, replicas: &[PartitionAndReplica], target: ReplicaState) -> Result<()> {
        if replicas.is_empty() {
            return Ok(());
        }
        self.new_batch();
        match self.do_handle_replica_state_changes(replicas, target).await {
            Ok(()) => {
                self.send_requests_to_brokers();
                Ok(())
            }
            Err(e) => {
                self.batch.clear();
                Err(e)
            }
        }
    }

    async fn do_handle_replica_state_changes(&mut self, replicas: &[PartitionAndReplica], target: ReplicaState) -> Result<()> {
        let mut by_broker: BTreeMap<i32, Vec<PartitionAndReplica>> = BTreeMap::new();
        for r in replicas {
            by_broker.entry(r.replica).or_default().push(r.clone());
        }
        for (replica_id, replicas) in by_broker {
            let (valid, invalid) = ReplicaStateMachine::split_valid(&mut self.ctx, &replicas, target);
            for r in invalid {
                tracing::error!(
                    target: STATE_CHANGE_LOG,
                    "Controller {} epoch {} failed to change state of replica {r}: invalid transition from {:?} to {}",
                    self.config.broker_id,
                    self.ctx.epoch,
                    self.ctx.replica_state(&r).map(|s| s.kafka_name()),
                    target.kafka_name()
                );
            }
            let shrink = ReplicaStateMachine::apply_transition(&mut self.ctx, &mut self.batch, replica_id, &valid, target);
            if !shrink.is_empty() {
                for (tp, state) in self.remove_replicas_from_isr(replica_id, &shrink).await? {
                    ReplicaStateMachine::complete_offline_transition(&mut self.ctx, &mut self.batch, replica_id, &tp, &state);
                }
            }
        }
        Ok(())
    }

    /// Remove `replica_id` from the ISR of `partitions` in ZooKeeper (retrying BADVERSION ones) and
    /// the cache. Returns the resulting state of every partition that did not fail.
    pub async fn remove_replicas_from_isr(
        &mut self,
        replica_id: i32,
        partitions: &[TopicPartition],
    ) -> Result<Vec<(TopicPartition, LeaderIsrAndControllerEpoch)>> {
        let mut done = Vec::new();
        let mut remaining = partitions.to_vec();
        while !remaining.is_empty() {
            let current = zk_executor::read_partition_states(&self.zk, &remaining).await?;
            let mut updates = Vec::new();
            for (tp, state) in current {
                let Some(state) = state else {
                    tracing::error!(target: STATE_CHANGE_LOG, "Failed to remove replica {replica_id} from ISR of {tp}: no state znode");
                    continue;
                };
                if state.controller_epoch > self.ctx.epoch {
                    tracing::error!(
                        target: STATE_CHANGE_LOG,
                        "Leader and ISR of {tp} were written by a newer controller epoch {} (ours {}); not removing replica {replica_id}",
                        state.controller_epoch,
                        self.ctx.epoch
                    );
                    continue;
                }
                match ReplicaStateMachine::remove_replica_from_isr(replica_id, &state.leader_and_isr) {
                    Some(new) => updates.push((tp, new)),
                    None => {
                        self.ctx.put_partition_leadership_info(tp.clone(), state.clone());
                        done.push((tp, state));
                    }
                }
            }
            let outcome =
                zk_executor::update_leader_and_isr(&self.zk, self.ctx.epoch, self.ctx.epoch_zk_version, &updates).await?;
            for (tp, r) in outcome.finished {
                match r {
                    Ok(l) => {
                        let state = LeaderIsrAndControllerEpoch::new(l, self.ctx.epoch);
                        self.ctx.put_partition_leadership_info(tp.clone(), state.clone());
                        done.push((tp, state));
                    }
                    Err(e) => tracing::error!(target: STATE_CHANGE_LOG, "Failed to remove replica {replica_id} from ISR of {tp}: {e}"),
                }
            }
            remaining = outcome.updates_to_retry;
        }
        Ok(done)
    }

    /// Failover: initialize replica states and bring them Online/Offline (`replicaStateMachine.startup`).
    pub async fn replica_state_machine_startup(&mut self) -> Result<()> {
        let (online, offline) = ReplicaStateMachine::initialize_replica_states(&mut self.ctx);
        self.handle_replica_state_changes(&online, ReplicaState::Online).await?;
        self.handle_replica_state_changes(&offline, ReplicaState::Offline).await
    }

    /// Replicas of the given topics that are in `state`.
    pub fn replicas_in_state_for_topics(&self, topics: &BTreeSet<String>, state: ReplicaState) -> Vec<PartitionAndReplica> {
        topics.iter().flat_map(|t| self.ctx.replicas_in_state(t, state)).collect()
    }
}

#[cfg(test)]
#[path = "replica_state_machine_tests.rs"]
mod tests;
