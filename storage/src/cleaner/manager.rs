//! `LogCleanerManager`: which log to clean next and how far each log has been cleaned.
//!
//! Per log dir, `cleaner-offset-checkpoint` (Kafka's `0\n<count>\n<topic> <partition> <offset>\n`
//! format) holds for every compacted log the first offset not yet cleaned. The dirtiest log —
//! the largest ratio of dirty (never cleaned, cleanable) bytes to all cleanable bytes — is
//! cleaned next if that ratio exceeds `min.cleanable.dirty.ratio`, or at once when its oldest
//! dirty record is older than `max.compaction.lag.ms`. Records newer than
//! `min.compaction.lag.ms`, the active segment and segments not entirely below the high
//! watermark are never cleaned.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, MutexGuard};

use crate::checkpoint::OffsetCheckpointFile;
use crate::error::StorageError;
use crate::log::Log;
use crate::log_segment::LogSegment;
use crate::TopicPartition;

/// File name of the per-dir cleaner checkpoint.
pub const CLEANER_OFFSET_CHECKPOINT: &str = "cleaner-offset-checkpoint";

/// Where a partition's cleaning stands (Kafka's `LogCleaningState`, without pausing).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CleaningState {
    /// A cleaner thread is working on it.
    InProgress,
    /// The log was deleted while being cleaned; the cleaner drops its work.
    Aborted,
}

/// A log chosen for cleaning with its dirty section `[first_dirty_offset, first_uncleanable_offset)`.
#[derive(Clone)]
pub struct LogToClean {
    /// The log.
    pub log: Arc<Log>,
    /// First offset not yet cleaned (from the checkpoint, clamped to the log).
    pub first_dirty_offset: i64,
    /// First offset that may not be cleaned yet (active segment, lag, high watermark).
    pub first_uncleanable_offset: i64,
    /// Bytes of the segments before the dirty section.
    pub clean_bytes: u64,
    /// Bytes of the segments of the dirty section.
    pub cleanable_bytes: u64,
    /// `max.compaction.lag.ms` is exceeded: clean whatever the ratio.
    pub needs_compaction_now: bool,
}

impl LogToClean {
    /// Sizes the clean and dirty sections of `log`'s current segments.
    pub fn new(log: Arc<Log>, first_dirty_offset: i64, first_uncleanable_offset: i64, needs_compaction_now: bool) -> LogToClean {
        let segs = log.segments();
        let leo = log.log_end_offset();
        let bytes = |from: i64, to: i64| -> u64 { segments_overlapping(&segs, leo, from, to).iter().map(|s| s.size()).sum() };
        let clean_bytes = bytes(-1, first_dirty_offset);
        let cleanable_bytes = bytes(first_dirty_offset, first_dirty_offset.max(first_uncleanable_offset));
        LogToClean { log, first_dirty_offset, first_uncleanable_offset, clean_bytes, cleanable_bytes, needs_compaction_now }
    }
    /// Clean + cleanable bytes.
    pub fn total_bytes(&self) -> u64 {
        self.clean_bytes + self.cleanable_bytes
    }
    /// Dirty share of the cleanable part of the log.
    pub fn cleanable_ratio(&self) -> f64 {
        if self.total_bytes() == 0 {
            0.0
        } else {
            self.cleanable_bytes as f64 / self.total_bytes() as f64
        }
    }
}

/// Segments holding offsets in `[from, to)` (Kafka's `logSegments(from, to)`): those with a base
/// below `to` whose range (up to the next base, or LEO for the last) reaches `from`.
pub fn segments_overlapping(segs: &[Arc<LogSegment>], leo: i64, from: i64, to: i64) -> Vec<Arc<LogSegment>> {
    segs.iter()
        .enumerate()
        .filter(|(i, s)| {
            let upper = segs.get(i + 1).map_or(leo.max(s.base_offset() + 1), |n| n.base_offset());
            s.base_offset() < to && upper > from
        })
        .map(|(_, s)| s.clone())
        .collect()
}

