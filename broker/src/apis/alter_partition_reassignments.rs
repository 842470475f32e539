//! AlterPartitionReassignments (key 45, v0): start, change or cancel (null replica list)
//! reassignments through the active controller.

use std::collections::BTreeMap;

use wire::kafka_protocol::messages::alter_partition_reassignments_response::{
    ReassignablePartitionResponse, ReassignableTopicResponse,
};
use wire::kafka_protocol::messages::{AlterPartitionReassignmentsRequest, AlterPartitionReassignmentsResponse, TopicName};
use wire::kafka_protocol::protocol::StrBytes;

use super::{KafkaApis, RequestContext};

/// Handle an AlterPartitionReassignments request.
pub async fn handle(
    apis: &KafkaApis,
    _ctx: &RequestContext,
    req: AlterPartitionReassignmentsRequest,
) -> AlterPartitionReassignmentsResponse {
    let reassignments: Vec<((String, i32), Option<Vec<i32>>)> = req
        .topics
        .iter()
        .flat_map(|t| {
            t.partitions.iter().map(move |p| {
                ((t.name.0.to_string(), p.partition_index), p.replicas.as_ref().map(|r| r.iter().map(|b| b.0).collect()))
            })
        })
        .collect();
    match apis.controller.alter_partition_reassignments(reassignments).await {
        Err(e) => AlterPartitionReassignmentsResponse::default()
            .with_error_code(e.code)
            .with_error_message(e.message.map(StrBytes::from_string)),
        Ok(results) => {
            let mut by_topic: BTreeMap<String, Vec<ReassignablePartitionResponse>> = BTreeMap::new();
            for ((topic, partition), r) in results {
                let (code, message) = match r {
                    Ok(()) => (0, None),
                    Err(e) => (e.code, e.message),
                };
                by_topic.entry(topic).or_default().push(
                    ReassignablePartitionResponse::default()
                        .with_partition_index(partition)
                        .with_error_code(code)
                        .with_error_message(message.map(StrBytes::from_string)),
                );
            }
            AlterPartitionReassignmentsResponse::default().with_error_code(0).with_responses(
                by_topic
                    .into_iter()
                    .map(|(name, partitions)| {
                        ReassignableTopicResponse::default()
                            .with_name(TopicName(StrBytes::from_string(name)))
                            .with_partitions(partitions)
                    })
                    .collect(),
            )
        }
    }
}
