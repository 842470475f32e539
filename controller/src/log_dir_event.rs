//! Log-dir failures reported by brokers (spec §2.4, Kafka's `LogDirEventNotification` event and
//! `onBrokerLogDirFailure`).
//!
//! A broker whose log dir fails writes `/log_dir_event_notification/log_dir_event_N`. On the child
//! watch the controller reads the broker ids, moves every replica on those brokers to
//! `OnlineReplica` — which re-sends LeaderAndIsr with the current state — and deletes the
//! notifications. The brokers answer KAFKA_STORAGE_ERROR for the replicas on failed dirs; the
//! LeaderAndIsr-response handler (`broker_membership`) records them in `replicas_on_offline_dirs`
//! and takes them offline, which moves leadership away.

use std::collections::BTreeSet;

use zk_schema::model::{LogDirEventNotification, LOG_DIR_FAILURE_EVENT};
use zk_schema::paths;

use crate::context::{ControllerContext, PartitionAndReplica};
use crate::controller_core::ControllerCore;
use crate::error::Result;
use crate::replica_state_machine::ReplicaState;
use crate::zk_backend::{ControllerZk, NodeData, WatchTarget};
use crate::zk_executor;

/// What the controller does about a set of log-dir event notifications (pure).
#[derive(Debug, Default, PartialEq, Eq)]
pub struct LogDirEventDecision {
    /// Live brokers that reported a failed log dir.
    pub brokers: BTreeSet<i32>,
    /// Every replica on those brokers: each is moved to `OnlineReplica` (LeaderAndIsr re-sent).
    pub replicas: Vec<PartitionAndReplica>,
    /// Notifications that were ignored, with why (unreadable, unknown event, broker not live).
    pub ignored: Vec<(String, String)>,
}

/// Decide from the notifications read (`(path, data)`) against the context. Brokers no longer live
/// are skipped: their replicas went offline with the broker (BrokerChange), and probing them
/// would mark them online.
pub fn decide_log_dir_event(ctx: &ControllerContext, notifications: &[(String, NodeData)]) -> LogDirEventDecision {
    let mut d = LogDirEventDecision::default();
    let live = ctx.live_broker_ids();
    for (path, data) in notifications {
        let Some((bytes, _)) = data else { continue };
        match LogDirEventNotification::decode(path, bytes) {
            Ok(n) if n.event != LOG_DIR_FAILURE_EVENT => d.ignored.push((path.clone(), format!("unknown event {}", n.event))),
            Ok(n) if !live.contains(&n.broker) => d.ignored.push((path.clone(), format!("broker {} is not live", n.broker))),
            Ok(n) => {
                d.brokers.insert(n.broker);
            }
            Err(e) => d.ignored.push((path.clone(), e.to_string())),
        }
    }
    d.replicas = ctx.replicas_on_brokers(&d.brokers);
    d
}

impl<Z: ControllerZk> ControllerCore<Z> {
    /// Children of `/log_dir_event_notification` changed: probe the reporting brokers' replicas,
    /// then delete the notifications (also when probing failed, as Kafka does).
    pub(crate) async fn process_log_dir_event_notification(&mut self) -> Result<()> {
        if !self.is_active() {
            return Ok(());
        }
        self.zk.watch(WatchTarget::LogDirEventNotifications).await?;
        let children = self.zk.get_children(paths::LOG_DIR_EVENT_NOTIFICATION).await?;
        if children.is_empty() {
            return Ok(());
        }
        let node_paths: Vec<String> = children.iter().map(|c| paths::log_dir_event(c)).collect();
        let outcome = self.on_log_dir_events(&node_paths).await;
        let deleted = zk_executor::delete_fenced(&self.zk, self.ctx.epoch_zk_version, &node_paths).await;
        outcome?;
        deleted
    }

    async fn on_log_dir_events(&mut self, node_paths: &[String]) -> Result<()> {
        let data = self.zk.get_data_many(node_paths).await?;
        let notifications: Vec<(String, NodeData)> = node_paths.iter().cloned().zip(data).collect();
        let decision = decide_log_dir_event(&self.ctx, &notifications);
        for (path, why) in &decision.ignored {
            tracing::warn!("Ignoring log dir event notification {path}: {why}");
        }
        if decision.brokers.is_empty() {
            return Ok(());
        }
        tracing::info!(
            "Handling log directory failure for brokers {:?}: sending LeaderAndIsr for their {} replicas",
            decision.brokers,
            decision.replicas.len()
        );
        self.handle_replica_state_changes(&decision.replicas, ReplicaState::Online).await
    }
}

#[cfg(test)]
#[path = "log_dir_event_tests.rs"]
mod tests;
