//! Metadata (key 3, v0-11): brokers, controller, cluster id and topic/partition leadership, all
//! from the metadata cache, with the endpoints of the listener the request arrived on.
//!
//! Unknown topics are auto-created (ZooKeeper write; the controller does the rest) when
//! `auto.create.topics.enable` is on and the request allows it (always before v4); the answer for a
//! topic being created is LEADER_NOT_AVAILABLE so the client retries. Internal topics are never
//! auto-created here.

use std::collections::{BTreeMap, BTreeSet};

use wire::kafka_protocol::messages::metadata_response::{
    MetadataResponseBroker, MetadataResponsePartition, MetadataResponseTopic,
};
use wire::kafka_protocol::messages::{BrokerId, MetadataRequest, MetadataResponse, TopicName};
use wire::kafka_protocol::protocol::StrBytes;
use wire::ResponseError;
use zk_schema::admin::{is_internal_topic, validate_topic_name};
use zk_schema::ZkError;

use super::{KafkaApis, RequestContext};
use crate::metadata_cache::{PartitionInfo, Snapshot};

/// Every topic operation (READ..ALTER_CONFIGS) as an authorized-operations bit set; without an
/// authorizer every operation is allowed.
const ALL_TOPIC_OPERATIONS: i32 = (1 << 3) | (1 << 4) | (1 << 5) | (1 << 6) | (1 << 7) | (1 << 8) | (1 << 10) | (1 << 11);
/// Every cluster operation (CREATE, ALTER, DESCRIBE, CLUSTER_ACTION, DESCRIBE_CONFIGS, ALTER_CONFIGS,
/// IDEMPOTENT_WRITE).
const ALL_CLUSTER_OPERATIONS: i32 = (1 << 5) | (1 << 7) | (1 << 8) | (1 << 9) | (1 << 10) | (1 << 11) | (1 << 12);
/// "Not requested" value of the authorized-operations fields.
const OPERATIONS_NOT_REQUESTED: i32 = i32::MIN;

fn str_bytes(s: &str) -> StrBytes {
    StrBytes::from_string(s.to_string())
}

fn ids(v: &[i32]) -> Vec<BrokerId> {
    v.iter().map(|b| BrokerId(*b)).collect()
}

/// Handle a Metadata request.
pub async fn handle(apis: &KafkaApis, ctx: &RequestContext, req: MetadataRequest) -> MetadataResponse {
    let version = ctx.header.api_version;
    let snapshot = apis.metadata_cache.snapshot();

    // Which topics: null (v1+) or empty (v0) means all.
    let all_topics = match &req.topics {
        None => true,
        Some(t) => t.is_empty() && version == 0,
    };
    let mut topics_out = Vec::new();
    if all_topics {
        for name in snapshot.partitions.keys() {
            topics_out.push(known_topic(apis, ctx, &snapshot, name, req.include_topic_authorized_operations));
        }
    } else {
        let allow_auto_create = apis.config.auto_create_topics_enable && (version < 4 || req.allow_auto_topic_creation);
        let mut seen = BTreeSet::new();
        for t in req.topics.iter().flatten() {
            let Some(name) = t.name.as_ref().map(|n| n.0.to_string()) else {
                // Lookup by topic id is not supported by this version of the API on a ZK broker.
                topics_out.push(
                    MetadataResponseTopic::default()
                        .with_error_code(ResponseError::InvalidRequest.code())
                        .with_name(None)
                        .with_topic_id(t.topic_id),
                );
                continue;
            };
            if !seen.insert(name.clone()) {
                continue;
            }
            if snapshot.partitions.contains_key(&name) {
                topics_out.push(known_topic(apis, ctx, &snapshot, &name, req.include_topic_authorized_operations));
                continue;
            }
            let error = if validate_topic_name(&name).is_err() {
                ResponseError::InvalidTopicException
            } else if allow_auto_create && !is_internal_topic(&name) {
                auto_create(apis, &name).await
            } else {
                ResponseError::UnknownTopicOrPartition
            };
            topics_out.push(
                MetadataResponseTopic::default()
                    .with_error_code(error.code())
                    .with_name(Some(TopicName(str_bytes(&name))))
                    .with_is_internal(is_internal_topic(&name))
                    .with_topic_authorized_operations(if version >= 8 && req.include_topic_authorized_operations {
                        ALL_TOPIC_OPERATIONS
                    } else {
                        OPERATIONS_NOT_REQUESTED
                    }),
            );
        }
    }

    let brokers = snapshot
        .live_brokers
        .values()
        .filter_map(|b| {
            b.endpoints.iter().find(|e| e.listener == ctx.listener).map(|e| {
                MetadataResponseBroker::default()
                    .with_node_id(BrokerId(b.id))
                    .with_host(str_bytes(&e.host))
                    .with_port(e.port)
                    .with_rack(b.rack.as_deref().map(str_bytes))
            })
        })
        .collect();

    MetadataResponse::default()
        .with_brokers(brokers)
        .with_cluster_id(Some(str_bytes(&apis.cluster_id)))
        .with_controller_id(BrokerId(snapshot.controller_id.unwrap_or(-1)))
        .with_topics(topics_out)
        .with_cluster_authorized_operations(if (8..=10).contains(&version) && req.include_cluster_authorized_operations {
            ALL_CLUSTER_OPERATIONS
        } else {
            OPERATIONS_NOT_REQUESTED
        })
}

