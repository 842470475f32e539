//! `LogManager`: owns every partition log of the broker's log dirs — locking the dirs, loading
//! and recovering logs at startup, creating and deleting logs, checkpoints, retention, flushes
//! and the clean-shutdown marker.

use std::collections::BTreeMap;
use std::fs::{File, OpenOptions};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, RwLock};

use crate::checkpoint::{
    write_atomically, OffsetCheckpointFile, LOG_START_OFFSET_CHECKPOINT, RECOVERY_POINT_CHECKPOINT,
    REPLICATION_OFFSET_CHECKPOINT,
};
use crate::config::LogConfig;
use crate::error::{IoContext, StorageError};
use crate::log::{wall_clock_ms, Log};
use crate::log_dir_failure_channel::LogDirFailureChannel;
use crate::log_load::LogLoadParams;
use crate::log_manager_dirs::display_dirs;
use crate::log_manager_tasks::BackgroundTasks;
use crate::scheduler::DelayedDeleter;
use crate::TopicPartition;

/// Name of the clean-shutdown marker file.
pub const CLEAN_SHUTDOWN_FILE: &str = ".kafka_cleanshutdown";
/// Name of the dir lock file.
pub const LOCK_FILE: &str = ".lock";
/// Suffix of directories of deleted partitions.
pub const DELETE_DIR_SUFFIX: &str = "-delete";
/// Suffix of directories of intra-broker moves.
pub const FUTURE_DIR_SUFFIX: &str = "-future";
/// Name of the per-partition topic id file.
pub const PARTITION_METADATA_FILE: &str = "partition.metadata";

/// Provides the effective config of a topic (topic overrides are held by the broker).
pub type ConfigProvider = Arc<dyn Fn(&str) -> LogConfig + Send + Sync>;

/// The logs loaded from one dir.
type LoadedLogs = Vec<(TopicPartition, Arc<Log>)>;

/// All logs of this broker.
pub struct LogManager {
    pub(crate) log_dirs: Vec<PathBuf>,
    /// The dirs of `log_dirs` still in use (Kafka's `liveLogDirs`); see `log_manager_dirs`.
    pub(crate) live_log_dirs: RwLock<Vec<PathBuf>>,
    /// Where I/O errors mark dirs offline; shared with every log and taken from by the broker.
    pub(crate) failure_channel: Arc<LogDirFailureChannel>,
    config_for: ConfigProvider,
    pub(crate) logs: RwLock<BTreeMap<TopicPartition, Arc<Log>>>,
    pub(crate) create_lock: Mutex<()>,
    pub(crate) dir_locks: Mutex<Vec<(PathBuf, File)>>,
    pub(crate) deleter: Arc<DelayedDeleter>,
    pub(crate) tasks: Mutex<Option<BackgroundTasks>>,
    pub(crate) cleaner: Mutex<Option<Arc<crate::cleaner::LogCleaner>>>,
    shut_down: AtomicBool,
}

/// Why a dir could not be locked.
pub(crate) enum LockError {
    /// Another process or thread holds the lock: fatal, as in Kafka.
    Held(StorageError),
    /// The lock file could not be opened: the dir goes offline.
    Io(std::io::Error),
}

pub(crate) fn lock_dir(dir: &Path) -> Result<File, LockError> {
    let path = dir.join(LOCK_FILE);
    let f = OpenOptions::new().read(true).write(true).create(true).truncate(false).open(&path).map_err(LockError::Io)?;
    match f.try_lock() {
        Ok(()) => Ok(f),
        Err(std::fs::TryLockError::Error(e)) => Err(LockError::Io(e)),
        Err(e) => Err(LockError::Held(StorageError::io(
            format!(
                "Failed to acquire lock on file .lock in {}. A Kafka instance in another process or thread is using this directory.",
                dir.display()
            ),
            std::io::Error::other(e.to_string()),
        ))),
    }
}

/// `<topic>-<p>.<32 hex uuid>-delete`, truncating the topic so the name fits in 255 bytes.
fn delete_dir_name(tp: &TopicPartition) -> String {
    let suffix = format!(".{}{DELETE_DIR_SUFFIX}", uuid::Uuid::new_v4().simple());
    let part = tp.partition.to_string();
    let max_topic = 255usize.saturating_sub(suffix.len() + 1 + part.len());
    let mut topic = tp.topic.as_str();
    if topic.len() > max_topic {
        let mut cut = max_topic;
        while !topic.is_char_boundary(cut) {
            cut -= 1;
        }
        topic = &topic[..cut];
    }
    format!("{topic}-{part}{suffix}")
}

