//! Opening a partition log: cleaning leftovers, loading segments, rebuilding missing or corrupt
//! indexes and — after an unclean shutdown — recovering every segment from the recovery point
//! (spec §3.8).

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::atomic::AtomicI64;
use std::sync::{Arc, Mutex, RwLock};

use crate::config::LogConfig;
use crate::error::{IoContext, StorageError};
use crate::leader_epoch::LeaderEpochFileCache;
use crate::log_dir_failure_channel::LogDirFailureChannel;
use crate::log::{random_jitter, wall_clock_ms, Log, LogInner};
use crate::log_segment::{segment_file, LogSegment, DELETED_SUFFIX, INDEX_SUFFIX, LOG_SUFFIX, TIME_INDEX_SUFFIX};
use crate::scheduler::DelayedDeleter;
use crate::TopicPartition;

/// What the [`crate::LogManager`] knows about a log before opening it.
#[derive(Clone)]
pub struct LogLoadParams {
    /// Checkpointed recovery point (0 if unknown).
    pub recovery_point: i64,
    /// Checkpointed log start offset (0 if unknown).
    pub log_start_offset: i64,
    /// Checkpointed high watermark (0 if unknown).
    pub high_watermark: i64,
    /// `.kafka_cleanshutdown` was present: skip recovery.
    pub had_clean_shutdown: bool,
    /// Where delayed deletions go.
    pub deleter: Arc<DelayedDeleter>,
    /// Where an I/O error of this log marks its log dir offline.
    pub failure_channel: Arc<LogDirFailureChannel>,
}

impl LogLoadParams {
    /// Parameters for a brand-new or standalone log.
    pub fn new(had_clean_shutdown: bool) -> LogLoadParams {
        LogLoadParams {
            recovery_point: 0,
            log_start_offset: 0,
            high_watermark: 0,
            had_clean_shutdown,
            deleter: Arc::new(DelayedDeleter::new()),
            failure_channel: Arc::new(LogDirFailureChannel::new()),
        }
    }
}

fn parse_base(name: &str, suffix: &str) -> Option<i64> {
    let stem = name.strip_suffix(suffix)?;
    if stem.len() != 20 || !stem.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    stem.parse().ok()
}

