//! `LeaderEpochFileCache`: the per-partition list of `(leader epoch, start offset)` pairs
//! (spec §3.6), persisted to `leader-epoch-checkpoint` on every change. It answers
//! OffsetsForLeaderEpoch and tells followers where their log diverged.

use std::path::Path;
use std::sync::Mutex;

use crate::checkpoint::{LeaderEpochCheckpointFile, LEADER_EPOCH_CHECKPOINT};
use crate::error::StorageError;

/// Kafka's UNDEFINED_EPOCH / UNDEFINED_EPOCH_OFFSET.
pub const UNDEFINED_EPOCH: i32 = -1;
/// Kafka's UNDEFINED_EPOCH_OFFSET.
pub const UNDEFINED_EPOCH_OFFSET: i64 = -1;

/// The leader epoch cache of one partition.
pub struct LeaderEpochFileCache {
    entries: Mutex<Vec<(i32, i64)>>,
    checkpoint: LeaderEpochCheckpointFile,
}

impl LeaderEpochFileCache {
    /// Loads `leader-epoch-checkpoint` from the partition dir (missing file = empty cache).
    pub fn load(partition_dir: &Path) -> Result<LeaderEpochFileCache, StorageError> {
        let checkpoint = LeaderEpochCheckpointFile::new(partition_dir.join(LEADER_EPOCH_CHECKPOINT));
        let mut entries = match checkpoint.read() {
            Ok(e) => e,
            Err(e) => {
                tracing::warn!("ignoring unreadable leader epoch checkpoint {}: {e}", checkpoint.path().display());
                Vec::new()
            }
        };
        // Keep only a monotonic sequence (defensive against hand-edited files).
        let mut clean: Vec<(i32, i64)> = Vec::with_capacity(entries.len());
        for (e, o) in entries.drain(..) {
            if e >= 0 && o >= 0 && clean.last().is_none_or(|&(le, lo)| e > le && o >= lo) {
                clean.push((e, o));
            }
        }
        Ok(LeaderEpochFileCache { entries: Mutex::new(clean), checkpoint })
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Vec<(i32, i64)>> {
        self.entries.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn flush(&self, entries: &[(i32, i64)]) -> Result<(), StorageError> {
        self.checkpoint.write(entries)
    }

    /// Records that `epoch` starts at `start_offset` (Kafka's `assign`, used for every appended
    /// batch and when this broker becomes leader). Entries at the end with an epoch >= `epoch` or
    /// a start offset >= `start_offset` are removed first so the list stays monotonic: a batch of
    /// an older epoch appended after a newer entry means that newer entry never had records here.
    /// No-op if the latest entry already says the same (or an earlier start for the same epoch).
    /// Entries with an epoch greater than `epoch` go, and an entry of `epoch` itself that started
    /// earlier stays.
    pub fn assign(&self, epoch: i32, start_offset: i64) -> Result<(), StorageError> {
        if epoch < 0 || start_offset < 0 {
            return Ok(());
        }
        let mut entries = self.lock();
        let needed = match entries.last() {
            Some(&(le, lo)) => epoch != le || start_offset < lo,
            None => true,
        };
        if !needed {
            return Ok(());
        }
        // An entry for the same epoch with an earlier start stays: the epoch began there. (Kafka
        // 2.8 removes it too and restarts the epoch at `start_offset`, which makes the end offset
        // of the epoch before it too large; keeping it is never less correct.)
        let keep = entries.iter().take_while(|&&(e, o)| e <= epoch && o < start_offset).count();
        let removed: Vec<(i32, i64)> = entries.drain(keep..).collect();
        // Replacing one entry that started at the same offset is the normal case of an epoch that
        // never got a record (a leader elected and replaced before any append); anything else
        // means this log had records of epochs the new entry supersedes.
        if removed.len() > 1 || removed.first().is_some_and(|&(_, o)| o != start_offset) {
            tracing::warn!(
                "new leader epoch entry ({epoch}, {start_offset}) of {} removed conflicting entries {removed:?}",
                self.checkpoint.path().parent().map(|d| d.display().to_string()).unwrap_or_default()
            );
        }
        if entries.last().is_none_or(|&(e, _)| e != epoch) {
            entries.push((epoch, start_offset));
        }
        self.flush(&entries)
    }

    /// Assigns only if `epoch` is newer than the latest known epoch: log recovery, which (as
    /// Kafka's `LogSegment.recover`) rebuilds entries from the batches it re-reads without letting
    /// an older batch remove what the checkpoint already knows.
    pub(crate) fn maybe_assign_newer(&self, epoch: i32, start_offset: i64) -> Result<(), StorageError> {
        if epoch >= 0 && self.latest_epoch().is_none_or(|l| epoch > l) {
            self.assign(epoch, start_offset)?;
        }
        Ok(())
    }

    /// The latest epoch, if any.
    pub fn latest_epoch(&self) -> Option<i32> {
        self.lock().last().map(|e| e.0)
    }

    /// The earliest entry, if any.
    pub fn earliest_entry(&self) -> Option<(i32, i64)> {
        self.lock().first().copied()
    }

    /// All entries in order (for tests and tools).
    pub fn entries(&self) -> Vec<(i32, i64)> {
        self.lock().clone()
    }

    /// The epoch that was current at `offset` (largest entry whose start <= offset).
    pub fn epoch_for_offset(&self, offset: i64) -> Option<i32> {
        self.lock().iter().rev().find(|&&(_, o)| o <= offset).map(|e| e.0)
    }

    /// OffsetsForLeaderEpoch (spec §3.6): returns `(epoch, end offset)`.
    /// Undefined epoch → (-1,-1); latest epoch → (epoch, LEO); newer than every known → (-1,-1);
    /// older than the first → (requested, first start); else (largest epoch <= requested,
    /// start offset of the next higher epoch).
    pub fn end_offset_for(&self, requested_epoch: i32, log_end_offset: i64) -> (i32, i64) {
        let entries = self.lock();
        if requested_epoch == UNDEFINED_EPOCH {
            return (UNDEFINED_EPOCH, UNDEFINED_EPOCH_OFFSET);
        }
        if entries.last().is_some_and(|&(e, _)| e == requested_epoch) {
            return (requested_epoch, log_end_offset);
        }
        let Some(&(_, higher_start)) = entries.iter().find(|&&(e, _)| e > requested_epoch) else {
            return (UNDEFINED_EPOCH, UNDEFINED_EPOCH_OFFSET);
        };
        match entries.iter().rev().find(|&&(e, _)| e <= requested_epoch) {
            None => (requested_epoch, higher_start),
            Some(&(floor_epoch, _)) => (floor_epoch, higher_start),
        }
    }

    /// Removes entries whose start offset >= `end_offset` (log truncated to `end_offset`).
    pub fn truncate_from_end(&self, end_offset: i64) -> Result<(), StorageError> {
        let mut entries = self.lock();
        if end_offset >= 0 && entries.last().is_some_and(|&(_, o)| o >= end_offset) {
            entries.retain(|&(_, o)| o < end_offset);
            self.flush(&entries)?;
        }
        Ok(())
    }

    /// The log start moved to `start_offset`: drop entries entirely before it and move the
    /// start of the epoch covering it up to `start_offset`.
    pub fn truncate_from_start(&self, start_offset: i64) -> Result<(), StorageError> {
        let mut entries = self.lock();
        let n = entries.iter().take_while(|&&(_, o)| o <= start_offset).count();
        if n == 0 {
            return Ok(());
        }
        let (epoch, _) = entries[n - 1];
        entries.drain(..n);
        entries.insert(0, (epoch, start_offset));
        self.flush(&entries)
    }

    /// Removes every entry (log truncated fully).
    pub fn clear(&self) -> Result<(), StorageError> {
        let mut entries = self.lock();
        entries.clear();
        self.flush(&entries)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cache(entries: &[(i32, i64)]) -> (tempfile::TempDir, LeaderEpochFileCache) {
        let dir = tempfile::tempdir().unwrap();
        let c = LeaderEpochFileCache::load(dir.path()).unwrap();
        for &(e, o) in entries {
            c.assign(e, o).unwrap();
        }
        (dir, c)
    }

    #[test]
    fn end_offset_for_follows_spec() {
        let (_d, c) = cache(&[(2, 10), (4, 20), (7, 35)]);
        assert_eq!(c.end_offset_for(-1, 50), (-1, -1));
        assert_eq!(c.end_offset_for(7, 50), (7, 50));
        assert_eq!(c.end_offset_for(8, 50), (-1, -1));
        assert_eq!(c.end_offset_for(1, 50), (1, 10));
        assert_eq!(c.end_offset_for(2, 50), (2, 20));
        assert_eq!(c.end_offset_for(3, 50), (2, 20));
        assert_eq!(c.end_offset_for(5, 50), (4, 35));
        let (_d, empty) = cache(&[]);
        assert_eq!(empty.end_offset_for(0, 5), (-1, -1));
    }

    #[test]
    fn assign_truncate_and_persist() {
        let (dir, c) = cache(&[(0, 0), (1, 5), (1, 7), (3, 9)]);
        assert_eq!(c.entries(), vec![(0, 0), (1, 5), (3, 9)]);
        // A lower start for an older epoch drops everything after it.
        c.assign(2, 6).unwrap();
        assert_eq!(c.entries(), vec![(0, 0), (1, 5), (2, 6)]);
        c.truncate_from_end(6).unwrap();
        assert_eq!(c.entries(), vec![(0, 0), (1, 5)]);
        c.truncate_from_start(3).unwrap();
        assert_eq!(c.entries(), vec![(0, 3), (1, 5)]);
        assert_eq!(std::fs::read_to_string(dir.path().join(LEADER_EPOCH_CHECKPOINT)).unwrap(), "0\n2\n0 3\n1 5\n");
        let reloaded = LeaderEpochFileCache::load(dir.path()).unwrap();
        assert_eq!(reloaded.entries(), vec![(0, 3), (1, 5)]);
        assert_eq!(reloaded.epoch_for_offset(4), Some(0));
        assert_eq!(reloaded.epoch_for_offset(100), Some(1));
        assert_eq!(reloaded.latest_epoch(), Some(1));
    }
}
