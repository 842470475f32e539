//! OffsetDelete (key 47, v0): remove a group's committed offsets for some partitions
//! (KIP-496, spec protocol-and-groups §2.12).

use wire::kafka_protocol::messages::offset_delete_response::{OffsetDeleteResponsePartition, OffsetDeleteResponseTopic};
use wire::kafka_protocol::messages::{OffsetDeleteRequest, OffsetDeleteResponse};
use wire::kafka_protocol::protocol::StrBytes;
use wire::ResponseError;

use super::{KafkaApis, RequestContext};

/// Handle an OffsetDelete request.
pub async fn handle(apis: &KafkaApis, _ctx: &RequestContext, req: OffsetDeleteRequest) -> OffsetDeleteResponse {
    let mut outcome: Vec<(String, i32, Option<ResponseError>)> = Vec::new();
    let mut known = Vec::new();
    for t in &req.topics {
        for p in &t.partitions {
            let topic = t.name.0.to_string();
            if apis.metadata_cache.contains_partition(&topic, p.partition_index) {
                known.push((topic.clone(), p.partition_index));
                outcome.push((topic, p.partition_index, None));
            } else {
                outcome.push((topic, p.partition_index, Some(ResponseError::UnknownTopicOrPartition)));
            }
        }
    }
    let errors = match apis.group_coordinator.delete_offsets(&req.group_id.0, &known).await {
        Err(e) => return OffsetDeleteResponse::default().with_error_code(e.code()),
        Ok(errors) => errors,
    };
    let mut coordinator_errors = errors.into_iter();
    let mut topics: Vec<OffsetDeleteResponseTopic> = Vec::new();
    for (topic, partition, early) in outcome {
        let error = match early {
            Some(e) => Some(e),
            None => coordinator_errors.next().flatten(),
        };
        let part = OffsetDeleteResponsePartition::default()
            .with_partition_index(partition)
            .with_error_code(error.map(|e| e.code()).unwrap_or(0));
        match topics.iter_mut().find(|t| t.name.0.as_str() == topic) {
            Some(t) => t.partitions.push(part),
            None => topics.push(OffsetDeleteResponseTopic::default().with_name(StrBytes::from_string(topic).into()).with_partitions(vec![part])),
        }
    }
    OffsetDeleteResponse::default().with_topics(topics)
}
