//! LeaveGroup (key 13, v0-4; batched from v3): members leave a group (spec protocol-and-groups §2.9).

use wire::kafka_protocol::messages::leave_group_response::MemberResponse;
use wire::kafka_protocol::messages::{LeaveGroupRequest, LeaveGroupResponse};
use wire::kafka_protocol::protocol::StrBytes;

use super::{KafkaApis, RequestContext};

/// Handle a LeaveGroup request.
pub async fn handle(apis: &KafkaApis, ctx: &RequestContext, req: LeaveGroupRequest) -> LeaveGroupResponse {
    let version = ctx.header.api_version;
    let members: Vec<(String, Option<String>)> = if version >= 3 {
        req.members.iter().map(|m| (m.member_id.to_string(), m.group_instance_id.as_ref().map(|s| s.to_string()))).collect()
    } else {
        vec![(req.member_id.to_string(), None)]
    };
    match apis.group_coordinator.leave_group(&req.group_id.0, &members).await {
        Err(e) => LeaveGroupResponse::default().with_error_code(e.code()),
        Ok(errors) if version >= 3 => LeaveGroupResponse::default().with_members(
            members
                .into_iter()
                .zip(errors)
                .map(|((id, instance), e)| {
                    MemberResponse::default()
                        .with_member_id(StrBytes::from_string(id))
                        .with_group_instance_id(instance.map(StrBytes::from_string))
                        .with_error_code(e.map(|e| e.code()).unwrap_or(0))
                })
                .collect(),
        ),
        Ok(errors) => {
            let first = errors.into_iter().flatten().next();
            LeaveGroupResponse::default().with_error_code(first.map(|e| e.code()).unwrap_or(0))
        }
    }
}
