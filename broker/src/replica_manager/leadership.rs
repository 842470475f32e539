//! LeaderAndIsr and StopReplica: the controller telling this broker what it leads, follows or drops.

use std::collections::HashMap;
use std::sync::atomic::Ordering;
use std::sync::Arc;

use storage::log_manager::par_map;
use storage::TopicPartition;
use uuid::Uuid;
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
        let _serial = self.state_change_lock.lock().unwrap_or_else(|p| p.into_inner());
        if let Err(e) = self.check_controller_request(req.controller_epoch, req.broker_epoch) {
            tracing::warn!("ignoring LeaderAndIsr from controller {} epoch {}: {e:?}", req.controller_id.0, req.controller_epoch);
            response.error_code = e.code();
            return response;
        }
        let mut errors = Vec::with_capacity(states.len());
        let leaders: Vec<LeaderEndpoint> = req
            .live_leaders
            .iter()
            .map(|l| LeaderEndpoint { broker_id: l.broker_id.0, host: l.host_name.to_string(), port: l.port })
            .collect();
        self.create_logs(&states);
        // Taken after the (possibly long) log creation: followers get replica.lag.time.max.ms from
        // now, not from when the request arrived.
        let now = now_ms();
        // As Kafka's makeLeaders/makeFollowers: stop fetching every partition whose state changes
        // first, apply the states (in parallel: becoming leader fsyncs the leader epoch checkpoint),
        // then start the followers' fetchers in one batch.
        let changing: Vec<TopicPartition> = states
            .iter()
            .filter(|(s, _)| self.get_partition(&s.topic_name.0, s.partition_index).is_none_or(|p| s.leader_epoch > p.leader_epoch()))
            .map(|(s, _)| TopicPartition { topic: s.topic_name.0.to_string(), partition: s.partition_index })
            .collect();
        self.fetcher_manager.remove_partitions(&changing);
        let outcomes = par_map(&states, |(s, topic_id)| self.apply_partition_state(s, topic_id.as_deref(), &leaders, now));
        let mut fetches = Vec::new();
        for ((s, topic_id), (error, fetch)) in states.iter().zip(outcomes) {
            errors.push((s.topic_name.clone(), s.partition_index, error, topic_id.clone()));
            fetches.extend(fetch);
        }
        self.fetcher_manager.add_partitions(self, fetches);
        if version >= 5 {
            // One entry per topic id, in request order; lookups by map (a request may name 10,000
            // topics).
            let ids: HashMap<&str, Uuid> = req.topic_states.iter().map(|t| (t.topic_name.0.as_str(), t.topic_id)).collect();
            let mut by_topic: Vec<LeaderAndIsrTopicError> = Vec::new();
            let mut slot_of: HashMap<Uuid, usize> = HashMap::new();
            for (topic, p, err, _) in &errors {
                let topic_id = ids.get(topic.0.as_str()).copied().unwrap_or_default();
                let slot = *slot_of.entry(topic_id).or_insert_with(|| {
                    by_topic.push(LeaderAndIsrTopicError::default().with_topic_id(topic_id));
                    by_topic.len() - 1
                });
                by_topic[slot]
                    .partition_errors
                    .push(LeaderAndIsrPartitionError::default().with_partition_index(*p).with_error_code(*err));
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

    /// Creates, in one batch, the logs of the partitions this request makes this broker host for
    /// the first time (see `LogManager::get_or_create_logs`: dirs chosen once per batch, files and
    /// fsyncs on several threads). Failures are left for [`Self::apply_partition_state`], which
    /// tries that partition again and reports its error.
    fn create_logs(&self, states: &[(LeaderAndIsrPartitionState, Option<String>)]) {
        let wanted: Vec<(TopicPartition, Option<String>)> = states
            .iter()
            .filter(|(s, _)| s.replicas.iter().any(|b| b.0 == self.broker_id))
            .filter(|(s, _)| self.get_partition(&s.topic_name.0, s.partition_index).is_none())
            .filter(|(s, _)| !self.is_partition_offline(&s.topic_name.0, s.partition_index))
            .map(|(s, id)| (TopicPartition { topic: s.topic_name.0.to_string(), partition: s.partition_index }, id.clone(), s.is_new))
            // Kafka's rule: a partition that is not new is not created while a log dir is offline.
            .filter(|(tp, _, is_new)| self.log_manager.check_log_creation(tp, *is_new).is_ok())
            .map(|(tp, id, _)| (tp, id))
            .collect();
        if wanted.is_empty() {
            return;
        }
        let started = std::time::Instant::now();
        let failed = self.log_manager.get_or_create_logs(&wanted).iter().filter(|r| r.is_err()).count();
        tracing::info!("created or found {} logs in {:?} ({failed} failed)", wanted.len(), started.elapsed());
    }

    /// One partition of a LeaderAndIsr request (its fetcher already stopped); returns its error
    /// code and, for a follower of a live leader, the fetch to start.
    fn apply_partition_state(
        self: &Arc<Self>,
        s: &LeaderAndIsrPartitionState,
        topic_id: Option<&str>,
        leaders: &[LeaderEndpoint],
        now: i64,
    ) -> (i16, Option<(TopicPartition, LeaderEndpoint, i32)>) {
        match self.apply_partition_state_inner(s, topic_id, leaders, now) {
            Ok(fetch) => (0, fetch),
            Err(code) => (code, None),
        }
    }

    fn apply_partition_state_inner(
        self: &Arc<Self>,
        s: &LeaderAndIsrPartitionState,
        topic_id: Option<&str>,
        leaders: &[LeaderEndpoint],
        now: i64,
    ) -> Result<Option<(TopicPartition, LeaderEndpoint, i32)>, i16> {
        let topic = s.topic_name.0.as_str();
        if self.is_partition_offline(topic, s.partition_index) {
            tracing::warn!(
                "LeaderAndIsr for {topic}-{} (leader epoch {}) answered KAFKA_STORAGE_ERROR: its log dir is offline on this broker",
                s.partition_index,
                s.leader_epoch
            );
            return Err(code(ResponseError::KafkaStorageError));
        }
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
                return Err(code(ResponseError::InconsistentTopicId));
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
                return Err(code(ResponseError::StaleControllerEpoch));
            }
        }
        if !new_state.replicas.contains(&self.broker_id) {
            return Err(code(ResponseError::UnknownTopicOrPartition));
        }
        let partition = match existing {
            Some(p) => p,
            None => {
                let tp = TopicPartition { topic: topic.to_string(), partition: s.partition_index };
                let created = self.log_manager.check_log_creation(&tp, s.is_new).and_then(|_| self.log_manager.get_or_create_log(&tp, topic_id));
                let log = match created {
                    Ok(l) => l,
                    Err(e) => {
                        let error = storage_error(&e);
                        tracing::error!("could not create log for {tp}: {e}");
                        if error == ResponseError::KafkaStorageError {
                            // Kafka marks such a partition offline: it stays KAFKA_STORAGE_ERROR.
                            self.mark_partition_offline(&tp);
                        }
                        return Err(code(error));
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
            if let Err(e) = partition.make_leader(new_state.clone(), now) {
                tracing::error!("could not become leader of {topic}-{}: {e}", s.partition_index);
                return Err(code(storage_error(&e)));
            }
            tracing::info!(
                "became leader of {topic}-{} at leader epoch {} with ISR {:?}",
                s.partition_index,
                new_state.leader_epoch,
                new_state.isr
            );
        } else {
            partition.make_follower(new_state.clone());
            tracing::info!(
                "became follower of {topic}-{} (leader {}, leader epoch {})",
                s.partition_index,
                new_state.leader,
                new_state.leader_epoch
            );
            // Leader not live (or none): no fetcher until the next LeaderAndIsr.
            return Ok(leaders
                .iter()
                .find(|l| l.broker_id == new_state.leader)
                .map(|leader| (tp, leader.clone(), new_state.leader_epoch)));
        }
        Ok(None)
    }

    /// Apply a StopReplica request (spec §2.14): drop the partitions, deleting their logs if asked.
    pub fn stop_replicas(&self, req: &StopReplicaRequest, version: i16) -> StopReplicaResponse {
        let mut response = StopReplicaResponse::default();
        let _serial = self.state_change_lock.lock().unwrap_or_else(|p| p.into_inner());
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
        if self.is_partition_offline(topic, partition) {
            return code(ResponseError::KafkaStorageError);
        }
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

