//! FindCoordinator (key 10): which broker coordinates a group or transactional id.
//!
//! The group and transaction coordinators are not built yet, so every lookup answers
//! COORDINATOR_NOT_AVAILABLE — Kafka's answer while it cannot host a coordinator (e.g. before
//! `__consumer_offsets` can be created), which clients treat as retriable. Serving the API at all
//! matters: librdkafka enables LZ4 (and broker-based groups) only for brokers that list it.

use wire::kafka_protocol::messages::{BrokerId, FindCoordinatorRequest, FindCoordinatorResponse};
use wire::kafka_protocol::protocol::StrBytes;
use wire::ResponseError;

use super::{KafkaApis, RequestContext};

/// Handle a FindCoordinator request.
pub async fn handle(_apis: &KafkaApis, ctx: &RequestContext, req: FindCoordinatorRequest) -> FindCoordinatorResponse {
    let version = ctx.header.api_version;
    if !matches!(req.key_type, 0 | 1) {
        return unavailable(version, ResponseError::InvalidRequest, "unknown coordinator key type");
    }
    unavailable(version, ResponseError::CoordinatorNotAvailable, "The coordinator is not available.")
}

fn unavailable(version: i16, error: ResponseError, message: &str) -> FindCoordinatorResponse {
    FindCoordinatorResponse::default()
        .with_error_code(error.code())
        .with_error_message((version >= 1).then(|| StrBytes::from_string(message.to_string())))
        .with_node_id(BrokerId(-1))
        .with_host(StrBytes::from_static_str(""))
        .with_port(-1)
}
