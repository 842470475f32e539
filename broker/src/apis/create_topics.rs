//! CreateTopics (key 19, v0-7). Only the active controller creates topics (others answer
//! NOT_CONTROLLER, and the client retries against the controller from Metadata).
//!
//! Per topic: validate (name, existence, partitions and replication factor or explicit
//! assignment, configs), write `/config/topics/<T>` and `/brokers/topics/<T>`, then wait — up to the
//! request timeout — until the metadata cache shows a leader for every new partition (Kafka's
//! DelayedCreatePartitions); REQUEST_TIMED_OUT if that does not happen in time.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::time::{Duration, Instant};

use uuid::Uuid;
use wire::kafka_protocol::messages::create_topics_request::CreatableTopic;
use wire::kafka_protocol::messages::create_topics_response::{CreatableTopicConfigs, CreatableTopicResult};
use wire::kafka_protocol::messages::{CreateTopicsRequest, CreateTopicsResponse};
use wire::kafka_protocol::protocol::StrBytes;
use zk_schema::admin::{assign_replicas_to_brokers, validate_topic_name, AdminZkClient, BrokerMetadata};
use zk_schema::ZkError;


use super::admin_errors::AdminError;
use super::{KafkaApis, RequestContext};
use crate::metadata_cache::MetadataCache;

/// How often the metadata cache is checked while waiting for leaders.
pub const POLL_INTERVAL: Duration = Duration::from_millis(20);

/// Wait until `done()` holds or `timeout` passes; returns whether it held.
pub async fn wait_until(timeout: Duration, mut done: impl FnMut() -> bool) -> bool {
    let deadline = Instant::now() + timeout;
    loop {
        if done() {
            return true;
        }
        let now = Instant::now();
        if now >= deadline {
            return false;
        }
        tokio::time::sleep(POLL_INTERVAL.min(deadline - now)).await;
    }
}

/// Whether every partition of `topic` in `0..partitions` has a leader in the cache.
pub fn all_partitions_have_leaders(cache: &MetadataCache, topic: &str, partitions: impl IntoIterator<Item = i32>) -> bool {
    let snapshot = cache.snapshot();
    let Some(parts) = snapshot.partitions.get(topic) else { return false };
    partitions.into_iter().all(|p| parts.get(&p).is_some_and(|s| s.leader >= 0))
}

/// Alive brokers (with racks) as replica placement sees them.
pub fn alive_broker_metadata(cache: &MetadataCache) -> Vec<BrokerMetadata> {
    cache.alive_brokers().into_iter().map(|b| BrokerMetadata { id: b.id, rack: b.rack }).collect()
}

/// Classify an `assign_replicas_to_brokers` failure.
pub fn placement_error(e: ZkError) -> AdminError {
    match e {
        ZkError::Invalid(m) if m.contains("artitions") => AdminError::InvalidPartitions(m),
        ZkError::Invalid(m) if m.contains("eplication factor") => AdminError::InvalidReplicationFactor(m),
        ZkError::Invalid(m) => AdminError::InvalidReplicaAssignment(m),
        other => AdminError::from_zk(&other),
    }
}

/// What a successful (or validated) creation yields.
struct Created {
    num_partitions: i32,
    replication_factor: i16,
    configs: BTreeMap<String, String>,
    topic_id: Uuid,
}

async fn create_one(apis: &KafkaApis, t: &CreatableTopic, validate_only: bool) -> Result<Created, AdminError> {
    let name = t.name.0.to_string();
    if apis.metadata_cache.contains_topic(&name) {
        return Err(AdminError::TopicAlreadyExists(format!("Topic '{name}' already exists.")));
    }
    let mut configs = BTreeMap::new();
    let null_keys: Vec<String> = t.configs.iter().filter(|c| c.value.is_none()).map(|c| c.name.to_string()).collect();
    if !null_keys.is_empty() {
        return Err(AdminError::InvalidRequest(format!("Null value not supported for topic configs : {}", null_keys.join(","))));
    }
    for c in &t.configs {
        configs.insert(c.name.to_string(), c.value.as_ref().map(|v| v.to_string()).unwrap_or_default());
    }
    if (t.num_partitions != -1 || t.replication_factor != -1) && !t.assignments.is_empty() {
        return Err(AdminError::InvalidRequest(
            "Both numPartitions or replicationFactor and replicasAssignments were set. Both cannot be used at the same time."
                .into(),
        ));
    }
    validate_topic_name(&name).map_err(|e| AdminError::InvalidTopic(e.to_string()))?;

    let assignment: BTreeMap<i32, Vec<i32>> = if t.assignments.is_empty() {
        let partitions = if t.num_partitions == -1 { apis.config.num_partitions } else { t.num_partitions };
        let rf = if t.replication_factor == -1 { apis.config.default_replication_factor } else { t.replication_factor as i32 };
        let brokers = alive_broker_metadata(&apis.metadata_cache);
        assign_replicas_to_brokers(&brokers, partitions, rf, None, 0, false).map_err(placement_error)?
    } else {
        let alive: BTreeSet<i32> = apis.metadata_cache.alive_brokers().iter().map(|b| b.id).collect();
        let mut a = BTreeMap::new();
        for pa in &t.assignments {
            let replicas: Vec<i32> = pa.broker_ids.iter().map(|b| b.0).collect();
            if let Some(unknown) = replicas.iter().find(|b| !alive.contains(b)) {
                return Err(AdminError::InvalidReplicaAssignment(format!(
                    "Replica assignment for partition {} of topic '{name}' contains broker {unknown}, which is not a live broker.",
                    pa.partition_index
                )));
            }
            if a.insert(pa.partition_index, replicas).is_some() {
                return Err(AdminError::InvalidReplicaAssignment(format!(
                    "Duplicate partition index {} in replica assignment.",
                    pa.partition_index
                )));
            }
        }
        AdminZkClient::validate_assignment(&a).map_err(|e| AdminError::InvalidReplicaAssignment(e.to_string()))?;
        a
    };
    apis.topic_configs.defaults().with_overrides(&configs).map_err(|e| AdminError::from_config(&e))?;
    match apis.admin.validate_new_topic(&name).await {
        Ok(()) => {}
        Err(ZkError::NodeExists(m)) => return Err(AdminError::TopicAlreadyExists(m)),
        Err(ZkError::Invalid(m)) => return Err(AdminError::InvalidTopic(m)),
        Err(e) => return Err(AdminError::from_zk(&e)),
    }
    let num_partitions = assignment.len() as i32;
    let replication_factor = assignment.values().next().map(|r| r.len()).unwrap_or(0) as i16;
    if validate_only {
        return Ok(Created { num_partitions, replication_factor, configs, topic_id: Uuid::nil() });
    }
    // This broker may host replicas: make the overrides known before LeaderAndIsr creates the logs
    // (the controller reacts to the znode write, so set them first and restore on failure).
    let previous = apis.topic_configs.overrides(&name);
    apis.topic_configs.set(&name, configs.clone());
    let created = apis.admin.create_topic_with_assignment(&name, &configs, &assignment).await;
    if created.is_err() {
        apis.topic_configs.set(&name, previous);
    }
    let topic_id = match created {
        Ok(id) => id,
        Err(ZkError::NodeExists(m)) => return Err(AdminError::TopicAlreadyExists(m)),
        Err(ZkError::Invalid(m)) => return Err(AdminError::InvalidTopic(m)),
        Err(e) => return Err(AdminError::from_zk(&e)),
    };
    tracing::info!("Created topic {name} with {num_partitions} partitions and replication factor {replication_factor}");
    let topic_id = zk_schema::util::uuid_from_base64(&topic_id).map(Uuid::from_bytes).unwrap_or_default();
    Ok(Created { num_partitions, replication_factor, configs, topic_id })
}