/// Most threads [`LogManager::get_or_create_logs`] creates logs with: log creation mostly waits on
/// fsyncs, so more threads than cores still help.
pub const CREATE_THREADS: usize = 16;

/// Index of the first dir holding fewest logs (Kafka's `nextLogDirs` order), or None without dirs.
fn least_loaded(counts: &[usize]) -> Option<usize> {
    counts.iter().enumerate().min_by_key(|(_, c)| **c).map(|(i, _)| i)
}

/// `f` over `items`, in order, on up to [`CREATE_THREADS`] scoped threads (one chunk each; inline
/// for small inputs). For work that mostly waits on the disk (creating logs, fsyncing checkpoints
/// for a whole LeaderAndIsr batch).
pub fn par_map<T: Sync, R: Send>(items: &[T], f: impl Fn(&T) -> R + Sync) -> Vec<R> {
    const MIN_PER_THREAD: usize = 16;
    let threads = (items.len() / MIN_PER_THREAD).clamp(1, CREATE_THREADS);
    if threads == 1 {
        return items.iter().map(&f).collect();
    }
    let chunk = items.len().div_ceil(threads);
    let f = &f;
    std::thread::scope(|s| {
        let handles: Vec<_> = items.chunks(chunk).map(|c| s.spawn(move || c.iter().map(f).collect::<Vec<R>>())).collect();
        // A panicking worker re-panics here, as the same closure would have inline.
        handles.into_iter().flat_map(|h| h.join().unwrap_or_else(|p| std::panic::resume_unwind(p))).collect()
    })
}

impl LogManager {
    /// Locks every dir (`.lock` via flock), loads and recovers every partition dir (honouring and
    /// then deleting `.kafka_cleanshutdown`), queues leftover `*-delete` dirs for background
    /// deletion and reads the three checkpoint files. `config_for` gives a topic's effective config.
    /// A dir that cannot be created, locked or loaded is offline from the start (see
    /// [`LogManager::startup_with`]).
    pub fn startup(log_dirs: Vec<PathBuf>, config_for: Arc<dyn Fn(&str) -> LogConfig + Send + Sync>) -> Result<LogManager, StorageError> {
        Self::startup_with(log_dirs, config_for, Arc::new(LogDirFailureChannel::new()), &[])
    }

    /// [`LogManager::startup`] with the broker's [`LogDirFailureChannel`] and the dirs already
    /// known to be unusable (`(dir, reason)`, e.g. an unreadable `meta.properties`). Every dir that
    /// cannot be created, read, locked or loaded is marked offline through the channel; if none is
    /// left, [`StorageError::NoUsableLogDirs`]. A dir locked by another process stays fatal.
    pub fn startup_with(
        log_dirs: Vec<PathBuf>,
        config_for: Arc<dyn Fn(&str) -> LogConfig + Send + Sync>,
        failure_channel: Arc<LogDirFailureChannel>,
        initial_offline_dirs: &[(PathBuf, String)],
    ) -> Result<LogManager, StorageError> {
        let deleter = Arc::new(DelayedDeleter::new());
        let (usable, locks) = Self::create_and_validate_log_dirs(&log_dirs, &failure_channel, initial_offline_dirs)?;
        let mut logs = BTreeMap::new();
        let results: Vec<Result<LoadedLogs, StorageError>> = std::thread::scope(|s| {
            let handles: Vec<_> = usable
                .iter()
                .map(|dir| {
                    let (cf, del, ch) = (config_for.clone(), deleter.clone(), failure_channel.clone());
                    s.spawn(move || Self::load_dir(dir, &cf, &del, &ch))
                })
                .collect();
            handles
                .into_iter()
                .map(|h| h.join().unwrap_or_else(|_| Err(StorageError::io("loading log dir", std::io::Error::other("loader thread panicked")))))
                .collect()
        });
        let mut live = Vec::new();
        for (dir, r) in usable.iter().zip(results) {
            match r {
                Ok(loaded) => {
                    live.push(dir.clone());
                    for (tp, log) in loaded {
                        if let Some(prev) = logs.insert(tp.clone(), log) {
                            return Err(StorageError::io(
                                format!("duplicate log directories for {tp}: {}", prev.dir().display()),
                                std::io::Error::other("duplicate partition"),
                            ));
                        }
                    }
                }
                Err(e) if e.is_io() => {
                    failure_channel.maybe_add_offline_log_dir(dir, &format!("Error while loading log dir {}", dir.display()), &e);
                }
                Err(e) => return Err(e),
            }
        }
        if live.is_empty() {
            return Err(StorageError::NoUsableLogDirs { dirs: display_dirs(&log_dirs) });
        }
        let locks = locks.into_iter().filter(|(d, _)| live.contains(d)).collect();
        Ok(LogManager {
            log_dirs,
            live_log_dirs: RwLock::new(live),
            failure_channel,
            config_for,
            logs: RwLock::new(logs),
            create_lock: Mutex::new(()),
            dir_locks: Mutex::new(locks),
            deleter,
            tasks: Mutex::new(None),
            cleaner: Mutex::new(None),
            shut_down: AtomicBool::new(false),
        })
    }

