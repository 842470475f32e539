//! `PartitionStateMachine` (spec §2.5): New / Online / Offline / NonExistent partitions.
//!
//! The decisions (which transitions are valid, initial leader and ISR of a new partition, who wins
//! an election) are pure functions in [`PartitionStateMachine`]; the driver on [`ControllerCore`]
//! reads the state znodes, performs the fenced conditional writes, retries BADVERSION partitions
//! and flushes the resulting LeaderAndIsr/UpdateMetadata requests.

use std::collections::{BTreeMap, BTreeSet};

use crate::context::{ControllerContext, LeaderAndIsr, LeaderIsrAndControllerEpoch, TopicPartition};
use crate::controller_core::ControllerCore;
use crate::election::{self, ElectionResult, PartitionLeaderElectionStrategy};
use crate::error::Result;
use crate::zk_backend::ControllerZk;
use crate::zk_executor;

/// Log target of state-change lines (Kafka's `state.change.logger`).
pub const STATE_CHANGE_LOG: &str = "state.change.logger";

/// Lifecycle state of a partition.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum PartitionState {
    /// Assigned replicas known, no leader/ISR yet.
    New,
    /// Has a leader.
    Online,
    /// Had a leader that went away (or is being deleted).
    Offline,
    /// Unknown or deleted.
    NonExistent,
}

impl PartitionState {
    /// States a partition may move to `self` from.
    pub fn valid_previous_states(self) -> &'static [PartitionState] {
        use PartitionState::*;
        match self {
            New => &[NonExistent],
            Online | Offline => &[New, Online, Offline],
            NonExistent => &[Offline],
        }
    }

    /// Whether `from → self` is allowed.
    pub fn is_valid_transition_from(self, from: PartitionState) -> bool {
        self.valid_previous_states().contains(&from)
    }

    /// Kafka's state name, for logs.
    pub fn kafka_name(self) -> &'static str {
        match self {
            PartitionState::New => "NewPartition",
            PartitionState::Online => "OnlinePartition",
            PartitionState::Offline => "OfflinePartition",
            PartitionState::NonExistent => "NonExistentPartition",
        }
    }
}

/// Per-partition outcome of a transition to Online: the new leader/ISR or why it failed.
pub type OnlineResults = BTreeMap<TopicPartition, std::result::Result<LeaderAndIsr, String>>;

/// Result of planning the initialization of new partitions.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct InitializationPlan {
    /// Partitions with their initial leader/ISR, to be created in ZooKeeper.
    pub initialized: Vec<(TopicPartition, LeaderIsrAndControllerEpoch)>,
    /// Partitions without an online replica, with the reason.
    pub failed: Vec<(TopicPartition, String)>,
}

/// Result of planning elections over freshly read state znodes.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct ElectionPlan {
    /// Partitions with a new leader to write.
    pub elected: Vec<ElectionResult>,
    /// Partitions that cannot be elected, with the reason.
    pub failed: Vec<(TopicPartition, String)>,
}

/// The pure decisions of the partition state machine.
pub struct PartitionStateMachine;

impl PartitionStateMachine {
    /// Failover: partitions with a cached leader are Online if that leader is an online replica,
    /// else Offline; partitions without a state znode are New.
    pub fn initialize_partition_states(ctx: &mut ControllerContext) {
        for tp in ctx.all_partitions() {
            let state = match ctx.partition_leadership_info(&tp) {
                Some(l) if ctx.is_replica_online(l.leader_and_isr.leader, &tp, false) => PartitionState::Online,
                Some(_) => PartitionState::Offline,
                None => PartitionState::New,
            };
            ctx.put_partition_state(tp, state);
        }
    }

    /// New and Offline partitions of topics not queued for deletion: what
    /// `triggerOnlinePartitionStateChange` tries to bring online.
    pub fn partitions_to_trigger_online(ctx: &ControllerContext) -> Vec<TopicPartition> {
        ctx.partitions_in_states(&[PartitionState::New, PartitionState::Offline])
            .into_iter()
            .filter(|tp| !ctx.is_topic_queued_up_for_deletion(&tp.topic))
            .collect()
    }

    /// Split `partitions` into those that may move to `target` and those that may not.
    pub fn split_valid(
        ctx: &ControllerContext,
        partitions: &[TopicPartition],
        target: PartitionState,
    ) -> (Vec<TopicPartition>, Vec<TopicPartition>) {
        partitions.iter().cloned().partition(|tp| target.is_valid_transition_from(ctx.partition_state(tp)))
    }

