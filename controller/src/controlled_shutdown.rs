//! Controlled shutdown (spec §2.13, Kafka's `doControlledShutdown`): move leadership off a broker
//! that is about to stop and take it out of every ISR, so that producers see no unavailability.

use std::time::Instant;

use crate::context::{PartitionAndReplica, TopicPartition};
use crate::controller_core::ControllerCore;
use crate::election::PartitionLeaderElectionStrategy;
use crate::error::{ControllerError, Result};
use crate::partition_state_machine::PartitionState;
use crate::replica_state_machine::ReplicaState;
use crate::requests_api::ControlledShutdownError;
use crate::zk_backend::ControllerZk;

/// Broker epoch of ControlledShutdown v0-1 requests, which carry none: not checked.
pub const UNKNOWN_BROKER_EPOCH: i64 = -1;

/// The partitions a controlled shutdown acts on, split into those `broker` leads and those it
/// follows: partitions hosted on `broker` with more than one replica, a known leader and a topic
/// not queued for deletion (pure).
pub fn partitions_to_act_on(
    ctx: &crate::context::ControllerContext,
    broker: i32,
) -> (Vec<TopicPartition>, Vec<TopicPartition>) {
    let mut led = Vec::new();
    let mut followed = Vec::new();
    for r in ctx.replicas_on_brokers(&std::iter::once(broker).collect()) {
        let tp = r.tp;
        if ctx.partition_replica_assignment(&tp).len() <= 1 || ctx.is_topic_queued_up_for_deletion(&tp.topic) {
            continue;
        }
        let Some(info) = ctx.partition_leadership_info(&tp) else { continue };
        if info.leader_and_isr.leader == broker {
            led.push(tp);
        } else {
            followed.push(tp);
        }
    }
    (led, followed)
}

impl<Z: ControllerZk> ControllerCore<Z> {
    /// Handle a ControlledShutdown request; returns the partitions `broker_id` still leads.
    pub(crate) async fn process_controlled_shutdown(
        &mut self,
        broker_id: i32,
        broker_epoch: i64,
    ) -> std::result::Result<Vec<TopicPartition>, ControlledShutdownError> {
        match self.do_controlled_shutdown(broker_id, broker_epoch).await {
            Ok(r) => r,
            Err(ControllerError::ControllerMoved) => {
                if let Err(e) = self.maybe_resign().await {
                    tracing::error!("Error re-reading /controller after a fenced controlled shutdown: {e}");
                }
                Err(ControlledShutdownError::NotController)
            }
            Err(e) => Err(ControlledShutdownError::Other(e.to_string())),
        }
    }

    async fn do_controlled_shutdown(
        &mut self,
        id: i32,
        broker_epoch: i64,
    ) -> Result<std::result::Result<Vec<TopicPartition>, ControlledShutdownError>> {
        if !self.is_active() {
            return Ok(Err(ControlledShutdownError::NotController));
        }
        let Some(cached_epoch) = self.ctx.live_broker_epoch(id) else {
            return Ok(Err(ControlledShutdownError::BrokerNotAvailable(id)));
        };
        if broker_epoch != UNKNOWN_BROKER_EPOCH && broker_epoch < cached_epoch {
            tracing::info!("Received controlled shutdown request from broker {id} with stale epoch {broker_epoch} (current {cached_epoch})");
            return Ok(Err(ControlledShutdownError::StaleBrokerEpoch));
        }
        let start = Instant::now();
        tracing::info!("Shutting down broker {id}");
        self.ctx.shutting_down_broker_ids.insert(id);
        tracing::debug!("All shutting down brokers: {:?}", self.ctx.shutting_down_broker_ids);
        let (led, followed) = partitions_to_act_on(&self.ctx, id);
        self.handle_partition_state_changes(
            &led,
            PartitionState::Online,
            PartitionLeaderElectionStrategy::ControlledShutdownPartition,
        )
        .await?;
        // OfflineReplica sends the StopReplica (delete=false) to the broker, removes it from the
        // ISR and tells the leaders.
        let replicas: Vec<PartitionAndReplica> =
            followed.iter().map(|tp| PartitionAndReplica::new(tp.clone(), id)).collect();
        self.handle_replica_state_changes(&replicas, ReplicaState::Offline).await?;
        let remaining = self.ctx.partition_leaders_on_broker(id);
        tracing::info!(
            "Controlled shutdown of broker {id}: moved leadership of {} partitions, removed it from the ISR of {} partitions, {} partitions still led by it, took {} ms",
            led.len(),
            followed.len(),
            remaining.len(),
            start.elapsed().as_millis()
        );
        Ok(Ok(remaining))
    }
}

#[cfg(test)]
#[path = "controlled_shutdown_tests.rs"]
mod tests;
