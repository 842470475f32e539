//! Kafka's `LogDirFailureHandler` thread: takes each offline log dir from the
//! [`LogDirFailureChannel`](storage::LogDirFailureChannel) and stops serving it.
//!
//! For a dir that was in use: the replica manager stops its partitions
//! (`ReplicaManager::handle_log_dir_failure`), the group coordinator gives up the
//! `__consumer_offsets` partitions that were there, the controller is told through
//! `/log_dir_event_notification/log_dir_event_N` (it re-sends LeaderAndIsr, the partitions answer
//! KAFKA_STORAGE_ERROR and their leadership moves), and one ERROR line names the dir, the cause and
//! what happens next. When no live dir is left the broker halts with exit code 1, as Kafka does
//! ("Shutdown broker because all log dirs in ... have failed"); the notification is written first
//! so the controller hears of it even before the session of the halted broker expires.
//! A dir that was offline from the start only gets its ERROR line.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use storage::OfflineLogDir;
use zk_schema::KafkaZkClient;

use crate::coordinator::group::GroupCoordinator;
use crate::replica_manager::log_dir_failure::LogDirFailureOutcome;
use crate::replica_manager::ReplicaManager;

/// How long one wait on the channel lasts before the task looks at its stop flag.
const POLL: Duration = Duration::from_millis(500);
/// Attempts at writing the notification (a ZooKeeper connection loss is retried).
const NOTIFY_ATTEMPTS: u32 = 5;

/// The running handler task.
pub struct LogDirFailureHandler {
    stop: Arc<AtomicBool>,
    task: tokio::task::JoinHandle<()>,
}

impl LogDirFailureHandler {
    /// Start taking offline dirs of `replica_manager`'s log manager (needs a tokio runtime).
    pub fn start(zk: KafkaZkClient, replica_manager: Arc<ReplicaManager>, group_coordinator: Arc<GroupCoordinator>) -> Self {
        let stop = Arc::new(AtomicBool::new(false));
        let stopped = stop.clone();
        let task = tokio::spawn(async move {
            while !stopped.load(Ordering::Acquire) {
                let channel = replica_manager.log_manager().log_dir_failure_channel().clone();
                let next = tokio::task::spawn_blocking(move || channel.take_next_offline_log_dir(POLL)).await;
                match next {
                    Ok(Some(offline)) => handle(&zk, &replica_manager, &group_coordinator, offline).await,
                    Ok(None) => {}
                    Err(e) => tracing::error!("log dir failure handler: waiting for offline dirs failed: {e}"),
                }
            }
        });
        LogDirFailureHandler { stop, task }
    }

    /// Stop the task (broker shutdown).
    pub fn shutdown(&self) {
        self.stop.store(true, Ordering::Release);
        self.task.abort();
    }
}

async fn handle(zk: &KafkaZkClient, rm: &Arc<ReplicaManager>, coordinator: &Arc<GroupCoordinator>, offline: OfflineLogDir) {
    let dir = offline.dir.display().to_string();
    let (rm2, path) = (rm.clone(), offline.dir.clone());
    let outcome = match tokio::task::spawn_blocking(move || rm2.handle_log_dir_failure(&path)).await {
        Ok(o) => o,
        Err(e) => {
            tracing::error!("handling the failure of log dir {dir} failed: {e}");
            return;
        }
    };
    if !outcome.was_live {
        tracing::error!(
            "Log dir {dir} is offline: {} ({}). No partition in it is served; LeaderAndIsr for them answers KAFKA_STORAGE_ERROR. \
             Repair the dir and restart the broker to use it again.",
            offline.cause,
            offline.message
        );
        return;
    }
    coordinator.on_leadership_change(rm);
    let notified = propagate_log_dir_event(zk, rm.broker_id()).await;
    tracing::error!("{}", failure_line(&dir, &offline, &outcome, &notified));
    if let Some(fatal) = outcome.all_log_dirs_failed {
        tracing::error!("{fatal}");
        // Kafka halts here: no controlled shutdown, nothing more written to any dir.
        std::process::exit(1);
    }
}

/// Write the notification, retrying a lost connection; the created path or why it failed.
async fn propagate_log_dir_event(zk: &KafkaZkClient, broker_id: i32) -> Result<String, String> {
    let mut last = String::new();
    for attempt in 1..=NOTIFY_ATTEMPTS {
        match zk.propagate_log_dir_event(broker_id).await {
            Ok(path) => return Ok(path),
            Err(e) => {
                last = e.to_string();
                tracing::warn!("writing the log dir event notification failed (attempt {attempt}): {e}");
                tokio::time::sleep(Duration::from_millis(200 * attempt as u64)).await;
            }
        }
    }
    Err(last)
}

/// The one ERROR line of a log dir failure: the dir, the cause, and what happens next.
pub fn failure_line(dir: &str, offline: &OfflineLogDir, outcome: &LogDirFailureOutcome, notified: &Result<String, String>) -> String {
    let partitions = if outcome.offline_partitions.is_empty() {
        "no partitions".to_string()
    } else {
        format!("partitions {}", outcome.offline_partitions.iter().map(|tp| tp.to_string()).collect::<Vec<_>>().join(","))
    };
    let controller = match notified {
        Ok(path) => format!("the controller was notified ({path}) and moves their leadership to other replicas"),
        Err(e) => format!("notifying the controller failed ({e}); it learns of the offline replicas from the next LeaderAndIsr"),
    };
    let next = match &outcome.all_log_dirs_failed {
        Some(_) => "No live log dir is left: the broker halts.".to_string(),
        None => "Nothing more is written to the dir; the broker keeps serving its other log dirs. Repair the dir and restart the broker to use it again.".to_string(),
    };
    format!(
        "Log dir {dir} failed: {} ({}). Stopped serving its replicas: {partitions} are offline (requests for them answer KAFKA_STORAGE_ERROR), \
         their fetchers and the dir's retention, flushes, checkpoints and cleaning stopped; {controller}. {next}",
        offline.cause, offline.message
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use storage::TopicPartition;

    #[test]
    fn the_failure_line_names_the_dir_the_cause_and_what_happens_next() {
        let offline = OfflineLogDir {
            dir: "/data/a".into(),
            message: "Error while appending records to t-0 in dir /data/a".into(),
            cause: "storage I/O error: appending to /data/a/t-0/00000000000000000000.log: No space left on device (os error 28)".into(),
        };
        let outcome = LogDirFailureOutcome {
            was_live: true,
            offline_partitions: vec![TopicPartition::new("t", 0), TopicPartition::new("t", 1)],
            all_log_dirs_failed: None,
        };
        let line = failure_line("/data/a", &offline, &outcome, &Ok("/log_dir_event_notification/log_dir_event_0000000000".into()));
        assert!(line.starts_with("Log dir /data/a failed: storage I/O error: appending to"), "{line}");
        assert!(line.contains("No space left on device"));
        assert!(line.contains("partitions t-0,t-1 are offline"));
        assert!(line.contains("notified (/log_dir_event_notification/log_dir_event_0000000000)"));
        assert!(line.contains("keeps serving its other log dirs"));
        assert!(!line.contains('\n'));
        let all = LogDirFailureOutcome { all_log_dirs_failed: Some("Shutdown broker because all log dirs in /data/a have failed".into()), ..outcome };
        let line = failure_line("/data/a", &offline, &all, &Err("connection lost".into()));
        assert!(line.contains("notifying the controller failed (connection lost)"));
        assert!(line.ends_with("No live log dir is left: the broker halts."));
    }
}