    /// Initial leader/ISR of new partitions: leader = first online replica in assignment order,
    /// ISR = all online replicas, leader epoch 0. Partitions without an online replica fail.
    pub fn plan_initialization(ctx: &ControllerContext, partitions: &[TopicPartition]) -> InitializationPlan {
        let mut plan = InitializationPlan::default();
        for tp in partitions {
            let replicas = ctx.partition_replica_assignment(tp);
            let live: Vec<i32> = replicas.iter().copied().filter(|r| ctx.is_replica_online(*r, tp, false)).collect();
            match live.first() {
                Some(&leader) => {
                    let state = LeaderIsrAndControllerEpoch::new(LeaderAndIsr::initial(leader, live), ctx.epoch);
                    plan.initialized.push((tp.clone(), state));
                }
                None => plan.failed.push((
                    tp.clone(),
                    format!(
                        "Encountered error during state change of partition {tp} from New to Online, assigned \
                         replicas are [{}], live brokers are [{}]. No assigned replica is alive.",
                        join(&replicas),
                        join(&ctx.live_broker_ids().into_iter().collect::<Vec<_>>()),
                    ),
                )),
            }
        }
        plan
    }

    /// Elect leaders from the state znodes just read. Partitions without a state znode, or whose
    /// state was written by a newer controller, fail; `unclean_topics` are topics whose effective
    /// `unclean.leader.election.enable` is true.
    pub fn plan_elections(
        ctx: &ControllerContext,
        current: &[(TopicPartition, Option<LeaderIsrAndControllerEpoch>)],
        strategy: PartitionLeaderElectionStrategy,
        unclean_topics: &BTreeSet<String>,
    ) -> ElectionPlan {
        let mut plan = ElectionPlan::default();
        for (tp, state) in current {
            let Some(state) = state else {
                plan.failed.push((tp.clone(), format!("partition {tp} does not have a leader and ISR in ZooKeeper")));
                continue;
            };
            if state.controller_epoch > ctx.epoch {
                plan.failed.push((
                    tp.clone(),
                    format!(
                        "aborted leader election for partition {tp} since the LeaderAndIsr path was already written \
                         by another controller with epoch {} (this controller's epoch is {})",
                        state.controller_epoch, ctx.epoch
                    ),
                ));
                continue;
            }
            let l = &state.leader_and_isr;
            let result = match strategy {
                PartitionLeaderElectionStrategy::OfflinePartition { allow_unclean } => {
                    let unclean = allow_unclean || unclean_topics.contains(&tp.topic);
                    election::leader_for_offline(ctx, tp, l, unclean)
                }
                PartitionLeaderElectionStrategy::ReassignPartition => election::leader_for_reassign(ctx, tp, l),
                PartitionLeaderElectionStrategy::PreferredReplicaPartition => {
                    election::leader_for_preferred_replica(ctx, tp, l)
                }
                PartitionLeaderElectionStrategy::ControlledShutdownPartition => {
                    election::leader_for_controlled_shutdown(ctx, tp, l)
                }
            };
            if let Some(new) = &result.leader_and_isr {
                if !l.isr.contains(&new.leader) {
                    tracing::warn!(
                        target: STATE_CHANGE_LOG,
                        "Unclean leader election: {} becomes leader of {tp} although it is not in the ISR {:?}",
                        new.leader,
                        l.isr
                    );
                }
                plan.elected.push(result);
            } else {
                plan.failed.push((tp.clone(), format!("failed to elect leader for partition {tp} under strategy {strategy:?}")));
            }
        }
        plan
    }

    /// Topics whose unclean-election setting must be read from ZooKeeper: offline-strategy elections
    /// (without forced unclean) of partitions that have no online ISR member.
    pub fn topics_needing_unclean_config(
        ctx: &ControllerContext,
        current: &[(TopicPartition, Option<LeaderIsrAndControllerEpoch>)],
        strategy: PartitionLeaderElectionStrategy,
    ) -> Vec<String> {
        if strategy != (PartitionLeaderElectionStrategy::OfflinePartition { allow_unclean: false }) {
            return Vec::new();
        }
        let topics: BTreeSet<String> = current
            .iter()
            .filter_map(|(tp, s)| s.as_ref().map(|s| (tp, s)))
            .filter(|(tp, s)| election::needs_unclean_decision(ctx, tp, &s.leader_and_isr))
            .map(|(tp, _)| tp.topic.clone())
            .collect();
        topics.into_iter().collect()
    }

