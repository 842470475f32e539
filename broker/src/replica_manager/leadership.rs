//! LeaderAndIsr and StopReplica: the controller telling this broker what it leads, follows or drops.

use std::sync::atomic::Ordering;
use std::sync::Arc;

use storage::TopicPartition;
use wire::kafka_protocol::messages::leader_and_isr_request::LeaderAndIsrPartitionState;
use wire::kafka_protocol::messages::leader_and_isr_response::{LeaderAndIsrPartitionError, LeaderAndIsrTopicError};
use wire::kafka_protocol::messages::stop_replica_response::StopReplicaPartitionError;
use wire::kafka_protocol::messages::{LeaderAndIsrRequest, LeaderAndIsrResponse, StopReplicaRequest, StopReplicaResponse};
use wire::ResponseError;

use super::{now_ms, ReplicaManager};
use crate::errors::{code, storage_error};
use crate::partition::{LeadershipState, Partition};
use crate::replica_fetcher::LeaderEndpoint;

/// Leader epoch StopReplica carries for a topic queued for deletion.
pub const EPOCH_DURING_DELETE: i32 = -2;
/// Leader epoch StopReplica carries when the controller does not know it.
pub const NO_EPOCH: i32 = -1;

impl ReplicaManager {
    /// Checks shared by every controller request: stale broker epoch, then stale controller epoch.
    fn check_controller_request(&self, controller_epoch: i32, broker_epoch: i64) -> Result<(), ResponseError> {
        let ours = self.broker_epoch();
        if broker_epoch != -1 && broker_epoch < ours {
            return Err(ResponseError::StaleBrokerEpoch);
        }
        let seen = self.controller_epoch.load(Ordering::SeqCst);
        if controller_epoch < seen {
            return Err(ResponseError::StaleControllerEpoch);
        }
        self.controller_epoch.store(controller_epoch, Ordering::SeqCst);
        Ok(())
    }

    /// Highest controller epoch seen.
    pub fn controller_epoch(&self) -> i32 {
        self.controller_epoch.load(Ordering::SeqCst)
    }

    /// Apply a LeaderAndIsr request (spec §2.14): per partition accept newer leader epochs for
    /// partitions assigned here, then make this broker leader or follower.
    pub fn become_leader_or_follower(self: &Arc<Self>, req: &LeaderAndIsrRequest, version: i16) -> LeaderAndIsrResponse {
        let mut states: Vec<(LeaderAndIsrPartitionState, Option<String>)> = Vec::new();
        if version <= 1 {
            states.extend(req.ungrouped_partition_states.iter().cloned().map(|s| (s, None)));
        } else {
            for t in &req.topic_states {
                let id = (version >= 5 && !t.topic_id.is_nil())
                    .then(|| zk_schema::util::uuid_to_base64(t.topic_id.as_bytes()));
                for s in &t.partition_states {
                    let mut s = s.clone();
                    s.topic_name = t.topic_name.clone();
                    states.push((s, id.clone()));
                }
            }
        }
        let mut response = LeaderAndIsrResponse::default();
        if let Err(e) = self.check_controller_request(req.controller_epoch, req.broker_epoch) {
            tracing::warn!("ignoring LeaderAndIsr from controller {} epoch {}: {e:?}", req.controller_id.0, req.controller_epoch);
            response.error_code = e.code();
            return response;
        }
        let now = now_ms();
        let mut errors = Vec::with_capacity(states.len());
        let leaders: Vec<LeaderEndpoint> = req
            .live_leaders
            .iter()
            .map(|l| LeaderEndpoint { broker_id: l.broker_id.0, host: l.host_name.to_string(), port: l.port })
            .collect();
        for (s, topic_id) in &states {
            let error = self.apply_partition_state(s, topic_id.as_deref(), &leaders, now);
            errors.push((s.topic_name.clone(), s.partition_index, error, topic_id.clone()));
        }
        if version >= 5 {
            let mut by_topic: Vec<LeaderAndIsrTopicError> = Vec::new();
            for (topic, p, err, _) in &errors {
                let topic_id = req
                    .topic_states
                    .iter()
                    .find(|t| &t.topic_name == topic)
                    .map(|t| t.topic_id)
                    .unwrap_or_default();
                let entry = match by_topic.iter_mut().find(|t| t.topic_id == topic_id) {
                    Some(e) => e,
                    None => {
                        by_topic.push(LeaderAndIsrTopicError::default().with_topic_id(topic_id));
                        by_topic.last_mut().expect("just pushed")
                    }
                };
                entry.partition_errors.push(LeaderAndIsrPartitionError::default().with_partition_index(*p).with_error_code(*err));
            }
            response.topics = by_topic;
        } else {
            response.partition_errors = errors
                .into_iter()
                .map(|(topic, p, err, _)| {
                    LeaderAndIsrPartitionError::default().with_topic_name(topic).with_partition_index(p).with_error_code(err)
                })
                .collect();
        }
        response
    }

