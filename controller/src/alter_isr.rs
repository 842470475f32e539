//! ISR changes from partition leaders (spec §2.8): the AlterIsr request (AlterPartition key 56 v0)
//! and the legacy `/isr_change_notification` path.

use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};

use wire::kafka_protocol::messages::alter_partition_response::{PartitionData, TopicData};
use wire::kafka_protocol::messages::{AlterPartitionResponse, BrokerId, TopicName};
use wire::kafka_protocol::protocol::StrBytes;
use zk_schema::model::PartitionsZNode;
use zk_schema::paths;

use crate::context::{LeaderAndIsr, LeaderIsrAndControllerEpoch, TopicPartition};
use crate::controller_core::ControllerCore;
use crate::error::{ControllerError, Result};
use crate::requests_api::{codes, AlterIsrPartition, AlterIsrRequestData};
use crate::zk_backend::{ControllerZk, WatchTarget};
use crate::zk_executor;

/// What the controller decides for one partition of an AlterIsr before writing (pure).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AlterIsrDecision {
    /// Reject with this error code.
    Error(i16),
    /// Already in the requested state: answer with it, no write.
    Unchanged(LeaderAndIsr),
    /// Conditionally write this state (its `zk_version` is the expected version).
    Write(LeaderAndIsr),
}

/// Decide one partition of an AlterIsr from `broker_id` against the cached state (Kafka 2.8 rules,
/// plus KIP-841's: a replica not already in the ISR may only join it if `may_join` says it is a live
/// broker that is not shutting down). Without that rule a leader elected by a controlled shutdown
/// re-adds the shutting-down broker (still fetching for a moment), and since the broker-failure
/// callback finds nothing to remove in ZooKeeper, the dead broker stays in idle partitions' ISRs.
pub fn decide_alter_isr(
    cached: Option<&LeaderIsrAndControllerEpoch>,
    broker_id: i32,
    p: &AlterIsrPartition,
    may_join: impl Fn(i32) -> bool,
) -> AlterIsrDecision {
    let Some(cached) = cached else { return AlterIsrDecision::Error(codes::UNKNOWN_TOPIC_OR_PARTITION) };
    let current = &cached.leader_and_isr;
    let proposed =
        LeaderAndIsr { leader: broker_id, leader_epoch: p.leader_epoch, isr: p.new_isr.clone(), zk_version: p.partition_epoch };
    if proposed.leader_epoch < current.leader_epoch {
        AlterIsrDecision::Error(codes::FENCED_LEADER_EPOCH)
    } else if proposed.isr.iter().any(|r| !current.isr.contains(r) && !may_join(*r)) {
        AlterIsrDecision::Error(codes::OPERATION_NOT_ATTEMPTED)
    } else if proposed.leader == current.leader
        && proposed.leader_epoch == current.leader_epoch
        && proposed.isr == current.isr
    {
        AlterIsrDecision::Unchanged(current.clone())
    } else {
        AlterIsrDecision::Write(proposed)
    }
}

fn top_level_error(code: i16) -> AlterPartitionResponse {
    AlterPartitionResponse::default().with_error_code(code)
}