/// `(first dirty offset, first uncleanable offset)` of `log` (Kafka's `cleanableOffsets`):
/// the checkpoint, or the log start when it is missing or outside the log; and the smallest of
/// the active segment's base, the base of the segment holding the high watermark and the base
/// of the first dirty segment with records newer than `min.compaction.lag.ms`.
pub fn cleanable_offsets(log: &Log, last_clean: Option<i64>, now_ms: i64) -> (i64, i64) {
    let (ls, leo, hw) = (log.log_start_offset(), log.log_end_offset(), log.high_watermark());
    let ckpt = last_clean.unwrap_or(ls);
    let first_dirty = if ckpt < ls || ckpt > leo {
        if last_clean.is_some() {
            tracing::warn!("resetting first dirty offset of {} to log start {ls}: checkpointed offset {ckpt} is out of range", log.topic_partition());
        }
        ls
    } else {
        ckpt
    };
    let segs = log.segments();
    let mut uncleanable = segs.last().map_or(leo, |s| s.base_offset());
    for (i, s) in segs.iter().enumerate() {
        let upper = segs.get(i + 1).map_or(leo, |n| n.base_offset());
        if upper > hw {
            uncleanable = uncleanable.min(s.base_offset());
            break;
        }
    }
    let lag = log.config_arc().min_compaction_lag_ms.max(0);
    if lag > 0 {
        let dirty = segments_overlapping(&segs[..segs.len().saturating_sub(1)], leo, first_dirty, i64::MAX);
        if let Some(s) = dirty.iter().find(|s| s.largest_timestamp() > now_ms.saturating_sub(lag)) {
            uncleanable = uncleanable.min(s.base_offset());
        }
    }
    (first_dirty, uncleanable.max(first_dirty))
}

/// How long past `max.compaction.lag.ms` the oldest dirty record is (0 if it is not): the
/// earliest first-batch timestamp of the dirty non-active segments against `now - lag`.
pub fn max_compaction_delay(log: &Log, first_dirty: i64, now_ms: i64) -> i64 {
    let segs = log.segments();
    let leo = log.log_end_offset();
    let dirty = segments_overlapping(&segs[..segs.len().saturating_sub(1)], leo, first_dirty, i64::MAX);
    let earliest = dirty
        .iter()
        .filter_map(|s| s.read_header_at(0, s.size()).ok().flatten().map(|h| h.max_timestamp))
        .filter(|&t| t > 0)
        .min()
        .unwrap_or(i64::MAX);
    let clean_until = now_ms.saturating_sub(log.config_arc().max_compaction_lag_ms.max(0));
    if earliest < clean_until {
        clean_until - earliest
    } else {
        0
    }
}

#[derive(Default)]
struct ManagerState {
    in_progress: HashMap<TopicPartition, CleaningState>,
    uncleanable: HashSet<TopicPartition>,
}

/// Cleaning state of every partition and the `cleaner-offset-checkpoint` files.
#[derive(Default)]
pub struct LogCleanerManager {
    state: Mutex<ManagerState>,
    checkpoint_lock: Mutex<()>,
}

fn dir_of(log: &Log) -> PathBuf {
    log.dir().parent().map(Path::to_path_buf).unwrap_or_default()
}

impl LogCleanerManager {
    /// A manager with nothing in progress.
    pub fn new() -> LogCleanerManager {
        LogCleanerManager::default()
    }

    fn state(&self) -> MutexGuard<'_, ManagerState> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// The checkpoint file of a log dir.
    pub fn checkpoint_file(dir: &Path) -> OffsetCheckpointFile {
        OffsetCheckpointFile::new(dir.join(CLEANER_OFFSET_CHECKPOINT))
    }

    /// All checkpointed offsets of the dirs holding `logs` (unreadable files count as empty).
    pub fn all_cleaner_checkpoints(&self, logs: &[Arc<Log>]) -> BTreeMap<TopicPartition, i64> {
        let dirs: HashSet<PathBuf> = logs.iter().map(|l| dir_of(l)).collect();
        let _g = self.checkpoint_lock.lock().unwrap_or_else(|p| p.into_inner());
        let mut out = BTreeMap::new();
        for d in dirs {
            match Self::checkpoint_file(&d).read() {
                Ok(m) => out.extend(m),
                Err(e) => tracing::warn!("{e}; treating every log of {} as never cleaned", d.display()),
            }
        }
        out
    }

