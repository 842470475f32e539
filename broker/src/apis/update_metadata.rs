//! UpdateMetadata (key 6, v0-7): the controller's cluster view, the only writer of the metadata
//! cache. Stale requests (an older broker epoch, an older controller epoch) are refused.

use wire::kafka_protocol::messages::{UpdateMetadataRequest, UpdateMetadataResponse};
use wire::ResponseError;

use super::{KafkaApis, RequestContext};

/// Handle an UpdateMetadata request.
pub async fn handle(apis: &KafkaApis, _ctx: &RequestContext, req: UpdateMetadataRequest) -> UpdateMetadataResponse {
    let our_epoch = apis.replica_manager.broker_epoch();
    if req.broker_epoch != -1 && req.broker_epoch < our_epoch {
        tracing::info!(
            "Received UpdateMetadata request with broker epoch {} smaller than the current broker epoch {our_epoch}; ignoring it",
            req.broker_epoch
        );
        return UpdateMetadataResponse::default().with_error_code(ResponseError::StaleBrokerEpoch.code());
    }
    let seen = apis.metadata_cache.controller_epoch().max(apis.replica_manager.controller_epoch());
    if req.controller_epoch < seen {
        tracing::warn!(
            "Received UpdateMetadata request from controller {} with stale controller epoch {} (latest known {seen}); ignoring it",
            req.controller_id.0,
            req.controller_epoch
        );
        return UpdateMetadataResponse::default().with_error_code(ResponseError::StaleControllerEpoch.code());
    }
    let removed = apis.metadata_cache.update(&req);
    if !removed.is_empty() {
        tracing::debug!("Metadata cache dropped {} partitions of deleted topics", removed.len());
    }
    UpdateMetadataResponse::default().with_error_code(0)
}
