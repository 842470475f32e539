//! ListGroups (key 16, v0-4): the groups this broker coordinates (spec protocol-and-groups §2.12).

use wire::kafka_protocol::messages::list_groups_response::ListedGroup;
use wire::kafka_protocol::messages::{GroupId, ListGroupsRequest, ListGroupsResponse};
use wire::kafka_protocol::protocol::StrBytes;
use wire::ResponseError;

use super::{KafkaApis, RequestContext};

/// Handle a ListGroups request. While a partition is still loading the error is
/// COORDINATOR_LOAD_IN_PROGRESS but the groups loaded so far are listed anyway.
pub async fn handle(apis: &KafkaApis, ctx: &RequestContext, req: ListGroupsRequest) -> ListGroupsResponse {
    let version = ctx.header.api_version;
    let (loading, groups) = match apis.group_coordinator.list_groups() {
        Ok(r) => r,
        Err(e) => return ListGroupsResponse::default().with_error_code(e.code()),
    };
    let filter: Vec<String> = req.states_filter.iter().map(|s| s.to_string()).collect();
    let listed = groups
        .into_iter()
        .filter(|(_, _, state)| filter.is_empty() || filter.iter().any(|f| f.eq_ignore_ascii_case(state.name())))
        .map(|(id, ptype, state)| {
            let g = ListedGroup::default().with_group_id(GroupId(StrBytes::from_string(id))).with_protocol_type(StrBytes::from_string(ptype));
            if version >= 4 {
                g.with_group_state(StrBytes::from_static_str(state.name()))
            } else {
                g
            }
        })
        .collect();
    let error = if loading { ResponseError::CoordinatorLoadInProgress.code() } else { 0 };
    ListGroupsResponse::default().with_error_code(error).with_groups(listed)
}