    fn load_dir(
        dir: &Path,
        config_for: &ConfigProvider,
        deleter: &Arc<DelayedDeleter>,
        failure_channel: &Arc<LogDirFailureChannel>,
    ) -> Result<LoadedLogs, StorageError> {
        let marker = dir.join(CLEAN_SHUTDOWN_FILE);
        let clean = marker.exists();
        let recovery = OffsetCheckpointFile::new(dir.join(RECOVERY_POINT_CHECKPOINT)).read().unwrap_or_else(|e| {
            tracing::warn!("{e}; recovering all logs of {} from the start", dir.display());
            BTreeMap::new()
        });
        let starts = OffsetCheckpointFile::new(dir.join(LOG_START_OFFSET_CHECKPOINT)).read().unwrap_or_else(|e| {
            tracing::warn!("{e}");
            BTreeMap::new()
        });
        let hws = OffsetCheckpointFile::new(dir.join(REPLICATION_OFFSET_CHECKPOINT)).read().unwrap_or_else(|e| {
            tracing::warn!("{e}");
            BTreeMap::new()
        });
        let mut out = Vec::new();
        for entry in std::fs::read_dir(dir).ctx(|| format!("listing {}", dir.display()))? {
            let entry = entry.ctx(|| format!("listing {}", dir.display()))?;
            if !entry.file_type().map(|t| t.is_dir()).unwrap_or(false) {
                continue;
            }
            let name = entry.file_name().to_string_lossy().to_string();
            if name.ends_with(DELETE_DIR_SUFFIX) {
                tracing::info!("deleting leftover directory {}", entry.path().display());
                deleter.schedule(entry.path(), 0);
                continue;
            }
            if name.ends_with(FUTURE_DIR_SUFFIX) {
                tracing::warn!("ignoring intra-broker move directory {}", entry.path().display());
                continue;
            }
            let Some(tp) = TopicPartition::parse_dir_name(&name) else {
                tracing::warn!("ignoring non-partition directory {}", entry.path().display());
                continue;
            };
            let params = LogLoadParams {
                recovery_point: recovery.get(&tp).copied().unwrap_or(0),
                log_start_offset: starts.get(&tp).copied().unwrap_or(0),
                high_watermark: hws.get(&tp).copied().unwrap_or(0),
                had_clean_shutdown: clean,
                deleter: deleter.clone(),
                failure_channel: failure_channel.clone(),
            };
            let config = config_for(&tp.topic);
            let log = Log::open(entry.path(), tp.clone(), config, params)?;
            out.push((tp, Arc::new(log)));
        }
        if clean {
            std::fs::remove_file(&marker).ctx(|| format!("deleting {}", marker.display()))?;
        }
        Ok(out)
    }

    /// The configured log dirs.
    pub fn log_dirs(&self) -> &[PathBuf] {
        &self.log_dirs
    }

    /// The log of `tp`, if this broker has one.
    pub fn get_log(&self, tp: &TopicPartition) -> Option<Arc<Log>> {
        self.logs.read().unwrap_or_else(|p| p.into_inner()).get(tp).cloned()
    }

    /// All logs.
    pub fn all_logs(&self) -> Vec<Arc<Log>> {
        self.logs.read().unwrap_or_else(|p| p.into_inner()).values().cloned().collect()
    }

    /// Creates (in the dir holding fewest partitions) or returns the existing log. With a topic id
    /// (22-char base64), writes `partition.metadata` if it is not there yet. One partition of
    /// [`LogManager::get_or_create_logs`], which says what is fsynced.
    pub fn get_or_create_log(&self, tp: &TopicPartition, topic_id: Option<&str>) -> Result<Arc<Log>, StorageError> {
        self.get_or_create_logs(&[(tp.clone(), topic_id.map(String::from))])
            .into_iter()
            .next()
            .unwrap_or_else(|| Err(StorageError::io("creating log", std::io::Error::other("no result for a one-log batch"))))
    }

