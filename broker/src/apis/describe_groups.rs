//! DescribeGroups (key 15, v0-5): state, protocol and members of groups
//! (spec protocol-and-groups §2.12).

use wire::kafka_protocol::messages::describe_groups_response::{DescribedGroup, DescribedGroupMember};
use wire::kafka_protocol::messages::{DescribeGroupsRequest, DescribeGroupsResponse};
use wire::kafka_protocol::protocol::StrBytes;

use super::{KafkaApis, RequestContext};

/// `AuthorizedOperations` when not requested (Kafka's `Int.MinValue`).
const OPERATIONS_NOT_REQUESTED: i32 = i32::MIN;

/// Handle a DescribeGroups request.
pub async fn handle(apis: &KafkaApis, _ctx: &RequestContext, req: DescribeGroupsRequest) -> DescribeGroupsResponse {
    let groups = req
        .groups
        .iter()
        .map(|id| {
            let base = DescribedGroup::default().with_group_id(id.clone()).with_authorized_operations(OPERATIONS_NOT_REQUESTED);
            match apis.group_coordinator.describe_group(&id.0) {
                Err(e) => base
                    .with_error_code(e.code())
                    .with_group_state(StrBytes::from_static_str(""))
                    .with_protocol_type(StrBytes::from_static_str(""))
                    .with_protocol_data(StrBytes::from_static_str("")),
                Ok(s) => base
                    .with_group_state(StrBytes::from_string(s.state))
                    .with_protocol_type(StrBytes::from_string(s.protocol_type))
                    .with_protocol_data(StrBytes::from_string(s.protocol))
                    .with_members(
                        s.members
                            .into_iter()
                            .map(|m| {
                                DescribedGroupMember::default()
                                    .with_member_id(StrBytes::from_string(m.member_id))
                                    .with_group_instance_id(m.group_instance_id.map(StrBytes::from_string))
                                    .with_client_id(StrBytes::from_string(m.client_id))
                                    .with_client_host(StrBytes::from_string(m.client_host))
                                    .with_member_metadata(m.metadata)
                                    .with_member_assignment(m.assignment)
                            })
                            .collect(),
                    ),
            }
        })
        .collect();
    DescribeGroupsResponse::default().with_groups(groups)
}
