//! The ZooKeeper operations the controller uses, behind a trait.
//!
//! Production uses [`ZkBackend`] (a `KafkaZkClient` plus the controller's watches); unit tests use an
//! in-memory fake, so elections, failover and every state-machine flow run without ZooKeeper.
//! Watches only enqueue [`ControllerEvent`]s — handlers re-arm them before re-reading, which is
//! race-free: a change after the re-arm fires the new watch and simply queues another event.

use std::collections::HashMap;
use std::future::Future;
use std::sync::Mutex;

use tokio::sync::mpsc::UnboundedSender;
use tokio::task::JoinHandle;
use std::time::Duration;

use zk_schema::client::{Watch, WatchEvent, ZkOp};
use zk_schema::model::{BrokerRegistration, ControllerEpoch};
use zk_schema::{paths, KafkaZkClient, ZkError, ZkStat};

use crate::event::ControllerEvent;

/// Result of a ZooKeeper call.
pub type ZkResult<T> = std::result::Result<T, ZkError>;

/// Data and stat of a node as read, `None` when it does not exist.
pub type NodeData = Option<(Vec<u8>, ZkStat)>;

/// A znode the controller watches, and the event its watch produces.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum WatchTarget {
    /// Exists/data watch on `/controller` → `ControllerChange` / `Reelect`.
    Controller,
    /// Child watch on `/brokers/ids` → `BrokerChange`.
    BrokerIds,
    /// Data watch on `/brokers/ids/<id>` → `BrokerModifications(id)`.
    Broker(i32),
    /// Child watch on `/brokers/topics` → `TopicChange`.
    Topics,
    /// Data watch on `/brokers/topics/<T>` → `PartitionModifications(T)`.
    Topic(String),
    /// Child watch on `/admin/delete_topics` → `TopicDeletion`.
    TopicDeletions,
    /// Exists-watch on `/admin/reassign_partitions` → `ZkPartitionReassignment` on creation only.
    ReassignPartitions,
    /// Exists-watch on `/admin/preferred_replica_election` → `ReplicaLeaderElection` on creation only.
    PreferredReplicaElection,
    /// Child watch on `/isr_change_notification` → `IsrChangeNotification`.
    IsrChangeNotifications,
    /// Child watch on `/log_dir_event_notification` → `LogDirEventNotification`.
    LogDirEventNotifications,
}

impl WatchTarget {
    /// The event to enqueue when the watch fires with `ev`; `None` when the session was lost (the
    /// session listener handles that).
    pub fn event_for(&self, ev: &WatchEvent) -> Option<ControllerEvent> {
        if *ev == WatchEvent::SessionLost {
            return None;
        }
        Some(match self {
            WatchTarget::Controller => match ev {
                WatchEvent::Deleted(_) => ControllerEvent::Reelect,
                _ => ControllerEvent::ControllerChange,
            },
            WatchTarget::BrokerIds => ControllerEvent::BrokerChange,
            WatchTarget::Broker(id) => ControllerEvent::BrokerModifications(*id),
            WatchTarget::Topics => ControllerEvent::TopicChange,
            WatchTarget::Topic(t) => ControllerEvent::PartitionModifications(t.clone()),
            WatchTarget::TopicDeletions => ControllerEvent::TopicDeletion,
            // Like Kafka's handlers, only creation matters: the controller's own rewrites and
            // deletions of these nodes must not trigger another round.
            WatchTarget::ReassignPartitions => match ev {
                WatchEvent::Created(_) => ControllerEvent::ZkPartitionReassignment,
                _ => return None,
            },
            WatchTarget::PreferredReplicaElection => match ev {
                WatchEvent::Created(_) => ControllerEvent::ReplicaLeaderElection {
                    partitions: None,
                    election_type: crate::requests_api::ElectionType::Preferred,
                    trigger: crate::requests_api::ElectionTrigger::ZkTriggered,
                    reply: None,
                },
                _ => return None,
            },
            WatchTarget::IsrChangeNotifications => ControllerEvent::IsrChangeNotification,
            WatchTarget::LogDirEventNotifications => ControllerEvent::LogDirEventNotification,
        })
    }
}