    /// Gets or creates the logs of one LeaderAndIsr batch (`(partition, topic id)`), one result per
    /// entry in order. New logs go to the dirs holding fewest partitions, counted once per batch
    /// (not once per log: that made creating n partitions O(n²)); their files are created and
    /// `partition.metadata` files written by up to [`CREATE_THREADS`] threads at once, so the
    /// fsyncs of a batch overlap instead of queueing one after another.
    ///
    /// Durability (unchanged by the batching): the new partition dir and its empty segment and index
    /// files are not fsynced (they hold no data; a crash loses at most an empty log, which the next
    /// LeaderAndIsr creates again); `partition.metadata` is written to `partition.metadata.tmp`,
    /// fsynced, renamed, and the partition dir fsynced, for every partition, before this returns (so
    /// before the broker answers the LeaderAndIsr) — Kafka 2.8's `PartitionMetadataFile.write` also
    /// fsyncs the temporary file before its atomic move, per partition, inside the LeaderAndIsr.
    pub fn get_or_create_logs(&self, wanted: &[(TopicPartition, Option<String>)]) -> Vec<Result<Arc<Log>, StorageError>> {
        let mut out: Vec<Option<Result<Arc<Log>, StorageError>>> = wanted.iter().map(|(tp, _)| self.get_log(tp).map(Ok)).collect();
        if out.iter().any(Option::is_none) {
            let _g = self.create_lock.lock().unwrap_or_else(|p| p.into_inner());
            let live = self.live_log_dirs();
            let mut counts = self.logs_per_dir(&live);
            let mut planned: BTreeMap<&TopicPartition, PathBuf> = BTreeMap::new();
            for (slot, (tp, _)) in out.iter_mut().zip(wanted) {
                if slot.is_some() || planned.contains_key(tp) {
                    continue;
                }
                if let Some(l) = self.get_log(tp) {
                    *slot = Some(Ok(l));
                    continue;
                }
                match least_loaded(&counts) {
                    Some(i) => {
                        counts[i] += 1;
                        planned.insert(tp, live[i].join(tp.dir_name()));
                    }
                    None => *slot = Some(Err(StorageError::AllLogDirsFailed { dirs: display_dirs(&self.log_dirs) })),
                }
            }
            let planned: Vec<(&TopicPartition, PathBuf)> = planned.into_iter().collect();
            let opened = par_map(&planned, |(tp, dir)| {
                let params = LogLoadParams {
                    deleter: self.deleter.clone(),
                    failure_channel: self.failure_channel.clone(),
                    ..LogLoadParams::new(true)
                };
                let log_dir = dir.parent().unwrap_or(dir);
                if self.failure_channel.is_offline(log_dir) {
                    return Err(StorageError::LogDirOffline { dir: log_dir.to_path_buf() });
                }
                let opened = Log::open(dir.clone(), (*tp).clone(), (self.config_for)(&tp.topic), params).map(Arc::new);
                if let Some(e) = opened.as_ref().err().filter(|e| e.is_io()) {
                    let msg = format!("Error while creating log for {tp} in dir {}", log_dir.display());
                    self.failure_channel.maybe_add_offline_log_dir(log_dir, &msg, e);
                }
                opened
            });
            let mut created: BTreeMap<&TopicPartition, Result<Arc<Log>, StorageError>> = BTreeMap::new();
            {
                let mut logs = self.logs.write().unwrap_or_else(|p| p.into_inner());
                for ((tp, dir), res) in planned.iter().zip(opened) {
                    if let Ok(log) = &res {
                        tracing::info!("created log for {tp} in {}", dir.parent().unwrap_or(dir).display());
                        logs.insert((*tp).clone(), log.clone());
                    }
                    created.insert(*tp, res);
                }
            }
            for (slot, (tp, _)) in out.iter_mut().zip(wanted) {
                if slot.is_none() {
                    // A partition listed twice gets the created log the second time.
                    *slot = Some(created.remove(tp).unwrap_or_else(|| {
                        self.get_log(tp).ok_or_else(|| StorageError::io(format!("creating log for {tp}"), std::io::Error::other("log creation failed")))
                    }));
                }
            }
        }
        let mut results: Vec<Result<Arc<Log>, StorageError>> = out
            .into_iter()
            .map(|r| r.unwrap_or_else(|| Err(StorageError::io("creating log", std::io::Error::other("no result")))))
            .collect();
        let to_write: Vec<(usize, Arc<Log>, &str)> = results
            .iter()
            .zip(wanted)
            .enumerate()
            .filter_map(|(i, (r, (_, id)))| Some((i, r.as_ref().ok()?.clone(), id.as_deref()?)))
            .collect();
        let written = par_map(&to_write, |(_, log, id)| {
            let p = log.dir().join(PARTITION_METADATA_FILE);
            if p.exists() {
                return Ok(());
            }
            log.maybe_handle_io_exception(
                || format!("Error while writing {} in dir {}", p.display(), log.log_dir().display()),
                || write_atomically(&p, format!("version: 0\ntopic_id: {id}\n").as_bytes()),
            )
        });
        for ((i, _, _), w) in to_write.iter().zip(written) {
            if let Err(e) = w {
                results[*i] = Err(e);
            }
        }
        results
    }

