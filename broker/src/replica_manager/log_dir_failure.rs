//! Kafka's `ReplicaManager.handleLogDirFailure`: when a log dir fails, the partitions whose logs
//! are there stop being served. Their fetchers stop, they leave the hosted partitions and become
//! offline (every Produce, Fetch, ListOffsets, OffsetsForLeaderEpoch, LeaderAndIsr and StopReplica
//! for them answers KAFKA_STORAGE_ERROR until the broker restarts), parked requests on them wake
//! up, and the log manager stops using the dir (no retention, flush, checkpoint or cleaning there).
//! Telling the controller and the clear log line are the caller's part
//! (`server::log_dir_failure_handler`).

use std::path::Path;

use storage::TopicPartition;

use super::ReplicaManager;

/// What stopping a failed dir did.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct LogDirFailureOutcome {
    /// The dir was in use until now (false for a dir offline from the start: nothing to do).
    pub was_live: bool,
    /// Partitions that became offline, sorted.
    pub offline_partitions: Vec<TopicPartition>,
    /// No live log dir is left: the broker must halt (Kafka: "all log dirs ... have failed").
    pub all_log_dirs_failed: Option<String>,
}

impl ReplicaManager {
    /// Whether `topic`-`partition` lived in a failed log dir (Kafka's `HostedPartition.Offline`).
    pub fn is_partition_offline(&self, topic: &str, partition: i32) -> bool {
        let tp = TopicPartition { topic: topic.to_string(), partition };
        self.offline_partitions.read().unwrap_or_else(|p| p.into_inner()).contains(&tp)
    }

    /// Every offline partition, sorted.
    pub fn offline_partitions(&self) -> Vec<TopicPartition> {
        let mut v: Vec<TopicPartition> = self.offline_partitions.read().unwrap_or_else(|p| p.into_inner()).iter().cloned().collect();
        v.sort();
        v
    }

    /// Mark one partition offline (its log dir failed, or its log could not be created there):
    /// it stops being hosted and its parked requests wake up.
    pub(crate) fn mark_partition_offline(&self, tp: &TopicPartition) {
        self.offline_partitions.write().unwrap_or_else(|p| p.into_inner()).insert(tp.clone());
        if let Some(p) = self.remove_partition(tp) {
            p.wake_waiters();
        }
    }

    /// Stop serving the replicas in the failed log dir `dir` (see the module docs). Blocking: run
    /// it off the async workers. A dir that was not live (offline from the start, or handled
    /// already) changes nothing.
    pub fn handle_log_dir_failure(&self, dir: &Path) -> LogDirFailureOutcome {
        if !self.log_manager.live_log_dirs().iter().any(|d| d == dir) {
            return LogDirFailureOutcome::default();
        }
        tracing::warn!("Stopping serving replicas in dir {}", dir.display());
        let mut offline: Vec<TopicPartition> = {
            let _serial = self.state_change_lock.lock().unwrap_or_else(|p| p.into_inner());
            let in_dir: Vec<TopicPartition> = self
                .all_partitions()
                .into_iter()
                .filter(|p| p.log().log_dir() == dir)
                .map(|p| p.topic_partition().clone())
                .collect();
            self.fetcher_manager.remove_partitions(&in_dir);
            for tp in &in_dir {
                self.mark_partition_offline(tp);
            }
            in_dir
        };
        let all_log_dirs_failed = match self.log_manager.handle_log_dir_failure(dir) {
            Ok(logs) => {
                // Logs of the dir that no partition hosted (not yet assigned by the controller).
                let unhosted: Vec<TopicPartition> = logs.into_iter().filter(|tp| !offline.contains(tp)).collect();
                for tp in &unhosted {
                    self.mark_partition_offline(tp);
                }
                offline.extend(unhosted);
                None
            }
            Err(e) => Some(e.to_string()),
        };
        offline.sort();
        tracing::warn!(
            "Broker {} stopped fetchers for partitions {} because they are in the failed log directory {}",
            self.broker_id,
            offline.iter().map(|tp| tp.to_string()).collect::<Vec<_>>().join(","),
            dir.display()
        );
        LogDirFailureOutcome { was_live: true, offline_partitions: offline, all_log_dirs_failed }
    }
}
