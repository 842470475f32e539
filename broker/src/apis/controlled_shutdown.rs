//! ControlledShutdown (key 7, v0-3): a broker about to stop asks the active controller to move its
//! leaderships away. The answer lists the partitions it still leads (it retries while any remain).

use wire::kafka_protocol::messages::controlled_shutdown_response::RemainingPartition;
use wire::kafka_protocol::messages::{ControlledShutdownRequest, ControlledShutdownResponse, TopicName};
use wire::kafka_protocol::protocol::StrBytes;

use super::{KafkaApis, RequestContext};

/// Handle a ControlledShutdown request.
pub async fn handle(apis: &KafkaApis, _ctx: &RequestContext, req: ControlledShutdownRequest) -> ControlledShutdownResponse {
    match apis.controller.controlled_shutdown(req.broker_id.0, req.broker_epoch).await {
        Ok(remaining) => ControlledShutdownResponse::default().with_error_code(0).with_remaining_partitions(
            remaining
                .into_iter()
                .map(|(topic, partition)| {
                    RemainingPartition::default()
                        .with_topic_name(TopicName(StrBytes::from_string(topic)))
                        .with_partition_index(partition)
                })
                .collect(),
        ),
        Err(e) => {
            tracing::info!("Controlled shutdown of broker {} refused: {e}", req.broker_id.0);
            ControlledShutdownResponse::default().with_error_code(e.code())
        }
    }
}