    /// How many logs each of `dirs` holds (index as in `dirs`).
    fn logs_per_dir(&self, dirs: &[PathBuf]) -> Vec<usize> {
        let mut counts = vec![0; dirs.len()];
        if dirs.len() > 1 {
            for l in self.logs.read().unwrap_or_else(|p| p.into_inner()).values() {
                if let Some(i) = dirs.iter().position(|d| d == l.log_dir()) {
                    counts[i] += 1;
                }
            }
        }
        counts
    }

    /// Removes the log from the map, renames its dir to `<topic>-<p>.<32 hex uuid>-delete` and
    /// deletes it in the background after `file.delete.delay.ms`; never blocks on the removal.
    pub fn async_delete(&self, tp: &TopicPartition) -> Result<(), StorageError> {
        let Some(log) = self.logs.write().unwrap_or_else(|p| p.into_inner()).remove(tp) else {
            return Ok(());
        };
        let dir = log.dir().to_path_buf();
        let parent = dir.parent().map(Path::to_path_buf).unwrap_or_default();
        let target = parent.join(delete_dir_name(tp));
        log.maybe_handle_io_exception(
            || format!("Error while deleting log of {tp} in dir {}", parent.display()),
            || std::fs::rename(&dir, &target).ctx(|| format!("renaming {} for deletion", dir.display())),
        )?;
        tracing::info!("log for {tp} renamed to {} and scheduled for deletion", target.display());
        self.deleter.schedule(target, log.config_arc().file_delete_delay_ms);
        self.cleaner_remove_log(tp, &parent);
        self.checkpoint_dir(&parent, false)?;
        Ok(())
    }

    /// Re-reads `config_for(topic)` for every log of that topic (dynamic config change).
    pub fn topic_config_changed(&self, topic: &str) {
        let config = (self.config_for)(topic);
        for log in self.all_logs().into_iter().filter(|l| l.topic_partition().topic == topic) {
            log.update_config(config.clone());
        }
    }

    pub(crate) fn logs_in(&self, dir: &Path) -> Vec<Arc<Log>> {
        self.all_logs().into_iter().filter(|l| l.log_dir() == dir).collect()
    }

    /// Writes `recovery-point-offset-checkpoint` and `log-start-offset-checkpoint` (and with
    /// `high_watermarks` also `replication-offset-checkpoint`) for one dir. Nothing is written to
    /// an offline dir; a failed write takes the dir offline.
    fn checkpoint_dir(&self, dir: &Path, high_watermarks: bool) -> Result<(), StorageError> {
        self.in_live_dir(dir, "Error while writing the offset checkpoints", || {
            let logs = self.logs_in(dir);
            let rp: BTreeMap<_, _> = logs.iter().map(|l| (l.topic_partition().clone(), l.recovery_point())).collect();
            OffsetCheckpointFile::new(dir.join(RECOVERY_POINT_CHECKPOINT)).write(&rp)?;
            // Kafka only records log start offsets above the first segment's base offset.
            let ls: BTreeMap<_, _> = logs
                .iter()
                .filter(|l| l.segment_base_offsets().first().is_some_and(|&b| l.log_start_offset() > b))
                .map(|l| (l.topic_partition().clone(), l.log_start_offset()))
                .collect();
            OffsetCheckpointFile::new(dir.join(LOG_START_OFFSET_CHECKPOINT)).write(&ls)?;
            if high_watermarks {
                Self::checkpoint_high_watermarks_in(dir, &logs)?;
            }
            Ok(())
        })
    }

