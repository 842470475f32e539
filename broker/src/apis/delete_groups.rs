//! DeleteGroups (key 42, v0-2): remove empty groups and their offsets (spec protocol-and-groups §2.12).

use wire::kafka_protocol::messages::delete_groups_response::DeletableGroupResult;
use wire::kafka_protocol::messages::{DeleteGroupsRequest, DeleteGroupsResponse};

use super::{KafkaApis, RequestContext};

/// Handle a DeleteGroups request.
pub async fn handle(apis: &KafkaApis, _ctx: &RequestContext, req: DeleteGroupsRequest) -> DeleteGroupsResponse {
    let mut results = Vec::with_capacity(req.groups_names.len());
    for id in &req.groups_names {
        let error = apis.group_coordinator.delete_group(&id.0).await;
        results.push(DeletableGroupResult::default().with_group_id(id.clone()).with_error_code(error.map(|e| e.code()).unwrap_or(0)));
    }
    DeleteGroupsResponse::default().with_results(results)
}
