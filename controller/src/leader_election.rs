//! Preferred and unclean leader elections on request (spec §2.12): ElectLeaders from admin
//! clients, `/admin/preferred_replica_election`, and the auto leader rebalance task.

use std::collections::{BTreeMap, BTreeSet};
use std::time::{Duration, Instant};

use zk_schema::model::PartitionsZNode;
use zk_schema::paths;

use crate::context::{ControllerContext, TopicPartition};
use crate::controller_core::ControllerCore;
use crate::election::{self, PartitionLeaderElectionStrategy};
use crate::error::{ControllerError, Result};
use crate::partition_state_machine::{OnlineResults, PartitionState};
use crate::requests_api::{codes, ApiError, ElectionTrigger, ElectionType, PartitionResults};
use crate::zk_backend::{ControllerZk, WatchTarget};
use crate::zk_executor;

/// Delay of the first auto-rebalance check after a failover.
pub const AUTO_REBALANCE_FIRST_DELAY: Duration = Duration::from_secs(5);

/// How the requested partitions split before electing (pure, Kafka's `processReplicaLeaderElection`).
#[derive(Debug, Default, PartialEq, Eq)]
pub struct ElectionSplit {
    /// Partitions to elect.
    pub electable: Vec<TopicPartition>,
    /// Already led by the right broker: ELECTION_NOT_NEEDED.
    pub not_needed: Vec<TopicPartition>,
    /// Topic queued for deletion: INVALID_TOPIC_EXCEPTION.
    pub being_deleted: Vec<TopicPartition>,
    /// Unknown partitions: UNKNOWN_TOPIC_OR_PARTITION.
    pub unknown: Vec<TopicPartition>,
}

/// Split requested partitions for an election of `election_type`.
pub fn split_for_election(ctx: &ControllerContext, partitions: &[TopicPartition], election_type: ElectionType) -> ElectionSplit {
    let mut split = ElectionSplit::default();
    let live = ctx.live_broker_ids();
    for tp in partitions.iter().cloned().collect::<BTreeSet<_>>() {
        let assignment = ctx.partition_replica_assignment(&tp);
        if assignment.is_empty() {
            split.unknown.push(tp);
            continue;
        }
        if ctx.is_topic_queued_up_for_deletion(&tp.topic) {
            split.being_deleted.push(tp);
            continue;
        }
        let leader = ctx.partition_leadership_info(&tp).map(|l| l.leader_and_isr.leader);
        let needed = match election_type {
            ElectionType::Preferred => leader != assignment.first().copied(),
            ElectionType::Unclean => leader.is_none_or(|l| l == -1 || !live.contains(&l)),
        };
        if needed {
            split.electable.push(tp);
        } else {
            split.not_needed.push(tp);
        }
    }
    split
}

/// Partitions the auto rebalance moves back to their preferred replica: per preferred broker, if
/// the share of its partitions led by someone else exceeds `imbalance_percentage`, those whose
/// preferred replica can lead now. Nothing while a reassignment runs (pure).
pub fn auto_rebalance_candidates(ctx: &ControllerContext, imbalance_percentage: u32) -> Vec<TopicPartition> {
    let mut by_preferred: BTreeMap<i32, Vec<TopicPartition>> = BTreeMap::new();
    for tp in ctx.all_partitions() {
        if ctx.is_topic_queued_up_for_deletion(&tp.topic) {
            continue;
        }
        if let Some(first) = ctx.partition_replica_assignment(&tp).first() {
            by_preferred.entry(*first).or_default().push(tp);
        }
    }
    let mut out = Vec::new();
    for (broker, partitions) in by_preferred {
        let not_preferred: Vec<&TopicPartition> = partitions
            .iter()
            .filter(|tp| ctx.partition_leadership_info(tp).is_some_and(|l| l.leader_and_isr.leader != broker))
            .collect();
        let ratio = not_preferred.len() as f64 / partitions.len() as f64;
        tracing::trace!("Leader imbalance ratio for broker {broker} is {ratio}");
        if ratio <= f64::from(imbalance_percentage) / 100.0 {
            continue;
        }
        for tp in not_preferred {
            let assignment = ctx.partition_replica_assignment(tp);
            let live: BTreeSet<i32> = assignment.iter().copied().filter(|r| ctx.is_replica_online(*r, tp, false)).collect();
            let isr = ctx.partition_leadership_info(tp).map(|l| l.leader_and_isr.isr.clone()).unwrap_or_default();
            if ctx.is_replica_online(broker, tp, false)
                && ctx.partitions_being_reassigned.is_empty()
                && ctx.all_topics().contains(&tp.topic)
                && election::preferred_replica_partition_leader(&assignment, &isr, &live).is_some()
            {
                out.push(tp.clone());
            }
        }
    }
    out
}