    /// Picks the dirtiest compacted log of `logs` that may be cleaned now and marks it in
    /// progress (Kafka's `grabFilthiestCompactedLog`).
    pub fn grab_filthiest_compacted_log(&self, logs: &[Arc<Log>], now_ms: i64) -> Option<LogToClean> {
        let checkpoints = self.all_cleaner_checkpoints(logs);
        let mut st = self.state();
        let best = logs
            .iter()
            .filter(|l| l.config_arc().cleanup_policy.is_compact())
            .filter(|l| !st.in_progress.contains_key(l.topic_partition()) && !st.uncleanable.contains(l.topic_partition()))
            .map(|l| {
                let (dirty, uncleanable) = cleanable_offsets(l, checkpoints.get(l.topic_partition()).copied(), now_ms);
                let now = max_compaction_delay(l, dirty, now_ms) > 0;
                LogToClean::new(l.clone(), dirty, uncleanable, now)
            })
            .filter(|c| c.total_bytes() > 0)
            .filter(|c| (c.needs_compaction_now && c.cleanable_bytes > 0) || c.cleanable_ratio() > c.log.config_arc().min_cleanable_dirty_ratio)
            .max_by(|a, b| a.cleanable_ratio().total_cmp(&b.cleanable_ratio()))?;
        st.in_progress.insert(best.log.topic_partition().clone(), CleaningState::InProgress);
        Some(best)
    }

    /// The state of `tp`, if a cleaning is under way.
    pub fn cleaning_state(&self, tp: &TopicPartition) -> Option<CleaningState> {
        self.state().in_progress.get(tp).copied()
    }

    /// True when the cleaning of `tp` must stop (the log was deleted).
    pub fn is_aborted(&self, tp: &TopicPartition) -> bool {
        self.cleaning_state(tp) == Some(CleaningState::Aborted)
    }

    /// Asks a running cleaning of `tp` to stop; the cleaner drops its work at the next check.
    pub fn abort_cleaning(&self, tp: &TopicPartition) {
        if let Some(s) = self.state().in_progress.get_mut(tp) {
            *s = CleaningState::Aborted;
        }
    }

    /// A cleaning of `log` ended: records `end_offset` in the checkpoint unless it was aborted.
    pub fn done_cleaning(&self, log: &Log, end_offset: Option<i64>, logs: &[Arc<Log>]) -> Result<(), StorageError> {
        let tp = log.topic_partition().clone();
        let state = self.state().in_progress.remove(&tp);
        match (state, end_offset) {
            (Some(CleaningState::InProgress), Some(end)) => self.update_checkpoints(&dir_of(log), logs, Some((tp, end)), None),
            _ => Ok(()),
        }
    }

    /// `tp` failed to clean with a non-I/O error: never pick it again (Kafka's uncleanable partitions).
    pub fn mark_uncleanable(&self, tp: &TopicPartition) {
        let mut st = self.state();
        st.in_progress.remove(tp);
        st.uncleanable.insert(tp.clone());
    }

    /// Forgets a deleted log: aborts its cleaning and drops it from its dir's checkpoint.
    pub fn remove_log(&self, tp: &TopicPartition, dir: &Path, logs: &[Arc<Log>]) -> Result<(), StorageError> {
        self.abort_cleaning(tp);
        self.state().uncleanable.remove(tp);
        self.update_checkpoints(dir, logs, None, Some(tp))
    }

    /// Rewrites `dir`'s checkpoint keeping entries of logs still in `logs`, then applying
    /// `update` and `remove`.
    pub fn update_checkpoints(
        &self,
        dir: &Path,
        logs: &[Arc<Log>],
        update: Option<(TopicPartition, i64)>,
        remove: Option<&TopicPartition>,
    ) -> Result<(), StorageError> {
        let _g = self.checkpoint_lock.lock().unwrap_or_else(|p| p.into_inner());
        let file = Self::checkpoint_file(dir);
        let live: HashSet<&TopicPartition> = logs.iter().filter(|l| dir_of(l) == dir).map(|l| l.topic_partition()).collect();
        let mut m: BTreeMap<TopicPartition, i64> = file.read().unwrap_or_default().into_iter().filter(|(tp, _)| live.contains(tp)).collect();
        if let Some((tp, o)) = update {
            m.insert(tp, o);
        }
        if let Some(tp) = remove {
            m.remove(tp);
        }
        file.write(&m)
    }
}
