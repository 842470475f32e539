//! ListPartitionReassignments (key 46, v0): the reassignments in flight (RS, AR, RR), from the
//! active controller.

use std::collections::BTreeMap;

use wire::kafka_protocol::messages::list_partition_reassignments_response::{
    OngoingPartitionReassignment, OngoingTopicReassignment,
};
use wire::kafka_protocol::messages::{BrokerId, ListPartitionReassignmentsRequest, ListPartitionReassignmentsResponse, TopicName};
use wire::kafka_protocol::protocol::StrBytes;

use super::{KafkaApis, RequestContext};

fn ids(v: &[i32]) -> Vec<BrokerId> {
    v.iter().map(|b| BrokerId(*b)).collect()
}

/// Handle a ListPartitionReassignments request.
pub async fn handle(
    apis: &KafkaApis,
    _ctx: &RequestContext,
    req: ListPartitionReassignmentsRequest,
) -> ListPartitionReassignmentsResponse {
    let partitions: Option<Vec<(String, i32)>> = req.topics.as_ref().map(|ts| {
        ts.iter().flat_map(|t| t.partition_indexes.iter().map(move |p| (t.name.0.to_string(), *p))).collect()
    });
    match apis.controller.list_partition_reassignments(partitions).await {
        Err(e) => ListPartitionReassignmentsResponse::default()
            .with_error_code(e.code)
            .with_error_message(e.message.map(StrBytes::from_string)),
        Ok(results) => {
            let mut by_topic: BTreeMap<String, Vec<OngoingPartitionReassignment>> = BTreeMap::new();
            for ((topic, partition), a) in results {
                by_topic.entry(topic).or_default().push(
                    OngoingPartitionReassignment::default()
                        .with_partition_index(partition)
                        .with_replicas(ids(&a.replicas))
                        .with_adding_replicas(ids(&a.adding_replicas))
                        .with_removing_replicas(ids(&a.removing_replicas)),
                );
            }
            ListPartitionReassignmentsResponse::default().with_error_code(0).with_topics(
                by_topic
                    .into_iter()
                    .map(|(name, partitions)| {
                        OngoingTopicReassignment::default()
                            .with_name(TopicName(StrBytes::from_string(name)))
                            .with_partitions(partitions)
                    })
                    .collect(),
            )
        }
    }
}
