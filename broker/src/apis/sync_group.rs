//! SyncGroup (key 14, v0-5): the leader hands out assignments, every member receives its own
//! (spec protocol-and-groups §2.5).

use wire::kafka_protocol::messages::{SyncGroupRequest, SyncGroupResponse};
use wire::kafka_protocol::protocol::StrBytes;
use wire::ResponseError;

use super::{KafkaApis, RequestContext};
use crate::coordinator::group::session::SyncRequest;

/// Handle a SyncGroup request.
pub async fn handle(apis: &KafkaApis, ctx: &RequestContext, req: SyncGroupRequest) -> SyncGroupResponse {
    let version = ctx.header.api_version;
    if version >= 5 && (req.protocol_type.is_none() || req.protocol_name.is_none()) {
        return SyncGroupResponse::default().with_error_code(ResponseError::InconsistentGroupProtocol.code());
    }
    let sync = SyncRequest {
        generation_id: req.generation_id,
        member_id: req.member_id.to_string(),
        group_instance_id: req.group_instance_id.as_ref().map(|s| s.to_string()),
        protocol_type: req.protocol_type.as_ref().map(|s| s.to_string()),
        protocol_name: req.protocol_name.as_ref().map(|s| s.to_string()),
        assignments: req.assignments.iter().map(|a| (a.member_id.to_string(), a.assignment.clone())).collect(),
    };
    let r = apis.group_coordinator.sync_group(&req.group_id.0, sync).await;
    let mut resp = SyncGroupResponse::default()
        .with_error_code(r.error.map(|e| e.code()).unwrap_or(0))
        .with_assignment(r.assignment);
    if version >= 5 {
        resp = resp
            .with_protocol_type(r.protocol_type.map(StrBytes::from_string))
            .with_protocol_name(r.protocol_name.map(StrBytes::from_string));
    }
    resp
}