/// Everything the controller asks of ZooKeeper. All writes after the election are fenced by the
/// `/controller_epoch` zkVersion and fail with `ZkError::ControllerMoved` when fenced.
pub trait ControllerZk: Send + Sync + 'static {
    /// Read many nodes in one pipelined round trip (`None` = absent).
    fn get_data_many(&self, paths: &[String]) -> impl Future<Output = ZkResult<Vec<NodeData>>> + Send;
    /// Children of a node (empty if absent).
    fn get_children(&self, path: &str) -> impl Future<Output = ZkResult<Vec<String>>> + Send;
    /// Atomic multi fenced by `check(/controller_epoch, epoch_zk_version)`.
    fn fenced_multi(&self, epoch_zk_version: i32, ops: &[ZkOp]) -> impl Future<Output = ZkResult<Vec<Option<ZkStat>>>> + Send;
    /// Independent fenced single-op multis, pipelined; one result per op.
    fn fenced_each(&self, epoch_zk_version: i32, ops: &[ZkOp]) -> impl Future<Output = Vec<ZkResult<Option<ZkStat>>>> + Send;
    /// The broker named by `/controller`.
    fn get_controller_id(&self) -> impl Future<Output = ZkResult<Option<i32>>> + Send;
    /// The election multi of spec §1.5.
    fn register_controller_and_increment_epoch(&self, broker_id: i32) -> impl Future<Output = ZkResult<ControllerEpoch>> + Send;
    /// Delete `/controller` if it names `broker_id`.
    fn delete_controller_if_owner(&self, broker_id: i32) -> impl Future<Output = ZkResult<()>> + Send;
    /// (Re-)register `/brokers/ids/<id>`; returns the new broker epoch (czxid).
    fn register_broker(&self, id: i32, registration: &BrokerRegistration) -> impl Future<Output = ZkResult<i64>> + Send;
    /// Arm (or re-arm) the one-shot watch on `target`, replacing any previous one.
    fn watch(&self, target: WatchTarget) -> impl Future<Output = ZkResult<()>> + Send;
    /// Drop the watch on `target` (deleted topic, dead broker).
    fn unwatch(&self, target: &WatchTarget);
    /// Drop every watch except the `/controller` one (resignation).
    fn unwatch_all_but_controller(&self);
}

/// Production [`ControllerZk`]: a `KafkaZkClient` plus one small task per armed watch that turns the
/// fired watch into a controller event.
pub struct ZkBackend {
    zk: KafkaZkClient,
    events: UnboundedSender<ControllerEvent>,
    watches: Mutex<HashMap<WatchTarget, JoinHandle<()>>>,
}

impl ZkBackend {
    /// Wrap `zk`; fired watches are sent to `events`.
    pub fn new(zk: KafkaZkClient, events: UnboundedSender<ControllerEvent>) -> Self {
        ZkBackend { zk, events, watches: Mutex::new(HashMap::new()) }
    }

    fn watches(&self) -> std::sync::MutexGuard<'_, HashMap<WatchTarget, JoinHandle<()>>> {
        self.watches.lock().unwrap_or_else(|e| e.into_inner())
    }
}

impl ZkBackend {
    /// Read `target` with a one-shot watch.
    async fn arm(&self, target: &WatchTarget) -> ZkResult<Watch> {
        Ok(match target {
            WatchTarget::Controller => self.zk.get_data_and_watch(paths::CONTROLLER).await?.1,
            WatchTarget::BrokerIds => self.zk.get_children_and_watch(paths::BROKER_IDS).await?.1,
            WatchTarget::Broker(id) => self.zk.get_data_and_watch(&paths::broker_id(*id)).await?.1,
            WatchTarget::Topics => self.zk.get_children_and_watch(paths::BROKER_TOPICS).await?.1,
            WatchTarget::Topic(t) => self.zk.get_data_and_watch(&paths::topic(t)).await?.1,
            WatchTarget::TopicDeletions => self.zk.get_children_and_watch(paths::DELETE_TOPICS).await?.1,
            WatchTarget::ReassignPartitions => self.zk.exists_and_watch(paths::REASSIGN_PARTITIONS).await?.1,
            WatchTarget::PreferredReplicaElection => {
                self.zk.exists_and_watch(paths::PREFERRED_REPLICA_ELECTION).await?.1
            }
            WatchTarget::IsrChangeNotifications => {
                self.zk.get_children_and_watch(paths::ISR_CHANGE_NOTIFICATION).await?.1
            }
            WatchTarget::LogDirEventNotifications => {
                self.zk.get_children_and_watch(paths::LOG_DIR_EVENT_NOTIFICATION).await?.1
            }
        })
    }
}

impl Drop for ZkBackend {
    fn drop(&mut self) {
        for (_, h) in self.watches().drain() {
            h.abort();
        }
    }
}

/// Whether `e` is a lost connection the client recovers from within the session (Kafka's
/// ZooKeeperClient retries such requests until connected).
fn is_connection_loss(e: &ZkError) -> bool {
    matches!(e, ZkError::Other { source: zookeeper_client::Error::ConnectionLoss, .. })
}

