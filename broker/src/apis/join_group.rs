//! JoinGroup (key 11, v0-7): a member joins or rejoins a group (spec protocol-and-groups §2.4).

use wire::kafka_protocol::messages::join_group_response::JoinGroupResponseMember;
use wire::kafka_protocol::messages::{JoinGroupRequest, JoinGroupResponse};
use wire::kafka_protocol::protocol::StrBytes;

use super::{KafkaApis, RequestContext};
use crate::coordinator::group::membership::JoinRequest;

/// The client address as Kafka records it (Java's `InetAddress.toString`: `/10.0.0.1`).
pub fn java_client_host(ctx: &RequestContext) -> String {
    format!("/{}", ctx.client_host)
}

/// Handle a JoinGroup request.
pub async fn handle(apis: &KafkaApis, ctx: &RequestContext, req: JoinGroupRequest) -> JoinGroupResponse {
    let version = ctx.header.api_version;
    let join = JoinRequest {
        member_id: req.member_id.to_string(),
        group_instance_id: req.group_instance_id.as_ref().map(|s| s.to_string()),
        require_known_member_id: version >= 4,
        client_id: ctx.header.client_id.clone().unwrap_or_default(),
        client_host: java_client_host(ctx),
        // v0 has no rebalance timeout: the session timeout stands in for it.
        rebalance_timeout_ms: if version >= 1 { req.rebalance_timeout_ms } else { req.session_timeout_ms },
        session_timeout_ms: req.session_timeout_ms,
        protocol_type: req.protocol_type.to_string(),
        protocols: req.protocols.iter().map(|p| (p.name.to_string(), p.metadata.clone())).collect(),
    };
    let r = apis.group_coordinator.join_group(&req.group_id.0, join).await;
    let str_of = |s: Option<String>| s.map(StrBytes::from_string);
    JoinGroupResponse::default()
        .with_error_code(r.error.map(|e| e.code()).unwrap_or(0))
        .with_generation_id(r.generation_id)
        .with_protocol_type(if version >= 7 { str_of(r.protocol_type) } else { None })
        // Non-nullable before v7: "" when there is none.
        .with_protocol_name(if version >= 7 { str_of(r.protocol_name) } else { Some(StrBytes::from_string(r.protocol_name.unwrap_or_default())) })
        .with_leader(StrBytes::from_string(r.leader_id))
        .with_member_id(StrBytes::from_string(r.member_id))
        .with_members(
            r.members
                .into_iter()
                .map(|(id, instance, metadata)| {
                    JoinGroupResponseMember::default()
                        .with_member_id(StrBytes::from_string(id))
                        .with_group_instance_id(instance.map(StrBytes::from_string))
                        .with_metadata(metadata)
                })
                .collect(),
        )
}