impl<Z: ControllerZk> ControllerCore<Z> {
    /// `ReplicaLeaderElection`: elect per `election_type` and answer admin clients per partition.
    pub(crate) async fn process_replica_leader_election(
        &mut self,
        partitions: Option<Vec<TopicPartition>>,
        election_type: ElectionType,
        trigger: ElectionTrigger,
    ) -> Result<PartitionResults> {
        if !self.is_active() {
            let err = ApiError::new(codes::NOT_CONTROLLER);
            return Ok(partitions.unwrap_or_default().into_iter().map(|tp| (tp, Err(err.clone()))).collect());
        }
        let all_requested = partitions.is_none();
        let partitions = match (partitions, trigger) {
            (Some(p), _) => p,
            (None, ElectionTrigger::AdminClient) => self.ctx.all_partitions(),
            (None, _) => {
                // Re-arm the exists-watch; proceed only if the znode is there.
                self.zk.watch(WatchTarget::PreferredReplicaElection).await?;
                match self.read_preferred_replica_election().await? {
                    Some(p) => p,
                    None => return Ok(Vec::new()),
                }
            }
        };
        let split = split_for_election(&self.ctx, &partitions, election_type);
        for tp in &split.unknown {
            tracing::info!("Skipping replica leader election ({election_type:?}) for partition {tp} by {trigger:?} since it doesn't exist.");
        }
        if !split.being_deleted.is_empty() {
            tracing::warn!("Skipping replica leader election ({election_type:?}) for partitions {:?} by {trigger:?} since the respective topics are being deleted", split.being_deleted);
        }
        let results = self.on_replica_election(&split.electable, election_type, trigger).await?;
        let mut out: PartitionResults = Vec::new();
        for (tp, r) in results {
            let r = r.map(|_| ()).map_err(|msg| {
                let code = match election_type {
                    ElectionType::Preferred => codes::PREFERRED_LEADER_NOT_AVAILABLE,
                    ElectionType::Unclean => codes::ELIGIBLE_LEADERS_NOT_AVAILABLE,
                };
                ApiError::with_message(code, msg)
            });
            out.push((tp, r));
        }
        if !all_requested {
            out.extend(split.not_needed.into_iter().map(|tp| (tp, Err(ApiError::new(codes::ELECTION_NOT_NEEDED)))));
        }
        out.extend(split.being_deleted.into_iter().map(|tp| {
            (tp, Err(ApiError::with_message(codes::INVALID_TOPIC_EXCEPTION, "The topic is being deleted")))
        }));
        out.extend(split.unknown.into_iter().map(|tp| {
            (tp, Err(ApiError::with_message(codes::UNKNOWN_TOPIC_OR_PARTITION, "The partition does not exist.")))
        }));
        Ok(out)
    }

