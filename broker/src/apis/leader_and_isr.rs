//! LeaderAndIsr (key 4): the controller assigns leadership; see `ReplicaManager::become_leader_or_follower`.

use wire::kafka_protocol::messages::{LeaderAndIsrRequest, LeaderAndIsrResponse};

use super::{KafkaApis, RequestContext};

/// Handle a LeaderAndIsr request from the controller.
pub async fn handle(apis: &KafkaApis, ctx: &RequestContext, req: LeaderAndIsrRequest) -> LeaderAndIsrResponse {
    apis.replica_manager.become_leader_or_follower(&req, ctx.header.api_version)
}
