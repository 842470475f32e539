//! Produce (key 0): append to leader logs; `acks=all` waits for the ISR (spec §3.2).

use std::time::Duration;

use wire::kafka_protocol::messages::produce_response::{PartitionProduceResponse, TopicProduceResponse};
use wire::kafka_protocol::messages::{ProduceRequest, ProduceResponse};
use wire::kafka_protocol::protocol::StrBytes;
use wire::ResponseError;

use super::{respond, KafkaApis, RequestContext};
use crate::network::response::Response;
use crate::replica_manager::append::PartitionAppendResult;

/// Client id the coordinators use to write internal topics (Kafka's `__admin_client`).
const ADMIN_CLIENT_ID: &str = "__admin_client";

/// Handle a produce request.
pub async fn handle(apis: &KafkaApis, ctx: &RequestContext, req: ProduceRequest) -> Response {
    let acks = req.acks;
    let internal_allowed = ctx.header.client_id.as_deref() == Some(ADMIN_CLIENT_ID);
    let mut results: Vec<PartitionAppendResult> = Vec::new();
    for topic in &req.topic_data {
        let name = topic.name.0.as_str();
        for p in &topic.partition_data {
            let result = if !matches!(acks, -1..=1) {
                invalid(name, p.index, ResponseError::InvalidRequiredAcks, "acks must be -1, 0 or 1")
            } else {
                match &p.records {
                    Some(records) => {
                        apis.replica_manager.append_to_leader(name, p.index, records, acks, internal_allowed)
                    }
                    None => invalid(name, p.index, ResponseError::InvalidRecord, "produce request without records"),
                }
            };
            results.push(result);
        }
    }
    if acks == -1 && results.iter().any(|r| r.error.is_none()) {
        let timeout = Duration::from_millis(req.timeout_ms.max(0) as u64);
        apis.replica_manager.wait_for_replication(&mut results, timeout).await;
    }
    if acks == 0 {
        // No response at all; an error closes the connection so the client notices (Kafka's rule).
        return if results.iter().any(|r| r.error.is_some()) { Response::Close } else { Response::NoResponse };
    }
    respond(ctx, &build_response(results, ctx.header.api_version))
}

fn invalid(topic: &str, partition: i32, error: ResponseError, message: &str) -> PartitionAppendResult {
    PartitionAppendResult {
        topic: topic.to_string(),
        partition,
        error: Some(error),
        error_message: Some(message.to_string()),
        base_offset: -1,
        last_offset: -1,
        log_append_time: -1,
        log_start_offset: -1,
    }
}

fn build_response(results: Vec<PartitionAppendResult>, version: i16) -> ProduceResponse {
    let mut topics: Vec<TopicProduceResponse> = Vec::new();
    for r in results {
        let partition = PartitionProduceResponse::default()
            .with_index(r.partition)
            .with_error_code(r.error.map(|e| e.code()).unwrap_or(0))
            .with_base_offset(r.base_offset)
            .with_log_append_time_ms(r.log_append_time)
            .with_log_start_offset(r.log_start_offset)
            .with_error_message(if version >= 8 { r.error_message.map(StrBytes::from_string) } else { None });
        match topics.iter_mut().find(|t| t.name.0.as_str() == r.topic) {
            Some(t) => t.partition_responses.push(partition),
            None => topics.push(
                TopicProduceResponse::default()
                    .with_name(wire::kafka_protocol::messages::TopicName(StrBytes::from_string(r.topic)))
                    .with_partition_responses(vec![partition]),
            ),
        }
    }
    ProduceResponse::default().with_responses(topics)
}