impl Log {
    /// Opens (creating if needed) the log in `dir` for `tp`.
    pub fn open(dir: PathBuf, tp: TopicPartition, config: LogConfig, params: LogLoadParams) -> Result<Log, StorageError> {
        std::fs::create_dir_all(&dir).ctx(|| format!("creating {}", dir.display()))?;
        let log_dir = dir.parent().map(std::path::Path::to_path_buf).unwrap_or_default();
        let now = wall_clock_ms();
        let index_bytes = config.segment_index_bytes.max(0) as usize;

        // 1. Remove leftovers of deletions, cleaning and checkpoint writes; note swap files.
        let mut log_bases = Vec::new();
        let mut swapped = Vec::new();
        let mut index_files = Vec::new();
        for entry in std::fs::read_dir(&dir).ctx(|| format!("listing {}", dir.display()))? {
            let entry = entry.ctx(|| format!("listing {}", dir.display()))?;
            let name = entry.file_name().to_string_lossy().to_string();
            let path = entry.path();
            if name.ends_with(DELETED_SUFFIX) || name.ends_with(".cleaned") || name.ends_with(".tmp") {
                tracing::info!("deleting leftover file {}", path.display());
                std::fs::remove_file(&path).ctx(|| format!("deleting {}", path.display()))?;
            } else if let Some(stripped) = name.strip_suffix(".swap") {
                // An interrupted compaction swap: the swapped-in data is complete, so put it in
                // place and let its indexes be rebuilt.
                let target = dir.join(stripped);
                tracing::warn!("completing interrupted swap {}", path.display());
                if stripped.ends_with(LOG_SUFFIX) {
                    std::fs::rename(&path, &target).ctx(|| format!("renaming {}", path.display()))?;
                    if let Some(b) = parse_base(stripped, LOG_SUFFIX) {
                        for s in [INDEX_SUFFIX, TIME_INDEX_SUFFIX] {
                            let _ = std::fs::remove_file(segment_file(&dir, b, s));
                        }
                        log_bases.push(b);
                        swapped.push(b);
                    }
                } else {
                    let _ = std::fs::remove_file(&path);
                }
            } else if let Some(b) = parse_base(&name, LOG_SUFFIX) {
                log_bases.push(b);
            } else if let Some(b) = parse_base(&name, INDEX_SUFFIX).or_else(|| parse_base(&name, TIME_INDEX_SUFFIX)) {
                index_files.push((b, path));
            }
        }
        log_bases.sort_unstable();
        log_bases.dedup();
        crate::cleaner::swap::complete_swaps(&dir, &swapped, &mut log_bases)?;
        for (b, path) in index_files {
            if log_bases.binary_search(&b).is_err() {
                tracing::warn!("deleting orphan index {}", path.display());
                let _ = std::fs::remove_file(&path);
            }
        }

        let epoch_cache = LeaderEpochFileCache::load(&dir)?;
        let recovery_point_ckpt = params.recovery_point.max(0);

        // 2. Open every segment; rebuild indexes that are missing or fail the sanity check.
        let mut segments: BTreeMap<i64, Arc<LogSegment>> = BTreeMap::new();
        for &b in &log_bases {
            let missing = !segment_file(&dir, b, INDEX_SUFFIX).exists() || !segment_file(&dir, b, TIME_INDEX_SUFFIX).exists();
            let seg = LogSegment::open(&dir, b, None, now, random_jitter(&config))?;
            let needs_rebuild = missing || seg.sanity_check_indexes().is_err();
            let will_recover = !params.had_clean_shutdown && b >= 0;
            if needs_rebuild && !(will_recover && Self::in_recovery_range(&log_bases, b, recovery_point_ckpt)) {
                tracing::warn!("rebuilding indexes of segment {b} of {tp}");
                seg.recover(config.index_interval_bytes, None)?;
                seg.on_become_inactive()?;
            } else if !needs_rebuild {
                seg.load_largest_timestamp().ctx(|| format!("reading segment {b} of {tp}"))?;
            }
            segments.insert(b, Arc::new(seg));
        }

        // 3. Unclean shutdown: recover from the segment holding the recovery point onward.
        if !params.had_clean_shutdown {
            let bases: Vec<i64> = segments.keys().copied().collect();
            let mut truncated_at: Option<usize> = None;
            for (i, &b) in bases.iter().enumerate() {
                if !Self::in_recovery_range(&bases, b, recovery_point_ckpt) {
                    continue;
                }
                let Some(seg) = segments.get(&b) else { continue };
                tracing::info!("recovering segment {b} of {tp}");
                let truncated = seg.recover(config.index_interval_bytes, Some(&epoch_cache))?;
                if truncated > 0 {
                    truncated_at = Some(i);
                    break;
                }
            }
            if let Some(i) = truncated_at {
                for b in &bases[i + 1..] {
                    if let Some(seg) = segments.remove(b) {
                        tracing::warn!("deleting segment {b} of {tp} after a corrupt earlier segment");
                        seg.delete_files();
                    }
                }
            }
        }

        // 4. Offsets, log start, empty log.
        let mut log_end_offset = match segments.values().next_back() {
            Some(s) => s.read_next_offset().ctx(|| format!("reading last segment of {tp}"))?,
            None => params.log_start_offset.max(0),
        };
        let mut log_start = params.log_start_offset.max(segments.keys().next().copied().unwrap_or(0));
        if log_end_offset < log_start {
            tracing::warn!("log end offset {log_end_offset} of {tp} is below log start {log_start}: deleting all segments");
            for (_, s) in std::mem::take(&mut segments) {
                s.delete_files();
            }
            log_end_offset = log_start;
        }
        if segments.is_empty() {
            log_start = log_start.max(params.log_start_offset.max(0));
            log_end_offset = log_end_offset.max(log_start);
            let seg = LogSegment::open(&dir, log_end_offset, Some(index_bytes), now, random_jitter(&config))?;
            segments.insert(log_end_offset, Arc::new(seg));
        } else if let Some(active) = segments.values().next_back() {
            active.resize_indexes(index_bytes)?;
        }

        epoch_cache.truncate_from_end(log_end_offset)?;
        epoch_cache.truncate_from_start(log_start)?;
        let recovery_point = if params.had_clean_shutdown { log_end_offset } else { recovery_point_ckpt.min(log_end_offset) };
        let hw = params.high_watermark.clamp(log_start, log_end_offset);
        tracing::info!(
            "loaded log {tp}: {} segments, log start {log_start}, log end {log_end_offset}, recovery point {recovery_point}",
            segments.len()
        );
        Ok(Log {
            tp,
            dir,
            config: RwLock::new(Arc::new(config)),
            inner: Mutex::new(LogInner { segments }),
            log_start_offset: AtomicI64::new(log_start),
            log_end_offset: AtomicI64::new(log_end_offset),
            high_watermark: AtomicI64::new(hw),
            recovery_point: Arc::new(AtomicI64::new(recovery_point)),
            last_flush_ms: AtomicI64::new(now),
            epoch_cache,
            deleter: params.deleter,
            flush_lock: Mutex::new(()),
            log_dir,
            failure_channel: params.failure_channel,
        })
    }

    /// True if segment `base` holds or follows the recovery point (the segments to recover).
    fn in_recovery_range(sorted_bases: &[i64], base: i64, recovery_point: i64) -> bool {
        let idx = sorted_bases.partition_point(|&b| b <= base);
        let next_base = sorted_bases.get(idx).copied().unwrap_or(i64::MAX);
        next_base > recovery_point
    }
}