    /// Effective `unclean.leader.election.enable` per topic: the topic override if present and
    /// parseable, else the broker default.
    pub fn unclean_enabled_topics(
        configs: &BTreeMap<String, BTreeMap<String, String>>,
        broker_default: bool,
    ) -> BTreeSet<String> {
        configs
            .iter()
            .filter(|(_, c)| {
                c.get("unclean.leader.election.enable")
                    .and_then(|v| v.trim().to_ascii_lowercase().parse::<bool>().ok())
                    .unwrap_or(broker_default)
            })
            .map(|(t, _)| t.clone())
            .collect()
    }
}

fn join(ids: &[i32]) -> String {
    ids.iter().map(|i| i.to_string()).collect::<Vec<_>>().join(",")
}

impl<Z: ControllerZk> ControllerCore<Z> {
    /// Move `partitions` to `target` and flush the requests this produces. For Online the result
    /// holds every attempted partition's outcome.
    pub async fn handle_partition_state_changes(
        &mut self,
        partitions: &[TopicPartition],
        target: PartitionState,
        strategy: PartitionLeaderElectionStrategy,
    ) -> Result<OnlineResults> {
        if partitions.is_empty() {
            return Ok(OnlineResults::new());
        }
        self.new_batch();
        let result = self.do_handle_partition_state_changes(partitions, target, strategy).await;
        match result {
            Ok(r) => {
                self.send_requests_to_brokers();
                Ok(r)
            }
            Err(e) => {
                self.batch.clear();
                Err(e)
            }
        }
    }

    /// `triggerOnlinePartitionStateChange`: bring New and Offline partitions of topics not being
    /// deleted online with the offline election strategy (unclean per topic config).
    pub async fn trigger_online_partition_state_change(&mut self) -> Result<OnlineResults> {
        let partitions = PartitionStateMachine::partitions_to_trigger_online(&self.ctx);
        self.handle_partition_state_changes(
            &partitions,
            PartitionState::Online,
            PartitionLeaderElectionStrategy::OfflinePartition { allow_unclean: false },
        )
        .await
    }

    async fn do_handle_partition_state_changes(
        &mut self,
        partitions: &[TopicPartition],
        target: PartitionState,
        strategy: PartitionLeaderElectionStrategy,
    ) -> Result<OnlineResults> {
        let (valid, invalid) = PartitionStateMachine::split_valid(&self.ctx, partitions, target);
        for tp in invalid {
            tracing::error!(
                target: STATE_CHANGE_LOG,
                "Controller {} epoch {} failed to change state for partition {tp} from {} to {}: invalid transition",
                self.config.broker_id,
                self.ctx.epoch,
                self.ctx.partition_state(&tp).kafka_name(),
                target.kafka_name()
            );
        }
        let mut results = OnlineResults::new();
        if target != PartitionState::Online {
            for tp in valid {
                self.log_partition_transition(&tp, target);
                self.ctx.put_partition_state(tp, target);
            }
            return Ok(results);
        }
        let (uninitialized, to_elect): (Vec<_>, Vec<_>) =
            valid.into_iter().partition(|tp| self.ctx.partition_state(tp) == PartitionState::New);
        if !uninitialized.is_empty() {
            results.extend(self.initialize_leader_and_isr_for_partitions(&uninitialized).await?);
        }
        if !to_elect.is_empty() {
            results.extend(self.elect_leader_for_partitions(&to_elect, strategy).await?);
        }
        for (tp, r) in &results {
            if r.is_ok() {
                self.log_partition_transition(tp, PartitionState::Online);
                self.ctx.put_partition_state(tp.clone(), PartitionState::Online);
            }
        }
        Ok(results)
    }

    fn log_partition_transition(&self, tp: &TopicPartition, target: PartitionState) {
        tracing::info!(
            target: STATE_CHANGE_LOG,
            "Controller {} epoch {} changed partition {tp} from {} to {}",
            self.config.broker_id,
            self.ctx.epoch,
            self.ctx.partition_state(tp).kafka_name(),
            target.kafka_name()
        );
    }

