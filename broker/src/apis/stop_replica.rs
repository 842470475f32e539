//! StopReplica (key 5): the controller stops (and maybe deletes) replicas here.

use wire::kafka_protocol::messages::{StopReplicaRequest, StopReplicaResponse};

use super::{KafkaApis, RequestContext};

/// Handle a StopReplica request from the controller.
pub async fn handle(apis: &KafkaApis, ctx: &RequestContext, req: StopReplicaRequest) -> StopReplicaResponse {
    let response = apis.replica_manager.stop_replicas(&req, ctx.header.api_version);
    apis.group_coordinator.on_leadership_change(&apis.replica_manager);
    response
}
