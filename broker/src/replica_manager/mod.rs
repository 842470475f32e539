//! `ReplicaManager`: the partitions this broker hosts and everything done to them — leadership
//! changes from the controller, appends from producers, reads for consumers and followers.
//!
//! Split by concern: [`leadership`] (LeaderAndIsr, StopReplica), [`append`] (produce),
//! [`read`] (fetch and list-offsets reads).

use std::collections::HashMap;
use std::sync::atomic::{AtomicI32, AtomicI64, Ordering};
use std::sync::{Arc, RwLock};

use storage::{LogManager, TopicPartition};

use crate::alter_isr_manager::AlterIsrManager;
use crate::config::KafkaConfig;
use crate::metadata_cache::MetadataCache;
use crate::partition::Partition;
use crate::replica_fetcher::{FetcherSettings, ReplicaFetcherManager};
use crate::topic_configs::TopicConfigs;

pub mod append;
pub mod leadership;
pub mod log_dir_failure;
pub mod read;

/// The data-path heart of the broker.
pub struct ReplicaManager {
    config: Arc<KafkaConfig>,
    broker_id: i32,
    log_manager: Arc<LogManager>,
    topic_configs: Arc<TopicConfigs>,
    broker_epoch: Arc<AtomicI64>,
    /// Highest controller epoch seen in a controller request (fencing of stale controllers).
    controller_epoch: AtomicI32,
    partitions: RwLock<HashMap<TopicPartition, Arc<Partition>>>,
    /// Partitions whose log dir failed (Kafka's `HostedPartition.Offline`): every request for them
    /// answers KAFKA_STORAGE_ERROR until the broker restarts (see [`log_dir_failure`]).
    offline_partitions: RwLock<std::collections::HashSet<TopicPartition>>,
    fetcher_manager: ReplicaFetcherManager,
    metadata_cache: Arc<MetadataCache>,
    alter_isr_manager: Arc<AlterIsrManager>,
    isr_shrink_task: std::sync::Mutex<Option<tokio::task::JoinHandle<()>>>,
    /// Kafka's `replicaStateChangeLock`: one LeaderAndIsr or StopReplica at a time. The controller
    /// resends a request that timed out while the first copy is still being applied.
    state_change_lock: std::sync::Mutex<()>,
    /// Replication throttles (KIP-73): read by the fetch handler (leader side) and the replica
    /// fetchers (follower side), set by the dynamic config manager.
    replication_quotas: Arc<crate::replication_quota::ReplicationQuotas>,
}

/// Wall-clock milliseconds.
pub fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or(0)
}

impl ReplicaManager {
    /// A replica manager over the loaded logs. Partitions come into being through LeaderAndIsr.
    /// The metadata cache tells the ISR manager where the controller is.
    pub fn new(
        config: Arc<KafkaConfig>,
        log_manager: Arc<LogManager>,
        topic_configs: Arc<TopicConfigs>,
        broker_epoch: Arc<AtomicI64>,
        metadata_cache: Arc<MetadataCache>,
    ) -> Arc<ReplicaManager> {
        let settings = FetcherSettings {
            max_wait_ms: config.replica_fetch_wait_max_ms,
            min_bytes: config.replica_fetch_min_bytes,
            response_max_bytes: config.replica_fetch_response_max_bytes,
            partition_max_bytes: config.replica_fetch_max_bytes,
            backoff_ms: config.replica_fetch_backoff_ms as u64,
            socket_timeout_ms: config.replica_socket_timeout_ms as u64,
        };
        let alter_isr_manager = AlterIsrManager::new(
            config.broker_id,
            broker_epoch.clone(),
            metadata_cache.clone(),
            config.inter_broker_listener_name(),
            std::time::Duration::from_millis(config.controller_socket_timeout_ms.max(1) as u64),
        );
        Arc::new(ReplicaManager {
            metadata_cache,
            alter_isr_manager,
            isr_shrink_task: std::sync::Mutex::new(None),
            state_change_lock: std::sync::Mutex::new(()),
            fetcher_manager: ReplicaFetcherManager::new(config.broker_id, settings),
            broker_id: config.broker_id,
            config,
            log_manager,
            topic_configs,
            broker_epoch,
            controller_epoch: AtomicI32::new(0),
            partitions: RwLock::new(HashMap::new()),
            offline_partitions: RwLock::default(),
            replication_quotas: Arc::default(),
        })
    }

