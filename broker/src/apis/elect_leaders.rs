//! ElectLeaders (key 43, v0-2): preferred (v0+) or unclean (v1+) leader election, run by the
//! active controller. A null partition list means every partition; then only partitions that were
//! elected or failed are listed.

use std::collections::BTreeMap;

use controller::ElectionType;
use wire::kafka_protocol::messages::elect_leaders_response::{PartitionResult, ReplicaElectionResult};
use wire::kafka_protocol::messages::{ElectLeadersRequest, ElectLeadersResponse, TopicName};
use wire::kafka_protocol::protocol::StrBytes;

use super::{KafkaApis, RequestContext};

const NOT_CONTROLLER: i16 = 41;
const INVALID_REQUEST: i16 = 42;

fn build(results: Vec<((String, i32), Result<(), (i16, Option<String>)>)>, top_level: i16) -> ElectLeadersResponse {
    let mut by_topic: BTreeMap<String, Vec<PartitionResult>> = BTreeMap::new();
    for ((topic, partition), r) in results {
        let (code, message) = match r {
            Ok(()) => (0, None),
            Err((code, message)) => (code, message),
        };
        by_topic.entry(topic).or_default().push(
            PartitionResult::default()
                .with_partition_id(partition)
                .with_error_code(code)
                .with_error_message(message.map(StrBytes::from_string)),
        );
    }
    ElectLeadersResponse::default().with_error_code(top_level).with_replica_election_results(
        by_topic
            .into_iter()
            .map(|(topic, partition_result)| {
                ReplicaElectionResult::default()
                    .with_topic(TopicName(StrBytes::from_string(topic)))
                    .with_partition_result(partition_result)
            })
            .collect(),
    )
}

/// Handle an ElectLeaders request.
pub async fn handle(apis: &KafkaApis, ctx: &RequestContext, req: ElectLeadersRequest) -> ElectLeadersResponse {
    let requested: Option<Vec<(String, i32)>> = req.topic_partitions.as_ref().map(|tps| {
        tps.iter().flat_map(|t| t.partitions.iter().map(move |p| (t.topic.0.to_string(), *p))).collect()
    });
    let election_type = if ctx.header.api_version == 0 { Some(ElectionType::Preferred) } else { ElectionType::from_wire(req.election_type) };
    let Some(election_type) = election_type else {
        let results = requested
            .unwrap_or_default()
            .into_iter()
            .map(|tp| (tp, Err((INVALID_REQUEST, Some(format!("Unknown election type {}", req.election_type))))))
            .collect();
        return build(results, 0);
    };
    if !apis.controller.is_active() {
        let results = requested.unwrap_or_default().into_iter().map(|tp| (tp, Err((NOT_CONTROLLER, None)))).collect();
        return build(results, 0);
    }
    let results = apis.controller.elect_leaders(election_type, requested).await;
    build(results, 0)
}
