//! Adapting controller requests to the version a broker supports, and turning responses back into
//! controller events.
//!
//! The batch builds LeaderAndIsr v5 / UpdateMetadata v7 / StopReplica v3 shapes; older brokers get
//! the same content in their version's shape (ungrouped partition lists, the v0 host/port pair,
//! StopReplica split into a delete and a no-delete request before v3), as Kafka does by IBP.

use std::collections::BTreeMap;

use wire::kafka_protocol::messages::stop_replica_request::{StopReplicaPartitionV0, StopReplicaTopicV1};
use wire::kafka_protocol::messages::{
    LeaderAndIsrRequest, LeaderAndIsrResponse, StopReplicaRequest, StopReplicaResponse, TopicName,
    UpdateMetadataRequest,
};

use crate::context::TopicPartition;
use crate::event::ControllerEvent;

/// Highest LeaderAndIsr version this controller sends (IBP 2.8).
pub const LEADER_AND_ISR_MAX_VERSION: i16 = 5;
/// Highest UpdateMetadata version this controller sends (IBP 2.8).
pub const UPDATE_METADATA_MAX_VERSION: i16 = 7;
/// Highest StopReplica version this controller sends (IBP 2.8).
pub const STOP_REPLICA_MAX_VERSION: i16 = 3;

/// `req` in the shape of LeaderAndIsr `version`.
pub fn leader_and_isr_for_version(req: &LeaderAndIsrRequest, version: i16) -> LeaderAndIsrRequest {
    let mut out = req.clone();
    for ts in &mut out.topic_states {
        for ps in &mut ts.partition_states {
            if version < 3 {
                ps.adding_replicas.clear();
                ps.removing_replicas.clear();
            }
            if version < 1 {
                ps.is_new = false;
            }
        }
    }
    if version < 5 {
        out._type = 0;
    }
    if version <= 1 {
        out.ungrouped_partition_states = std::mem::take(&mut out.topic_states)
            .into_iter()
            .flat_map(|ts| {
                let name = ts.topic_name;
                ts.partition_states.into_iter().map(move |mut ps| {
                    ps.topic_name = name.clone();
                    ps
                })
            })
            .collect();
    }
    out
}

/// `req` in the shape of UpdateMetadata `version`.
pub fn update_metadata_for_version(req: &UpdateMetadataRequest, version: i16) -> UpdateMetadataRequest {
    let mut out = req.clone();
    for b in &mut out.live_brokers {
        if version < 3 {
            for e in &mut b.endpoints {
                e.listener = Default::default();
            }
        }
        if version < 2 {
            b.rack = None;
        }
        if version == 0 {
            if let Some(e) = b.endpoints.iter().find(|e| e.security_protocol == 0) {
                b.v0_host = e.host.clone();
                b.v0_port = e.port;
            }
            b.endpoints.clear();
        }
    }
    for ts in &mut out.topic_states {
        for ps in &mut ts.partition_states {
            if version < 4 {
                ps.offline_replicas.clear();
            }
        }
    }
    if version <= 4 {
        out.ungrouped_partition_states = std::mem::take(&mut out.topic_states)
            .into_iter()
            .flat_map(|ts| {
                let name = ts.topic_name;
                ts.partition_states.into_iter().map(move |mut ps| {
                    ps.topic_name = name.clone();
                    ps
                })
            })
            .collect();
    }
    out
}

/// `req` as the StopReplica requests of `version`: one request for v3+, otherwise up to two (the
/// partitions to delete and those to keep), since older versions have one delete flag per request.
pub fn stop_replica_for_version(req: &StopReplicaRequest, version: i16) -> Vec<StopReplicaRequest> {
    if version >= 3 {
        return vec![req.clone()];
    }
    let mut out = Vec::new();
    for delete in [true, false] {
        let mut by_topic: BTreeMap<TopicName, Vec<i32>> = BTreeMap::new();
        for ts in &req.topic_states {
            for ps in ts.partition_states.iter().filter(|p| p.delete_partition == delete) {
                by_topic.entry(ts.topic_name.clone()).or_default().push(ps.partition_index);
            }
        }
        if by_topic.is_empty() {
            continue;
        }
        let mut r = StopReplicaRequest::default()
            .with_controller_id(req.controller_id)
            .with_controller_epoch(req.controller_epoch)
            .with_broker_epoch(if version >= 1 { req.broker_epoch } else { -1 })
            .with_delete_partitions(delete);
        if version == 0 {
            r.ungrouped_partitions = by_topic
                .into_iter()
                .flat_map(|(t, ps)| {
                    ps.into_iter().map(move |p| {
                        StopReplicaPartitionV0::default().with_topic_name(t.clone()).with_partition_index(p)
                    })
                })
                .collect();
        } else {
            r.topics = by_topic
                .into_iter()
                .map(|(t, ps)| StopReplicaTopicV1::default().with_name(t).with_partition_indexes(ps))
                .collect();
        }
        out.push(r);
    }
    out
}

/// The event for a LeaderAndIsr response; v5 responses name topics by id, resolved through the
/// request that was sent.
pub fn leader_and_isr_response_event(
    broker_id: i32,
    req: &LeaderAndIsrRequest,
    resp: &LeaderAndIsrResponse,
) -> ControllerEvent {
    let names: BTreeMap<uuid::Uuid, String> =
        req.topic_states.iter().map(|ts| (ts.topic_id, ts.topic_name.0.as_str().to_string())).collect();
    let mut partition_errors: Vec<(TopicPartition, i16)> = resp
        .partition_errors
        .iter()
        .map(|pe| (TopicPartition::new(pe.topic_name.0.as_str(), pe.partition_index), pe.error_code))
        .collect();
    for t in &resp.topics {
        let Some(name) = names.get(&t.topic_id) else {
            tracing::warn!("LeaderAndIsr response from broker {broker_id} names unknown topic id {}", t.topic_id);
            continue;
        };
        partition_errors
            .extend(t.partition_errors.iter().map(|pe| (TopicPartition::new(name.clone(), pe.partition_index), pe.error_code)));
    }
    ControllerEvent::LeaderAndIsrResponseReceived { broker_id, error_code: resp.error_code, partition_errors }
}

/// The event for the StopReplica responses of one logical request, if it deleted partitions:
/// every deleted partition with its error (the top-level error when the broker listed none).
pub fn stop_replica_response_event(
    broker_id: i32,
    req: &StopReplicaRequest,
    responses: &[StopReplicaResponse],
) -> Option<ControllerEvent> {
    let deleted: Vec<TopicPartition> = req
        .topic_states
        .iter()
        .flat_map(|ts| {
            ts.partition_states
                .iter()
                .filter(|p| p.delete_partition)
                .map(|p| TopicPartition::new(ts.topic_name.0.as_str(), p.partition_index))
        })
        .collect();
    if deleted.is_empty() {
        return None;
    }
    let error_code = responses.iter().map(|r| r.error_code).find(|c| *c != 0).unwrap_or(0);
    let listed: BTreeMap<TopicPartition, i16> = responses
        .iter()
        .flat_map(|r| r.partition_errors.iter())
        .map(|pe| (TopicPartition::new(pe.topic_name.0.as_str(), pe.partition_index), pe.error_code))
        .collect();
    let partition_errors =
        deleted.into_iter().map(|tp| (tp.clone(), listed.get(&tp).copied().unwrap_or(error_code))).collect();
    Some(ControllerEvent::TopicDeletionStopReplicaResponseReceived { broker_id, error_code, partition_errors })
}

#[cfg(test)]
#[path = "requests_tests.rs"]
mod tests;