    fn checkpoint_high_watermarks_in(dir: &Path, logs: &[Arc<Log>]) -> Result<(), StorageError> {
        let hw: BTreeMap<_, _> = logs.iter().map(|l| (l.topic_partition().clone(), l.high_watermark())).collect();
        OffsetCheckpointFile::new(dir.join(REPLICATION_OFFSET_CHECKPOINT)).write(&hw)
    }

    /// Runs `f` over every live dir; all dirs are tried, the first error is returned.
    fn for_each_live_dir(&self, f: impl Fn(&Path) -> Result<(), StorageError>) -> Result<(), StorageError> {
        let mut first = Ok(());
        for dir in self.live_log_dirs().into_iter().filter(|d| self.is_log_dir_online(d)) {
            if let Err(e) = f(&dir) {
                if first.is_ok() {
                    first = Err(e);
                }
            }
        }
        first
    }

    /// Writes the recovery point, log start offset and high watermark checkpoints of every live dir.
    pub fn checkpoint_all(&self) -> Result<(), StorageError> {
        self.for_each_live_dir(|dir| self.checkpoint_dir(dir, true))
    }

    /// Writes only the recovery point and log start checkpoints (the 60 s task).
    pub fn checkpoint_recovery_points(&self) -> Result<(), StorageError> {
        self.for_each_live_dir(|dir| self.checkpoint_dir(dir, false))
    }

    /// Writes only `replication-offset-checkpoint` of every live dir (the 5 s task).
    pub fn checkpoint_high_watermarks(&self) -> Result<(), StorageError> {
        self.for_each_live_dir(|dir| {
            self.in_live_dir(dir, "Error while writing the high watermark checkpoint", || {
                Self::checkpoint_high_watermarks_in(dir, &self.logs_in(dir))
            })
        })
    }

    /// Retention pass over every log (time, size, log start offset); returns segments deleted.
    pub fn cleanup_logs(&self, now_ms: i64) -> usize {
        let mut total = 0;
        for log in self.all_logs().into_iter().filter(|l| !l.is_log_dir_offline()) {
            match log.delete_old_segments(now_ms) {
                Ok(n) => total += n,
                Err(e) => tracing::error!("retention of {} failed: {e}", log.topic_partition()),
            }
        }
        if total > 0 {
            tracing::info!("retention deleted {total} segments");
        }
        total
    }

    /// Flushes logs whose `flush.ms` elapsed since their last flush.
    pub fn flush_dirty_logs(&self, now_ms: i64) {
        for log in self.all_logs().into_iter().filter(|l| !l.is_log_dir_offline()) {
            let flush_ms = log.config_arc().flush_ms;
            if now_ms.saturating_sub(log.last_flush_ms()) >= flush_ms {
                if let Err(e) = log.flush_at(now_ms) {
                    tracing::error!("flush of {} failed: {e}", log.topic_partition());
                }
            }
        }
    }

    /// Flushes and closes everything, checkpoints, writes `.kafka_cleanshutdown` in every dir and
    /// releases the dir locks. Idempotent.
    pub fn shutdown(&self) {
        if self.shut_down.swap(true, Ordering::AcqRel) {
            return;
        }
        self.stop_cleaner();
        self.stop_background_tasks();
        let mut ok = true;
        // Logs of a dir that failed are left as they are (recovered at the next start).
        for log in self.all_logs().into_iter().filter(|l| !l.is_log_dir_offline()) {
            if let Err(e) = log.close() {
                ok = false;
                tracing::error!("closing {} failed: {e}", log.topic_partition());
            }
        }
        if let Err(e) = self.checkpoint_all() {
            ok = false;
            tracing::error!("final checkpoint failed: {e}");
        }
        if ok {
            for dir in self.live_log_dirs().iter().filter(|d| self.is_log_dir_online(d)) {
                let p = dir.join(CLEAN_SHUTDOWN_FILE);
                if let Err(e) = File::create(&p).and_then(|f| f.sync_all()) {
                    tracing::error!("cannot write {}: {e}", p.display());
                }
            }
        }
        self.deleter.shutdown();
        self.dir_locks.lock().unwrap_or_else(|p| p.into_inner()).clear();
        tracing::info!("log manager shut down at {}", wall_clock_ms());
    }
}

impl Drop for LogManager {
    fn drop(&mut self) {
        self.stop_cleaner();
        self.stop_background_tasks();
    }
}