/// Build the AlterPartition v0 response from per-partition outcomes, topics in request order.
pub fn build_alter_isr_response(
    order: &[TopicPartition],
    outcomes: &BTreeMap<TopicPartition, std::result::Result<LeaderAndIsr, i16>>,
) -> AlterPartitionResponse {
    let mut topics: Vec<TopicData> = Vec::new();
    // By map: one AlterIsr may carry thousands of partitions of one topic (scans were O(n²)).
    let mut topic_slot: HashMap<&str, usize> = HashMap::new();
    let mut answered: HashSet<&TopicPartition> = HashSet::new();
    for tp in order {
        let Some(outcome) = outcomes.get(tp) else { continue };
        if !answered.insert(tp) {
            continue;
        }
        let pd = match outcome {
            Ok(l) => PartitionData::default()
                .with_partition_index(tp.partition)
                .with_error_code(codes::NONE)
                .with_leader_id(BrokerId(l.leader))
                .with_leader_epoch(l.leader_epoch)
                .with_isr(l.isr.iter().map(|b| BrokerId(*b)).collect())
                .with_partition_epoch(l.zk_version),
            Err(code) => PartitionData::default()
                .with_partition_index(tp.partition)
                .with_error_code(*code)
                .with_leader_id(BrokerId(-1))
                .with_leader_epoch(-1)
                .with_partition_epoch(-1),
        };
        match topic_slot.get(tp.topic.as_str()) {
            Some(&i) => topics[i].partitions.push(pd),
            None => {
                topic_slot.insert(tp.topic.as_str(), topics.len());
                topics.push(
                    TopicData::default()
                        .with_topic_name(TopicName(StrBytes::from_string(tp.topic.clone())))
                        .with_partitions(vec![pd]),
                );
            }
        }
    }
    AlterPartitionResponse::default().with_error_code(codes::NONE).with_topics(topics)
}

impl<Z: ControllerZk> ControllerCore<Z> {
    /// Handle AlterIsr; returns the response plus the partitions whose ISR changed (the caller
    /// answers first and then checks their reassignments, as Kafka does).
    pub(crate) async fn process_alter_isr(
        &mut self,
        req: &AlterIsrRequestData,
    ) -> (AlterPartitionResponse, Vec<TopicPartition>) {
        match self.do_alter_isr(req).await {
            Ok(r) => r,
            Err(ControllerError::ControllerMoved) => {
                if let Err(e) = self.maybe_resign().await {
                    tracing::error!("Error re-reading /controller after a fenced AlterIsr: {e}");
                }
                (top_level_error(codes::NOT_CONTROLLER), Vec::new())
            }
            Err(e) => {
                tracing::error!("Error processing AlterIsr from broker {}: {e}", req.broker_id);
                (top_level_error(codes::UNKNOWN_SERVER_ERROR), Vec::new())
            }
        }
    }

    async fn do_alter_isr(&mut self, req: &AlterIsrRequestData) -> Result<(AlterPartitionResponse, Vec<TopicPartition>)> {
        if !self.is_active() {
            return Ok((top_level_error(codes::NOT_CONTROLLER), Vec::new()));
        }
        match self.ctx.live_broker_epoch(req.broker_id) {
            None => {
                tracing::info!("Ignoring AlterIsr due to unknown broker {}", req.broker_id);
                return Ok((top_level_error(codes::STALE_BROKER_EPOCH), Vec::new()));
            }
            Some(e) if e != req.broker_epoch => {
                tracing::info!("Ignoring AlterIsr due to stale broker epoch {} for broker {} (current {e})", req.broker_epoch, req.broker_id);
                return Ok((top_level_error(codes::STALE_BROKER_EPOCH), Vec::new()));
            }
            Some(_) => {}
        }
        let order: Vec<TopicPartition> = req.partitions.iter().map(|p| p.tp.clone()).collect();
        let mut outcomes: BTreeMap<TopicPartition, std::result::Result<LeaderAndIsr, i16>> = BTreeMap::new();
        let mut writes = Vec::new();
        let may_join = self.ctx.live_broker_ids();
        for p in &req.partitions {
            match decide_alter_isr(self.ctx.partition_leadership_info(&p.tp), req.broker_id, p, |r| may_join.contains(&r)) {
                AlterIsrDecision::Error(code) => {
                    if code == codes::OPERATION_NOT_ATTEMPTED {
                        tracing::info!(
                            "Rejected AlterIsr for {} from broker {}: ISR {:?} adds a replica that is not a live broker or is shutting down (live {:?})",
                            p.tp, req.broker_id, p.new_isr, may_join
                        );
                    }
                    outcomes.insert(p.tp.clone(), Err(code));
                }
                AlterIsrDecision::Unchanged(l) => {
                    outcomes.insert(p.tp.clone(), Ok(l));
                }
                AlterIsrDecision::Write(l) => writes.push((p.tp.clone(), l)),
            }
        }
        let result =
            zk_executor::update_leader_and_isr(&self.zk, self.ctx.epoch, self.ctx.epoch_zk_version, &writes).await?;
        let mut changed = Vec::new();
        for (tp, r) in result.finished {
            match r {
                Ok(l) => {
                    tracing::debug!("ISR for partition {tp} updated to {:?}, partition epoch {}", l.isr, l.zk_version);
                    self.ctx.put_partition_leadership_info(tp.clone(), LeaderIsrAndControllerEpoch::new(l.clone(), self.ctx.epoch));
                    changed.push(tp.clone());
                    outcomes.insert(tp, Ok(l));
                }
                Err(e) => {
                    tracing::error!("Failed to update ISR of {tp}: {e}");
                    outcomes.insert(tp, Err(codes::UNKNOWN_SERVER_ERROR));
                }
            }
        }
        for tp in result.updates_to_retry {
            tracing::info!("Rejected AlterIsr for {tp} from broker {}: partition epoch mismatch", req.broker_id);
            outcomes.insert(tp, Err(codes::INVALID_UPDATE_VERSION));
        }
        let all: Vec<i32> = self.ctx.live_or_shutting_down_broker_ids().into_iter().collect();
        let unique: Vec<TopicPartition> = order.iter().cloned().collect::<BTreeSet<_>>().into_iter().collect();
        self.send_update_metadata_request(&all, &unique);
        Ok((build_alter_isr_response(&order, &outcomes), changed))
    }

