//! `LogDirFailureChannel` (Kafka's class of that name): the one place through which an I/O error
//! in a log dir marks that dir offline.
//!
//! Whoever meets an I/O error on a log dir (a `Log` appending, rolling, flushing or truncating, a
//! checkpoint write, an index growing, the cleaner, the broker writing `meta.properties`) calls
//! [`LogDirFailureChannel::maybe_add_offline_log_dir`]. The first call for a dir records it as
//! offline and queues it; later calls for the same dir only log. The broker takes queued dirs with
//! [`LogDirFailureChannel::take_next_offline_log_dir`] and stops serving them (Kafka's
//! `ReplicaManager.handleLogDirFailure`). The storage layer itself only consults
//! [`LogDirFailureChannel::is_offline`]: a `Log` in an offline dir refuses every write, so nothing
//! more is written to a dir that failed mid-write and a torn tail stays for recovery at the next start.

use std::collections::{BTreeMap, VecDeque};
use std::fmt::Display;
use std::path::{Path, PathBuf};
use std::sync::{Condvar, Mutex, MutexGuard};
use std::time::Duration;

/// A log dir that went offline, as queued for the broker.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OfflineLogDir {
    /// The log dir (one entry of `log.dirs`).
    pub dir: PathBuf,
    /// What was being done when it failed, e.g. "Error while appending records to t-0 in dir /d".
    pub message: String,
    /// The underlying error, e.g. "appending to /d/t-0/00000000000000000000.log: No space left on device (os error 28)".
    pub cause: String,
}

#[derive(Default)]
struct State {
    /// Every dir that went offline, with the first failure seen for it.
    offline: BTreeMap<PathBuf, OfflineLogDir>,
    /// Offline dirs not yet taken by the broker.
    queue: VecDeque<OfflineLogDir>,
}

/// Marks log dirs offline once and hands them to the broker (see the module docs).
#[derive(Default)]
pub struct LogDirFailureChannel {
    state: Mutex<State>,
    queued: Condvar,
}

impl LogDirFailureChannel {
    /// A channel with no offline dir.
    pub fn new() -> LogDirFailureChannel {
        LogDirFailureChannel::default()
    }

    fn state(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Records that `dir` failed while doing `message` because of `cause`. The first failure of a
    /// dir marks it offline, logs it and queues it for the broker (returns true); later ones for
    /// the same dir are only logged at debug level (returns false).
    pub fn maybe_add_offline_log_dir(&self, dir: &Path, message: &str, cause: &dyn Display) -> bool {
        let mut st = self.state();
        if st.offline.contains_key(dir) {
            tracing::debug!("{message} (log dir {} is already offline): {cause}", dir.display());
            return false;
        }
        tracing::warn!("{message}: {cause}");
        let entry = OfflineLogDir { dir: dir.to_path_buf(), message: message.to_string(), cause: cause.to_string() };
        st.offline.insert(dir.to_path_buf(), entry.clone());
        st.queue.push_back(entry);
        drop(st);
        self.queued.notify_all();
        true
    }

    /// Whether `dir` went offline.
    pub fn is_offline(&self, dir: &Path) -> bool {
        self.state().offline.contains_key(dir)
    }

    /// Every offline dir with its first failure, in path order.
    pub fn offline_log_dirs(&self) -> Vec<OfflineLogDir> {
        self.state().offline.values().cloned().collect()
    }

    /// The next offline dir not yet taken, waiting up to `timeout` for one (Kafka's
    /// `takeNextOfflineLogDir`, with a timeout so the taker can notice a shutdown).
    pub fn take_next_offline_log_dir(&self, timeout: Duration) -> Option<OfflineLogDir> {
        let mut st = self.state();
        if st.queue.is_empty() {
            st = self.queued.wait_timeout_while(st, timeout, |s| s.queue.is_empty()).map(|r| r.0).unwrap_or_else(|p| p.into_inner().0);
        }
        st.queue.pop_front()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_dir_goes_offline_once() {
        let ch = LogDirFailureChannel::new();
        let d = Path::new("/data/a");
        assert!(!ch.is_offline(d));
        assert!(ch.maybe_add_offline_log_dir(d, "Error while appending records to t-0 in dir /data/a", &"No space left on device"));
        assert!(!ch.maybe_add_offline_log_dir(d, "Error while flushing t-0", &"Input/output error"));
        assert!(ch.is_offline(d));
        assert!(!ch.is_offline(Path::new("/data/b")));
        let first = ch.take_next_offline_log_dir(Duration::from_millis(1)).expect("queued once");
        assert_eq!(first.dir, d);
        assert_eq!(first.cause, "No space left on device");
        assert_eq!(ch.take_next_offline_log_dir(Duration::from_millis(1)), None, "queued only once");
        assert_eq!(ch.offline_log_dirs(), vec![first]);
    }

    #[test]
    fn take_waits_for_a_failure_from_another_thread() {
        let ch = std::sync::Arc::new(LogDirFailureChannel::new());
        let c2 = ch.clone();
        let t = std::thread::spawn(move || c2.take_next_offline_log_dir(Duration::from_secs(10)));
        std::thread::sleep(Duration::from_millis(20));
        ch.maybe_add_offline_log_dir(Path::new("/d"), "Error while rolling t-0", &"EIO");
        let got = t.join().expect("taker thread");
        assert_eq!(got.map(|o| o.dir), Some(PathBuf::from("/d")));
    }
}
