//! AlterPartition (key 56) served at v0 only, which is Kafka 2.8's AlterIsr: a partition leader
//! asks the active controller to change the ISR, conditional on the partition epoch it last saw.

use wire::kafka_protocol::messages::{AlterPartitionRequest, AlterPartitionResponse};

use super::{KafkaApis, RequestContext};

/// Handle an AlterIsr request.
pub async fn handle(apis: &KafkaApis, _ctx: &RequestContext, req: AlterPartitionRequest) -> AlterPartitionResponse {
    apis.controller.alter_isr(req).await
}