    /// After an ISR change: complete the reassignments the change may have finished.
    pub(crate) async fn maybe_complete_reassignments(&mut self, partitions: &[TopicPartition]) -> Result<()> {
        for tp in partitions {
            if self.ctx.partitions_being_reassigned.contains(tp) {
                self.maybe_complete_reassignment(tp).await?;
            }
        }
        Ok(())
    }

    /// Children of `/isr_change_notification` changed: refresh the listed partitions from
    /// ZooKeeper, tell every broker, delete the notifications.
    pub(crate) async fn process_isr_change_notification(&mut self) -> Result<()> {
        if !self.is_active() {
            return Ok(());
        }
        self.zk.watch(WatchTarget::IsrChangeNotifications).await?;
        let children = self.zk.get_children(paths::ISR_CHANGE_NOTIFICATION).await?;
        if children.is_empty() {
            return Ok(());
        }
        let node_paths: Vec<String> = children.iter().map(|c| paths::isr_change(c)).collect();
        let outcome = self.refresh_isr_changes(&node_paths).await;
        let deleted = zk_executor::delete_fenced(&self.zk, self.ctx.epoch_zk_version, &node_paths).await;
        outcome?;
        deleted
    }

    async fn refresh_isr_changes(&mut self, node_paths: &[String]) -> Result<()> {
        let mut partitions = BTreeSet::new();
        for (path, d) in node_paths.iter().zip(self.zk.get_data_many(node_paths).await?) {
            let Some((bytes, _)) = d else { continue };
            match PartitionsZNode::decode(path, &bytes) {
                Ok(node) => partitions.extend(node.partitions.into_iter().map(|p| TopicPartition::new(p.topic, p.partition))),
                Err(e) => tracing::error!("Ignoring unreadable ISR change notification: {e}"),
            }
        }
        let known: Vec<TopicPartition> =
            partitions.into_iter().filter(|tp| !self.ctx.partition_replica_assignment(tp).is_empty()).collect();
        if known.is_empty() {
            return Ok(());
        }
        for (tp, state) in zk_executor::read_partition_states(&self.zk, &known).await? {
            if let Some(state) = state {
                self.ctx.put_partition_leadership_info(tp, state);
            }
        }
        let all: Vec<i32> = self.ctx.live_or_shutting_down_broker_ids().into_iter().collect();
        self.send_update_metadata_request(&all, &known);
        self.maybe_complete_reassignments(&known).await
    }
}

#[cfg(test)]
#[path = "alter_isr_tests.rs"]
mod tests;