fn s(v: &str) -> StrBytes {
    StrBytes::from_string(v.to_string())
}

fn error_result(name: &wire::kafka_protocol::messages::TopicName, e: &AdminError) -> CreatableTopicResult {
    CreatableTopicResult::default()
        .with_name(name.clone())
        .with_error_code(e.code().code())
        .with_error_message(e.message().map(|m| s(&m)))
}

/// Handle a CreateTopics request.
pub async fn handle(apis: &KafkaApis, ctx: &RequestContext, req: CreateTopicsRequest) -> CreateTopicsResponse {
    let version = ctx.header.api_version;
    if !apis.controller.is_active() {
        let results = req.topics.iter().map(|t| error_result(&t.name, &AdminError::NotController)).collect();
        return CreateTopicsResponse::default().with_topics(results);
    }
    let mut counts: HashMap<String, usize> = HashMap::new();
    for t in &req.topics {
        *counts.entry(t.name.0.to_string()).or_default() += 1;
    }
    let mut results: Vec<CreatableTopicResult> = Vec::new();
    let mut pending: Vec<(usize, String, i32)> = Vec::new();
    for t in &req.topics {
        let name = t.name.0.to_string();
        if counts.get(&name).copied().unwrap_or(0) > 1 {
            results.push(error_result(&t.name, &AdminError::InvalidRequest("Found multiple entries for this topic.".into())));
            continue;
        }
        match create_one(apis, t, req.validate_only).await {
            Ok(created) => {
                let mut r = CreatableTopicResult::default()
                    .with_name(t.name.clone())
                    .with_error_code(0)
                    .with_error_message(None)
                    .with_topic_id(created.topic_id);
                if version >= 5 {
                    let effective = apis.topic_configs.defaults().with_overrides(&created.configs).unwrap_or_default();
                    let entries = super::describe_configs::topic_config_entries(&apis.config, &created.configs, &effective, None);
                    r = r
                        .with_num_partitions(created.num_partitions)
                        .with_replication_factor(created.replication_factor)
                        .with_configs(Some(
                            entries
                                .iter()
                                .map(|e| {
                                    CreatableTopicConfigs::default()
                                        .with_name(s(&e.name))
                                        .with_value(e.value.as_deref().map(s))
                                        .with_read_only(e.read_only)
                                        .with_config_source(e.source)
                                        .with_is_sensitive(e.sensitive)
                                })
                                .collect(),
                        ));
                }
                if !req.validate_only {
                    pending.push((results.len(), name, created.num_partitions));
                }
                results.push(r);
            }
            Err(e) => {
                tracing::info!("Error processing create topic request for topic {name}: {e}");
                results.push(error_result(&t.name, &e));
            }
        }
    }
    if !pending.is_empty() && req.timeout_ms > 0 {
        let cache = &apis.metadata_cache;
        let timeout = Duration::from_millis(req.timeout_ms as u64);
        wait_until(timeout, || pending.iter().all(|(_, topic, n)| all_partitions_have_leaders(cache, topic, 0..*n))).await;
        for (idx, topic, n) in &pending {
            if all_partitions_have_leaders(cache, topic, 0..*n) {
                if results[*idx].topic_id.is_nil() {
                    results[*idx].topic_id = cache.topic_id(topic);
                }
            } else {
                results[*idx].error_code = wire::ResponseError::RequestTimedOut.code();
                results[*idx].error_message = None;
            }
        }
    }
    if version < 7 {
        for r in results.iter_mut() {
            r.topic_id = Uuid::nil();
        }
    }
    CreateTopicsResponse::default().with_topics(results)
}