    /// The partitions listed in `/admin/preferred_replica_election`, `None` if it does not exist.
    async fn read_preferred_replica_election(&self) -> Result<Option<Vec<TopicPartition>>> {
        let path = paths::PREFERRED_REPLICA_ELECTION.to_string();
        let Some(Some((bytes, _))) = self.zk.get_data_many(std::slice::from_ref(&path)).await?.pop() else {
            return Ok(None);
        };
        match PartitionsZNode::decode(&path, &bytes) {
            Ok(node) => Ok(Some(node.partitions.into_iter().map(|p| TopicPartition::new(p.topic, p.partition)).collect())),
            Err(e) => {
                tracing::error!("Ignoring unreadable {path}: {e}");
                Ok(Some(Vec::new()))
            }
        }
    }

    /// Kafka's `onReplicaElection`: elect, then (unless an admin client asked) log the outcome and,
    /// for the ZooKeeper trigger, delete `/admin/preferred_replica_election` and re-arm its watch.
    async fn on_replica_election(
        &mut self,
        partitions: &[TopicPartition],
        election_type: ElectionType,
        trigger: ElectionTrigger,
    ) -> Result<OnlineResults> {
        if !partitions.is_empty() {
            tracing::info!(
                "Starting replica leader election ({election_type:?}) for {} partitions triggered by {trigger:?}",
                partitions.len()
            );
        }
        let start = Instant::now();
        let strategy = match election_type {
            ElectionType::Preferred => PartitionLeaderElectionStrategy::PreferredReplicaPartition,
            ElectionType::Unclean => {
                PartitionLeaderElectionStrategy::OfflinePartition { allow_unclean: trigger == ElectionTrigger::AdminClient }
            }
        };
        let results = self.handle_partition_state_changes(partitions, PartitionState::Online, strategy).await;
        if !partitions.is_empty() {
            tracing::info!(
                "Replica leader election ({election_type:?}) of {} partitions took {} ms",
                partitions.len(),
                start.elapsed().as_millis()
            );
        }
        if trigger != ElectionTrigger::AdminClient {
            if let Ok(results) = &results {
                for (tp, r) in results {
                    if let Err(e) = r {
                        tracing::error!("Error completing replica leader election ({election_type:?}) for partition {tp}: {e}");
                    }
                }
            }
            if trigger == ElectionTrigger::ZkTriggered && !matches!(results, Err(ControllerError::ControllerMoved)) {
                zk_executor::delete_fenced(&self.zk, self.ctx.epoch_zk_version, &[paths::PREFERRED_REPLICA_ELECTION.to_string()])
                    .await?;
                self.zk.watch(WatchTarget::PreferredReplicaElection).await?;
                // Created again between the delete and the re-arm: handle it now.
                if self.read_preferred_replica_election().await?.is_some() {
                    self.enqueue(crate::event::ControllerEvent::ReplicaLeaderElection {
                        partitions: None,
                        election_type: ElectionType::Preferred,
                        trigger: ElectionTrigger::ZkTriggered,
                        reply: None,
                    });
                }
            }
        }
        results
    }

    /// Failover: elections pending in `/admin/preferred_replica_election`.
    pub(crate) async fn process_pending_preferred_replica_elections(&mut self) -> Result<()> {
        self.process_replica_leader_election(None, ElectionType::Preferred, ElectionTrigger::ZkTriggered).await?;
        Ok(())
    }

    /// The periodic auto leader rebalance check; reschedules itself.
    pub(crate) async fn process_auto_preferred_replica_leader_election(&mut self) -> Result<()> {
        if !self.is_active() {
            return Ok(());
        }
        let result = async {
            tracing::info!("Processing automatic preferred replica leader election");
            let candidates = auto_rebalance_candidates(&self.ctx, self.config.leader_imbalance_per_broker_percentage);
            if !candidates.is_empty() {
                self.on_replica_election(&candidates, ElectionType::Preferred, ElectionTrigger::AutoTriggered).await?;
            }
            Ok(())
        }
        .await;
        self.schedule_auto_leader_rebalance(Duration::from_secs(self.config.leader_imbalance_check_interval_seconds));
        result
    }
}

#[cfg(test)]
#[path = "leader_election_tests.rs"]
mod tests;
