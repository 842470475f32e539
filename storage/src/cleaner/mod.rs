//! Log compaction (spec §4.5, Kafka's `LogCleaner`): background threads that keep only the last
//! record of every key in logs with `cleanup.policy` `compact` (or `compact,delete`).
//!
//! * [`manager`]: choosing the dirtiest log and the `cleaner-offset-checkpoint` files.
//! * [`offset_map`]: the bounded key -> last offset map.
//! * [`cleaner`]: one cleaning pass (map, recopy, swap).
//! * [`batch_filter`]: pure record-level filtering/rebuilding of one batch.
//! * [`swap`]: atomic segment replacement and crash recovery of `.swap` files.
//!
//! Retention of `compact,delete` logs stays with the log manager's retention task; logs that
//! are only compacted are never deleted by time or size.

pub mod batch_filter;
#[allow(clippy::module_inception)]
pub mod cleaner;
pub mod manager;
pub mod offset_map;
pub mod swap;

use std::sync::{Arc, Condvar, Mutex, Weak};
use std::thread::JoinHandle;
use std::time::Duration;

use crate::error::StorageError;
use crate::log::wall_clock_ms;
use crate::log_manager::LogManager;
use crate::TopicPartition;

pub use batch_filter::RecordsCodec;
pub use cleaner::{Cleaner, CleanerStats};
pub use manager::{LogCleanerManager, LogToClean, CLEANER_OFFSET_CHECKPOINT};
pub use offset_map::OffsetMap;

