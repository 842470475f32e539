//! The live and offline log dirs of the [`LogManager`] (Kafka's `liveLogDirs`,
//! `createAndValidateLogDirs` and `LogManager.handleLogDirFailure`).
//!
//! A dir is offline from the start when it cannot be created, read, locked or loaded; it goes
//! offline later when any I/O on it fails (reported through the [`LogDirFailureChannel`]). The
//! broker then calls [`LogManager::handle_log_dir_failure`], which forgets the dir's logs (they stay
//! on disk for the next start), drops its cleaner work and its lock, and writes nothing more to it.

use std::fs::File;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use crate::error::StorageError;
use crate::log_dir_failure_channel::LogDirFailureChannel;
use crate::log_manager::{lock_dir, LockError, LogManager};
use crate::TopicPartition;

/// The usable dirs and the lock held on each.
pub(crate) type UsableDirs = (Vec<PathBuf>, Vec<(PathBuf, File)>);

/// `log.dirs` as Kafka prints them: comma separated.
pub(crate) fn display_dirs(dirs: &[PathBuf]) -> String {
    dirs.iter().map(|d| d.display().to_string()).collect::<Vec<_>>().join(", ")
}

impl LogManager {
    /// Creates missing dirs, checks each is a readable directory and locks it. A dir that fails
    /// any of this, or is in `initial_offline_dirs`, is marked offline through `channel`. Returns
    /// the usable dirs with their locks; none usable is [`StorageError::NoUsableLogDirs`], a lock
    /// held by another process is fatal.
    pub(crate) fn create_and_validate_log_dirs(
        dirs: &[PathBuf],
        channel: &LogDirFailureChannel,
        initial_offline_dirs: &[(PathBuf, String)],
    ) -> Result<UsableDirs, StorageError> {
        let mut usable = Vec::new();
        let mut locks = Vec::new();
        for dir in dirs {
            if let Some((_, reason)) = initial_offline_dirs.iter().find(|(d, _)| d == dir) {
                channel.maybe_add_offline_log_dir(dir, &format!("Failed to load {} during broker startup", dir.display()), reason);
                continue;
            }
            let validated = std::fs::create_dir_all(dir).and_then(|_| std::fs::read_dir(dir).map(|_| ()));
            if let Err(e) = validated {
                channel.maybe_add_offline_log_dir(dir, &format!("Failed to create or validate data directory {}", dir.display()), &e);
                continue;
            }
            match lock_dir(dir) {
                Ok(f) => {
                    usable.push(dir.clone());
                    locks.push((dir.clone(), f));
                }
                Err(LockError::Held(e)) => return Err(e),
                Err(LockError::Io(e)) => {
                    channel.maybe_add_offline_log_dir(dir, &format!("Disk error while locking directory {}", dir.display()), &e);
                }
            }
        }
        if usable.is_empty() {
            return Err(StorageError::NoUsableLogDirs { dirs: display_dirs(dirs) });
        }
        Ok((usable, locks))
    }

    /// The channel through which I/O errors mark this manager's dirs offline (the broker takes
    /// offline dirs from it).
    pub fn log_dir_failure_channel(&self) -> &Arc<LogDirFailureChannel> {
        &self.failure_channel
    }

    /// The dirs still in use, in `log.dirs` order.
    pub fn live_log_dirs(&self) -> Vec<PathBuf> {
        self.live_log_dirs.read().unwrap_or_else(|p| p.into_inner()).clone()
    }

    /// Whether `dir` is in use (configured, and neither failed nor offline from the start).
    pub fn is_log_dir_online(&self, dir: &Path) -> bool {
        self.live_log_dirs.read().unwrap_or_else(|p| p.into_inner()).iter().any(|d| d == dir) && !self.failure_channel.is_offline(dir)
    }

    /// The configured dirs that are offline.
    pub fn offline_log_dirs(&self) -> Vec<PathBuf> {
        self.log_dirs.iter().filter(|d| !self.is_log_dir_online(d)).cloned().collect()
    }

    /// Kafka's rule for creating a log this broker does not have: a partition the controller says
    /// is not new may have its data in an offline dir, so it is not created elsewhere while any
    /// dir is offline ([`StorageError::CannotCreateLog`]).
    pub fn check_log_creation(&self, tp: &TopicPartition, is_new: bool) -> Result<(), StorageError> {
        let offline = self.offline_log_dirs();
        if is_new || offline.is_empty() || self.get_log(tp).is_some() {
            return Ok(());
        }
        Err(StorageError::CannotCreateLog { tp: tp.to_string(), dirs: display_dirs(&offline) })
    }

    /// Runs `op`, a write to `dir` outside any log (checkpoints): refused for an offline dir; an
    /// I/O error from it takes the dir offline, described as `what` in `dir`.
    pub(crate) fn in_live_dir(&self, dir: &Path, what: &str, op: impl FnOnce() -> Result<(), StorageError>) -> Result<(), StorageError> {
        if !self.is_log_dir_online(dir) {
            return Err(StorageError::LogDirOffline { dir: dir.to_path_buf() });
        }
        let result = op();
        if let Some(e) = result.as_ref().err().filter(|e| e.is_io()) {
            self.failure_channel.maybe_add_offline_log_dir(dir, &format!("{what} in dir {}", dir.display()), e);
        }
        result
    }

    /// Stops using `dir` after its failure (Kafka's `LogManager.handleLogDirFailure`): it leaves the
    /// live dirs, its logs leave the manager (files untouched, for recovery at the next start),
    /// their cleaning is aborted and the dir lock released. Returns the partitions whose logs
    /// were there. With no live dir left, [`StorageError::AllLogDirsFailed`] (the broker halts).
    pub fn handle_log_dir_failure(&self, dir: &Path) -> Result<Vec<TopicPartition>, StorageError> {
        tracing::warn!("Stopping serving logs in dir {}", dir.display());
        let _g = self.create_lock.lock().unwrap_or_else(|p| p.into_inner());
        let none_left = {
            let mut live = self.live_log_dirs.write().unwrap_or_else(|p| p.into_inner());
            live.retain(|d| d != dir);
            live.is_empty()
        };
        let removed: Vec<TopicPartition> = {
            let mut logs = self.logs.write().unwrap_or_else(|p| p.into_inner());
            let in_dir: Vec<TopicPartition> = logs.iter().filter(|(_, l)| l.log_dir() == dir).map(|(tp, _)| tp.clone()).collect();
            for tp in &in_dir {
                logs.remove(tp);
            }
            in_dir
        };
        if let Some(cleaner) = self.cleaner() {
            for tp in &removed {
                cleaner.manager.abort_cleaning(tp);
            }
        }
        self.dir_locks.lock().unwrap_or_else(|p| p.into_inner()).retain(|(d, _)| d != dir);
        tracing::warn!(
            "Logs for partitions {} are offline due to failure on log directory {}",
            removed.iter().map(|tp| tp.to_string()).collect::<Vec<_>>().join(","),
            dir.display()
        );
        if none_left {
            return Err(StorageError::AllLogDirsFailed { dirs: display_dirs(&self.log_dirs) });
        }
        Ok(removed)
    }
}