    /// New → Online: create the state znodes, cache them and send LeaderAndIsr (isNew) to the ISR.
    async fn initialize_leader_and_isr_for_partitions(&mut self, partitions: &[TopicPartition]) -> Result<OnlineResults> {
        let InitializationPlan { initialized: planned, failed } =
            PartitionStateMachine::plan_initialization(&self.ctx, partitions);
        let mut results = OnlineResults::new();
        for (tp, reason) in failed {
            tracing::error!(target: STATE_CHANGE_LOG, "{reason}");
            results.insert(tp, Err(reason));
        }
        let created = zk_executor::create_partition_states(&self.zk, self.ctx.epoch_zk_version, &planned).await?;
        for ((tp, state), (_, outcome)) in planned.into_iter().zip(created) {
            match outcome {
                Ok(()) => {
                    // Cache first: the UpdateMetadata added with the LeaderAndIsr reads it.
                    self.ctx.put_partition_leadership_info(tp.clone(), state.clone());
                    let assignment = self.ctx.partition_full_replica_assignment(&tp);
                    let isr = state.leader_and_isr.isr.clone();
                    self.batch.add_leader_and_isr_request_for_brokers(&self.ctx, &isr, &tp, &state, &assignment, true);
                    results.insert(tp, Ok(state.leader_and_isr));
                }
                Err(e) => {
                    tracing::error!(
                        target: STATE_CHANGE_LOG,
                        "Controller {} epoch {} failed to initialize partition {tp}: {e}",
                        self.config.broker_id,
                        self.ctx.epoch
                    );
                    results.insert(tp, Err(e));
                }
            }
        }
        Ok(results)
    }

    /// Online/Offline → Online: read, decide, conditionally write; BADVERSION partitions are re-read
    /// and decided again until none is left.
    async fn elect_leader_for_partitions(
        &mut self,
        partitions: &[TopicPartition],
        strategy: PartitionLeaderElectionStrategy,
    ) -> Result<OnlineResults> {
        let mut results = OnlineResults::new();
        let mut remaining = partitions.to_vec();
        while !remaining.is_empty() {
            let current = zk_executor::read_partition_states(&self.zk, &remaining).await?;
            let unclean_topics = {
                let topics = PartitionStateMachine::topics_needing_unclean_config(&self.ctx, &current, strategy);
                if topics.is_empty() {
                    BTreeSet::new()
                } else {
                    let configs = zk_executor::read_topic_configs(&self.zk, &topics).await?;
                    PartitionStateMachine::unclean_enabled_topics(&configs, self.config.unclean_leader_election_enable)
                }
            };
            let plan = PartitionStateMachine::plan_elections(&self.ctx, &current, strategy, &unclean_topics);
            for (tp, reason) in plan.failed {
                tracing::error!(target: STATE_CHANGE_LOG, "Controller {} epoch {}: {reason}", self.config.broker_id, self.ctx.epoch);
                results.insert(tp, Err(reason));
            }
            let mut recipients: BTreeMap<TopicPartition, Vec<i32>> = BTreeMap::new();
            let mut updates = Vec::new();
            for e in plan.elected {
                let Some(l) = e.leader_and_isr else { continue };
                recipients.insert(e.tp.clone(), e.recipients);
                updates.push((e.tp, l));
            }
            let outcome =
                zk_executor::update_leader_and_isr(&self.zk, self.ctx.epoch, self.ctx.epoch_zk_version, &updates).await?;
            for (tp, r) in outcome.finished {
                match r {
                    Ok(l) => {
                        let state = LeaderIsrAndControllerEpoch::new(l.clone(), self.ctx.epoch);
                        self.ctx.put_partition_leadership_info(tp.clone(), state.clone());
                        let assignment = self.ctx.partition_full_replica_assignment(&tp);
                        let to = recipients.remove(&tp).unwrap_or_default();
                        self.batch.add_leader_and_isr_request_for_brokers(&self.ctx, &to, &tp, &state, &assignment, false);
                        results.insert(tp, Ok(l));
                    }
                    Err(e) => {
                        tracing::error!(target: STATE_CHANGE_LOG, "Controller {} epoch {} failed to elect leader for {tp}: {e}", self.config.broker_id, self.ctx.epoch);
                        results.insert(tp, Err(e));
                    }
                }
            }
            if !outcome.updates_to_retry.is_empty() {
                tracing::info!(
                    target: STATE_CHANGE_LOG,
                    "Retrying leader election for {} partitions after a zkVersion conflict",
                    outcome.updates_to_retry.len()
                );
            }
            remaining = outcome.updates_to_retry;
        }
        Ok(results)
    }
}

#[cfg(test)]
#[path = "partition_state_machine_tests.rs"]
mod tests;
