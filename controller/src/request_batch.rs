//! `ControllerBrokerRequestBatch`: collects the LeaderAndIsr, UpdateMetadata and StopReplica
//! requests one state-machine operation produces and turns them into per-broker requests.
//!
//! Requests are flushed in Kafka's order — every LeaderAndIsr first, then UpdateMetadata, then
//! StopReplica — and only to brokers that are live or shutting down. Each request carries the
//! controller id and epoch and the *target* broker's epoch, so a broker can reject requests meant
//! for an earlier incarnation of itself.

use std::collections::{BTreeMap, BTreeSet};

use wire::kafka_protocol::messages::leader_and_isr_request::{
    LeaderAndIsrLiveLeader, LeaderAndIsrPartitionState, LeaderAndIsrTopicState,
};
use wire::kafka_protocol::messages::stop_replica_request::{StopReplicaPartitionState, StopReplicaTopicState};
use wire::kafka_protocol::messages::update_metadata_request::{
    UpdateMetadataBroker, UpdateMetadataEndpoint, UpdateMetadataPartitionState, UpdateMetadataTopicState,
};
use wire::kafka_protocol::messages::{
    BrokerId, LeaderAndIsrRequest, StopReplicaRequest, TopicName, UpdateMetadataRequest,
};
use wire::kafka_protocol::protocol::StrBytes;

use crate::context::{ControllerContext, LeaderAndIsr, LeaderIsrAndControllerEpoch, ReplicaAssignment, TopicPartition};
use crate::error::{ControllerError, Result};

/// A request for one broker, built in the newest shape this controller speaks (LeaderAndIsr v5,
/// UpdateMetadata v7, StopReplica v3); the channel manager adapts it to the broker's versions.
#[derive(Debug, Clone, PartialEq)]
pub enum ControllerRequest {
    /// Leadership and ISR of partitions the broker hosts.
    LeaderAndIsr(LeaderAndIsrRequest),
    /// Live brokers and partition metadata for the broker's metadata cache.
    UpdateMetadata(UpdateMetadataRequest),
    /// Stop (and maybe delete) replicas.
    StopReplica(StopReplicaRequest),
}

impl ControllerRequest {
    /// Kafka's request name, for logs.
    pub fn name(&self) -> &'static str {
        match self {
            ControllerRequest::LeaderAndIsr(_) => "LeaderAndIsr",
            ControllerRequest::UpdateMetadata(_) => "UpdateMetadata",
            ControllerRequest::StopReplica(_) => "StopReplica",
        }
    }
}

/// Wire id of a security protocol name (Kafka's `SecurityProtocol.id`).
pub fn security_protocol_id(name: &str) -> i16 {
    match name {
        "SSL" => 1,
        "SASL_PLAINTEXT" => 2,
        "SASL_SSL" => 3,
        _ => 0,
    }
}

/// Kafka's base64 topic id as the protocol's UUID (nil if absent or malformed).
pub fn topic_uuid(id: Option<&str>) -> uuid::Uuid {
    id.and_then(zk_schema::util::uuid_from_base64).map(uuid::Uuid::from_bytes).unwrap_or(uuid::Uuid::nil())
}

fn topic_name(t: &str) -> TopicName {
    TopicName(StrBytes::from_string(t.to_string()))
}

fn broker_ids(ids: &[i32]) -> Vec<BrokerId> {
    ids.iter().map(|i| BrokerId(*i)).collect()
}

/// Accumulates requests for one state-machine operation (Kafka's `ControllerBrokerRequestBatch`).
#[derive(Debug, Default)]
pub struct ControllerBrokerRequestBatch {
    controller_id: i32,
    inter_broker_listener: String,
    leader_and_isr: BTreeMap<i32, BTreeMap<TopicPartition, LeaderAndIsrPartitionState>>,
    update_metadata_brokers: BTreeSet<i32>,
    update_metadata_partitions: BTreeMap<TopicPartition, UpdateMetadataPartitionState>,
    stop_replica: BTreeMap<i32, BTreeMap<TopicPartition, StopReplicaPartitionState>>,
}

impl ControllerBrokerRequestBatch {
    /// An empty batch for controller `controller_id` talking on `inter_broker_listener`.
    pub fn new(controller_id: i32, inter_broker_listener: &str) -> Self {
        ControllerBrokerRequestBatch {
            controller_id,
            inter_broker_listener: inter_broker_listener.to_string(),
            ..Default::default()
        }
    }

    /// Whether nothing has been added since the last flush.
    pub fn is_empty(&self) -> bool {
        self.leader_and_isr.is_empty()
            && self.update_metadata_brokers.is_empty()
            && self.update_metadata_partitions.is_empty()
            && self.stop_replica.is_empty()
    }

    /// Start a new batch; a non-empty batch means an earlier operation forgot to flush.
    pub fn new_batch(&mut self) -> Result<()> {
        if self.is_empty() {
            Ok(())
        } else {
            Err(ControllerError::IllegalState(format!("controller request batch is not empty: {self:?}")))
        }
    }

