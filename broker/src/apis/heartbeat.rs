//! Heartbeat (key 12, v0-4): a member says it is alive and learns about rebalances
//! (spec protocol-and-groups §2.7).

use wire::kafka_protocol::messages::{HeartbeatRequest, HeartbeatResponse};

use super::{KafkaApis, RequestContext};

/// Handle a Heartbeat request.
pub async fn handle(apis: &KafkaApis, _ctx: &RequestContext, req: HeartbeatRequest) -> HeartbeatResponse {
    let error = apis.group_coordinator.heartbeat(
        &req.group_id.0,
        &req.member_id,
        req.group_instance_id.as_ref().map(|s| s.as_str()),
        req.generation_id,
    );
    HeartbeatResponse::default().with_error_code(error.map(|e| e.code()).unwrap_or(0))
}