    /// The leader/follower replication quotas of this broker.
    pub fn replication_quotas(&self) -> &Arc<crate::replication_quota::ReplicationQuotas> {
        &self.replication_quotas
    }

    /// Start background work: the AlterIsr sender and the ISR shrink task, which runs every
    /// `replica.lag.time.max.ms / 2` (spec §3.5). Needs a tokio runtime.
    pub fn startup(self: &Arc<Self>) {
        self.alter_isr_manager.start();
        let period = std::time::Duration::from_millis((self.config.replica_lag_time_max_ms / 2).max(1) as u64);
        let me = Arc::downgrade(self);
        let task = tokio::spawn(async move {
            let mut tick = tokio::time::interval(period);
            tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            tick.tick().await;
            loop {
                tick.tick().await;
                let Some(rm) = me.upgrade() else { return };
                rm.maybe_shrink_isr();
            }
        });
        *self.isr_shrink_task.lock().unwrap_or_else(|p| p.into_inner()) = Some(task);
    }

    /// One pass of the ISR shrink task over the partitions this broker leads.
    pub fn maybe_shrink_isr(&self) {
        let now = now_ms();
        for p in self.all_partitions() {
            if p.is_leader() {
                p.maybe_shrink_isr(now, self.alter_isr_manager.as_ref());
            }
        }
    }

    /// The ISR proposal queue.
    pub fn alter_isr_manager(&self) -> &Arc<AlterIsrManager> {
        &self.alter_isr_manager
    }

    /// The metadata cache (controller location, live brokers).
    pub fn metadata_cache(&self) -> &Arc<MetadataCache> {
        &self.metadata_cache
    }

    /// Stop serving: stop the fetchers and ISR tasks and wake every waiter so parked requests answer
    /// promptly.
    pub fn shutdown(&self) {
        if let Some(t) = self.isr_shrink_task.lock().unwrap_or_else(|p| p.into_inner()).take() {
            t.abort();
        }
        self.alter_isr_manager.shutdown();
        self.fetcher_manager.shutdown();
        for p in self.all_partitions() {
            p.wake_waiters();
        }
    }

    /// This broker's id.
    pub fn broker_id(&self) -> i32 {
        self.broker_id
    }

    /// The broker configuration.
    pub fn config(&self) -> &KafkaConfig {
        &self.config
    }

    /// The log manager.
    pub fn log_manager(&self) -> &Arc<LogManager> {
        &self.log_manager
    }

    /// The current broker epoch (czxid of our registration).
    pub fn broker_epoch(&self) -> i64 {
        self.broker_epoch.load(Ordering::SeqCst)
    }

    /// A hosted partition.
    pub fn get_partition(&self, topic: &str, partition: i32) -> Option<Arc<Partition>> {
        let tp = TopicPartition { topic: topic.to_string(), partition };
        self.partitions.read().unwrap_or_else(|p| p.into_inner()).get(&tp).cloned()
    }

    /// A hosted partition, or Kafka's error for it: KAFKA_STORAGE_ERROR if its log dir failed,
    /// UNKNOWN_TOPIC_OR_PARTITION if this broker does not host it.
    pub fn partition_or_error(&self, topic: &str, partition: i32) -> Result<Arc<Partition>, wire::ResponseError> {
        match self.get_partition(topic, partition) {
            Some(p) => Ok(p),
            None if self.is_partition_offline(topic, partition) => Err(wire::ResponseError::KafkaStorageError),
            None => Err(wire::ResponseError::UnknownTopicOrPartition),
        }
    }

    /// Every hosted partition.
    pub fn all_partitions(&self) -> Vec<Arc<Partition>> {
        self.partitions.read().unwrap_or_else(|p| p.into_inner()).values().cloned().collect()
    }

    /// Number of partitions this broker leads.
    pub fn leader_count(&self) -> usize {
        self.all_partitions().iter().filter(|p| p.is_leader()).count()
    }

    fn insert_partition(&self, p: Arc<Partition>) {
        let tp = p.topic_partition().clone();
        self.partitions.write().unwrap_or_else(|e| e.into_inner()).insert(tp, p);
    }

    fn remove_partition(&self, tp: &TopicPartition) -> Option<Arc<Partition>> {
        self.partitions.write().unwrap_or_else(|e| e.into_inner()).remove(tp)
    }
}

#[cfg(test)]
mod tests;

#[cfg(test)]
mod log_dir_failure_tests;