    /// Drop everything (resignation, or after a failed operation).
    pub fn clear(&mut self) {
        self.leader_and_isr.clear();
        self.update_metadata_brokers.clear();
        self.update_metadata_partitions.clear();
        self.stop_replica.clear();
    }

    /// LeaderAndIsr for `tp` to each of `brokers` (`isNew` is sticky within a batch), plus an
    /// UpdateMetadata for `tp` to every live or shutting-down broker.
    pub fn add_leader_and_isr_request_for_brokers(
        &mut self,
        ctx: &ControllerContext,
        brokers: &[i32],
        tp: &TopicPartition,
        state: &LeaderIsrAndControllerEpoch,
        assignment: &ReplicaAssignment,
        is_new: bool,
    ) {
        for broker in brokers.iter().copied().filter(|b| *b >= 0) {
            let per_broker = self.leader_and_isr.entry(broker).or_default();
            let already_new = per_broker.get(tp).is_some_and(|s| s.is_new);
            let l = &state.leader_and_isr;
            let ps = LeaderAndIsrPartitionState::default()
                .with_partition_index(tp.partition)
                .with_controller_epoch(state.controller_epoch)
                .with_leader(BrokerId(l.leader))
                .with_leader_epoch(l.leader_epoch)
                .with_isr(broker_ids(&l.isr))
                .with_partition_epoch(l.zk_version)
                .with_replicas(broker_ids(&assignment.replicas))
                .with_adding_replicas(broker_ids(&assignment.adding_replicas))
                .with_removing_replicas(broker_ids(&assignment.removing_replicas))
                .with_is_new(is_new || already_new);
            per_broker.insert(tp.clone(), ps);
        }
        let all: Vec<i32> = ctx.live_or_shutting_down_broker_ids().into_iter().collect();
        self.add_update_metadata_request_for_brokers(ctx, &all, std::slice::from_ref(tp));
    }

    /// UpdateMetadata to `brokers` carrying `partitions` (may be empty: live-broker list only).
    /// Partitions of topics queued for deletion are sent with leader -2 so brokers drop them.
    pub fn add_update_metadata_request_for_brokers(
        &mut self,
        ctx: &ControllerContext,
        brokers: &[i32],
        partitions: &[TopicPartition],
    ) {
        for tp in partitions {
            let Some(info) = ctx.partition_leadership_info(tp) else { continue };
            let replicas = ctx.partition_replica_assignment(tp);
            let offline: Vec<i32> = replicas.iter().copied().filter(|r| !ctx.is_replica_online(*r, tp, false)).collect();
            let leader = if ctx.is_topic_queued_up_for_deletion(&tp.topic) {
                LeaderAndIsr::LEADER_DURING_DELETE
            } else {
                info.leader_and_isr.leader
            };
            let ps = UpdateMetadataPartitionState::default()
                .with_partition_index(tp.partition)
                .with_controller_epoch(info.controller_epoch)
                .with_leader(BrokerId(leader))
                .with_leader_epoch(info.leader_and_isr.leader_epoch)
                .with_isr(broker_ids(&info.leader_and_isr.isr))
                .with_zk_version(info.leader_and_isr.zk_version)
                .with_replicas(broker_ids(&replicas))
                .with_offline_replicas(broker_ids(&offline));
            self.update_metadata_partitions.insert(tp.clone(), ps);
        }
        self.update_metadata_brokers.extend(brokers.iter().copied().filter(|b| *b >= 0));
    }

    /// StopReplica for `tp` to `brokers`. The leader epoch is -2 for topics being deleted, the
    /// cached one otherwise, -1 if unknown.
    pub fn add_stop_replica_request_for_brokers(
        &mut self,
        ctx: &ControllerContext,
        brokers: &[i32],
        tp: &TopicPartition,
        delete_partition: bool,
    ) {
        let leader_epoch = if ctx.is_topic_queued_up_for_deletion(&tp.topic) {
            LeaderAndIsr::EPOCH_DURING_DELETE
        } else {
            ctx.partition_leadership_info(tp).map(|l| l.leader_and_isr.leader_epoch).unwrap_or(LeaderAndIsr::NO_EPOCH)
        };
        for broker in brokers.iter().copied().filter(|b| *b >= 0) {
            let ps = StopReplicaPartitionState::default()
                .with_partition_index(tp.partition)
                .with_leader_epoch(leader_epoch)
                .with_delete_partition(delete_partition);
            self.stop_replica.entry(broker).or_default().insert(tp.clone(), ps);
        }
    }