/// Why a cleaning did not complete.
#[derive(Debug, thiserror::Error)]
pub enum CleanerError {
    /// The log was deleted or changed under the cleaner; the work is dropped and retried later.
    #[error("cleaning aborted")]
    Aborted,
    /// Reading or writing the log failed.
    #[error(transparent)]
    Storage(#[from] StorageError),
}

/// Broker settings of the cleaner (`log.cleaner.*`).
#[derive(Clone, Debug, PartialEq)]
pub struct CleanerConfig {
    /// `log.cleaner.threads`.
    pub num_threads: usize,
    /// `log.cleaner.dedupe.buffer.size`: offset map memory shared by all threads.
    pub dedupe_buffer_size: i64,
    /// `log.cleaner.io.buffer.load.factor`: how full a map may get.
    pub dedupe_buffer_load_factor: f64,
    /// `log.cleaner.io.buffer.size`: read chunk size.
    pub io_buffer_size: usize,
    /// `log.cleaner.backoff.ms`: sleep when no log needs cleaning.
    pub backoff_ms: u64,
}

impl Default for CleanerConfig {
    fn default() -> Self {
        CleanerConfig { num_threads: 1, dedupe_buffer_size: 134_217_728, dedupe_buffer_load_factor: 0.9, io_buffer_size: 524_288, backoff_ms: 15_000 }
    }
}

/// The running cleaner: its threads, the shared manager and the stop signal.
pub struct LogCleaner {
    /// Partition states and checkpoints, shared by the threads.
    pub manager: Arc<LogCleanerManager>,
    stop: Arc<(Mutex<bool>, Condvar)>,
    threads: Mutex<Vec<JoinHandle<()>>>,
    last_stats: Arc<Mutex<Option<CleanerStats>>>,
}

impl LogCleaner {
    /// Stats of the most recent successful cleaning (tests, benchmarks).
    pub fn last_stats(&self) -> Option<CleanerStats> {
        *self.last_stats.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Signals the threads and joins them.
    pub fn shutdown(&self) {
        {
            let (lock, cv) = &*self.stop;
            *lock.lock().unwrap_or_else(|p| p.into_inner()) = true;
            cv.notify_all();
        }
        let threads = std::mem::take(&mut *self.threads.lock().unwrap_or_else(|p| p.into_inner()));
        for h in threads {
            if h.thread().id() != std::thread::current().id() {
                let _ = h.join();
            }
        }
    }
}

/// Runs one cleaning of the dirtiest log of `mgr`, if any; returns its stats if it completed.
/// `shutting_down` is polled between segments like an abort of the log.
pub fn clean_filthiest_log(
    mgr: &LogManager,
    manager: &LogCleanerManager,
    cleaner: &mut Cleaner,
    now_ms: i64,
    shutting_down: &dyn Fn() -> bool,
) -> Option<CleanerStats> {
    let logs = mgr.all_logs();
    let to_clean = manager.grab_filthiest_compacted_log(&logs, now_ms)?;
    let tp = to_clean.log.topic_partition().clone();
    let res = cleaner.clean(&to_clean, &|| manager.is_aborted(&tp) || shutting_down());
    let logs = mgr.all_logs();
    let log_dir = to_clean.log.log_dir().to_path_buf();
    match res {
        Ok((end, stats)) => {
            log_stats(&tp, &to_clean, end, &stats);
            let done = mgr.in_live_dir(&log_dir, "Error while writing the cleaner offset checkpoint", || {
                manager.done_cleaning(&to_clean.log, Some(end), &logs)
            });
            if let Err(e) = done {
                tracing::error!("cannot write the cleaner checkpoint for {tp}: {e}");
            }
            Some(stats)
        }
        Err(CleanerError::Aborted) => {
            tracing::info!("cleaning of {tp} aborted");
            let _ = manager.done_cleaning(&to_clean.log, None, &logs);
            None
        }
        Err(CleanerError::Storage(e)) if e.is_io() || to_clean.log.is_log_dir_offline() => {
            // Kafka's cleaner: an I/O error takes the dir offline (the log leaves the manager).
            let msg = format!("Error while cleaning {tp} in dir {}", log_dir.display());
            mgr.log_dir_failure_channel().maybe_add_offline_log_dir(&log_dir, &msg, &e);
            let _ = manager.done_cleaning(&to_clean.log, None, &logs);
            None
        }
        Err(CleanerError::Storage(e)) => {
            tracing::error!("cleaning of {tp} failed, marking it uncleanable: {e}");
            manager.mark_uncleanable(&tp);
            None
        }
    }
}

fn log_stats(tp: &TopicPartition, c: &LogToClean, end: i64, s: &CleanerStats) {
    let mb = |b: u64| b as f64 / 1_048_576.0;
    tracing::info!(
        "Log cleaner cleaned log {tp} (dirty section = [{}, {end}])\n\t{:.1} MB of log processed in {:.3} seconds ({:.1} MB/sec).\n\
         \tBuffer utilization: {:.1}%\n\t{:.1} MB of log recopied, {:.1} MB written ({:.1}% size reduction)\n\
         \t{} messages read, {} messages kept ({:.1}% removed)",
        c.first_dirty_offset,
        mb(s.bytes_read + s.map_bytes_read),
        s.elapsed_secs,
        s.mb_per_sec(),
        s.buffer_utilization * 100.0,
        mb(s.bytes_read),
        mb(s.bytes_written),
        if s.bytes_read > 0 { 100.0 * (1.0 - s.bytes_written as f64 / s.bytes_read as f64) } else { 0.0 },
        s.messages_read,
        s.messages_written,
        if s.messages_read > 0 { 100.0 * (1.0 - s.messages_written as f64 / s.messages_read as f64) } else { 0.0 },
    );
}

impl LogManager {
    /// Starts `log.cleaner.threads` cleaner threads (no-op if already started). Each sleeps
    /// `log.cleaner.backoff.ms` whenever no log needs cleaning. Stopped by [`LogManager::shutdown`].
    /// `codec` lets the cleaner filter compressed batches (otherwise they are kept whole).
    pub fn start_cleaner(self: &Arc<Self>, config: CleanerConfig, codec: Option<Arc<dyn RecordsCodec>>) -> Result<(), StorageError> {
        let mut slot = self.cleaner.lock().unwrap_or_else(|p| p.into_inner());
        if slot.is_some() {
            return Ok(());
        }
        let stop = Arc::new((Mutex::new(false), Condvar::new()));
        let manager = Arc::new(LogCleanerManager::new());
        let last_stats = Arc::new(Mutex::new(None));
        let n = config.num_threads;
        let memory = (config.dedupe_buffer_size.max(0) as u64 / n.max(1) as u64).min(i32::MAX as u64) as usize;
        let mut threads = Vec::new();
        for i in 0..n {
            let (weak, stop, manager, last_stats): (Weak<LogManager>, _, _, _) = (Arc::downgrade(self), stop.clone(), manager.clone(), last_stats.clone());
            let (config, codec) = (config.clone(), codec.clone());
            let handle = std::thread::Builder::new()
                .name(format!("kafka-log-cleaner-thread-{i}"))
                .spawn(move || {
                    let mut cleaner = Cleaner::new(memory, config.dedupe_buffer_load_factor, config.io_buffer_size);
                    cleaner.codec = codec;
                    loop {
                        let cleaned = {
                            let Some(mgr) = weak.upgrade() else { return };
                            let stopping = || *stop.0.lock().unwrap_or_else(|p| p.into_inner());
                            clean_filthiest_log(&mgr, &manager, &mut cleaner, wall_clock_ms(), &stopping)
                        };
                        if let Some(s) = cleaned {
                            *last_stats.lock().unwrap_or_else(|p| p.into_inner()) = Some(s);
                        }
                        let (lock, cv) = &*stop;
                        let mut stopped = lock.lock().unwrap_or_else(|p| p.into_inner());
                        if !*stopped && cleaned.is_none() {
                            let wait = Duration::from_millis(config.backoff_ms.max(1));
                            stopped = cv.wait_timeout(stopped, wait).map(|r| r.0).unwrap_or_else(|p| p.into_inner().0);
                        }
                        if *stopped {
                            return;
                        }
                    }
                })
                .map_err(|e| StorageError::io("starting the log cleaner", e))?;
            threads.push(handle);
        }
        tracing::info!("started {n} log cleaner threads ({memory} bytes of offset map each)");
        *slot = Some(Arc::new(LogCleaner { manager, stop, threads: Mutex::new(threads), last_stats }));
        Ok(())
    }

    /// The running cleaner, if started.
    pub fn cleaner(&self) -> Option<Arc<LogCleaner>> {
        self.cleaner.lock().unwrap_or_else(|p| p.into_inner()).clone()
    }

    /// Stops the cleaner threads (no-op if not running).
    pub(crate) fn stop_cleaner(&self) {
        let c = self.cleaner.lock().unwrap_or_else(|p| p.into_inner()).take();
        if let Some(c) = c {
            c.shutdown();
        }
    }

    /// A log was deleted: abort its cleaning and drop it from its dir's `cleaner-offset-checkpoint`.
    pub(crate) fn cleaner_remove_log(&self, tp: &TopicPartition, dir: &std::path::Path) {
        let manager = match self.cleaner() {
            Some(c) => c.manager.clone(),
            None => Arc::new(LogCleanerManager::new()),
        };
        let removed = self.in_live_dir(dir, "Error while writing the cleaner offset checkpoint", || manager.remove_log(tp, dir, &self.all_logs()));
        if let Err(e) = removed {
            tracing::warn!("cannot update the cleaner checkpoint of {}: {e}", dir.display());
        }
    }
}