    /// One partition of a LeaderAndIsr request; returns its error code.
    fn apply_partition_state(
        self: &Arc<Self>,
        s: &LeaderAndIsrPartitionState,
        topic_id: Option<&str>,
        leaders: &[LeaderEndpoint],
        now: i64,
    ) -> i16 {
        let topic = s.topic_name.0.as_str();
        let new_state = LeadershipState {
            leader: s.leader.0,
            leader_epoch: s.leader_epoch,
            isr: s.isr.iter().map(|b| b.0).collect(),
            replicas: s.replicas.iter().map(|b| b.0).collect(),
            controller_epoch: s.controller_epoch,
            partition_epoch: s.partition_epoch,
        };
        let existing = self.get_partition(topic, s.partition_index);
        if let (Some(p), Some(id)) = (&existing, topic_id) {
            if p.topic_id().is_some_and(|existing_id| existing_id != id) {
                return code(ResponseError::InconsistentTopicId);
            }
        }
        if let Some(p) = &existing {
            if s.leader_epoch <= p.leader_epoch() {
                tracing::info!(
                    "ignoring LeaderAndIsr for {topic}-{}: leader epoch {} is not newer than {}",
                    s.partition_index,
                    s.leader_epoch,
                    p.leader_epoch()
                );
                return code(ResponseError::StaleControllerEpoch);
            }
        }
        if !new_state.replicas.contains(&self.broker_id) {
            return code(ResponseError::UnknownTopicOrPartition);
        }
        let partition = match existing {
            Some(p) => p,
            None => {
                let tp = TopicPartition { topic: topic.to_string(), partition: s.partition_index };
                let log = match self.log_manager.get_or_create_log(&tp, topic_id) {
                    Ok(l) => l,
                    Err(e) => {
                        tracing::error!("could not create log for {tp}: {e}");
                        return code(storage_error(&e));
                    }
                };
                let p = Arc::new(Partition::new(tp, self.broker_id, log, topic_id.map(String::from), LeadershipState {
                    leader: -1,
                    leader_epoch: -1,
                    isr: Vec::new(),
                    replicas: new_state.replicas.clone(),
                    controller_epoch: s.controller_epoch,
                    partition_epoch: -1,
                }, self.config.replica_lag_time_max_ms));
                self.insert_partition(p.clone());
                p
            }
        };
        let tp = partition.topic_partition().clone();
        if new_state.leader == self.broker_id {
            self.fetcher_manager.remove_partitions(std::slice::from_ref(&tp));
            if let Err(e) = partition.make_leader(new_state.clone(), now) {
                tracing::error!("could not become leader of {topic}-{}: {e}", s.partition_index);
                return code(storage_error(&e));
            }
            tracing::info!(
                "became leader of {topic}-{} at leader epoch {} with ISR {:?}",
                s.partition_index,
                new_state.leader_epoch,
                new_state.isr
            );
        } else {
            partition.make_follower(new_state.clone());
            match leaders.iter().find(|l| l.broker_id == new_state.leader) {
                Some(leader) => {
                    self.fetcher_manager.add_partition(self, tp, leader.clone(), new_state.leader_epoch)
                }
                // Leader not live (or none): no fetcher until the next LeaderAndIsr.
                None => self.fetcher_manager.remove_partitions(std::slice::from_ref(&tp)),
            }
            tracing::info!(
                "became follower of {topic}-{} (leader {}, leader epoch {})",
                s.partition_index,
                new_state.leader,
                new_state.leader_epoch
            );
        }
        0
    }

    /// Apply a StopReplica request (spec §2.14): drop the partitions, deleting their logs if asked.
    pub fn stop_replicas(&self, req: &StopReplicaRequest, version: i16) -> StopReplicaResponse {
        let mut response = StopReplicaResponse::default();
        if let Err(e) = self.check_controller_request(req.controller_epoch, req.broker_epoch) {
            response.error_code = e.code();
            return response;
        }
        // (topic, partition, leader epoch, delete)
        let mut targets: Vec<(String, i32, i32, bool)> = Vec::new();
        match version {
            0 => {
                for p in &req.ungrouped_partitions {
                    targets.push((p.topic_name.0.to_string(), p.partition_index, NO_EPOCH, req.delete_partitions));
                }
            }
            1 | 2 => {
                for t in &req.topics {
                    for &p in &t.partition_indexes {
                        targets.push((t.name.0.to_string(), p, NO_EPOCH, req.delete_partitions));
                    }
                }
            }
            _ => {
                for t in &req.topic_states {
                    for p in &t.partition_states {
                        targets.push((t.topic_name.0.to_string(), p.partition_index, p.leader_epoch, p.delete_partition));
                    }
                }
            }
        }
        for (topic, partition, epoch, delete) in targets {
            let error = self.stop_replica(&topic, partition, epoch, delete);
            response.partition_errors.push(
                StopReplicaPartitionError::default()
                    .with_topic_name(wire::kafka_protocol::messages::TopicName(topic.into()))
                    .with_partition_index(partition)
                    .with_error_code(error),
            );
        }
        response
    }

    fn stop_replica(&self, topic: &str, partition: i32, epoch: i32, delete: bool) -> i16 {
        let tp = TopicPartition { topic: topic.to_string(), partition };
        self.fetcher_manager.remove_partitions(std::slice::from_ref(&tp));
        if let Some(p) = self.get_partition(topic, partition) {
            let current = p.leader_epoch();
            if epoch != EPOCH_DURING_DELETE && epoch != NO_EPOCH && epoch <= current {
                return code(ResponseError::FencedLeaderEpoch);
            }
            if delete {
                self.remove_partition(&tp);
            } else {
                // Stay hosted but stop acting: no longer leader, no fetching.
                let mut state = p.leadership();
                state.leader = -1;
                if epoch >= 0 {
                    state.leader_epoch = epoch;
                }
                p.make_follower(state);
            }
            p.wake_waiters();
        }
        if delete && self.log_manager.get_log(&tp).is_some() {
            if let Err(e) = self.log_manager.async_delete(&tp) {
                tracing::error!("could not delete log of {tp}: {e}");
                return code(storage_error(&e));
            }
            tracing::info!("deleted log of {tp}");
        }
        0
    }
}
