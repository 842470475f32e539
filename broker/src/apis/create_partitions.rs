//! CreatePartitions (key 37, v0-3). Only the active controller accepts it. The topic's assignment
//! znode gets the new partitions (default placement or explicit assignments); the answer waits, up
//! to the request timeout, for leaders of the new partitions.

use std::collections::{BTreeSet, HashMap};
use std::time::Duration;

use wire::kafka_protocol::messages::create_partitions_request::CreatePartitionsTopic;
use wire::kafka_protocol::messages::create_partitions_response::CreatePartitionsTopicResult;
use wire::kafka_protocol::messages::{CreatePartitionsRequest, CreatePartitionsResponse};
use wire::kafka_protocol::protocol::StrBytes;
use zk_schema::{paths, ZkError};

use super::admin_errors::AdminError;
use super::create_topics::{all_partitions_have_leaders, wait_until};
use super::{KafkaApis, RequestContext};

/// Validate and (unless `validate_only`) apply one topic's increase; returns (old, new) counts.
async fn add_one(apis: &KafkaApis, t: &CreatePartitionsTopic, validate_only: bool) -> Result<(i32, i32), AdminError> {
    let name = t.name.0.to_string();
    let Some((node, _)) = apis.admin.zk().get_topic(&name).await.map_err(|e| AdminError::from_zk(&e))? else {
        return Err(AdminError::UnknownTopicOrPartition(format!("The topic '{name}' does not exist.")));
    };
    if apis.admin.zk().exists(&paths::delete_topic(&name)).await.map_err(|e| AdminError::from_zk(&e))?.is_some() {
        return Err(AdminError::InvalidTopic(format!("The topic '{name}' is queued for deletion.")));
    }
    let existing = node.partitions.len() as i32;
    if t.count < existing {
        return Err(AdminError::InvalidPartitions(format!(
            "Topic currently has {existing} partitions, which is higher than the requested {}.",
            t.count
        )));
    }
    if t.count == existing {
        return Err(AdminError::InvalidPartitions(format!("Topic already has {existing} partitions.")));
    }
    let increase = t.count - existing;
    let rf = node.partitions.get(&0).map(|r| r.len()).unwrap_or(1);
    let alive: BTreeSet<i32> = apis.metadata_cache.alive_brokers().iter().map(|b| b.id).collect();
    let explicit: Option<Vec<Vec<i32>>> =
        t.assignments.as_ref().map(|a| a.iter().map(|a| a.broker_ids.iter().map(|b| b.0).collect()).collect());
    if let Some(lists) = &explicit {
        if lists.len() as i32 != increase {
            return Err(AdminError::InvalidReplicaAssignment(format!(
                "Increasing the number of partitions by {increase} but {} assignments provided.",
                lists.len()
            )));
        }
        for (i, replicas) in lists.iter().enumerate() {
            let p = existing + i as i32;
            let unknown: Vec<String> = replicas.iter().filter(|b| !alive.contains(b)).map(|b| b.to_string()).collect();
            if !unknown.is_empty() {
                return Err(AdminError::InvalidReplicaAssignment(format!(
                    "Unknown broker(s) in replica assignment: {}.",
                    unknown.join(", ")
                )));
            }
            if replicas.iter().collect::<BTreeSet<_>>().len() != replicas.len() {
                return Err(AdminError::InvalidReplicaAssignment(format!(
                    "Duplicate brokers not allowed in replica assignment: {} for partition id {p}.",
                    replicas.iter().map(|b| b.to_string()).collect::<Vec<_>>().join(", ")
                )));
            }
            if replicas.len() != rf {
                return Err(AdminError::InvalidReplicaAssignment(format!(
                    "Inconsistent replication factor between partitions, partition 0 has {rf} while partition {p} has replication factor {}.",
                    replicas.len()
                )));
            }
        }
    } else if rf > alive.len() {
        return Err(AdminError::InvalidReplicationFactor(format!(
            "Replication factor: {rf} larger than available brokers: {}.",
            alive.len()
        )));
    }
    if validate_only {
        return Ok((existing, t.count));
    }
    match apis.admin.add_partitions(&name, t.count, explicit).await {
        Ok(added) => {
            tracing::info!("Added {} partitions to topic {name}: {:?}", added.len(), added);
            Ok((existing, t.count))
        }
        Err(ZkError::NoNode(m)) => Err(AdminError::UnknownTopicOrPartition(m)),
        Err(ZkError::BadVersion(_)) => Err(AdminError::InvalidRequest(format!(
            "The assignment of topic '{name}' changed concurrently; retry."
        ))),
        Err(ZkError::Invalid(m)) if m.contains("only be increased") => Err(AdminError::InvalidPartitions(m)),
        Err(ZkError::Invalid(m)) if m.contains("eplication factor") => Err(AdminError::InvalidReplicationFactor(m)),
        Err(ZkError::Invalid(m)) => Err(AdminError::InvalidReplicaAssignment(m)),
        Err(e) => Err(AdminError::from_zk(&e)),
    }
}

fn result(t: &CreatePartitionsTopic, e: Option<&AdminError>) -> CreatePartitionsTopicResult {
    let r = CreatePartitionsTopicResult::default().with_name(t.name.clone());
    match e {
        None => r.with_error_code(0).with_error_message(None),
        Some(e) => r.with_error_code(e.code().code()).with_error_message(e.message().map(StrBytes::from_string)),
    }
}

/// Handle a CreatePartitions request.
pub async fn handle(apis: &KafkaApis, _ctx: &RequestContext, req: CreatePartitionsRequest) -> CreatePartitionsResponse {
    if !apis.controller.is_active() {
        let results = req.topics.iter().map(|t| result(t, Some(&AdminError::NotController))).collect();
        return CreatePartitionsResponse::default().with_results(results);
    }
    let mut counts: HashMap<String, usize> = HashMap::new();
    for t in &req.topics {
        *counts.entry(t.name.0.to_string()).or_default() += 1;
    }
    let mut results = Vec::new();
    let mut pending: Vec<(usize, String, i32, i32)> = Vec::new();
    for t in &req.topics {
        let name = t.name.0.to_string();
        if counts.get(&name).copied().unwrap_or(0) > 1 {
            results.push(result(t, Some(&AdminError::InvalidRequest("Duplicate topic in request.".into()))));
            continue;
        }
        match add_one(apis, t, req.validate_only).await {
            Ok((old, new)) => {
                if !req.validate_only {
                    pending.push((results.len(), name, old, new));
                }
                results.push(result(t, None));
            }
            Err(e) => {
                tracing::info!("Error processing create partitions request for topic {name}: {e}");
                results.push(result(t, Some(&e)));
            }
        }
    }
    if !pending.is_empty() && req.timeout_ms > 0 {
        let cache = &apis.metadata_cache;
        let timeout = Duration::from_millis(req.timeout_ms as u64);
        wait_until(timeout, || pending.iter().all(|(_, topic, old, new)| all_partitions_have_leaders(cache, topic, *old..*new)))
            .await;
        for (idx, topic, old, new) in &pending {
            if !all_partitions_have_leaders(cache, topic, *old..*new) {
                results[*idx].error_code = wire::ResponseError::RequestTimedOut.code();
                results[*idx].error_message = None;
            }
        }
    }
    CreatePartitionsResponse::default().with_results(results)
}
