//! OffsetFetch (key 9, v0-7): a group's committed positions (spec protocol-and-groups §2.11).
//! v0 reads the legacy ZooKeeper offsets; v1+ ask the coordinator. A null topic list (v2+) means
//! every partition with a commit.

use wire::kafka_protocol::messages::offset_fetch_response::{OffsetFetchResponsePartition, OffsetFetchResponseTopic};
use wire::kafka_protocol::messages::{OffsetFetchRequest, OffsetFetchResponse};
use wire::kafka_protocol::protocol::StrBytes;
use wire::ResponseError;

use super::{KafkaApis, RequestContext};
use crate::coordinator::group::offsets::FetchedOffset;

/// Handle an OffsetFetch request.
pub async fn handle(apis: &KafkaApis, ctx: &RequestContext, req: OffsetFetchRequest) -> OffsetFetchResponse {
    let version = ctx.header.api_version;
    let group = req.group_id.0.to_string();
    let requested: Option<Vec<(String, i32)>> = req.topics.as_ref().map(|topics| {
        topics.iter().flat_map(|t| t.partition_indexes.iter().map(move |p| (t.name.0.to_string(), *p))).collect()
    });
    let result = if version == 0 {
        Ok(fetch_from_zookeeper(apis, &group, requested.as_deref().unwrap_or(&[])).await)
    } else {
        apis.group_coordinator.fetch_offsets(&group, requested.as_deref(), version >= 7 && req.require_stable)
    };
    let (top_error, fetched) = match result {
        Ok(f) => (None, f),
        Err(e) if version >= 2 => (Some(e), Vec::new()),
        Err(e) => {
            // v0-1 have no top-level error: it is repeated on every requested partition.
            let each = requested
                .unwrap_or_default()
                .into_iter()
                .map(|(topic, partition)| FetchedOffset { topic, partition, offset: -1, leader_epoch: -1, metadata: String::new(), error: Some(e) })
                .collect();
            (None, each)
        }
    };
    let mut topics: Vec<OffsetFetchResponseTopic> = Vec::new();
    for f in fetched {
        let part = OffsetFetchResponsePartition::default()
            .with_partition_index(f.partition)
            .with_committed_offset(f.offset)
            .with_committed_leader_epoch(f.leader_epoch)
            .with_metadata(Some(StrBytes::from_string(f.metadata)))
            .with_error_code(f.error.map(|e| e.code()).unwrap_or(0));
        match topics.iter_mut().find(|t| t.name.0.as_str() == f.topic) {
            Some(t) => t.partitions.push(part),
            None => topics.push(OffsetFetchResponseTopic::default().with_name(StrBytes::from_string(f.topic).into()).with_partitions(vec![part])),
        }
    }
    OffsetFetchResponse::default().with_error_code(top_error.map(|e| e.code()).unwrap_or(0)).with_topics(topics)
}

/// v0: read `/consumers/<group>/offsets/<topic>/<partition>`; a missing node is offset -1 with
/// UNKNOWN_TOPIC_OR_PARTITION, as Kafka answered.
async fn fetch_from_zookeeper(apis: &KafkaApis, group: &str, partitions: &[(String, i32)]) -> Vec<FetchedOffset> {
    let mut out = Vec::with_capacity(partitions.len());
    for (topic, partition) in partitions {
        let (offset, error) = match apis.zk.get_consumer_offset(group, topic, *partition).await {
            Ok(Some(o)) => (o, None),
            Ok(None) => (-1, Some(ResponseError::UnknownTopicOrPartition)),
            Err(e) => {
                tracing::warn!("could not read offset of {group} for {topic}-{partition} from ZooKeeper: {e}");
                (-1, Some(ResponseError::UnknownServerError))
            }
        };
        out.push(FetchedOffset { topic: topic.clone(), partition: *partition, offset, leader_epoch: -1, metadata: String::new(), error });
    }
    out
}