    /// Turn the batch into per-broker requests, in send order (all LeaderAndIsr, then all
    /// UpdateMetadata, then all StopReplica), and empty it. Brokers that are not live or shutting
    /// down get nothing.
    pub fn take_requests(&mut self, ctx: &ControllerContext) -> Vec<(i32, ControllerRequest)> {
        let mut out = Vec::new();
        let epoch = ctx.epoch;
        for (broker, partitions) in std::mem::take(&mut self.leader_and_isr) {
            let Some(broker_epoch) = ctx.live_broker_epoch(broker) else { continue };
            let leader_ids: BTreeSet<i32> = partitions.values().map(|p| p.leader.0).collect();
            let live_leaders = ctx
                .live_or_shutting_down_brokers()
                .filter(|b| leader_ids.contains(&b.id))
                .filter_map(|b| {
                    b.endpoint(&self.inter_broker_listener).map(|e| {
                        LeaderAndIsrLiveLeader::default()
                            .with_broker_id(BrokerId(b.id))
                            .with_host_name(StrBytes::from_string(e.host.clone()))
                            .with_port(e.port)
                    })
                })
                .collect();
            let mut by_topic: BTreeMap<String, Vec<LeaderAndIsrPartitionState>> = BTreeMap::new();
            for (tp, ps) in partitions {
                by_topic.entry(tp.topic).or_default().push(ps);
            }
            let topic_states = by_topic
                .into_iter()
                .map(|(t, ps)| {
                    LeaderAndIsrTopicState::default()
                        .with_topic_id(topic_uuid(ctx.topic_id(&t)))
                        .with_topic_name(topic_name(&t))
                        .with_partition_states(ps)
                })
                .collect();
            let req = LeaderAndIsrRequest::default()
                .with_controller_id(BrokerId(self.controller_id))
                .with_controller_epoch(epoch)
                .with_broker_epoch(broker_epoch)
                .with_type(0)
                .with_topic_states(topic_states)
                .with_live_leaders(live_leaders);
            out.push((broker, ControllerRequest::LeaderAndIsr(req)));
        }

        let um_brokers = std::mem::take(&mut self.update_metadata_brokers);
        let um_partitions = std::mem::take(&mut self.update_metadata_partitions);
        if !um_brokers.is_empty() {
            let live_brokers = self.live_brokers_for_update_metadata(ctx);
            let mut by_topic: BTreeMap<String, Vec<UpdateMetadataPartitionState>> = BTreeMap::new();
            for (tp, ps) in um_partitions {
                by_topic.entry(tp.topic).or_default().push(ps);
            }
            let topic_states: Vec<UpdateMetadataTopicState> = by_topic
                .into_iter()
                .map(|(t, ps)| {
                    UpdateMetadataTopicState::default()
                        .with_topic_id(topic_uuid(ctx.topic_id(&t)))
                        .with_topic_name(topic_name(&t))
                        .with_partition_states(ps)
                })
                .collect();
            for broker in um_brokers {
                let Some(broker_epoch) = ctx.live_broker_epoch(broker) else { continue };
                let req = UpdateMetadataRequest::default()
                    .with_controller_id(BrokerId(self.controller_id))
                    .with_controller_epoch(epoch)
                    .with_broker_epoch(broker_epoch)
                    .with_topic_states(topic_states.clone())
                    .with_live_brokers(live_brokers.clone());
                out.push((broker, ControllerRequest::UpdateMetadata(req)));
            }
        }

        for (broker, partitions) in std::mem::take(&mut self.stop_replica) {
            let Some(broker_epoch) = ctx.live_broker_epoch(broker) else { continue };
            let mut by_topic: BTreeMap<String, Vec<StopReplicaPartitionState>> = BTreeMap::new();
            for (tp, ps) in partitions {
                by_topic.entry(tp.topic).or_default().push(ps);
            }
            let topic_states = by_topic
                .into_iter()
                .map(|(t, ps)| {
                    StopReplicaTopicState::default().with_topic_name(topic_name(&t)).with_partition_states(ps)
                })
                .collect();
            let req = StopReplicaRequest::default()
                .with_controller_id(BrokerId(self.controller_id))
                .with_controller_epoch(epoch)
                .with_broker_epoch(broker_epoch)
                .with_topic_states(topic_states);
            out.push((broker, ControllerRequest::StopReplica(req)));
        }
        out
    }

    fn live_brokers_for_update_metadata(&self, ctx: &ControllerContext) -> Vec<UpdateMetadataBroker> {
        ctx.live_or_shutting_down_brokers()
            .map(|b| {
                let endpoints = b
                    .endpoints
                    .iter()
                    .map(|e| {
                        UpdateMetadataEndpoint::default()
                            .with_port(e.port)
                            .with_host(StrBytes::from_string(e.host.clone()))
                            .with_listener(StrBytes::from_string(e.listener.clone()))
                            .with_security_protocol(security_protocol_id(&e.security_protocol))
                    })
                    .collect();
                UpdateMetadataBroker::default()
                    .with_id(BrokerId(b.id))
                    .with_endpoints(endpoints)
                    .with_rack(b.rack.clone().map(StrBytes::from_string))
            })
            .collect()
    }
}

#[cfg(test)]
#[path = "request_batch_tests.rs"]
mod tests;