/// Pause between retries of a request that lost its connection.
const CONNECTION_LOSS_BACKOFF: Duration = Duration::from_millis(100);

impl ZkBackend {
    /// Run `op` until it does not fail with a lost connection. The session listener takes over if
    /// the session expires meanwhile (the client then reports `SessionExpired`, which ends this).
    async fn retrying<T, F, Fut>(&self, mut op: F) -> ZkResult<T>
    where
        F: FnMut() -> Fut,
        Fut: Future<Output = ZkResult<T>>,
    {
        loop {
            match op().await {
                Err(e) if is_connection_loss(&e) => {
                    tracing::debug!("ZooKeeper connection lost; retrying: {e}");
                    tokio::time::sleep(CONNECTION_LOSS_BACKOFF).await;
                }
                other => return other,
            }
        }
    }
}

impl ControllerZk for ZkBackend {
    async fn get_data_many(&self, paths: &[String]) -> ZkResult<Vec<NodeData>> {
        self.retrying(|| self.zk.get_data_many(paths)).await
    }

    async fn get_children(&self, path: &str) -> ZkResult<Vec<String>> {
        self.retrying(|| self.zk.get_children(path)).await
    }

    async fn fenced_multi(&self, epoch_zk_version: i32, ops: &[ZkOp]) -> ZkResult<Vec<Option<ZkStat>>> {
        self.retrying(|| self.zk.fenced_multi(epoch_zk_version, ops)).await
    }

    async fn fenced_each(&self, epoch_zk_version: i32, ops: &[ZkOp]) -> Vec<ZkResult<Option<ZkStat>>> {
        let mut results = self.zk.fenced_each(epoch_zk_version, ops).await;
        loop {
            let lost: Vec<usize> = (0..results.len()).filter(|i| results[*i].as_ref().is_err_and(is_connection_loss)).collect();
            if lost.is_empty() {
                return results;
            }
            tracing::debug!("ZooKeeper connection lost for {} writes; retrying", lost.len());
            tokio::time::sleep(CONNECTION_LOSS_BACKOFF).await;
            let retry: Vec<ZkOp> = lost.iter().map(|i| ops[*i].clone()).collect();
            for (i, r) in lost.into_iter().zip(self.zk.fenced_each(epoch_zk_version, &retry).await) {
                results[i] = r;
            }
        }
    }

    async fn get_controller_id(&self) -> ZkResult<Option<i32>> {
        self.retrying(|| self.zk.get_controller_id()).await
    }

    async fn register_controller_and_increment_epoch(&self, broker_id: i32) -> ZkResult<ControllerEpoch> {
        self.zk.register_controller_and_increment_epoch(broker_id, zk_schema::util::now_ms()).await
    }

    async fn delete_controller_if_owner(&self, broker_id: i32) -> ZkResult<()> {
        self.zk.delete_controller_if_owner(broker_id).await
    }

    async fn register_broker(&self, id: i32, registration: &BrokerRegistration) -> ZkResult<i64> {
        self.zk.register_broker(id, registration).await
    }

    async fn watch(&self, target: WatchTarget) -> ZkResult<()> {
        let watch = self.retrying(|| self.arm(&target)).await?;
        let events = self.events.clone();
        let t = target.clone();
        let handle = tokio::spawn(async move {
            let ev = watch.changed().await;
            tracing::trace!("watch on {t:?} fired: {ev:?}");
            if let Some(event) = t.event_for(&ev) {
                let _ = events.send(event);
            }
        });
        if let Some(old) = self.watches().insert(target, handle) {
            old.abort();
        }
        Ok(())
    }

    fn unwatch(&self, target: &WatchTarget) {
        if let Some(h) = self.watches().remove(target) {
            h.abort();
        }
    }

    fn unwatch_all_but_controller(&self) {
        self.watches().retain(|t, h| {
            let keep = *t == WatchTarget::Controller;
            if !keep {
                h.abort();
            }
            keep
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn watch_events() {
        let deleted = WatchEvent::Deleted("/controller".into());
        assert!(matches!(WatchTarget::Controller.event_for(&deleted), Some(ControllerEvent::Reelect)));
        let created = WatchEvent::Created("/controller".into());
        assert!(matches!(WatchTarget::Controller.event_for(&created), Some(ControllerEvent::ControllerChange)));
        assert!(WatchTarget::Topics.event_for(&WatchEvent::SessionLost).is_none());
        let changed = WatchEvent::DataChanged("/brokers/topics/t".into());
        assert!(matches!(
            WatchTarget::Topic("t".into()).event_for(&changed),
            Some(ControllerEvent::PartitionModifications(t)) if t == "t"
        ));
    }
}
