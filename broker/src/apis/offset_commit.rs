//! OffsetCommit (key 8, v0-8): store a group's consumed positions (spec protocol-and-groups §2.10).
//! v0 writes ZooKeeper (`/consumers/<group>/offsets/<topic>/<partition>`, the legacy path) and
//! never touches the coordinator; v1+ go to `__consumer_offsets` through the coordinator.

use wire::kafka_protocol::messages::offset_commit_response::{OffsetCommitResponsePartition, OffsetCommitResponseTopic};
use wire::kafka_protocol::messages::{OffsetCommitRequest, OffsetCommitResponse};
use wire::kafka_protocol::protocol::StrBytes;
use wire::ResponseError;

use super::{KafkaApis, RequestContext};
use crate::coordinator::group::offsets::OffsetCommit;
use crate::coordinator::group::records::OffsetCommitValue;
use crate::replica_manager::now_ms;

/// Handle an OffsetCommit request.
pub async fn handle(apis: &KafkaApis, ctx: &RequestContext, req: OffsetCommitRequest) -> OffsetCommitResponse {
    let version = ctx.header.api_version;
    let now = now_ms();
    let group = req.group_id.0.to_string();
    // (topic, partition, error) in request order; `None` errors go to the coordinator.
    let mut outcome: Vec<(String, i32, Option<ResponseError>)> = Vec::new();
    let mut commits = Vec::new();
    for t in &req.topics {
        for p in &t.partitions {
            let topic = t.name.0.to_string();
            if !apis.metadata_cache.contains_partition(&topic, p.partition_index) {
                outcome.push((topic, p.partition_index, Some(ResponseError::UnknownTopicOrPartition)));
                continue;
            }
            let commit_timestamp = if version == 1 && p.commit_timestamp != -1 { p.commit_timestamp } else { now };
            let expire_timestamp = (matches!(version, 2..=4) && req.retention_time_ms != -1).then(|| now + req.retention_time_ms);
            commits.push(OffsetCommit {
                topic: topic.clone(),
                partition: p.partition_index,
                value: OffsetCommitValue {
                    offset: p.committed_offset,
                    leader_epoch: (version >= 6 && p.committed_leader_epoch >= 0).then_some(p.committed_leader_epoch),
                    metadata: p.committed_metadata.as_ref().map(|m| m.to_string()).unwrap_or_default(),
                    commit_timestamp,
                    expire_timestamp,
                },
            });
            outcome.push((topic, p.partition_index, None));
        }
    }
    let errors: Vec<Option<ResponseError>> = if commits.is_empty() {
        Vec::new()
    } else if version == 0 {
        commit_to_zookeeper(apis, &group, &commits).await
    } else {
        let instance = if version >= 7 { req.group_instance_id.as_ref().map(|s| s.to_string()) } else { None };
        let generation = if version >= 1 { req.generation_id_or_member_epoch } else { -1 };
        apis.group_coordinator
            .commit_offsets(
                &group,
                &req.member_id,
                instance.as_deref(),
                generation,
                commits,
                apis.config.offset_metadata_max_bytes.max(0) as usize,
            )
            .await
    };
    let mut coordinator_errors = errors.into_iter();
    let mut topics: Vec<OffsetCommitResponseTopic> = Vec::new();
    for (topic, partition, early) in outcome {
        let error = match early {
            Some(e) => Some(e),
            None => coordinator_errors.next().flatten(),
        };
        let part = OffsetCommitResponsePartition::default()
            .with_partition_index(partition)
            .with_error_code(error.map(|e| e.code()).unwrap_or(0));
        match topics.iter_mut().find(|t| t.name.0.as_str() == topic) {
            Some(t) => t.partitions.push(part),
            None => topics.push(OffsetCommitResponseTopic::default().with_name(StrBytes::from_string(topic).into()).with_partitions(vec![part])),
        }
    }
    OffsetCommitResponse::default().with_topics(topics)
}

/// v0: the legacy ZooKeeper offsets, one node per partition; metadata is not kept there.
async fn commit_to_zookeeper(apis: &KafkaApis, group: &str, commits: &[OffsetCommit]) -> Vec<Option<ResponseError>> {
    if group.is_empty() {
        return vec![Some(ResponseError::InvalidGroupId); commits.len()];
    }
    let mut errors = Vec::with_capacity(commits.len());
    for c in commits {
        if c.value.metadata.len() > apis.config.offset_metadata_max_bytes.max(0) as usize {
            errors.push(Some(ResponseError::OffsetMetadataTooLarge));
            continue;
        }
        match apis.zk.set_consumer_offset(group, &c.topic, c.partition, c.value.offset).await {
            Ok(()) => errors.push(None),
            Err(e) => {
                tracing::warn!("could not store offset of {group} for {}-{} in ZooKeeper: {e}", c.topic, c.partition);
                errors.push(Some(ResponseError::UnknownServerError));
            }
        }
    }
    errors
}
