//! FindCoordinator (key 10, v0-4): which broker coordinates a group (spec protocol-and-groups §3).
//!
//! The coordinator of group G is the leader of `__consumer_offsets` partition
//! `abs(hash(G)) % offsets.topic.num.partitions`, read from this broker's metadata cache. If the
//! topic does not exist yet it is created here (as Kafka's auto topic creation does) and the answer
//! is COORDINATOR_NOT_AVAILABLE until its leaders are elected. Transactional ids (key type 1) have
//! no coordinator in this broker: they always get COORDINATOR_NOT_AVAILABLE. v4 answers a batch
//! of keys.

use std::collections::BTreeMap;

use wire::kafka_protocol::messages::find_coordinator_response::Coordinator;
use wire::kafka_protocol::messages::{BrokerId, FindCoordinatorRequest, FindCoordinatorResponse};
use wire::kafka_protocol::protocol::StrBytes;
use wire::ResponseError;
use zk_schema::ZkError;

use super::{KafkaApis, RequestContext};
use crate::coordinator::group::records::partition_for;
use crate::coordinator::group::GROUP_METADATA_TOPIC;
use crate::metadata_cache::NO_LEADER;

/// Where a key's coordinator is, or why it is not available.
type Lookup = Result<(i32, String, i32), ResponseError>;

/// Handle a FindCoordinator request.
pub async fn handle(apis: &KafkaApis, ctx: &RequestContext, req: FindCoordinatorRequest) -> FindCoordinatorResponse {
    let version = ctx.header.api_version;
    let keys: Vec<String> = if version >= 4 {
        req.coordinator_keys.iter().map(|k| k.to_string()).collect()
    } else {
        vec![req.key.to_string()]
    };
    let mut results = Vec::with_capacity(keys.len());
    for key in &keys {
        let lookup = match req.key_type {
            0 => find_group_coordinator(apis, ctx, key).await,
            1 => Err(ResponseError::CoordinatorNotAvailable),
            _ => Err(ResponseError::InvalidRequest),
        };
        results.push((key.clone(), lookup));
    }
    let message = |e: &ResponseError| -> Option<StrBytes> {
        Some(StrBytes::from_string(match e {
            ResponseError::InvalidRequest => format!("Unknown coordinator type {}", req.key_type),
            other => other.to_string(),
        }))
    };
    if version >= 4 {
        let coordinators = results
            .into_iter()
            .map(|(key, lookup)| {
                let c = Coordinator::default().with_key(StrBytes::from_string(key));
                match lookup {
                    Ok((id, host, port)) => c.with_node_id(BrokerId(id)).with_host(StrBytes::from_string(host)).with_port(port),
                    Err(e) => c
                        .with_error_code(e.code())
                        .with_error_message(message(&e))
                        .with_node_id(BrokerId(-1))
                        .with_host(StrBytes::from_static_str(""))
                        .with_port(-1),
                }
            })
            .collect();
        return FindCoordinatorResponse::default().with_coordinators(coordinators);
    }
    match results.pop().map(|(_, l)| l) {
        Some(Ok((id, host, port))) => FindCoordinatorResponse::default()
            .with_node_id(BrokerId(id))
            .with_host(StrBytes::from_string(host))
            .with_port(port),
        Some(Err(e)) => FindCoordinatorResponse::default()
            .with_error_code(e.code())
            .with_error_message(if version >= 1 { message(&e) } else { None })
            .with_node_id(BrokerId(-1))
            .with_host(StrBytes::from_static_str(""))
            .with_port(-1),
        None => FindCoordinatorResponse::default().with_error_code(ResponseError::InvalidRequest.code()),
    }
}

async fn find_group_coordinator(apis: &KafkaApis, ctx: &RequestContext, group: &str) -> Lookup {
    let Some(partitions) = apis.metadata_cache.topic_partitions(GROUP_METADATA_TOPIC) else {
        create_offsets_topic(apis).await;
        return Err(ResponseError::CoordinatorNotAvailable);
    };
    let partition = partition_for(group, apis.config.offsets_topic_num_partitions);
    let leader = partitions.get(&partition).map(|p| p.leader).unwrap_or(NO_LEADER);
    if leader < 0 {
        return Err(ResponseError::CoordinatorNotAvailable);
    }
    match apis.metadata_cache.alive_endpoint(leader, &ctx.listener) {
        Some((host, port)) => Ok((leader, host, port)),
        None => Err(ResponseError::CoordinatorNotAvailable),
    }
}

/// Create `__consumer_offsets` with the offsets-topic settings. Failures (e.g. fewer live brokers
/// than `offsets.topic.replication.factor`) are logged; clients keep retrying.
async fn create_offsets_topic(apis: &KafkaApis) {
    let partitions = apis.config.offsets_topic_num_partitions;
    let rf = apis.config.offsets_topic_replication_factor as i32;
    let assignment = match apis.admin.default_assignment(partitions, rf, false).await {
        Ok(a) => a,
        Err(e) => {
            tracing::warn!(
                "Could not create {GROUP_METADATA_TOPIC} with {partitions} partitions and replication factor {rf} \
                 (offsets.topic.replication.factor): {e}"
            );
            return;
        }
    };
    let configs = offsets_topic_configs(apis);
    match apis.admin.create_topic_with_assignment(GROUP_METADATA_TOPIC, &configs, &assignment).await {
        Ok(_) => tracing::info!("Created {GROUP_METADATA_TOPIC} with {partitions} partitions and replication factor {rf}"),
        Err(ZkError::NodeExists(_)) => {}
        Err(e) => tracing::warn!("Could not create {GROUP_METADATA_TOPIC}: {e}"),
    }
}

/// Kafka's `GroupCoordinator.offsetsTopicConfigs`.
pub fn offsets_topic_configs(apis: &KafkaApis) -> BTreeMap<String, String> {
    let codec = match apis.config.offsets_topic_compression_codec {
        1 => "gzip",
        2 => "snappy",
        3 => "lz4",
        4 => "zstd",
        _ => "producer",
    };
    BTreeMap::from([
        ("cleanup.policy".to_string(), "compact".to_string()),
        ("segment.bytes".to_string(), apis.config.offsets_topic_segment_bytes.to_string()),
        ("compression.type".to_string(), codec.to_string()),
    ])
}