/// Metadata of a topic present in the cache.
fn known_topic(
    apis: &KafkaApis,
    ctx: &RequestContext,
    snapshot: &Snapshot,
    name: &str,
    include_ops: bool,
) -> MetadataResponseTopic {
    let version = ctx.header.api_version;
    let partitions: Vec<MetadataResponsePartition> = snapshot
        .partitions
        .get(name)
        .map(|parts| parts.values().map(|p| partition_metadata(snapshot, ctx, p)).collect())
        .unwrap_or_default();
    let _ = apis;
    MetadataResponseTopic::default()
        .with_name(Some(TopicName(str_bytes(name))))
        .with_topic_id(snapshot.topic_ids.get(name).copied().unwrap_or_default())
        .with_is_internal(is_internal_topic(name))
        .with_partitions(partitions)
        .with_topic_authorized_operations(if version >= 8 && include_ops { ALL_TOPIC_OPERATIONS } else { OPERATIONS_NOT_REQUESTED })
}

/// One partition: leader only if it is alive with an endpoint on this listener (Kafka's rules:
/// LEADER_NOT_AVAILABLE for a dead or absent leader, LISTENER_NOT_FOUND (v6+) when the leader
/// lacks this listener). v0 clients get only available replicas and REPLICA_NOT_AVAILABLE.
fn partition_metadata(snapshot: &Snapshot, ctx: &RequestContext, p: &PartitionInfo) -> MetadataResponsePartition {
    let version = ctx.header.api_version;
    let has_endpoint = |id: i32| {
        snapshot.live_brokers.get(&id).is_some_and(|b| b.endpoints.iter().any(|e| e.listener == ctx.listener))
    };
    let base = MetadataResponsePartition::default()
        .with_partition_index(p.partition)
        .with_leader_epoch(p.leader_epoch)
        .with_offline_replicas(ids(&p.offline_replicas));
    let leader_alive = snapshot.live_brokers.contains_key(&p.leader);
    if !leader_alive || !has_endpoint(p.leader) {
        let error = if !leader_alive || version < 6 {
            ResponseError::LeaderNotAvailable
        } else {
            ResponseError::ListenerNotFound
        };
        let (replicas, isr) = if version == 0 {
            (p.replicas.iter().copied().filter(|r| has_endpoint(*r)).collect::<Vec<_>>(), p.isr.iter().copied().filter(|r| has_endpoint(*r)).collect::<Vec<_>>())
        } else {
            (p.replicas.clone(), p.isr.clone())
        };
        return base
            .with_error_code(error.code())
            .with_leader_id(BrokerId(-1))
            .with_replica_nodes(ids(&replicas))
            .with_isr_nodes(ids(&isr));
    }
    if version == 0 {
        let replicas: Vec<i32> = p.replicas.iter().copied().filter(|r| has_endpoint(*r)).collect();
        let isr: Vec<i32> = p.isr.iter().copied().filter(|r| has_endpoint(*r)).collect();
        let error = if replicas.len() < p.replicas.len() || isr.len() < p.isr.len() { ResponseError::ReplicaNotAvailable.code() } else { 0 };
        return base.with_error_code(error).with_leader_id(BrokerId(p.leader)).with_replica_nodes(ids(&replicas)).with_isr_nodes(ids(&isr));
    }
    base.with_error_code(0)
        .with_leader_id(BrokerId(p.leader))
        .with_replica_nodes(ids(&p.replicas))
        .with_isr_nodes(ids(&p.isr))
}

/// Create `topic` with the broker defaults (num.partitions, default.replication.factor). Returns the
/// error to report: LEADER_NOT_AVAILABLE while the controller brings it online.
async fn auto_create(apis: &KafkaApis, topic: &str) -> ResponseError {
    let partitions = apis.config.num_partitions;
    let rf = apis.config.default_replication_factor;
    let assignment = match apis.admin.default_assignment(partitions, rf, false).await {
        Ok(a) => a,
        Err(ZkError::Invalid(msg)) => {
            tracing::warn!("Auto creation of topic {topic} failed: {msg}");
            return if msg.contains("eplication factor") {
                ResponseError::InvalidReplicationFactor
            } else {
                ResponseError::InvalidPartitions
            };
        }
        Err(e) => {
            tracing::warn!("Auto creation of topic {topic} failed: {e}");
            return ResponseError::UnknownServerError;
        }
    };
    match apis.admin.create_topic_with_assignment(topic, &BTreeMap::new(), &assignment).await {
        Ok(_) => {
            tracing::info!(
                "Auto creation of topic {topic} with {partitions} partitions and replication factor {rf} is successful"
            );
            ResponseError::LeaderNotAvailable
        }
        Err(ZkError::NodeExists(_)) => ResponseError::LeaderNotAvailable,
        Err(ZkError::Invalid(msg)) => {
            tracing::warn!("Auto creation of topic {topic} failed: {msg}");
            ResponseError::InvalidTopicException
        }
        Err(e) => {
            tracing::warn!("Auto creation of topic {topic} failed: {e}");
            ResponseError::UnknownServerError
        }
    }
}
